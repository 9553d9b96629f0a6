"""The accuracy predictor: features of both spaces, sample selection and growth (pure, milliseconds),
fill-in from a score file (on the real 2021 ground truth when the anchors are present), and `hnas
predict` with a supernet: rounds, the record, resume after SIGKILL with the same bytes, bad input."""
import json
import random

import numpy as np
import pytest

from conftest import kill_when, load_anchor, run_hnas, tiny_flags, ANCHORS
from hnas.archfile import read_arch_file, sample_arch_file, write_arch_file
from hnas.errors import HnasError
from hnas.metrics import kendall_tau
from hnas.predictor.features import arch_features, feature_names
from hnas.layout import predict_record as record_path
from hnas.predictor.fill import RULES_NOTE
from hnas.predictor.growth import check_plan, next_size
from hnas.predictor.regressor import out_of_fold
from hnas.predictor.run import predict_from_scores, sample_dir
from hnas.predictor.selection import choose
from hnas.spaces import ResNet20Space, ResNet48Space

R20, R48 = ResNet20Space(), ResNet48Space()


def test_resnet20_features_are_the_widths_and_what_each_layer_computes():
    arch = R20.parse("4-8-12-16-4-8-12-16-20-24-28-32-12-16-20-24-28-32-36-40")
    names, rows = arch_features(R20, [arch])
    row = dict(zip(names, rows[0]))
    assert [row[f"c{p + 1}"] for p in range(20)] == list(arch)
    assert row["slot1.conv1"] == 4 * 8 and row["slot1.conv2"] == 8 * 12 and row["slot1.shortcut"] == 4 * 12
    assert row["slot2.conv1"] == 12 * 16 and row["slot2.shortcut"] == 12 * 4  # block 1: 12 -> 16 -> 4 projects
    same = R20.parse("16-16-16-16-16-16-16-32-32-32-32-32-32-64-64-64-64-64-64-64")
    row = dict(zip(*[names, arch_features(R20, [same])[1][0]]))
    assert row["slot2.shortcut"] == 0 and row["slot4.shortcut"] == 16 * 32  # identity; a stage's first block projects
    assert row["params"] == R20.count_params(same) and row["flops"] == R20.count_flops(same)
    assert len(names) == 20 + 9 * 3 + 2


def test_resnet48_features_zero_the_unused_slots_and_carry_the_depths():
    shallow = R48.make((2, 2, 2, 2), 7, (7,) * 4, (7,) * 4)
    deep = R48.largest()
    names, rows = arch_features(R48, [shallow, deep])
    first, second = (dict(zip(names, r)) for r in rows)
    assert [first[f"depth{s}"] for s in range(1, 5)] == [2, 2, 2, 2]
    assert [second[f"depth{s}"] for s in range(1, 5)] == [5, 5, 8, 5]
    assert first["s1b3.conv1"] == 0 and first["slot3.conv1"] == 0 and first["slot3.conv2"] == 0
    assert second["slot3.conv1"] == 64 * 64 and second["slot1.conv2"] == 64 * 64
    assert first["slot1.conv1"] == 48 * 48  # code 7: make_divisible(64 * 0.7) = 48
    assert first["params"] == R48.count_params(shallow) and second["flops"] == R48.count_flops(deep)
    assert names == feature_names(R48) and len(names) == len(R48.gene_names()) + 23 * 3 + 2


