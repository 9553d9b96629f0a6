"""The accuracy predictor on the Fashion-MNIST benchmark (issue 24), from the scores that
benchmarks/predictor_fmnist.sh wrote (committed): 3 quickstart-recipe supernets, each scoring the
48 ground-truth archs and a pool of uniformly sampled archs as the recipe says (2,000 test images;
the first 2,000 of the 5,000) and on 200 images (all 5,000).

For N = 1%, 2%, 5%, 10% of 5,000 (50 .. 500 archs, chosen from the pool as `hnas predict` does, never
among the 48), the predictor is fitted on the supernet's scores of the N and predicts the rest of the
pool and the 48. Reported per scoring, mean ± std over the 3 supernet seeds: the predictor against the
supernet's own scores of the unseen pool archs, the K-fold figure `hnas predict` records, and the
predicted 48 against the ground truth beside the same supernet's direct scores of the 48.

    bash benchmarks/predictor_fmnist.sh && python benchmarks/predictor_fmnist.py [--select spread|random]

With --candidates it prints how the regressor's settings were chosen instead: five settings, each fitted
on 100, 500 and 2,500 archs of supernet seed 0's 200-image scores and judged by its agreement with that
supernet's own scores of the other archs (3 random splits each; no ground truth).
"""
import hnas  # noqa: F401  (zlib guard)

import argparse
import json
from pathlib import Path

import numpy as np

from hnas.metrics import kendall_tau, leave_one_seed_out_tau, split_half_tau
from hnas.predictor.features import arch_features
from hnas.predictor.regressor import fit_predict, out_of_fold
from hnas.predictor.selection import choose
from hnas.spaces import get_space

OUT = Path("benchmarks/out/predict_fmnist")
SIZES = (50, 100, 250, 500)  # 1%, 2%, 5%, 10% of 5,000
NOISY_EXTRA = (1000, 2500)  # the 200-image scoring covers all 5,000: larger samples of noisy scores
SCORINGS = {"as the recipe says (2,000 test images)": ("archs_2000", "2000img"),
            "on 200 test images (10%)": ("archs_5000", "200img")}


def read(path):
    data = json.loads(Path(path).read_text())
    return list(data), [e["arch"] for e in data.values()], np.array([e["acc"] for e in data.values()])


def mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def regressor_candidates(space):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits
    _, texts, scores = read(OUT / "seed0" / "archs_5000_200img.json")
    _, features = arch_features(space, [space.parse(t) for t in texts])
    settings = {"scikit-learn's defaults (31 leaves x 100 rounds, lr 0.1)": {},
                "31 leaves x 300 rounds": {"max_iter": 300},
                "7 leaves x 300 rounds": {"max_iter": 300, "max_leaf_nodes": 7},
                "7 leaves x 500 rounds (shipped)": {"max_iter": 500, "max_leaf_nodes": 7},
                "4 leaves x 800 rounds": {"max_iter": 800, "max_leaf_nodes": 4}}
    sizes = (100, 500, 2500)
    print("| regressor | " + " | ".join(f"fitted on {n:,}" for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))

    def row(name, fit_predict_one):
        cells = []
        for size in sizes:
            taus = []
            for split in range(3):
                order = np.random.RandomState(split).permutation(len(scores))
                fit, rest = order[:size], order[size:]
                with threadpool_limits(1, user_api="openmp"):
                    taus.append(kendall_tau(fit_predict_one(size, features[fit], scores[fit], features[rest]), scores[rest]))
            cells.append(mean_std(taus))
        print(f"| {name} | " + " | ".join(cells) + " |")

    for name, options in settings.items():
        def sklearn(size, x, y, test, options=options):
            tuned = {"learning_rate": 0.05, "min_samples_leaf": max(2, min(20, size // 25))} if options else {}
            model = HistGradientBoostingRegressor(early_stopping=False, random_state=0, **tuned, **options)
            return model.fit(x, y).predict(test)
        row(name, sklearn)
    try:  # not a dependency: pip install lightgbm to add its row
        import lightgbm
    except ImportError:
        return

    def light(size, x, y, test):
        params = {"objective": "regression", "learning_rate": 0.05, "num_leaves": 7, "verbose": -1, "seed": 0,
                  "num_threads": 1, "min_data_in_leaf": max(2, min(20, size // 25))}
        return lightgbm.train(params, lightgbm.Dataset(x, y, params={"verbose": -1}), 500).predict(test)
    row(f"LightGBM {lightgbm.__version__}, 7 leaves x 500 rounds", light)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--select", default="spread", choices=("spread", "random"))
    parser.add_argument("--candidates", action="store_true", help="how the regressor's settings were chosen")
    args = parser.parse_args()
    space = get_space("resnet20")
    if args.candidates:
        return regressor_candidates(space)
    gt = json.loads(Path("benchmarks/fmnist_gt.json").read_text())
    gt_keys, gt_texts = list(gt), [gt[k]["arch"] for k in gt]
    truth = np.array([gt[k]["acc"] for k in gt_keys])
    per_seed = [gt[k]["accs"] for k in gt_keys]
    _, gt_features = arch_features(space, [space.parse(t) for t in gt_texts])
    zen = json.loads((Path("benchmarks/out/ablate_fmnist/priors/zen.json")).read_text())
    print(f"Reference rows (Kendall tau-b against the 5-seed mean accuracy of the 48): best prior Zen "
          f"{kendall_tau([zen[k]['acc'] for k in gt_keys], truth):.3f}; one more stand-alone run "
          f"{leave_one_seed_out_tau(per_seed)['mean']:.3f}; ceiling (split-half) {split_half_tau(per_seed)['mean']:.3f}.")
    seeds = sorted(p.name for p in OUT.glob("seed*")
                   if all((p / f"{lst}_{img}.json").is_file() for lst, img in SCORINGS.values())
                   and all((p / f"gt48_{img}.json").is_file() for _, img in SCORINGS.values()))
    print(f"Supernet seeds with every scoring: {', '.join(seeds)}; samples chosen with --select {args.select}.")
    for label, (pool_name, images) in SCORINGS.items():
        _, texts, _ = read(OUT / f"{pool_name}.json")
        _, features = arch_features(space, [space.parse(t) for t in texts])
        params = features[:, -2]
        direct, rows = [], {}
        for seed_name in seeds:
            keys, _, pool = read(OUT / seed_name / f"{pool_name}_{images}.json")
            gt_scores = json.loads((OUT / seed_name / f"gt48_{images}.json").read_text())
            direct.append(kendall_tau([gt_scores[k]["acc"] for k in gt_keys], truth))
            for size in SIZES + (NOISY_EXTRA if pool_name == "archs_5000" else ()):
                chosen = choose(np.arange(len(pool)), size, args.select, params, np.random.RandomState(int(seed_name[4:])))
                rest = np.setdiff1d(np.arange(len(pool)), chosen)
                predicted = fit_predict(features[chosen], pool[chosen], np.vstack([features[rest], gt_features]), 0)
                row = rows.setdefault(size, {"own": [], "kfold": [], "gt": []})
                row["own"].append(kendall_tau(predicted[:len(rest)], pool[rest]))
                row["kfold"].append(out_of_fold(features[chosen], pool[chosen], 5, 0)["tau_b"])
                row["gt"].append(kendall_tau(predicted[len(rest):], truth))
        print(f"\nScored {label}; the supernets' direct scores of the 48 against the ground truth: {mean_std(direct)}\n")
        print(f"| fitted on | predicted vs the supernet's own scores of the other {len(pool) - 50:,}+ pool archs "
              f"| K-fold tau-b (recorded) | predicted 48 vs ground truth |")
        print("|---|---|---|---|")
        for size, row in rows.items():
            print(f"| {size:,} ({100 * size / 5000:g}% of 5,000) | {mean_std(row['own'])} | {mean_std(row['kfold'])} "
                  f"| {mean_std(row['gt'])} |")


if __name__ == "__main__":
    main()
