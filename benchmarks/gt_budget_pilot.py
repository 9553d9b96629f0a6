"""Would a bigger stand-alone budget (more training images, more epochs) make the Fashion-MNIST
ground truth one that a trained ranker can beat a prior on? Compares, on the same archs and seeds,
the committed ground truth (2,000 training images, 10 epochs) with pilot ground truths trained with
one budget change each (same recipe otherwise): seed noise against the spread between archs, one
seed against another, and the priors against the seed mean.

  hnas groundtruth configs/fmnist_rank_benchmark.yaml --archs benchmarks/fmnist_pilot_archs.json --seeds 2 \\
      --out benchmarks/fmnist_pilot_gt_8000.json --workers 2 --cache benchmarks/fmnist_gt_runs --data.train_size 8000
  hnas groundtruth configs/fmnist_rank_benchmark.yaml --archs benchmarks/fmnist_pilot_archs.json --seeds 5 \\
      --out benchmarks/fmnist_pilot_gt_40ep.json --workers 2 --cache benchmarks/fmnist_gt_runs --standalone.epochs 40
  python benchmarks/gt_budget_pilot.py [--pilot LABEL=GT.json ...]
"""
import argparse
import json

import numpy as np

from hnas.metrics import kendall_tau, seed_vs_seed_tau
from hnas.spaces import get_space
from per_row import scored

PRIORS = "benchmarks/out/ablate_fmnist/priors/{}.json"
PILOTS = ["8,000 training images=benchmarks/fmnist_pilot_gt_8000.json",
          "40 epochs=benchmarks/fmnist_pilot_gt_40ep.json"]


def describe(label, table, keys, priors):
    accs = np.array([table[k]["accs"] for k in keys])
    seeds = accs.shape[1]
    mean = accs.mean(axis=1)
    noise_var = accs.var(axis=1, ddof=1).mean()
    # the seed mean's variance over archs holds the seed noise / seeds too: take it out
    true_spread = np.sqrt(max(0.0, mean.var(ddof=1) - noise_var / seeds))
    cells = [label, str(seeds), f"{mean.mean():.3f}", f"{np.sqrt(noise_var):.4f}", f"{true_spread:.4f}",
             f"{true_spread / np.sqrt(noise_var):.2f}",
             f"{seed_vs_seed_tau(accs)['mean']:.3f}"]
    cells += [f"{kendall_tau([p[k] for k in keys], mean):.3f}" for p in priors.values()]
    return "| " + " | ".join(cells) + " |"


def pilot_arg(text):
    label, sep, path = text.rpartition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(f"--pilot {text!r}: expected LABEL=GROUND_TRUTH.json")
    return label, path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pilot", type=pilot_arg, action="append",
                        help=f"LABEL=GT.json, repeatable (default: {'; '.join(PILOTS)})")
    parser.add_argument("--base", default="benchmarks/fmnist_gt.json")
    args = parser.parse_args()
    pilots = [(label, json.load(open(path))) for label, path in (args.pilot or [pilot_arg(p) for p in PILOTS])]
    base = json.load(open(args.base))
    keys = list(pilots[0][1])
    priors = {name: scored(PRIORS.format(name), get_space("resnet20")) for name in ("params", "zen")}
    lines = [f"The same {len(keys)} archs in every ground truth, with all of its seeds. Seed std: pooled over archs; the archs' "
             f"true spread: the variance of their seed means less the seed noise's share of it (noise^2 / seeds); "
             f"ratio: the two divided, how far apart archs are in units of one run's noise", "",
             "| stand-alone budget | seeds | mean acc | seed std | std of the archs' true accuracies (estimated) | ratio "
             "| one seed against another | params vs seed mean | zen vs seed mean |", "|---|---|---|---|---|---|---|---|---|",
             describe(f"2,000 images, 10 epochs ({args.base})", base, keys, priors)]
    lines += [describe(label, table, keys, priors) for label, table in pilots]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
