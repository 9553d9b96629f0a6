"""Would more training images make the Fashion-MNIST ground truth one that a trained ranker can beat a
prior on? Compares, on the same archs and seeds, the committed ground truth (2,000 training images)
with a pilot ground truth trained on more images (same recipe otherwise): seed noise against the
spread between archs, one seed against another, and the priors against the seed mean.

  hnas groundtruth configs/fmnist_rank_benchmark.yaml --archs benchmarks/fmnist_pilot_archs.json --seeds 2 \\
      --out benchmarks/fmnist_pilot_gt_8000.json --workers 2 --cache benchmarks/fmnist_gt_runs --data.train_size 8000
  python benchmarks/train_size_pilot.py [--pilot benchmarks/fmnist_pilot_gt_8000.json]
"""
import argparse
import json

import numpy as np

from hnas.metrics import kendall_tau, seed_vs_seed_tau

PRIORS = "benchmarks/out/ablate_fmnist/priors/{}.json"


def describe(label, table, keys, seeds, priors):
    accs = np.array([table[k]["accs"][:seeds] for k in keys])
    mean = accs.mean(axis=1)
    cells = [label, f"{mean.mean():.3f}", f"{accs.std(axis=1, ddof=1).mean():.4f}", f"{mean.std(ddof=1):.4f}",
             f"{seed_vs_seed_tau(accs)['mean']:.3f}"]
    cells += [f"{kendall_tau([p[k] for k in keys], mean):.3f}" for p in priors.values()]
    return "| " + " | ".join(cells) + " |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pilot", default="benchmarks/fmnist_pilot_gt_8000.json")
    parser.add_argument("--base", default="benchmarks/fmnist_gt.json")
    args = parser.parse_args()
    pilot, base = json.load(open(args.pilot)), json.load(open(args.base))
    keys = list(pilot)
    seeds = len(next(iter(pilot.values()))["accs"])
    priors = {name: {k: v["acc"] for k, v in json.load(open(PRIORS.format(name))).items()}
              for name in ("params", "zen")}
    lines = [f"{len(keys)} archs, seeds 0..{seeds - 1} of each ground truth", "",
             "| training images | mean acc | seed std (mean over archs) | std of the archs' means "
             "| one seed against another | params vs seed mean | zen vs seed mean |", "|---|---|---|---|---|---|---|",
             describe(f"2,000 ({args.base})", base, keys, seeds, priors),
             describe(f"{args.pilot}", pilot, keys, seeds, priors)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
