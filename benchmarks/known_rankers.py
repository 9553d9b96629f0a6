"""Rankers of known strength made from the real 2021 ground truth (../shared/anchors): normal scores of
the true ranks plus seeded Gaussian noise, the noise calibrated on seeds 1000-1009 so that a ranker
reaches a target Kendall tau-b; benchmarks use other seeds. Shared by fusion_rule.py and predictor_2021.py."""
import json
import os
from pathlib import Path

import numpy as np
from scipy import stats

from hnas.metrics import kendall_tau

ANCHORS = Path(os.environ.get("HNAS_ANCHORS", "../shared/anchors"))
GT_2021 = ANCHORS / "cvpr2021_track1_gt_first_1000.json"
CALIBRATION_SEEDS = range(1000, 1010)


def ground_truth_2021():
    """(keys, arch strings, accuracies) of the 1,000 archs, in file order."""
    gt = json.loads(GT_2021.read_text())
    keys = list(gt)
    return keys, [gt[k]["arch"] for k in keys], np.array([gt[k]["acc"] for k in keys])


class KnownRankers:
    def __init__(self, truth):
        self.truth = truth
        self.normal = stats.norm.ppf((stats.rankdata(truth) - 0.5) / len(truth))
        self.sigmas = {}

    def noise_for(self, target):
        """The noise that makes rankers reach Kendall tau-b `target` on average (bisection)."""
        if target not in self.sigmas:
            low, high = 0.0, 3.0
            for _ in range(30):
                sigma = (low + high) / 2
                tau = np.mean([kendall_tau(self.ranker(sigma, s), self.truth) for s in CALIBRATION_SEEDS])
                low, high = (sigma, high) if tau > target else (low, sigma)
            self.sigmas[target] = sigma
        return self.sigmas[target]

    def ranker(self, sigma, seed):
        return self.normal + sigma * np.random.RandomState(seed).randn(len(self.normal))

    def of_strength(self, target, seed):
        return self.ranker(self.noise_for(target), seed)
