"""Prior fusion: the pure math (milliseconds), `hnas fuse` on files, and `eval.fuse` in `hnas test`."""
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hnas.errors import HnasError
from hnas.archfile import read_arch_file, sample_arch_file, write_arch_file
from hnas.fusion import DEFAULT_WEIGHT, fuse, parse_prior_specs, standardize
from hnas.fusion.files import fuse_files
from hnas.layout import fusion_record as record_path
from hnas.fusion.weight_rule import MAX_CORR, MIN_CORR, PRIOR_STRENGTH, auto_weight, source_weight, tau_to_corr
from hnas.proxies import count_params
from hnas.spaces import ResNet20Space, ResNet48Space

SPACE = ResNet20Space()
ROOT = Path(__file__).resolve().parents[1]


def test_standardize_rank_and_zscore():
    np.testing.assert_allclose(standardize([3.0, 1.0, 2.0, 2.0], "rank"), [1.0, 0.0, 0.5, 0.5])
    z = standardize([1.0, 2.0, 3.0], "zscore")
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12 and z[2] > z[0]
    np.testing.assert_array_equal(standardize([5.0, 5.0], "zscore"), [0.0, 0.0])
    with pytest.raises(HnasError, match="unknown fusion method 'mean'"):
        standardize([1.0, 2.0], "mean")
    with pytest.raises(HnasError, match="finite"):
        standardize([1.0, float("nan")])


def test_weights_move_the_fused_ranking_from_supernet_to_prior():
    keys = [f"a{i}" for i in range(6)]
    supernet = dict(zip(keys, [6, 5, 4, 3, 2, 1.0]))
    prior = dict(zip(keys, [1, 2, 3, 4, 5, 6.0]))
    order = lambda scores: sorted(scores, key=scores.get, reverse=True)  # noqa: E731
    assert order(fuse(supernet, {"p": prior}, {"p": 0.0})) == order(supernet)
    assert order(fuse(supernet, {"p": prior}, {"p": 0.1})) == order(supernet)
    assert order(fuse(supernet, {"p": prior}, {"p": 10.0})) == order(prior)
    # a small prior weight breaks the supernet's ties in the prior's direction
    tied = dict(zip(keys, [1, 1, 0, 0, 0, 0.0]))
    assert order(fuse(tied, {"p": prior}, {"p": 0.1}))[:2] == ["a1", "a0"]
    with pytest.raises(HnasError, match="prior 'p' has no score for 1 of the 6 archs"):
        fuse(supernet, {"p": {k: prior[k] for k in keys[:5]}}, {"p": 1.0})


def test_prior_specs():
    assert parse_prior_specs("zen=0.3,params") == {"zen": 0.3, "params": DEFAULT_WEIGHT}
    assert parse_prior_specs(["zen", "runs/p=1.json=2"], 0.1) == {"zen": 0.1, "runs/p=1.json": 2.0}
    assert parse_prior_specs({"flops": 1}) == {"flops": 1.0}
    assert DEFAULT_WEIGHT == "auto" and parse_prior_specs("flops=auto,zen=1") == {"flops": "auto", "zen": 1.0}
    for bad, message in (("zen=-1", "expected a number >= 0"), ("zen=lots", "expected a number >= 0 or auto"),
                         ("", "no priors to fuse"), ("my.json", "no known strength"), ("my.json=auto", "no known strength")):
        with pytest.raises(HnasError, match=message):
            parse_prior_specs(bad)


def _scored_list(path, space, count, seed=0):
    entries = sample_arch_file(path, space, count, seed=seed)
    rng = np.random.default_rng(seed)
    write_arch_file(path, entries, {k: float(v) for (k, _), v in zip(entries, rng.normal(size=count))})
    return entries


