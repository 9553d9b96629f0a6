"""One writer per output: a run directory or a submission file is written by one hnas process at a
time. The lock is an flock on a file beside the output, so the operating system releases it when
its process dies (a crashed run's lock is simply taken over); the file names its holder for the
error a second writer gets, and is removed on a clean exit. Processes waiting for each other's
outputs (the ranks of a sharded run) read those names to tell a slow writer from a dead one."""
import fcntl
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from hnas.errors import HnasError
from hnas.layout import lock
from hnas.stopping import stop_here


@contextmanager
def only_writer(output, what="output"):
    """Hold the lock of `output` for the duration; another holder is one HnasError naming it."""
    path = lock(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _describe(handle.read())
            handle.close()
            raise HnasError(f"{what} {output} is being written by another hnas process ({holder}); "
                            f"wait for it to finish or stop it") from None
        if _same_file(handle, path):
            break
        handle.close()  # the previous holder removed the file between our open and our lock: retry
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)}))
        handle.flush()
    except OSError as err:
        handle.close()
        raise HnasError(f"{what} {output} is not writable ({err.strerror})") from None
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()


def _same_file(handle, path):
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _describe(text):
    try:
        holder = json.loads(text)
        return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}: {holder['command']}"
    except (ValueError, KeyError, TypeError):
        return "holder unknown"


def _holder(output):
    """The lock record of `output` ({} while its holder is starting), or None when there is no lock."""
    try:
        text = lock(output).read_text()
    except (FileNotFoundError, IsADirectoryError):
        return None
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def _died(holder):
    """Whether a lock record names a process on this host that no longer runs (killed without
    cleaning up); a holder on another host can only be timed out."""
    if not holder or holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, KeyError, TypeError, ValueError):
        return False
    return False


def wait_for_outputs(paths, what, stall_timeout, poll=1.0, say_every=60.0):
    """Block until every path exists (other processes write them under only_writer), saying what
    it waits for once a minute. Fails with one line, instead of waiting forever, when a path's
    writer has died without writing it (its lock names a process of this host that is gone, or
    its lock was seen and went away with no output) or when no path has appeared for
    stall_timeout seconds."""
    paths = [Path(p) for p in paths]
    seen_writing = set()
    missing = [p for p in paths if not p.exists()]
    progress_at = say_at = time.monotonic()
    while missing:
        for path in missing:
            holder = _holder(path)
            if holder is not None:
                seen_writing.add(path)
            if (_died(holder) or (holder is None and path in seen_writing)) and not path.exists():
                whom = f"pid {holder['pid']}" if holder else "its writer"
                raise HnasError(f"{path} will not appear: {whom} stopped without writing it; rerun that "
                                f"process's command to finish it (its saved work is kept)")
        now = time.monotonic()
        if now - progress_at > stall_timeout:
            raise HnasError(f"waited {stall_timeout:.0f} s for {what} without one appearing: {len(missing)} missing "
                            f"(e.g. {missing[0]}); rerun the missing processes' commands (eval.wait_timeout "
                            f"sets this limit)")
        if now - say_at >= say_every:
            print(f"waiting for {what}: {len(missing)} missing (e.g. {missing[0]})", file=sys.stderr)
            say_at = now
        time.sleep(poll)
        stop_here(f"waiting for {what} ({len(missing)} missing; nothing of this process's is lost)")
        still = [p for p in missing if not p.exists()]
        if len(still) < len(missing):
            progress_at = time.monotonic()
        missing = still
