"""One writer per output: a run directory or a submission file is written by one hnas process at a
time. The lock is an flock on a file beside the output, so the operating system releases it when
its process dies (a crashed run's lock is simply taken over); the file names its holder for the
error a second writer gets, and is removed on a clean exit."""
import fcntl
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from hnas.errors import HnasError


def lock_path(output):
    """The lock file of an output: DIR/.hnas.lock for a directory, FILE.lock for a file."""
    output = Path(output)
    return output / ".hnas.lock" if output.is_dir() else output.with_name(output.name + ".lock")


@contextmanager
def only_writer(output, what="output"):
    """Hold the lock of `output` for the duration; another holder is one HnasError naming it."""
    path = lock_path(output)
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