def test_fuse_files_with_a_named_prior_and_a_score_file(tmp_path):
    entries = _scored_list(tmp_path / "scores.json", SPACE, 30)
    prior_file = tmp_path / "my_prior.json"
    write_arch_file(prior_file, entries, {k: float(i) for i, (k, _) in enumerate(entries)})
    out = tmp_path / "fused.json"
    record = fuse_files(tmp_path / "scores.json", ["params=2", str(prior_file)], out, SPACE, "zscore", weight=0.25,
                        num_classes=10, image_size=8)
    assert record["method"] == "zscore" and record["priors"]["params"]["weight"] == 2.0
    assert record["priors"][str(prior_file)]["weight"] == 0.25
    assert json.loads(record_path(out).read_text()) == record
    fused = read_arch_file(out, SPACE, with_scores=True)
    assert [(k, a) for k, a, _ in fused] == entries
    supernet = {k: s for k, _, s in read_arch_file(tmp_path / "scores.json", SPACE, with_scores=True)}
    params = {k: float(count_params(SPACE, SPACE.parse(a), 10)) for k, a in entries}
    mine = {k: i for i, (k, _) in enumerate(entries)}
    expected = fuse(supernet, {"params": params, "mine": mine}, {"params": 2.0, "mine": 0.25}, "zscore")
    np.testing.assert_allclose([s for _, _, s in fused], [expected[k] for k, _ in entries])
    # the computed prior is cached beside the output, keyed by the list and its settings
    cached = list(tmp_path.glob("fused.json.prior_params-*.json"))
    assert len(cached) == 1
    fuse_files(tmp_path / "scores.json", "params", out, SPACE, num_classes=10, image_size=8)
    assert list(tmp_path.glob("fused.json.prior_params-*.json")) == cached
    fuse_files(tmp_path / "scores.json", "params", out, SPACE, num_classes=100, image_size=8)
    assert len(list(tmp_path.glob("fused.json.prior_params-*.json"))) == 2


def test_fuse_files_refuses_other_archs_and_unknown_priors(tmp_path):
    _scored_list(tmp_path / "a.json", SPACE, 5, seed=0)
    _scored_list(tmp_path / "b.json", SPACE, 5, seed=1)
    with pytest.raises(HnasError, match="name different archs for 5 keys"):
        fuse_files(tmp_path / "a.json", f"{tmp_path / 'b.json'}=1", tmp_path / "f.json", SPACE)
    with pytest.raises(HnasError, match="has no known strength for the automatic weight.*give its weight"):
        fuse_files(tmp_path / "a.json", str(tmp_path / "b.json"), tmp_path / "f.json", SPACE)
    with pytest.raises(HnasError, match="'synflow' is neither a prior hnas computes"):
        fuse_files(tmp_path / "a.json", "synflow=1", tmp_path / "f.json", SPACE)
    assert not (tmp_path / "f.json").exists()


def test_fusing_a_45k_resnet48_list_takes_seconds(tmp_path):
    space = ResNet48Space()
    entries = _scored_list(tmp_path / "scores.json", space, 45_000)
    start = time.perf_counter()
    fuse_files(tmp_path / "scores.json", "flops=0.5,params=0.5", tmp_path / "fused.json", space)
    assert time.perf_counter() - start < 30
    assert len(read_arch_file(tmp_path / "fused.json", space)) == len(entries)


