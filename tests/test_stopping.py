"""Issue 32: SIGTERM and SIGINT stop training, scoring and search at a step or arch with their work
saved, one `hnas:` line and exit 128 + the signal; SIGKILL loses at most one checkpoint interval;
every stopped run resumes to the same bytes as a run never stopped. 21 stops at seeded random
points, each under a timeout (a hang fails the test)."""
import json
import random
import re
import signal
import time

import pytest

from conftest import assert_same_checkpoints, kill_when, run_hnas, tiny_flags
from hnas.archfile import sample_arch_file
from hnas.spaces import get_space

TRAINING = {"train.epochs": 4, "train.sampler": "uniform", "train.log_every": 1}  # 6 steps an epoch, 24 in all
STEPS_PER_EPOCH, TOTAL_STEPS = 6, 24
_draw = random.Random(32)
GENTLE_STOPS = [(signal.SIGTERM if i % 2 == 0 else signal.SIGINT, _draw.randrange(1, TOTAL_STEPS - 2)) for i in range(8)]
KILLS = [_draw.randrange(3, TOTAL_STEPS - 2) for _ in range(4)]
SCORING_STOPS = [(signal.SIGTERM if i % 2 == 0 else signal.SIGINT, _draw.randrange(3, 50)) for i in range(4)]
SEARCH_STOPS = [(signal.SIGTERM, 4), (signal.SIGINT, 9)]


def _logged_step(run, step):
    def ready():
        log = run / "train.log"
        return log.exists() and f" step {step} loss" in log.read_text()
    return ready


