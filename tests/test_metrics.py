import itertools
import math

import numpy as np
import pytest

from hnas.errors import HnasError
from hnas.metrics import kendall_tau, pearson, precision_at_k, rank_report, spearman, top_k_tau
from hnas.spaces import ResNet20Space


def brute_tau_b(x, y):
    concordant = discordant = ties_x = ties_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx == dy:
            concordant += 1
        else:
            discordant += 1
    return (concordant - discordant) / math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))


def test_tau_b_handles_ties_like_the_definition():
    rng = np.random.RandomState(0)
    x, y = rng.randint(0, 5, 40), rng.randint(0, 4, 40) + rng.randint(0, 5, 40) // 2
    assert kendall_tau(x, y) == pytest.approx(brute_tau_b(x, y))
    assert kendall_tau([1, 2, 3], [1, 2, 3]) == 1.0 and kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0


def test_correlations_precision_and_top_k():
    pred, true = [0.1, 0.4, 0.35, 0.8, 0.7], [1, 3, 2, 5, 4]
    assert spearman(pred, true) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert precision_at_k([5, 4, 3, 2, 1], [1, 4, 5, 2, 3], 2) == 0.5
    assert top_k_tau([5, 4, 3, 2, 1], [1, 4, 5, 2, 3], 3) == pytest.approx(1 / 3)
    report = rank_report(pred, true, ks=(2, 10))
    assert report["precision@2"] == 1.0 and "precision@10" not in report
    with pytest.raises(HnasError, match="equally long"):
        kendall_tau([1, 2], [1, 2, 3])


def test_parameter_prior_ranks_the_real_2021_ground_truth(gt2021):
    space = ResNet20Space()
    archs = [space.parse(e["arch"]) for e in gt2021.values()]
    accs = [e["acc"] for e in gt2021.values()]
    tau = kendall_tau([space.count_params(a) for a in archs], accs)
    assert tau >= 0.55, tau