def test_hnas_predict_fills_in_the_real_45k_2022_list_from_a_5_percent_sample_in_under_a_minute(tmp_path):
    """A 2022 submission from scores of 2,250 archs: every arch of the list scored, the rule note said."""
    import time
    data = load_anchor("cvpr2022_track1_test_45k.json")
    keys = list(data)[::20]
    flops = {k: R48.count_flops(R48.parse(data[k]["arch"])) for k in keys}
    noise = np.random.default_rng(0).normal(size=len(keys))
    write_arch_file(tmp_path / "some.json", [(k, data[k]["arch"]) for k in keys],
                    {k: float(np.log(flops[k]) + 0.1 * n) for k, n in zip(keys, noise)})
    out = tmp_path / "full.json"
    start = time.perf_counter()
    code, stdout, err = run_hnas("predict", "--scores", tmp_path / "some.json",
                                 "--archs", ANCHORS / "cvpr2022_track1_test_45k.json", "--out", out)
    assert code == 0, err
    assert time.perf_counter() - start < 60
    full = json.loads(out.read_text())
    assert list(full) == list(data) and all(full[k]["arch"] == data[k]["arch"] for k in data)
    assert "2250 archs scored, 42750 predicted" in stdout and RULES_NOTE in err
    record = json.loads(record_path(out).read_text())
    assert record["space"] == "resnet48" and record["fill_in_quality"]["kfold_tau_b"] > 0.5


def test_spread_selection_covers_the_params_range_and_both_methods_never_repeat():
    params = np.arange(1000.0)
    pool = np.arange(1000)
    spread = choose(pool, 10, "spread", params, np.random.RandomState(0))
    assert len(set(spread)) == 10 and spread.min() < 100 and spread.max() >= 900
    assert sorted(np.digitize(spread, np.arange(100, 1000, 100))) == list(range(10))  # one per tenth
    again = choose(pool, 10, "spread", params, np.random.RandomState(0))
    assert list(again) == list(spread)
    rand = choose(pool[500:], 600, "random", params, np.random.RandomState(1))
    assert len(rand) == 500 and set(rand) == set(range(500, 1000))  # capped at the pool
    with pytest.raises(HnasError, match="expected one of random, spread"):
        choose(pool, 3, "best", params, np.random.RandomState(0))


def test_a_growing_sample_stops_at_the_target_the_plateau_or_the_cap():
    assert next_size([(100, 0.5)], 1000) == (None, "fixed sample size")
    assert next_size([(100, 0.5)], 1000, target=0.9) == (200, "below the target")
    assert next_size([(100, 0.5), (200, 0.95)], 1000, target=0.9)[1].startswith("K-fold tau-b 0.950 reached")
    assert next_size([(100, 0.5), (200, 0.505)], 1000, target=0.9)[1].startswith("plateau")
    assert next_size([(100, 0.5), (200, 0.6)], 1000, target=0.9, cap=300) == (300, "below the target")
    assert next_size([(200, 0.5), (300, 0.6)], 1000, target=0.9, cap=300)[1].startswith("cap: 300 archs")
    assert next_size([(600, 0.5), (1000, 0.6)], 1000, target=0.9)[1] == "every arch scored"


@pytest.mark.parametrize("first, total, target, cap, message", [
    (0, 100, None, None, "--sample 0: expected a number of archs >= 1"),
    (2.5, 100, None, None, "--sample 2.5"),
    (200, 100, None, None, "the arch file holds only 100 archs"),
    (10, 100, 1.5, None, "--target 1.5"),
    (10, 100, 0.9, 5, "--max_sample 5: expected a number of archs >= --sample (10)"),
])
def test_a_bad_sample_plan_is_one_error(first, total, target, cap, message):
    with pytest.raises(HnasError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_plan(first, total, target, cap)


def test_the_kfold_figure_tells_a_learnable_score_from_noise():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 5))
    learnable = features[:, 0] + 0.5 * features[:, 1] ** 2 + 0.1 * rng.normal(size=300)
    assert out_of_fold(features, learnable, folds=5, seed=0)["tau_b"] > 0.6
    assert abs(out_of_fold(features, rng.normal(size=300), folds=5, seed=0)["tau_b"]) < 0.15
    with pytest.raises(HnasError, match="at least 10 scored archs"):
        out_of_fold(features[:6], learnable[:6])


