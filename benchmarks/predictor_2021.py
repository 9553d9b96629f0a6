"""The accuracy predictor at the users' search space, on real accuracies (issue 24).

1. Fill-in quality: the real 1,000-arch 2021 ground truth (../shared/anchors) and rankers of known
   strength made from it (benchmarks/known_rankers.py). A "supernet" of each strength scores a sample
   of N archs (hnas.predictor.selection, spread or random); the predictor fitted on those N scores
   predicts the other 1,000 - N. Reported, mean ± std over 10 seeds: Kendall tau-b of the predicted
   archs against the ground truth, beside the ranker's own scores of the same archs; the predictor's
   agreement with the ranker's own scores of those archs; and the K-fold figure `hnas predict` records
   (no ground truth).
2. Cost at the competitions' sizes: seconds to feature, K-fold check, fit and predict a 50,000-arch
   2021 list from 2,500 scores and the 45,000-arch 2022 list from 2,250, in this process.

    python benchmarks/predictor_2021.py      # about 5 minutes on 2 cores
"""
import hnas  # noqa: F401  (zlib guard)

import json
import random
import time

import numpy as np

from hnas.metrics import kendall_tau
from hnas.predictor.features import arch_features
from hnas.predictor.regressor import fit_predict, out_of_fold
from hnas.predictor.selection import choose
from hnas.spaces import get_space
from known_rankers import ANCHORS, KnownRankers, ground_truth_2021

STRENGTHS = (0.6, 0.75, 0.85, 0.95, 1.0)  # 1.0: the ground truth itself
SIZES = (50, 100, 250, 500)
SEEDS = range(10)


def mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def fill_in_quality(method):
    keys, texts, truth = ground_truth_2021()
    space = get_space("resnet20")
    _, features = arch_features(space, [space.parse(t) for t in texts])
    params = features[:, -2]
    rankers = KnownRankers(truth)
    print(f"\nFill-in on the 2021 ground truth's 1,000 archs, samples chosen by `--select {method}`; "
          "10 seeds per cell\n")
    print("| ranker's tau-b (all 1,000) | scored N | ranker's own scores of the rest vs GT | predicted rest vs GT "
          "| predicted vs the ranker's own scores of the rest | K-fold tau-b (recorded) |")
    print("|---|---|---|---|---|---|")
    for strength in STRENGTHS:
        for size in SIZES:
            own, predicted_gt, agree, kfold, overall = [], [], [], [], []
            for seed in SEEDS:
                scores = truth if strength == 1.0 else rankers.of_strength(strength, seed)
                overall.append(kendall_tau(scores, truth))
                chosen = choose(np.arange(len(keys)), size, method, params, np.random.RandomState(seed))
                rest = np.setdiff1d(np.arange(len(keys)), chosen)
                predicted = fit_predict(features[chosen], scores[chosen], features[rest], seed)
                own.append(kendall_tau(scores[rest], truth[rest]))
                predicted_gt.append(kendall_tau(predicted, truth[rest]))
                agree.append(kendall_tau(predicted, scores[rest]))
                kfold.append(out_of_fold(features[chosen], scores[chosen], 5, seed)["tau_b"])
            label = "the ground truth itself" if strength == 1.0 else f"{np.mean(overall):.3f}"
            print(f"| {label} | {size} | {mean_std(own)} | {mean_std(predicted_gt)} | {mean_std(agree)} "
                  f"| {mean_std(kfold)} |")


def cost():
    print("\nSeconds in this process (2 cores shared with other jobs; features, 5-fold check, fit, predict):\n")
    print("| list | archs | scored | features s | K-fold s | fit + predict s | total s |")
    print("|---|---|---|---|---|---|---|")
    r20 = get_space("resnet20")
    rng = random.Random(0)
    lists = [("2021 (uniform, like Track1_final_archs.json)", r20, [r20.sample(rng) for _ in range(50_000)])]
    data = json.loads((ANCHORS / "cvpr2022_track1_test_45k.json").read_text())
    r48 = get_space("resnet48")
    lists.append(("2022 (CVPR_2022_NAS_Track1_test.json)", r48, [r48.parse(e["arch"]) for e in data.values()]))
    for name, space, archs in lists:
        start = time.perf_counter()
        _, features = arch_features(space, archs)
        featured = time.perf_counter()
        scores = np.log(features[:, -2]) + 0.3 * np.random.default_rng(0).normal(size=len(archs))
        sample = np.arange(len(archs) // 20)  # 5%
        out_of_fold(features[sample], scores[sample], 5, 0)
        checked = time.perf_counter()
        fit_predict(features[sample], scores[sample], features, 0)
        done = time.perf_counter()
        print(f"| {name} | {len(archs):,} | {len(sample):,} | {featured - start:.1f} | {checked - featured:.1f} "
              f"| {done - checked:.1f} | {done - start:.1f} |")


if __name__ == "__main__":
    for selection in ("spread", "random"):
        fill_in_quality(selection)
    cost()
