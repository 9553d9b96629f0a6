"""Is the shared classifier the supernets' systematic error? Score every ground-truth arch with the
supernet's own features but a classifier fitted for that arch alone: the features of the training
images (batch BN, as in scoring) train a multinomial logistic regression (scikit-learn, standardised
features, C = 1, fixed before any result was seen), which then scores the same test images the
supernet scores on. Kendall tau-b against the ground truth, with the parameter count and between
supernet seeds, next to the supernet's own scores and the best prior.

  python benchmarks/linear_probe_rank.py [--ablation configs/ablate_fmnist.yaml]
      [--row "3rd place (shared FC), weight decay 5e-4"] [--seeds 0,1,2]

Needs the row's supernet checkpoints (hnas ablate keeps them); writes OUTPUT/linear_probe/<row>.json
(scores per seed, kept: a rerun only prints) and prints the table.
"""
import hnas  # noqa: F401  (zlib guard before paddle)
import json

import numpy as np
import paddle
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

from hnas.ablate.report import between_seeds
from hnas.ablate.spec import slug
from hnas.build import build_scorer, data_from_config
from hnas.io import write_json
from hnas.scoring import fixed_batches
from per_row import Truth, load_row, row_parser, row_scores


@paddle.no_grad()
def classifier_inputs(scorer, arch, batches):
    """The pooled features the supernet's classifier reads for `arch`, with their labels."""
    captured = []
    with scorer.scoring_net(arch) as net:
        hook = net.fc.register_forward_pre_hook(lambda layer, inputs: captured.append(inputs[0].numpy()))
        try:
            labels = [(net(images), labels.numpy().reshape(-1))[1] for images, labels in batches]
        finally:
            hook.remove()
    return np.concatenate(captured), np.concatenate(labels)


def probe_scores(scorer, arch, train_batches, classes):
    x_train, y_train = classifier_inputs(scorer, arch, train_batches)
    x_test, y_test = classifier_inputs(scorer, arch, scorer.test_batches)
    scale = StandardScaler().fit(x_train)
    probe = LogisticRegression(C=1.0, max_iter=500).fit(scale.transform(x_train), y_train)
    probs = probe.predict_proba(scale.transform(x_test))
    return {"loss": float(log_loss(y_test, probs, labels=list(range(classes)))),
            "acc": float((probs.argmax(axis=1) == y_test).mean())}


def main():
    parser = row_parser(__doc__)
    args = parser.parse_args()
    spec, space, entries = load_row(args)
    seeds = args.seeds
    out = spec.output / "linear_probe" / f"{slug(args.row)}.json"
    done = json.loads(out.read_text()) if out.is_file() else {}
    data = data_from_config(spec.base)
    for seed in seeds:
        if str(seed) in done:
            continue
        config = spec.row_config(args.row, seed)
        scorer, _ = build_scorer(config, spec.run_dir(args.row, seed))
        train_batches = fixed_batches(data.train_plain, config["eval"]["batch_size"])
        done[str(seed)] = {key: probe_scores(scorer.for_arch(space.parse(text)), space.parse(text), train_batches,
                                             data.num_classes) for key, text in entries}
        write_json(out, done, indent=1)
        print(f"seed {seed}: {len(entries)} archs probed")

    truth = Truth(spec, space, entries, data.num_classes)
    keys = truth.keys
    rankers = {"supernet's own classifier (test loss)": [row_scores(spec, space, args.row, s) for s in seeds],
               "per-arch probe, test loss": [{k: -done[str(s)][k]["loss"] for k in keys} for s in seeds],
               "per-arch probe, test accuracy": [{k: done[str(s)][k]["acc"] for k in keys} for s in seeds]}
    lines = [f"Row {args.row!r}, {len(seeds)} supernet seeds, {len(keys)} archs", "",
             "| ranker | tau-b vs ground truth | tau-b vs params | tau-b between seeds |", "|---|---|---|---|"]
    lines += [f"| {label} | {tau} | {vs_params} | |" for label, tau, vs_params in truth.reference_rows(spec, space)]
    for name, per_seed in rankers.items():
        vs_truth, vs_params = truth.tau_cells(per_seed)
        lines.append(f"| {name} | {vs_truth} | {vs_params} | {between_seeds(per_seed)} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