def test_fill_in_from_the_2021_ground_truth_of_200_archs_ranks_all_1000(tmp_path):
    gt = load_anchor("cvpr2021_track1_gt_first_1000.json")
    keys = list(gt)
    random.Random(0).shuffle(keys)
    write_arch_file(tmp_path / "some.json", [(k, gt[k]["arch"]) for k in keys[:200]], {k: gt[k]["acc"] for k in keys[:200]})
    out = tmp_path / "full.json"
    record = predict_from_scores(tmp_path / "some.json", ANCHORS / "cvpr2021_track1_gt_first_1000.json", out)
    full = {k: s for k, _, s in read_arch_file(out, R20, with_scores=True)}
    assert list(full) == list(gt)  # the arch file's keys, in its order
    assert all(full[k] == gt[k]["acc"] for k in keys[:200])  # scored archs keep their own scores
    predicted = keys[200:]
    assert kendall_tau([full[k] for k in predicted], [gt[k]["acc"] for k in predicted]) > 0.75
    assert record == json.loads(record_path(out).read_text())
    assert record["scored"] == 200 and record["predicted"] == 800 and record["note"] == RULES_NOTE
    assert sorted(record["scored_keys"]) == sorted(keys[:200]) and record["features"] == feature_names(R20)
    assert record["predictor"]["name"] == "HistGradientBoostingRegressor" and record["predictor"]["seed"] == 0
    assert 0.6 < record["fill_in_quality"]["kfold_tau_b"] < 1 and len(record["fill_in_quality"]["fold_tau_b"]) == 5


