import itertools
import math

import numpy as np
import pytest

from hnas.errors import HnasError
from hnas.metrics import (kendall_tau, pearson, precision_at_k, rank_report, seed_vs_seed_tau, spearman,
                          top_k_tau)
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


def test_hnas_rank_matches_keys_prints_a_table_and_saves_a_plot(gt2021, tmp_path, capsys):
    import json
    from hnas.cli import main
    space = ResNet20Space()
    gt_path, pred_path = tmp_path / "gt.json", tmp_path / "params.json"
    subset = dict(list(gt2021.items())[:200])
    gt_path.write_text(json.dumps(subset))
    # prediction file in another key order, with one extra key the ground truth lacks
    pred = {k: {"arch": e["arch"], "acc": space.count_params(space.parse(e["arch"]))}
            for k, e in reversed(list(subset.items()))}
    pred["extra"] = {"arch": subset["arch1"]["arch"], "acc": 0.0}
    pred_path.write_text(json.dumps(pred))
    plot = tmp_path / "plot.png"
    main(["rank", "--pred", str(pred_path), "--gt", str(gt_path), "--plot", str(plot)])
    out = capsys.readouterr().out
    import re
    assert re.search(r"^n +200$", out, re.M) and re.search(r"^kendall_tau_b +0\.\d{4}$", out, re.M)
    assert "precision@10" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pred["arch2"]["arch"] = subset["arch3"]["arch"]
    pred_path.write_text(json.dumps(pred))
    with pytest.raises(SystemExit):
        main(["rank", "--pred", str(pred_path), "--gt", str(gt_path), "--plot", str(plot)])
    assert "1 keys name different archs" in capsys.readouterr().err


def test_split_half_tau_counts_every_split_once_and_averages_halves():
    from hnas.metrics import split_half_tau
    rng = np.random.default_rng(0)
    truth = np.arange(30, dtype=float)
    clean = np.repeat(truth[:, None], 5, axis=1)
    assert split_half_tau(clean) == {"mean": 1.0, "min": 1.0, "max": 1.0, "splits": 10}  # C(5, 2)
    assert split_half_tau(clean[:, :4])["splits"] == 3  # {01|23, 02|13, 03|12}
    noisy = truth[:, None] + rng.normal(scale=8.0, size=(30, 6))
    one = split_half_tau(noisy)
    first, second = noisy[:, [0, 1, 2]].mean(axis=1), noisy[:, [3, 4, 5]].mean(axis=1)
    assert one["min"] <= kendall_tau(first, second) <= one["max"] and one["splits"] == 10
    # averaging halves beats single seeds against each other
    assert one["mean"] > seed_vs_seed_tau(noisy)["mean"]
    with pytest.raises(HnasError, match="split-half tau needs"):
        split_half_tau(truth[:, None])


def test_mean_ceiling_estimate_predicts_how_well_the_truth_ranks_against_a_noisy_mean():
    from hnas.metrics import mean_ceiling_estimate
    rng = np.random.default_rng(1)
    estimates, actual = [], []
    for _ in range(20):
        truth = rng.normal(size=200)
        seeds = truth[:, None] + rng.normal(scale=1.0, size=(200, 5))
        estimates.append(mean_ceiling_estimate(seeds))
        actual.append(kendall_tau(truth, seeds.mean(axis=1)))
    assert abs(np.mean(estimates) - np.mean(actual)) < 0.02
    assert mean_ceiling_estimate(np.repeat(np.arange(10.0)[:, None], 3, axis=1)) == pytest.approx(1.0)


def test_leave_one_seed_out_tau_scores_one_more_run_and_a_ranker_against_the_same_means():
    from hnas.metrics import leave_one_seed_out_tau
    rng = np.random.default_rng(2)
    truth = rng.normal(size=300)
    seeds = truth[:, None] + rng.normal(scale=1.0, size=(300, 5))
    one_run = leave_one_seed_out_tau(seeds)
    assert one_run["seeds"] == 5 and one_run["min"] <= one_run["mean"] <= one_run["max"]
    rest = seeds[:, 1:].mean(axis=1)
    assert one_run["min"] <= kendall_tau(seeds[:, 0], rest) <= one_run["max"]
    # the noise-free order beats one noisy run against the same means; so does a less noisy ranker
    assert leave_one_seed_out_tau(seeds, pred=truth)["mean"] > one_run["mean"] + 0.1
    assert leave_one_seed_out_tau(seeds, pred=truth + rng.normal(scale=0.5, size=300))["mean"] > one_run["mean"]
    # a callable ranker sees the left-out seed's runs: handing them back is one more run
    assert leave_one_seed_out_tau(seeds, pred=lambda run: run) == one_run
    assert leave_one_seed_out_tau(seeds, pred=lambda run: run + 2 * truth)["mean"] > one_run["mean"] + 0.1
    clean = np.repeat(np.arange(10.0)[:, None], 3, axis=1)
    assert leave_one_seed_out_tau(clean) == pytest.approx({"mean": 1.0, "min": 1.0, "max": 1.0, "seeds": 3})
    with pytest.raises(HnasError, match="leave-one-seed-out tau needs"):
        leave_one_seed_out_tau(clean[:, :1])