def _one_hnas_line(err, signum):
    lines = [line for line in err.splitlines() if line.startswith("hnas:")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hnas: stopped by {signal.Signals(signum).name} at ") and "to resume: hnas " in lines[0]
    assert "Traceback" not in err and "FatalError" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def never_stopped(tmp_path_factory):
    run = tmp_path_factory.mktemp("never_stopped")
    code, _, err = run_hnas("train", "None", *tiny_flags(run, **TRAINING))
    assert code == 0, err
    return run


@pytest.mark.parametrize("signum, step", GENTLE_STOPS, ids=[f"{s.name}@{n}" for s, n in GENTLE_STOPS])
def test_sigterm_or_sigint_stops_training_at_a_step_and_the_rerun_gives_the_same_bytes(
        never_stopped, tmp_path, signum, step):
    run = tmp_path / "run"
    process = run_hnas("train", "None", *tiny_flags(run, **TRAINING), wait=False)
    _, err = kill_when(process, _logged_step(run, step), signum=signum)
    assert process.returncode == 128 + signum, err
    line = _one_hnas_line(err, signum)
    latest = json.loads((run / "latest.json").read_text())
    assert latest["step"] >= step  # nothing trained is lost
    epoch, within = divmod(latest["step"], STEPS_PER_EPOCH)
    if within:  # stopped inside an epoch: a mid-epoch checkpoint
        assert latest["epoch"] == epoch and latest["epoch_step"] == within
        assert f"epoch {epoch + 1}, step {within} of {STEPS_PER_EPOCH} (global step {latest['step']})" in line
    else:  # at an epoch's last step the epoch ends first
        assert f"the end of epoch {epoch} (global step {latest['step']})" in line
    resume = re.search(r"to resume: (hnas .*)$", line).group(1).split()
    code, out, err = run_hnas(*resume[1:])
    assert code == 0, err
    assert_same_checkpoints(run, never_stopped)


@pytest.mark.parametrize("step", KILLS)
def test_sigkill_loses_at_most_one_checkpoint_interval_and_the_rerun_gives_the_same_bytes(never_stopped, tmp_path, step):
    run = tmp_path / "run"
    flags = tiny_flags(run, **TRAINING, **{"train.checkpoint_every": 2})  # not part of what is computed
    process = run_hnas("train", "None", *flags, wait=False)
    kill_when(process, _logged_step(run, step))
    assert json.loads((run / "latest.json").read_text())["step"] >= step - 2
    code, out, err = run_hnas("train", "None", *flags)
    assert code == 0, err
    assert_same_checkpoints(run, never_stopped)


@pytest.fixture(scope="module")
def scoring(never_stopped, tmp_path_factory):
    """(supernet run, 60-arch file, its scores never stopped)."""
    folder = tmp_path_factory.mktemp("scoring")
    archs = folder / "archs.json"
    sample_arch_file(archs, get_space("resnet20"), 60, seed=5)
    clean = folder / "clean.json"
    code, _, err = run_hnas("test", "None", "--checkpoint", never_stopped, "--archs", archs, "--out", clean,
                            *tiny_flags(never_stopped, **{"eval.save_every": 1}))
    assert code == 0, err
    return never_stopped, archs, clean


@pytest.mark.parametrize("signum, scored", SCORING_STOPS, ids=[f"{s.name}@{n}" for s, n in SCORING_STOPS])
def test_a_stopped_scoring_keeps_its_archs_and_the_rerun_writes_the_same_file(scoring, tmp_path, signum, scored):
    supernet, archs, clean = scoring
    out = tmp_path / "scores.json"
    command = ["test", "None", "--checkpoint", supernet, "--archs", archs, "--out", out,
               *tiny_flags(supernet, **{"eval.save_every": 1})]
    process = run_hnas(*command, wait=False)
    partial = tmp_path / "scores.json.partial"

    def scored_enough():
        try:
            return len(json.loads(partial.read_text())["scores"]) >= scored
        except (OSError, ValueError, KeyError):
            return False
    _, err = kill_when(process, scored_enough, signum=signum)
    assert process.returncode == 128 + signum, err
    line = _one_hnas_line(err, signum)
    kept = len(json.loads(partial.read_text())["scores"])
    assert kept >= scored and f"{kept} of 60 archs scored" in line and not out.exists()
    code, out_text, err = run_hnas(*command)
    assert code == 0, err
    assert f"resuming {out}: {kept}/60 archs already scored" in out_text + err
    assert out.read_bytes() == clean.read_bytes()


@pytest.mark.parametrize("signum, scored", SEARCH_STOPS, ids=[f"{s.name}@{n}" for s, n in SEARCH_STOPS])
def test_a_stopped_search_resumes_onto_the_same_results(scoring, tmp_path, signum, scored):
    supernet = scoring[0]
    search = ["search", "None", "--checkpoint", supernet, "--method", "evolution", "--generations", "3",
              "--population", "8", "--parents", "3", "--mutations", "4", "--crossovers", "4", "--seed", "1",
              *tiny_flags(supernet)]
    clean, stopped = tmp_path / "clean", tmp_path / "stopped"
    code, _, err = run_hnas(*search, "--out", clean)
    assert code == 0, err
    process = run_hnas(*search, "--out", stopped, wait=False)

    def scored_enough():
        try:
            return len(json.loads((stopped / "state.json").read_text())["scores"]) >= scored
        except (OSError, ValueError, KeyError):
            return False
    _, err = kill_when(process, scored_enough, signum=signum)
    assert process.returncode == 128 + signum, err
    _one_hnas_line(err, signum)
    code, _, err = run_hnas(*search, "--out", stopped)
    assert code == 0, err
    for name in ("top.json", "scored.json", "history.json"):
        assert (stopped / name).read_bytes() == (clean / name).read_bytes(), name


def _busy_process(script_tail, grace=60):
    """A process with hnas's stop handler installed (`grace` seconds) that prints 'busy' and then
    runs `script_tail`."""
    import subprocess
    import sys
    from conftest import ROOT
    script = (f"import hnas, time\nfrom hnas import stopping\nstopping.install(grace={grace})\n"
              "print('busy', flush=True)\n" + script_tail)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "busy\n"
    return process


def test_a_second_signal_after_the_repeat_window_stops_at_once_without_saving():
    from hnas.stopping import REPEAT_WINDOW
    process = _busy_process("time.sleep(120)  # a step stuck in a kernel: no stop point\n")
    process.send_signal(signal.SIGTERM)
    time.sleep(REPEAT_WINDOW + 0.5)
    _, err = kill_when(process, lambda: True, signum=signal.SIGTERM, exit_within=15)
    assert process.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines() == [
        "hnas: SIGTERM again: stopping now, without saving; rerun the same command to resume from the last checkpoint"]


def test_signals_repeated_within_the_window_are_one_request_and_the_save_finishes():
    """paddle.distributed.launch sends each worker SIGTERM up to three times, 0.2 s apart: rank 0,
    writing its checkpoint meanwhile, must finish it and stop as after one signal."""
    process = _busy_process("while stopping.requested() is None:\n    time.sleep(0.01)\n"
                            "time.sleep(1.0)  # the checkpoint being written\n"
                            "try:\n    stopping.stop_here('step 3, checkpoint saved')\n"
                            "except stopping.Stopped as stop:\n    print('saved at', stop.where, flush=True)\n")
    for _ in range(3):
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and out == "saved at step 3, checkpoint saved\n", (out, err)


def test_a_stopped_ground_truth_pool_stops_every_worker_and_the_rerun_gives_the_same_table(tmp_path):
    """SIGTERM to the main process only (as a scheduler sends it): it passes the stop on to its
    workers, each saves and stops, and the rerun finishes from their checkpoints."""
    archs = tmp_path / "archs.json"
    sample_arch_file(archs, get_space("resnet20"), 2, seed=3)
    flags = tiny_flags(tmp_path / "unused", **{"standalone.epochs": 3, "train.log_every": 1})

    def command(name):
        return ["groundtruth", "None", "--archs", archs, "--out", tmp_path / f"{name}.json", "--seeds", "2",
                "--workers", "2", "--cache", tmp_path / f"cache_{name}", *flags]
    code, _, err = run_hnas(*command("clean"))
    assert code == 0, err
    process = run_hnas(*command("stopped"), wait=False)

    def a_run_is_training():
        return any(" step 2 loss" in log.read_text() for log in (tmp_path / "cache_stopped").rglob("train.log"))
    _, err = kill_when(process, a_run_is_training, signum=signal.SIGTERM)
    assert process.returncode == 128 + signal.SIGTERM, err
    _one_hnas_line(err, signal.SIGTERM)
    code, _, err = run_hnas(*command("stopped"))
    assert code == 0, err
    clean, stopped = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("clean", "stopped"))
    assert stopped == clean


