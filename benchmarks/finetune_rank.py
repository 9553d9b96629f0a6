"""Does a supernet help short stand-alone training rank archs? For every ground-truth arch of an
ablation and every supernet seed of one of its rows: export the arch from that row's trained
supernet (`hnas export`) and train it with the stand-alone recipe for a few epochs from those
weights (`hnas standalone --init`); beside it, the same short stand-alone training from scratch with
the same seed. Both rank by test accuracy on the full test set, like the ground truth. Kendall tau-b
against the ground truth and with the parameter count, mean +- std over seeds, next to the supernet's
own scores, the best prior and the ground truth's ceiling.

  python benchmarks/finetune_rank.py [--ablation configs/ablate_fmnist.yaml]
      [--row "3rd place (shared FC), weight decay 5e-4"] [--seeds 0,1,2] [--epochs 2] [--workers 2]

The row's supernets must be trained (hnas ablate keeps their checkpoints in its run directories).
Every run keeps its result.json, so a rerun does only what is missing. Writes
OUTPUT/finetune_rank.md (OUTPUT: the ablation's output directory) and prints it.
"""
import hnas  # noqa: F401  (zlib guard before paddle)
import copy
import json
from pathlib import Path

import numpy as np

from hnas.ablate.run import CELL_FILE
from hnas.ablate.spec import slug
from hnas.archfile import read_arch_file
from hnas.build import data_from_config
from hnas.io import write_text
from hnas.metrics import kendall_tau, leave_one_seed_out_tau, split_half_tau
from hnas.parallel import output_to, run_tasks
from hnas.proxies import count_params
from row_args import load_row, row_parser

KINDS = ("scratch", "supernet init")


def _short_recipe(config, epochs, seed):
    config = copy.deepcopy(config)
    config["standalone"]["epochs"] = epochs
    config["train"]["seed"] = seed
    return config


def _run(task):
    """One short stand-alone run (kind 'scratch' or 'supernet init') in its own process."""
    import hnas  # noqa: F401
    from hnas.search.export import export_subnet
    from hnas.train.run import train_standalone
    kind, config, checkpoint, arch, directory = task
    directory = Path(directory)
    with output_to(directory / "stdout.txt"):
        init = None
        if kind == "supernet init":
            export_subnet(config, checkpoint, arch, directory / "export")
            init = str(directory / "export" / "model.pdparams")
        return train_standalone(config, arch, out_dir=directory / "run", init=init)


def _run_dir(out, kind, row, seed, arch):
    return out / ("scratch" if kind == "scratch" else slug(row)) / f"seed{seed}" / arch


def _result(directory):
    path = Path(directory) / "run" / "result.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main():
    parser = row_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    spec, space, entries = load_row(args)
    seeds = args.seeds
    out = spec.output / "finetune" / f"{args.epochs}_epochs"
    tasks = []
    for seed in seeds:
        row_config = _short_recipe(spec.row_config(args.row, seed), args.epochs, seed)
        scratch_config = _short_recipe(spec.base, args.epochs, seed)
        for _, text in entries:
            tasks.append(("scratch", scratch_config, None, text, str(_run_dir(out, "scratch", args.row, seed, text))))
            tasks.append(("supernet init", row_config, str(spec.run_dir(args.row, seed)), text,
                          str(_run_dir(out, "supernet init", args.row, seed, text))))
    todo = [t for t in tasks if _result(t[4]) is None]
    run_tasks(_run, todo, args.workers, "short stand-alone runs", len(tasks) - len(todo))

    gt = json.loads(Path(spec.ground_truth.get("file") or spec.output / "ground_truth.json").read_text())
    keys = [key for key, _ in entries]
    truth = [gt[k]["acc"] for k in keys]
    classes = data_from_config(spec.base).num_classes
    params = [count_params(space, space.parse(text), classes, spec.base["model"]) for _, text in entries]

    def scores_in(path):
        scored = {k: s for k, _, s in read_arch_file(path, space, with_scores=True)}
        return [scored[k] for k in keys]

    def taus(scores_by_seed):
        return ([kendall_tau(s, truth) for s in scores_by_seed], [kendall_tau(s, params) for s in scores_by_seed])

    rows = []
    prior = scores_in(spec.output / "priors" / "zen.json")
    rows.append(("prior: zen (best prior)", "", f"{kendall_tau(prior, truth):.3f}", f"{kendall_tau(prior, params):.3f}", ""))
    per_seed = [gt[k]["accs"] for k in keys]
    rows.append(("ground truth's ceiling (split-half)", "", f"{split_half_tau(per_seed)['mean']:.3f}", "", ""))
    one_run = leave_one_seed_out_tau(per_seed)
    rows.append((f"one more stand-alone run (vs the other {len(per_seed[0]) - 1} seeds' mean)",
                 str(spec.base["standalone"]["epochs"]),
                 f"{one_run['mean']:.3f} ({one_run['min']:.3f}..{one_run['max']:.3f})", "", ""))
    first_eval = next(iter(spec.evals))
    supernet = [scores_in(json.loads((spec.run_dir(args.row, s) / CELL_FILE).read_text())["evals"][first_eval]["scores"])
                for s in seeds]
    vs_truth, vs_params = taus(supernet)
    rows.append((f"supernet alone ({args.row})", "0", _mean_std(vs_truth), _mean_std(vs_params), ""))
    for kind in KINDS:
        scores = [[_result(_run_dir(out, kind, args.row, seed, text))["acc"] for _, text in entries]
                  for seed in seeds]
        vs_truth, vs_params = taus(scores)
        mean_acc = np.mean(scores)
        rows.append((f"{kind} + {args.epochs} stand-alone epoch(s)", str(args.epochs), _mean_std(vs_truth),
                     _mean_std(vs_params), f"{mean_acc:.3f}"))
    lines = [f"Short stand-alone training, from scratch or from the supernet of row {args.row!r} "
             f"({len(seeds)} seeds, {len(keys)} archs; ground truth: {spec.base['standalone']['epochs']} epochs "
             f"from scratch, {len(per_seed[0])}-seed mean; stand-alone accuracy agrees with params at "
             f"{kendall_tau(truth, params):.3f})", "",
             "| ranker | stand-alone epochs per arch | tau-b vs ground truth | tau-b vs params | mean test acc |",
             "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines) + "\n"
    write_text(out / "finetune_rank.md", text)
    print(text)


if __name__ == "__main__":
    main()
