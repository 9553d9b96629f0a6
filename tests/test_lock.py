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
from hnas.layout import lock as lock_path
from hnas.lock import only_writer, wait_for_outputs

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


def test_waiting_for_a_shard_ends_when_its_writer_is_killed_not_never(tmp_path):
    """Issue 25: rank 0 polled for the other ranks' parts forever when one had died."""
    part = tmp_path / "scores.json.part1of2"
    writer = _holder(part)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert lock_path(part).exists()  # a killed process leaves its lock file naming it
    start = time.monotonic()
    with pytest.raises(HnasError, match=f"{part} will not appear: pid {writer.pid} stopped without writing it"):
        wait_for_outputs([part], "the other ranks' parts", stall_timeout=600, poll=0.05)
    assert time.monotonic() - start < 5


def test_waiting_ends_when_a_seen_writer_leaves_without_the_file_and_returns_when_it_appears(tmp_path):
    import threading
    part, done = tmp_path / "a.part0of2", tmp_path / "b.part1of2"

    def fail_while_writing():
        with pytest.raises(RuntimeError), only_writer(part):
            time.sleep(0.3)
            raise RuntimeError("the scorer crashed")
    thread = threading.Thread(target=fail_while_writing)
    thread.start()
    with pytest.raises(HnasError, match="will not appear: its writer stopped"):
        wait_for_outputs([part], "parts", stall_timeout=600, poll=0.05)
    thread.join()

    def write_later():
        with only_writer(done):
            time.sleep(0.3)
            done.write_text("{}")
    thread = threading.Thread(target=write_later)
    thread.start()
    wait_for_outputs([done], "parts", stall_timeout=600, poll=0.05)
    thread.join()
    assert done.read_text() == "{}"


def test_waiting_with_no_output_appearing_times_out_with_one_line(tmp_path):
    start = time.monotonic()
    with pytest.raises(HnasError, match=r"waited 1 s for the other ranks' parts without one appearing: 1 missing"):
        wait_for_outputs([tmp_path / "never.json"], "the other ranks' parts", stall_timeout=1, poll=0.05)
    assert time.monotonic() - start < 5