def test_fill_in_refuses_scores_of_other_archs(tmp_path):
    entries = sample_arch_file(tmp_path / "all.json", R20, 30, seed=1)
    other = sample_arch_file(tmp_path / "other.json", R20, 20, seed=2)
    write_arch_file(tmp_path / "other.json", other, {k: 0.5 for k, _ in other})
    with pytest.raises(HnasError, match="20 keys name another arch"):
        predict_from_scores(tmp_path / "other.json", tmp_path / "all.json", tmp_path / "out.json")
    write_arch_file(tmp_path / "few.json", entries[:5], {k: 0.5 for k, _ in entries[:5]})
    with pytest.raises(HnasError, match="at least 10 scored archs"):
        predict_from_scores(tmp_path / "few.json", tmp_path / "all.json", tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def _predict_args(run, archs, out, *extra):
    return ("predict", "None", "--checkpoint", run, "--archs", archs, "--out", out, *extra,
            *tiny_flags(run, **{"eval.save_every": 1}))


def test_hnas_predict_grows_its_sample_records_it_resumes_after_sigkill_with_the_same_bytes_and_refuses_another_plan(trained_run, tmp_path):
    archs = tmp_path / "archs.json"
    sample_arch_file(archs, R20, 80, seed=4)
    plan = ("--sample", "30", "--target", "0.99", "--max_sample", "60")
    clean = tmp_path / "clean.json"
    code, stdout, err = run_hnas(*_predict_args(trained_run, archs, clean, *plan))
    assert code == 0, err
    record = json.loads(record_path(clean).read_text())
    assert [r["size"] for r in record["sample"]["rounds"]][0] == 30 and record["scored"] in (30, 60)
    assert record["scored"] + record["predicted"] == 80 and f"{record['scored']} archs scored" in stdout
    scored = {}
    for path in record["sample"]["scores"]:
        scored.update({k: e["acc"] for k, e in json.loads(open(path).read()).items()})
    full = {k: s for k, _, s in read_arch_file(clean, R20, with_scores=True)}
    assert sorted(scored) == sorted(record["scored_keys"]) and all(full[k] == scored[k] for k in scored)
    killed = tmp_path / "killed.json"
    partial = sample_dir(killed) / "round1.scores.json.partial"

    def some_scored():
        try:
            return len(json.loads(partial.read_text())["scores"]) >= 5
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return False
    kill_when(run_hnas(*_predict_args(trained_run, archs, killed, *plan), wait=False), some_scored)
    assert not killed.exists()
    code, stdout, err = run_hnas(*_predict_args(trained_run, archs, killed, *plan))
    assert code == 0, err
    assert "archs already scored" in stdout and killed.read_bytes() == clean.read_bytes()
    # two shards, as on two machines sharing a folder: each scores its half of every round, shard 0 writes
    sharded = tmp_path / "sharded.json"
    shards = [run_hnas(*_predict_args(trained_run, archs, sharded, *plan, "--shard", f"{i}/2"), wait=False)
              for i in range(2)]
    for shard in shards:
        _, err = shard.communicate(timeout=600)
        assert shard.returncode == 0, err
    assert sharded.read_bytes() == clean.read_bytes()
    # a rerun with another sample plan refuses the old rounds' scores and keeps them
    before = (sample_dir(clean) / "round1.scores.json").read_bytes()
    code, _, err = run_hnas(*_predict_args(trained_run, archs, clean, *plan, "--seed", "1"))
    assert code == 2 and "holds the scores of another sample" in err.strip().splitlines()[-1]
    assert (sample_dir(clean) / "round1.scores.json").read_bytes() == before


def test_a_shard_whose_partner_never_comes_stops_with_one_line_and_keeps_its_part(trained_run, tmp_path):
    """Issue 25: a process waiting for another shard's file polled forever; now it stops after
    eval.wait_timeout seconds with nothing appearing (a dead writer on this host at once)."""
    archs, out = tmp_path / "archs.json", tmp_path / "alone.json"
    sample_arch_file(archs, R20, 20, seed=4)
    args = list(_predict_args(trained_run, archs, out, "--sample", "10", "--shard", "0/2"))
    code, _, err = run_hnas(*args, "--eval.wait_timeout", "2")
    assert code == 2 and err.strip().splitlines()[-1].startswith(
        "hnas: error: waited 2 s for the other shards of the round without one appearing: 1 missing")
    assert len(json.loads((sample_dir(out) / "round1.scores.json.part0of2").read_text())) == 5


def test_hnas_predict_bad_input_is_one_line_and_exit_2(trained_run, tmp_path):
    archs = tmp_path / "archs.json"
    sample_arch_file(archs, R20, 20, seed=4)
    for args, fragment in (
            (_predict_args(trained_run, archs, tmp_path / "a.json", "--sample", "0"), "--sample 0: expected"),
            (_predict_args(trained_run, archs, tmp_path / "a.json", "--sample", "50"), "holds only 20 archs"),
            (("predict", "--archs", archs, "--out", tmp_path / "a.json"), "needs --checkpoint, --sample"),
            (("predict", "configs/quickstart.yaml", "--scores", archs, "--archs", archs, "--out", tmp_path / "a.json"),
             "--scores fills in from a score file: CONFIG")):
        code, _, err = run_hnas(*args)
        lines = [line for line in err.splitlines() if line.strip() and "Warning" not in line and "warnings.warn" not in line]
        assert code == 2 and len(lines) == 1 and lines[0].startswith("hnas: error:") and fragment in lines[0], err
    assert not (tmp_path / "a.json").exists()



def test_hnas_predict_under_paddle_distributed_launch_writes_what_one_process_writes_normalized_over_all(trained_run, tmp_path):
    import os
    import subprocess
    import sys
    from conftest import ROOT
    archs = tmp_path / "archs.json"
    sample_arch_file(archs, R20, 30, seed=6)
    single, launched = tmp_path / "single.json", tmp_path / "launched.json"
    plan = ("--sample", "12", "--eval.normalize", "True")
    assert run_hnas(*_predict_args(trained_run, archs, single, *plan))[0] == 0
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir", str(tmp_path / "log"),
           "-m", "hnas", *map(str, _predict_args(trained_run, archs, launched, *plan))]
    proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert launched.read_bytes() == single.read_bytes()
    scores = [e["acc"] for e in json.loads(launched.read_text()).values()]  # eval.normalize: over every arch
    assert min(scores) == 0.0 and max(scores) == 1.0 and json.loads(record_path(launched).read_text())["normalized"]
    assert sorted(p.name for p in sample_dir(launched).iterdir()) == [
        "round1.json", "round1.scores.json", "round1.scores.json.part0of2", "round1.scores.json.part1of2"]
