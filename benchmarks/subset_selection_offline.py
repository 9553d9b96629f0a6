"""How other ways of choosing test images would rank, without rescoring: the per-image losses of every
ground-truth arch and of the pilot archs on the full test set (BN statistics of the full test batches),
then subsets of them averaged, 5 draws each, against full-test scoring and the ground truth.

  python benchmarks/subset_selection_offline.py --seeds 0,1,2 [--sizes 500,1000]

Needs the supernets of configs/ablate_fmnist_scoring.yaml (python benchmarks/scoring_subsets.py trains
them); the per-image losses are cached beside each run (per_image_losses.npz).
"""
import hnas  # noqa: F401  (zlib guard before paddle)
import argparse
import json

import numpy as np

from hnas.ablate.spec import AblationSpec
from hnas.archfile import read_arch_file
from hnas.image_subsets import pilot_archs, random_subset
from hnas.metrics import kendall_tau
from hnas.spaces import get_space

SPEC = "configs/ablate_fmnist_scoring.yaml"
DRAWS = 5


def per_image_losses(spec, row, seed, entries, space):
    cache = spec.run_dir(row, seed) / "per_image_losses.npz"
    if not cache.exists():
        from hnas.build import build_scorer
        scorer, _ = build_scorer(spec.row_config(row, seed, **{"eval.max_images": None}), spec.run_dir(row, seed))
        archs = np.stack([scorer.per_image_losses(space.parse(text)) for _, text in entries])
        pilots = np.stack([scorer.per_image_losses(a) for a in pilot_archs(space, 6, 0)])
        np.savez(cache, archs=archs, pilots=pilots)
    saved = np.load(cache)
    return saved["archs"], saved["pilots"]


def top(signal, pool, size):
    return np.sort(pool[np.argsort(-signal, kind="stable")[:size]])


def strata(signal, size, rng, bins=20):
    groups = np.array_split(np.argsort(signal, kind="stable"), bins)
    counts = np.diff(np.linspace(0, size, bins + 1).round().astype(int))
    return np.sort(np.concatenate([rng.permutation(g)[:k] for g, k in zip(groups, counts)]))


def pilot_coreset(pilots, size, rng):
    """Greedily add the image (of 64 random candidates) that keeps the pilots' subset means closest
    to their full-test means."""
    target, total, chosen = pilots.mean(1), np.zeros(pilots.shape[0]), []
    free = list(rng.permutation(pilots.shape[1])[:4 * size])
    for i in range(size):
        tried = rng.choice(len(free), size=min(64, len(free)), replace=False)
        errors = [np.sum(((total + pilots[:, free[j]]) / (i + 1) - target) ** 2) for j in tried]
        pick = free.pop(int(tried[int(np.argmin(errors))]))
        chosen.append(pick)
        total += pilots[:, pick]
    return np.sort(np.array(chosen))


def choosers(pilots, count):
    def pool_top(signal_of):
        def choose(size, draw):
            pool = random_subset(count, min(count, 4 * size), draw)
            return top(signal_of(pilots[:, pool]), pool, size)
        return choose
    return {
        "random": lambda size, draw: random_subset(count, size, draw),
        "top spread of pilot loss": pool_top(lambda p: p.std(0)),
        "top spread of true-class probability": pool_top(lambda p: np.exp(-p).std(0)),
        "top spread of correctness": pool_top(lambda p: (p < np.log(2)).astype(float).std(0)),
        "strata of difficulty": lambda size, draw: strata(pilots.mean(0), size, np.random.RandomState(draw)),
        "strata of spread": lambda size, draw: strata(pilots.std(0), size, np.random.RandomState(draw)),
        "pilot coreset": lambda size, draw: pilot_coreset(pilots, size, np.random.RandomState(draw)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sizes", default="500,1000")
    args = parser.parse_args()
    spec = AblationSpec(SPEC)
    row = next(iter(spec.rows))
    space = get_space(spec.base["space"])
    entries = read_arch_file(spec.archs, space)
    gt = json.loads(open(spec.ground_truth["file"]).read())
    acc = [gt[key]["acc"] for key, _ in entries]
    results = {}  # (choice, size) -> one (vs full, vs ground truth) pair per seed, averaged over draws
    for seed in (int(s) for s in args.seeds.split(",")):
        losses, pilots = per_image_losses(spec, row, seed, entries, space)
        full = -losses.mean(1)
        for name, choose in choosers(pilots, losses.shape[1]).items():
            for size in (int(s) for s in args.sizes.split(",")):
                draws = [(kendall_tau(subset, full), kendall_tau(subset, acc)) for subset in
                         (-losses[:, choose(size, draw)].mean(1) for draw in range(DRAWS))]
                results.setdefault((name, size), []).append(np.mean(draws, axis=0))
    print(f"seeds {args.seeds}, {DRAWS} draws each; tau-b of subset scores, mean +- std over seeds of the "
          f"mean over draws")
    print("| choice | images | vs full-test scoring | vs ground truth |")
    print("|---|---|---|---|")
    for (name, size), per_seed in results.items():
        (full_mean, gt_mean), (full_std, gt_std) = np.mean(per_seed, axis=0), np.std(per_seed, axis=0)
        print(f"| {name} | {size} | {full_mean:.3f} ± {full_std:.3f} | {gt_mean:.3f} ± {gt_std:.3f} |")


if __name__ == "__main__":
    main()
