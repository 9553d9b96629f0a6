import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hnas.errors import HnasError
from hnas.evaluate import run as evaluate_run
from hnas.archfile import read_arch_file, sample_arch_file
from hnas.build import build_scorer
from hnas.evaluate.run import evaluate_arch_file
from hnas.spaces import ResNet20Space
from conftest import TINY, host_copies_per_call, tiny_config

SPACE = ResNet20Space()
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def arch_list(tmp_path):
    path = tmp_path / "archs.json"
    sample_arch_file(path, SPACE, 10, seed=3)
    return path


def test_bad_entries_are_all_reported_before_any_work(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({
        "arch1": {"arch": "-".join(["4"] * 20), "acc": 0},
        "arch2": {"arch": "4-4", "acc": 0},
        "arch3": {"acc": 0},
        "arch4": {"arch": "-".join(["4"] * 19 + ["99"]), "acc": 0},
    }))
    with pytest.raises(HnasError) as err:
        read_arch_file(path, SPACE)
    message = str(err.value)
    assert "3 bad entries" in message and "'arch2'" in message and "'arch3'" in message
    assert "'arch4'" in message and "position 20 is 99" in message and "\n" not in message


@pytest.mark.every_stack
@pytest.mark.parametrize("bn_mode", ["supernet", "calib_train", "calib_test", "batch"])
def test_every_bn_mode_scores_and_keeps_keys_in_order(trained_run, arch_list, tmp_path, bn_mode):
    out = tmp_path / "out.json"
    evaluate_arch_file(tiny_config(trained_run, **{"eval.bn_mode": bn_mode, "eval.metric": "acc"}),
                  trained_run, arch_list, out)
    written = json.loads(out.read_text())
    original = json.loads(arch_list.read_text())
    assert list(written) == list(original)
    assert all(written[k]["arch"] == original[k]["arch"] for k in original)
    assert all(0.0 <= e["acc"] <= 1.0 for e in written.values())
    assert not (tmp_path / "out.json.partial").exists()


def test_calibration_leaves_no_trace_and_an_epoch_eval_does_not_change_the_checkpoint(trained_run, tmp_path):
    from conftest import assert_calibration_leaves_no_trace, assert_same_checkpoints
    from hnas.train.run import train_supernet
    scorer, _ = build_scorer(tiny_config(trained_run, **{"eval.bn_mode": "calib_train"}), trained_run)
    assert_calibration_leaves_no_trace(scorer, SPACE.smallest(), SPACE.largest())
    calibrated = {"eval.bn_mode": "calib_train", "train.epochs": 1}
    train_supernet(tiny_config(tmp_path / "evaluated", **calibrated, **{"train.eval_every": 1}))
    train_supernet(tiny_config(tmp_path / "not", **calibrated, **{"train.eval_every": 0}))
    assert_same_checkpoints(tmp_path / "evaluated", tmp_path / "not")


def test_scores_do_not_depend_on_order_and_subset_is_fixed(trained_run):
    scorer, _ = build_scorer(tiny_config(trained_run, **{"eval.bn_mode": "calib_train"}), trained_run)
    a, b = SPACE.smallest(), SPACE.largest()
    first = scorer.evaluate(a)
    scorer.evaluate(b)
    assert scorer.evaluate(a) == first
    sub, _ = build_scorer(tiny_config(trained_run, **{"eval.max_images": 40}), trained_run)
    assert sum(int(y.shape[0]) for _, y in sub.test_batches) == 40


