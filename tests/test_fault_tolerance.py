"""Fault tolerance, each proved on real processes and files: SIGKILL mid-training and mid-scoring,
bad inputs that must be one clear line and leave finished outputs intact, unwritable outputs that
fail before the long work, and VisualDL logs read back with VisualDL's own reader."""
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import paddle
import pytest

from conftest import kill_when, run_hnas, tiny_config, tiny_flags
from hnas.archfile import sample_arch_file
from hnas.spaces import ResNet20Space

ROOT = Path(__file__).resolve().parents[1]
SPACE = ResNet20Space()


def _final_state(run_dir):
    latest = json.loads((run_dir / "latest.json").read_text())
    return latest, paddle.load(str(run_dir / latest["params"]))


def test_sigkill_mid_epoch_then_rerun_resumes_schedule_and_sampler(tmp_path):
    flags = {"train.epochs": 4, "train.sampler": "uniform", "train.log_every": 1}
    code, _, err = run_hnas("train", "None", *tiny_flags(tmp_path / "clean", **flags))
    assert code == 0, err
    run = tmp_path / "killed"
    process = run_hnas("train", "None", *tiny_flags(run, **flags), wait=False)

    def mid_epoch_two():  # epoch 1 is checkpointed and epoch 2 has logged a step
        log = run / "train.log"
        return log.exists() and " step 8 loss" in log.read_text()
    kill_when(process, mid_epoch_two)
    assert json.loads((run / "latest.json").read_text())["epoch"] == 1
    code, out, err = run_hnas("train", "None", *tiny_flags(run, **flags))
    assert code == 0, err
    assert "resuming" in out + err and "after epoch 1 (step 6)" in out + err
    (clean_meta, clean), (meta, resumed) = _final_state(tmp_path / "clean"), _final_state(run)
    assert meta["step"] == clean_meta["step"] == 24
    for name in clean:  # same lr schedule and same sampled archs after the resume: same weights
        np.testing.assert_allclose(resumed[name].numpy(), clean[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    lrs = [line.split(" lr ")[1].split()[0] for line in (run / "train.log").read_text().splitlines() if " lr " in line]
    clean_lrs = [line.split(" lr ")[1].split()[0] for line in (tmp_path / "clean" / "train.log").read_text().splitlines()
                 if " lr " in line]
    assert lrs[-16:] == clean_lrs[-16:]  # the resumed epochs log the uninterrupted run's learning rates


@pytest.fixture(scope="module")
def quick_supernet(tmp_path_factory):
    run = tmp_path_factory.mktemp("supernet")
    code, _, err = run_hnas("train", "None", *tiny_flags(run, **{"train.epochs": 1}))
    assert code == 0, err
    return run


def test_sigkill_mid_scoring_then_rerun_loses_and_repeats_nothing(quick_supernet, tmp_path):
    archs = tmp_path / "archs.json"
    sample_arch_file(archs, SPACE, 60, seed=9)
    flags = tiny_flags(quick_supernet, **{"eval.save_every": 1})
    clean = tmp_path / "clean.json"
    code, _, err = run_hnas("test", "None", "--checkpoint", quick_supernet, "--archs", archs, "--out", clean, *flags)
    assert code == 0, err
    out = tmp_path / "killed.json"
    partial = Path(str(out) + ".partial")
    process = run_hnas("test", "None", "--checkpoint", quick_supernet, "--archs", archs, "--out", out, *flags, wait=False)

    def some_scored():
        try:
            return len(json.loads(partial.read_text())["scores"]) >= 10
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return False
    kill_when(process, some_scored)
    assert not out.exists()
    saved = len(json.loads(partial.read_text())["scores"])
    assert 10 <= saved < 60
    code, stdout, err = run_hnas("test", "None", "--checkpoint", quick_supernet, "--archs", archs, "--out", out, *flags)
    assert code == 0, err
    assert f"{saved}/60 archs already scored" in stdout  # the rerun scores only the other archs
    assert out.read_bytes() == clean.read_bytes() and not partial.exists()


def _one_error_line(code, err, *fragments):
    lines = [line for line in err.splitlines() if line.strip() and "Warning" not in line and "warnings.warn" not in line]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("hnas: error:"), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_bad_inputs_are_one_line_and_finished_outputs_survive(quick_supernet, tmp_path):
    archs = tmp_path / "archs.json"
    sample_arch_file(archs, SPACE, 4, seed=1)
    done = tmp_path / "submission.json"
    assert run_hnas("test", "None", "--checkpoint", quick_supernet, "--archs", archs, "--out", done,
                 *tiny_flags(quick_supernet))[0] == 0
    before = done.read_bytes()
    latest = json.loads((quick_supernet / "latest.json").read_text())
    params = quick_supernet / latest["params"]
    truncated = tmp_path / "truncated.pdparams"
    truncated.write_bytes(params.read_bytes()[: params.stat().st_size // 2])
    foreign = tmp_path / "foreign.pdparams"
    foreign.write_text("not a checkpoint")
    bad_archs = tmp_path / "bad_archs.json"
    bad_archs.write_text(json.dumps({"arch1": {"arch": "4-4-4"}, "arch2": {"arch": SPACE.format(SPACE.largest())}}))
    empty, wrong = tmp_path / "empty.npz", tmp_path / "wrong.npz"
    np.savez(empty, x_train=np.zeros((0, 8, 8, 3), np.uint8), y_train=np.zeros(0, np.int64),
             x_test=np.zeros((4, 8, 8, 3), np.uint8), y_test=np.zeros(4, np.int64))
    np.savez(wrong, x_train=np.zeros((4, 8, 8), np.float32), y_train=np.zeros(4, np.int64),
             x_test=np.zeros((4, 8, 8, 3), np.uint8), y_test=np.zeros(4, np.int64))
    cases = [
        (["test", "None", "--checkpoint", truncated, "--archs", archs, "--out", done], ["truncated.pdparams"]),
        (["test", "None", "--checkpoint", foreign, "--archs", archs, "--out", done], ["foreign.pdparams"]),
        (["test", "None", "--checkpoint", quick_supernet, "--archs", bad_archs, "--out", done], ["arch1"]),
        (["train", "None", "--data.name", "npz", "--data.root", empty], ["empty.npz", "x_train"]),
        (["train", "None", "--data.name", "npz", "--data.root", wrong], ["wrong.npz", "x_train"]),
        (["train", "None", "--train.no_such_key", "1"], ["no_such_key"]),
    ]
    for args, fragments in cases:
        extra = [] if args[0] == "train" else tiny_flags(quick_supernet)
        if args[0] == "train":
            extra = ["--output.dir", tmp_path / "never"]
        code, _, err = run_hnas(*args, *extra)
        _one_error_line(code, err, *fragments)
    assert done.read_bytes() == before  # nothing finished was overwritten or corrupted
    assert json.loads((quick_supernet / "latest.json").read_text()) == latest
    assert not list((tmp_path / "never").glob("epoch_*"))


@pytest.fixture
def mounted(tmp_path):
    """A tiny tmpfs (real ENOSPC / EROFS errors); skipped where this process may not mount."""
    mounts = []

    def mount(name, options):
        point = tmp_path / name
        point.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.decode().strip()})")
        mounts.append(point)
        return point
    yield mount
    for point in mounts:
        subprocess.run(["umount", str(point)], capture_output=True)


def test_full_or_read_only_output_fails_before_training(mounted, tmp_path):
    full = mounted("full", "size=64k")
    fd = os.open(full / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:  # the filesystem is full
        pass
    finally:
        os.close(fd)
    read_only = mounted("read_only", "size=64k,ro")
    for target, reason in ((full / "run", "No space left on device"), (read_only / "run", "Read-only file system")):
        start = time.time()
        code, out, err = run_hnas("train", "None", *tiny_flags(target))
        _one_error_line(code, err, "not writable", reason)
        assert "epoch" not in out and time.time() - start < 60
    archs = tmp_path / "archs.json"
    sample_arch_file(archs, SPACE, 3)
    code, _, err = run_hnas("test", "None", "--checkpoint", tmp_path, "--archs", archs, "--out", read_only / "s.json")
    _one_error_line(code, err, "not writable")


def test_visualdl_logs_read_back_with_visualdl(tmp_path):
    from hnas.train.run import train_supernet
    from visualdl import LogReader
    train_supernet(tiny_config(tmp_path, **{"train.epochs": 2, "train.eval_every": 1}))
    (log_file,) = list((tmp_path / "vdl").iterdir())
    reader = LogReader(file_path=str(log_file))
    tags = reader.get_tags()["scalar"]
    assert {"train/loss", "train/lr", "eval/largest_acc", "eval/smallest_loss"} <= set(tags)
    losses = reader.get_data("scalar", "train/loss")
    assert [r.id for r in losses] == list(range(1, 13)) and all(np.isfinite(r.value) for r in losses)
    assert len(reader.get_data("scalar", "eval/largest_acc")) == 2
