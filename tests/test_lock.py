"""One writer per output: a second writer fails at once naming the first; a dead writer's lock is
taken over; a clean exit leaves no lock file."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hnas.errors import HnasError
from hnas.lock import lock_path, only_writer

ROOT = Path(__file__).resolve().parents[1]
HOLD = "import sys, time; from hnas.lock import only_writer\nwith only_writer(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)"


def _holder(output):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(output)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_fails_naming_the_first_and_a_clean_exit_removes_the_lock(tmp_path):
    out = tmp_path / "scores.json"
    with only_writer(out, "scores file"):
        with pytest.raises(HnasError) as err:
            with only_writer(out, "scores file"):
                pass
        assert f"scores file {out} is being written by another hnas process (pid {os.getpid()}" in str(err.value)
    assert not lock_path(out).exists()
    with only_writer(out):  # free again
        pass


def test_the_lock_of_a_killed_writer_is_taken_over(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    holder = _holder(run)
    with pytest.raises(HnasError, match=f"pid {holder.pid}"):
        with only_writer(run):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock_path(run).exists()  # left behind, but no process holds it
    with only_writer(run, "run directory"):
        assert str(os.getpid()) in lock_path(run).read_text()


def test_a_second_hnas_train_on_the_same_run_directory_is_one_error_before_any_work(tmp_path, capsys):
    from hnas.cli import main
    run = tmp_path / "run"
    run.mkdir()
    holder = _holder(run)
    try:
        start = time.time()
        with pytest.raises(SystemExit) as done:
            main(["train", "configs/quickstart.yaml", "--output.dir", str(run)])
        assert done.value.code == 2 and time.time() - start < 10
        err = capsys.readouterr().err
        assert f"run directory {run} is being written by another hnas process (pid {holder.pid}" in err
        assert not list(run.glob("*.pdparams"))
    finally:
        holder.kill()
        holder.wait()