@pytest.mark.parametrize("subset", ["random", "stratified", "disagreement"])
def test_every_subset_kind_scores_a_fixed_set_of_max_images(trained_run, subset):
    config = tiny_config(trained_run, **{"eval.max_images": 24, "eval.subset": subset, "eval.pilot_archs": 3})
    first, _ = build_scorer(config, trained_run)
    again, _ = build_scorer(config, trained_run)
    assert len(first.test_batches.indices) == 24
    np.testing.assert_array_equal(first.test_batches.indices, again.test_batches.indices)
    arch = SPACE.smallest()
    assert first.evaluate(arch) == again.evaluate(arch)
    if subset == "stratified":
        labels = np.concatenate([y.numpy() for _, y in first.test_batches])
        full = np.concatenate([y.numpy() for _, y in build_scorer(tiny_config(trained_run), trained_run)[0].test_batches])
        expected = np.bincount(full, minlength=10) * 24 / len(full)
        assert np.all(np.abs(np.bincount(labels, minlength=10) - expected) < 1)
    if subset == "disagreement":  # the pilots' per-image losses differ more on the chosen images
        pool = build_scorer(tiny_config(trained_run, **{"eval.max_images": 96}), trained_run)[0]
        spread = np.std([pool.per_image_losses(a) for a in (SPACE.largest(), SPACE.smallest())], axis=0)
        chosen = np.isin(pool.test_batches.indices, first.test_batches.indices)
        assert spread[chosen].mean() > spread[~chosen].mean()


def test_loss_metric_and_min_max_normalisation(trained_run, arch_list, tmp_path):
    out = tmp_path / "n.json"
    evaluate_arch_file(tiny_config(trained_run, **{"eval.normalize": True}), trained_run, arch_list, out)
    values = [e["acc"] for e in json.loads(out.read_text()).values()]
    assert min(values) == 0.0 and max(values) == 1.0
    raw = tmp_path / "raw.json"
    evaluate_arch_file(tiny_config(trained_run), trained_run, arch_list, raw)
    assert all(e["acc"] < 0 for e in json.loads(raw.read_text()).values())  # -cross-entropy


@pytest.mark.every_stack
def test_interrupted_scoring_resumes_to_the_same_file(trained_run, arch_list, tmp_path, monkeypatch):
    config = tiny_config(trained_run, **{"eval.save_every": 1})
    clean = tmp_path / "clean.json"
    evaluate_arch_file(config, trained_run, arch_list, clean)
    real_build = evaluate_run.build_scorer

    def build_flaky(*args, **kwargs):
        scorer, params = real_build(*args, **kwargs)
        real_evaluate, done = scorer.evaluate, []

        def evaluate(arch):
            if len(done) == 6:
                raise KeyboardInterrupt
            done.append(arch)
            return real_evaluate(arch)
        scorer.evaluate = evaluate
        return scorer, params

    resumed = tmp_path / "resumed.json"
    monkeypatch.setattr(evaluate_run, "build_scorer", build_flaky)
    with pytest.raises(KeyboardInterrupt):
        evaluate_arch_file(config, trained_run, arch_list, resumed)
    assert not resumed.exists()
    partial = json.loads((tmp_path / "resumed.json.partial").read_text())
    assert len(partial["scores"]) == 6
    monkeypatch.setattr(evaluate_run, "build_scorer", real_build)
    evaluate_arch_file(config, trained_run, arch_list, resumed)
    assert resumed.read_bytes() == clean.read_bytes()