def test_hnas_fuse_command_repeats_prior_and_bad_input_is_one_line(tmp_path):
    _scored_list(tmp_path / "scores.json", SPACE, 8)
    run = subprocess.run([sys.executable, "-m", "hnas", "fuse", "--scores", str(tmp_path / "scores.json"),
                          "--prior", "params", "--prior", "flops=0.2", "--out", str(tmp_path / "f.json"),
                          "--weight", "0.7", "--num_classes", "10", "--image_size", "8"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    record = json.loads(record_path(tmp_path / "f.json").read_text())
    assert {n: p["weight"] for n, p in record["priors"].items()} == {"params": 0.7, "flops": 0.2}
    bad = subprocess.run([sys.executable, "-m", "hnas", "fuse", "--scores", str(tmp_path / "scores.json"),
                          "--prior", "zen", "--method", "average", "--out", str(tmp_path / "g.json")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("hnas: error: unknown fusion method")
    assert not (tmp_path / "g.json").exists()


def test_hnas_test_writes_a_fused_submission(trained_run, tmp_path):
    from hnas.evaluate.run import evaluate_arch_file
    from conftest import tiny_config
    archs = tmp_path / "archs.json"
    entries = sample_arch_file(archs, SPACE, 8, seed=5)
    out = tmp_path / "submission.json"
    config = tiny_config(trained_run, **{"eval.fuse": "params=0.5,flops", "eval.fuse_method": "zscore"})
    assert evaluate_arch_file(config, trained_run, archs, out) == out
    raw = {k: s for k, _, s in read_arch_file(f"{out}.supernet.json", SPACE, with_scores=True)}
    params = {k: float(count_params(SPACE, SPACE.parse(a), 10)) for k, a in entries}
    from hnas.proxies import count_flops
    flops = {k: float(count_flops(SPACE, SPACE.parse(a), 8, 10)) for k, a in entries}
    expected = fuse(raw, {"params": params, "flops": flops}, {"params": 0.5, "flops": DEFAULT_WEIGHT}, "zscore")
    fused = read_arch_file(out, SPACE, with_scores=True)
    np.testing.assert_allclose([s for _, _, s in fused], [expected[k] for k, _ in entries])
    record = json.loads(record_path(out).read_text())
    assert record["method"] == "zscore" and record["supernet"]["scores"] == f"{out}.supernet.json"
    with pytest.raises(HnasError, match="eval.fuse ranks the whole list"):
        evaluate_arch_file(config, trained_run, archs, tmp_path / "part.json", shard="0/2")
    with pytest.raises(HnasError, match="eval.fuse_method 'vote' \\(expected 'rank' or 'zscore'\\)"):
        evaluate_arch_file(tiny_config(trained_run, **{"eval.fuse": "params", "eval.fuse_method": "vote"}),
                           trained_run, archs, tmp_path / "other.json")
    assert not (tmp_path / "other.json.supernet.json").exists()


def _ranker_of_strength(truth, noise, seed):
    return truth + noise * np.random.default_rng(seed).normal(size=len(truth))


def test_the_automatic_weight_shrinks_as_the_supernet_agrees_more_with_the_prior():
    truth = np.random.default_rng(0).normal(size=400)
    prior = _ranker_of_strength(truth, 0.8, 1)  # tau about 0.6 with the truth, like the Zen-score
    weights = [auto_weight(_ranker_of_strength(truth, noise, 2), prior, 0.6)["weight"] for noise in (3.0, 1.0, 0.3, 0.0)]
    assert weights == sorted(weights, reverse=True)
    assert weights[0] > 2 and weights[-1] < 0.1  # a weak supernet leans on the prior, a perfect one hardly at all
    # agreeing as much as the prior agrees with the truth is the most a supernet can show: the floor
    perfect = auto_weight(truth, prior, 0.6)
    assert perfect["supernet_corr"] == MAX_CORR and perfect["weight"] == pytest.approx(
        source_weight(tau_to_corr(0.6)) / source_weight(MAX_CORR))
    # no agreement, or a constant supernet: the prior decides
    assert auto_weight(np.zeros(400), prior, 0.6)["supernet_corr"] == MIN_CORR
    assert auto_weight(-prior, prior, 0.6)["supernet_corr"] == MIN_CORR


def test_the_automatic_weight_never_drags_a_ranker_below_the_better_of_it_and_the_prior():
    """Issue 24's test (b), in small: rankers of known strength (the truth plus seeded noise) fused
    with a prior of tau about 0.6; benchmarks/fusion_rule.py runs it on the real 2021 ground truth."""
    from hnas.metrics import kendall_tau
    truth = np.random.default_rng(0).normal(size=500)
    prior = _ranker_of_strength(truth, 0.8, 1)
    prior_tau = kendall_tau(prior, truth)
    keys = [f"arch{i}" for i in range(len(truth))]
    for noise in (1.2, 0.6, 0.35, 0.1):
        ranker = _ranker_of_strength(truth, noise, 3)
        fused = fuse(dict(zip(keys, ranker)), {"zen": dict(zip(keys, prior))}, {"zen": "auto"})
        alone = kendall_tau(ranker, truth)
        assert kendall_tau([fused[k] for k in keys], truth) >= max(alone, prior_tau) - 0.01, noise


def test_an_automatic_weight_is_recorded_with_its_evidence(tmp_path):
    entries = _scored_list(tmp_path / "scores.json", SPACE, 40)
    record = fuse_files(tmp_path / "scores.json", "params", tmp_path / "f.json", SPACE, num_classes=10, image_size=8)
    rule = record["priors"]["params"]["automatic"]
    assert rule["prior_tau"] == PRIOR_STRENGTH["params"] and record["priors"]["params"]["weight"] == rule["weight"] > 0
    supernet = {k: s for k, _, s in read_arch_file(tmp_path / "scores.json", SPACE, with_scores=True)}
    params = {k: float(count_params(SPACE, SPACE.parse(a), 10)) for k, a in entries}
    assert rule == auto_weight([supernet[k] for k, _ in entries], [params[k] for k, _ in entries], PRIOR_STRENGTH["params"])
