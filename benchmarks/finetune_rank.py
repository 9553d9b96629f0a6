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

from hnas.ablate.spec import slug
from hnas.build import data_from_config
from hnas.io import write_text
from hnas.metrics import kendall_tau
from hnas.parallel import output_to, run_tasks
from per_row import Truth, load_row, row_parser, row_scores

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

    truth = Truth(spec, space, entries, data_from_config(spec.base).num_classes)
    rows = [(label, "", tau, vs_params, "") for label, tau, vs_params in truth.reference_rows(spec, space)]
    supernet = [row_scores(spec, space, args.row, seed) for seed in seeds]
    rows.append((f"supernet alone ({args.row})", "0", *truth.tau_cells(supernet), ""))
    for kind in KINDS:
        accs = [{key: _result(_run_dir(out, kind, args.row, seed, text))["acc"] for key, text in entries}
                for seed in seeds]
        mean_acc = np.mean([list(a.values()) for a in accs])
        rows.append((f"{kind} + {args.epochs} stand-alone epoch(s)", str(args.epochs), *truth.tau_cells(accs),
                     f"{mean_acc:.3f}"))
    lines = [f"Short stand-alone training, from scratch or from the supernet of row {args.row!r} "
             f"({len(seeds)} seeds, {len(truth.keys)} archs; ground truth: {spec.base['standalone']['epochs']} epochs "
             f"from scratch, {len(truth.per_seed[0])}-seed mean; stand-alone accuracy agrees with params at "
             f"{kendall_tau(truth.acc, truth.params):.3f})", "",
             "| ranker | stand-alone epochs per arch | tau-b vs ground truth | tau-b vs params | mean test acc |",
             "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines) + "\n"
    write_text(out / "finetune_rank.md", text)
    print(text)


if __name__ == "__main__":
    main()