def test_a_process_waiting_for_another_shard_stops_at_once(tmp_path):
    """A wait on other processes' files is a stop point too (nothing of this process's is lost)."""
    import subprocess
    import sys
    from conftest import ROOT
    script = ("import hnas, sys\nfrom hnas import stopping\nfrom hnas.lock import wait_for_outputs\n"
              "stopping.install()\nprint('waiting', flush=True)\n"
              f"try:\n    wait_for_outputs([{str(tmp_path / 'never.json')!r}], 'the other shards', 600, poll=0.1)\n"
              "except stopping.Stopped as stop:\n    print(stop.where, flush=True); sys.exit(128 + stop.signum)\n")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "waiting\n"
    out, err = kill_when(process, lambda: True, signum=signal.SIGINT, exit_within=10)
    assert process.returncode == 128 + signal.SIGINT and "waiting for the other shards" in out, err


def test_no_stop_point_within_the_grace_time_exits_at_once_never_a_hang():
    process = _busy_process("time.sleep(120)  # a step stuck in a kernel: no stop point\n", grace=1)
    _, err = kill_when(process, lambda: True, signum=signal.SIGTERM, exit_within=15)
    assert process.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines() == [
        "hnas: SIGTERM: nothing reached a point to stop within 1 s; stopping now, without saving; rerun the same "
        "command to resume from the last checkpoint"]


def test_a_launched_two_process_run_stops_every_rank_at_the_same_step_and_resumes_to_the_same_bytes(tmp_path):
    """Under paddle.distributed.launch, a SIGTERM to the launcher reaches every rank: they agree on
    the step (one all-reduce per step), rank 0 writes the checkpoint, and a relaunch resumes from it."""
    import os
    import subprocess
    import sys
    from conftest import ROOT

    def launch(run, wait=True):
        flags = tiny_flags(run, **TRAINING, **{"data.batch_size": 16})
        command = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
                   str(run) + "_log", str(ROOT / "hnas" / "__main__.py"), "train", "None", *flags]
        process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if wait:
            out, err = process.communicate(timeout=600)
            assert process.returncode == 0, err[-2000:]
        return process
    clean, stopped = tmp_path / "clean", tmp_path / "stopped"
    launch(clean)
    kill_when(launch(stopped, wait=False), _logged_step(stopped, 8), signum=signal.SIGTERM)
    rank_lines = [[line for line in log.read_text().splitlines() if line.startswith("hnas: stopped by SIGTERM at ")]
                  for log in sorted((tmp_path / "stopped_log").glob("workerlog.*"))]
    assert len(rank_lines) == 2 and all(len(lines) == 1 for lines in rank_lines), rank_lines
    steps = {re.search(r"global step (\d+)", lines[0]).group(1) for lines in rank_lines}
    latest = json.loads((stopped / "latest.json").read_text())
    assert steps == {str(latest["step"])} and latest["step"] >= 8  # every rank at the step rank 0 saved
    launch(stopped)
    assert_same_checkpoints(stopped, clean)


@pytest.mark.parametrize("workers", [0, 2])
def test_with_random_augmentation_a_run_stopped_inside_an_epoch_resumes_to_the_same_bytes(tmp_path, workers):
    """Each image's augmentation is drawn from its own seed (hnas.train.trainer.SeededDraws), so
    the draws after a mid-epoch resume are the ones the run never stopped made, with or without
    data loader workers."""
    flags = {**TRAINING, "train.epochs": 2, "data.augment": "official", "data.num_workers": workers}
    clean, stopped = tmp_path / "clean", tmp_path / "stopped"
    code, _, err = run_hnas("train", "None", *tiny_flags(clean, **flags))
    assert code == 0, err
    process = run_hnas("train", "None", *tiny_flags(stopped, **flags), wait=False)
    kill_when(process, _logged_step(stopped, 7), signum=signal.SIGTERM)
    assert process.returncode == 128 + signal.SIGTERM
    assert json.loads((stopped / "latest.json").read_text())["epoch_step"] > 0
    code, _, err = run_hnas("train", "None", *tiny_flags(stopped, **flags))
    assert code == 0, err
    assert_same_checkpoints(stopped, clean)
