"""How a long command stops when asked (a scheduler's SIGTERM, Ctrl-C's SIGINT): hnas's own handler,
installed over paddle's (which prints a C++ traceback and can hang inside the signal), only sets a
flag. The loops look at it between steps and between archs, write their checkpoint or partial file,
and raise Stopped; the command prints one `hnas:` line and exits 128 + the signal's number.

A second signal, or no loop taking the request within STOP_GRACE seconds (a step stuck in a kernel,
a wait on another process), exits at once with the same status: never a hang. Signals within
REPEAT_WINDOW seconds of the first are the same request: paddle.distributed.launch sends each worker
SIGTERM up to three times, 0.2 s apart, while it is alive (and rank 0 may be writing its checkpoint).
"""
import os
import shlex
import signal
import sys
import threading
import time

from hnas.errors import say

SIGNALS = (signal.SIGTERM, signal.SIGINT)
STOP_GRACE = 600.0  # seconds: longer than one training step of the largest 2022 net on one GPU
REPEAT_WINDOW = 2.0  # seconds: paddle.distributed.launch's repeats of one SIGTERM, with room for a loaded machine


class Stopped(Exception):
    """A loop stopped at a boundary after a signal, having saved its work; `where` says where."""

    def __init__(self, signum, where):
        super().__init__(signum, where)  # both in args: it crosses a process pool pickled
        self.signum, self.where = signum, where
        _requests.saved_at = where


class _Requests:
    def __init__(self):
        self.signum, self.grace, self.installed = None, STOP_GRACE, False
        self.first_at = None  # time.monotonic() of the first signal
        self.shared = None  # in a pool worker: the signal its parent was asked to stop with (0: none)
        self.saved_at = None  # where the work was saved once a loop stopped

    def handle(self, signum, frame):
        name = signal.Signals(signum).name
        if self.signum is not None and time.monotonic() - self.first_at < REPEAT_WINDOW:
            return  # the same request repeated (paddle.distributed.launch)
        if self.signum is not None:
            if self.saved_at is not None:
                say(f"stopped by {name} at {self.saved_at}; to resume: {resume_command()}")
            else:
                say(f"{name} again: stopping now, without saving; rerun the same command to resume from the last "
                    f"checkpoint")
            os._exit(128 + signum)
        self.signum, self.first_at = signum, time.monotonic()  # the loop that stops says so, once
        timer = threading.Timer(self.grace, self._give_up, args=(signum,))
        timer.daemon = True
        timer.start()

    def _give_up(self, signum):
        say(f"{signal.Signals(signum).name}: nothing reached a point to stop within {self.grace:.0f} s; stopping "
            f"now, without saving; rerun the same command to resume from the last checkpoint")
        os._exit(128 + signum)


_requests = _Requests()


def install(grace=None):
    """Make SIGTERM and SIGINT requests to stop (in the main thread of the main process; the
    command line does it for its long commands). HNAS_STOP_GRACE overrides the grace seconds."""
    _requests.signum, _requests.installed = None, True
    _requests.grace = float(grace if grace is not None else os.environ.get("HNAS_STOP_GRACE", STOP_GRACE))
    arm()


def arm():
    """Put hnas's handler back where install() put it: importing paddle installs paddle's own over
    it, so each loop that stops arms it again when it starts (a no-op unless install() was called)."""
    if _requests.installed and threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            signal.signal(signum, _requests.handle)


def installed():
    """Whether this process stops on SIGTERM / SIGINT through hnas (install() was called)."""
    return _requests.installed


def requested():
    """The signal number a stop was requested with (of this process, or of the parent of a pool
    worker), or None."""
    if _requests.signum is None and _requests.shared is not None and _requests.shared.value:
        return _requests.shared.value
    return _requests.signum


def follow(shared):
    """In a pool worker: stop also when the parent sets `shared` (a multiprocessing.Value) to a signal."""
    _requests.shared = shared


def ignore_in_worker(worker_id=None):
    """A data loader worker leaves stopping to the main process (a terminal's Ctrl-C reaches the whole
    process group); the main process ends its workers when it stops."""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def stop_here(where):
    """Raise Stopped if a stop was requested (call it where the work in hand is saved)."""
    signum = requested()
    if signum is not None:
        raise Stopped(signum, where)


def resume_command(argv=None):
    """The command line that resumes this run: the same one, without --fresh."""
    argv = sys.argv[1:] if argv is None else argv
    return "hnas " + " ".join(shlex.quote(a) for a in argv if a != "--fresh")