def _cli(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "hnas", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _flags(run_dir):
    flags = []
    for key, value in TINY.items():
        flags += [f"--{key}", value]
    return flags + ["--output.dir", run_dir]


def test_two_process_shards_merge_to_the_single_process_file(trained_run, arch_list, tmp_path):
    single = tmp_path / "single.json"
    evaluate_arch_file(tiny_config(trained_run), trained_run, arch_list, single)
    parts = [tmp_path / f"part{i}.json" for i in range(2)]
    procs = [_cli("test", "configs/quickstart.yaml", "--checkpoint", trained_run, "--archs", arch_list,
                  "--out", part, "--shard", f"{i}/2", *_flags(trained_run)) for i, part in enumerate(parts)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        assert "\r" not in err and "scoring: 5/5 arch (100%)" in err  # plain progress lines, not tqdm frames
    assert [len(json.loads(p.read_text())) for p in parts] == [5, 5]
    merged = tmp_path / "merged.json"
    proc = _cli("merge", arch_list, merged, *parts)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert merged.read_bytes() == single.read_bytes()


@pytest.mark.parametrize("args, fragment", [
    (["test", "configs/quickstart.yaml", "--checkpoint", "/nonexistent/run", "--archs", "{archs}", "--out", "{tmp}/o.json"],
     "checkpoint not found: /nonexistent/run"),
    (["train", "configs/quickstart.yaml", "--data.name", "cifar100", "--data.root", "/nonexistent/c.tar.gz",
      "--output.dir", "{tmp}/r"], "cifar-100-python.tar.gz not found at /nonexistent/c.tar.gz"),
    (["train", "configs/quickstart.yaml", "--train.learning_rate", "0.1"], "train.learning_rate: unknown key"),
    (["standalone", "configs/quickstart.yaml", "--arch", "16-4"], "expected 20 ints"),
])
def test_user_errors_are_one_line(tmp_path, arch_list, args, fragment):
    args = [a.format(archs=arch_list, tmp=tmp_path) for a in args]
    proc = _cli(*args)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    lines = [line for line in err.splitlines() if line.startswith("hnas: error:")]
    assert len(lines) == 1 and fragment in lines[0], err
    assert "Traceback" not in err


def test_distributed_launch_scores_one_shard_per_rank(trained_run, arch_list, tmp_path):
    single = tmp_path / "single.json"
    evaluate_arch_file(tiny_config(trained_run), trained_run, arch_list, single)
    out = tmp_path / "launched.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
           "--log_dir", str(tmp_path / "log"), "-m", "hnas", "test", "configs/quickstart.yaml",
           "--checkpoint", str(trained_run), "--archs", str(arch_list), "--out", str(out),
           *map(str, _flags(trained_run))]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert out.read_bytes() == single.read_bytes()


@pytest.mark.parametrize("bn_mode", ["batch", "calib_train"])
def test_a_scored_arch_copies_to_the_host_once(trained_run, monkeypatch, bn_mode):
    """Issue 25: every host copy (Tensor.numpy, which float() and int() go through) empties a GPU's
    queue; scoring an arch sums on the device and copies once."""
    scorer, _ = build_scorer(tiny_config(trained_run, **{"eval.bn_mode": bn_mode}), trained_run)
    arch = SPACE.smallest()
    expected = scorer.evaluate(arch)
    copies = host_copies_per_call(monkeypatch, scorer, "evaluate")
    assert scorer.evaluate(arch) == expected
    assert copies == [1]


@pytest.mark.parametrize("source", ["digits", "imagefolder"])
def test_fixed_batches_keep_uint8_and_normalise_to_the_same_values(source, image_folder, monkeypatch):
    """Issue 25: the cache held float32 (4 bytes a channel), so 5,000 ImageNet crops at 224 px did not
    fit and were decoded again for every arch; now it holds uint8 and normalises on the device."""
    import paddle
    from hnas.data import build_data
    from hnas import scoring
    data = (build_data("digits", image_size=16, test_size=40) if source == "digits"
            else build_data("imagefolder", root=str(image_folder), image_size=32))
    expected = [np.stack([data.test[i][0] for i in range(start, min(start + 4, len(data.test)))])
                for start in range(0, len(data.test), 4)]
    batches = scoring.FixedBatches(data.test, 4)
    assert batches.cached is not None  # kept as uint8, as numpy on a CPU
    assert all(isinstance(images, np.ndarray) and images.dtype == np.uint8 for images, _ in batches.cached)
    assert sum(images.nbytes for images, _ in batches.cached) == len(data.test) * 3 * data.image_size ** 2
    on_device = batches.normalize.batch(paddle.to_tensor(batches.cached[0][0]))  # a GPU's path, run on the CPU
    assert isinstance(on_device, paddle.Tensor) and np.array_equal(on_device.numpy(), expected[0])
    for _ in range(2):
        got = [images.numpy() for images, _ in batches]
        assert len(got) == len(expected) and all(np.array_equal(g, e) for g, e in zip(got, expected))
    monkeypatch.setattr(scoring, "CACHE_BYTES", len(data.test) * 3 * data.image_size ** 2 - 1)
    uncached = scoring.FixedBatches(data.test, 4)
    assert uncached.cached is None  # uint8 bytes decide: one byte short of the set, read per pass
    assert all(np.array_equal(images.numpy(), e) for (images, _), e in zip(uncached, expected))
