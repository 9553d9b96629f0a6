"""paddle DataLoaders that end the command with one line when a worker process fails.

paddle 2.6's multi-process DataLoader re-raises a worker's exception in its pin thread; when that
happens after the first batches, the thread dies and the main thread waits for a batch forever (a
run over ImageNet would sit there for days). Every hnas loader therefore reads a guarded dataset:
in a worker, an exception is first written to this process's error file; in the main process, the
loader turns the error paddle raises into that one line (HnasError), and a watchdog thread that
finds the file while the main thread is stuck prints the line and exits with status 2. Files
written so far are kept (checkpoints and partial scores are written atomically).
"""
import os
import threading
import time

import paddle

from hnas.compat import is_pin_memory_thread, pin_memory_thread, shut_down_workers
from hnas.stopping import ignore_in_worker
from hnas.errors import HnasError, say
from hnas.io import scratch_file

WATCH_SECONDS = 1.0
_errors = {}


def _error_file():
    """This process's worker error file, created (and watched) on first use."""
    if "path" not in _errors:
        path = _errors["path"] = scratch_file("hnas_worker_errors_")
        threading.Thread(target=_watch, args=(path,), daemon=True, name="hnas-worker-errors").start()
        threading.excepthook = _quiet_pin_thread(threading.excepthook, path)
    return _errors["path"]


def _quiet_pin_thread(default_hook, path):
    """paddle's pin thread dies printing the worker's traceback; hnas says the one line instead."""
    def hook(args):
        if is_pin_memory_thread(args.thread) and (_errors.get("raised") or _errors_in(path)):
            return  # (at exit the file may already be removed: hence the flag)
        default_hook(args)
    return hook


def _errors_in(path):
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def _watch(path):
    """Exit with the worker's error line when the main thread has not raised it within a few seconds."""
    seen_at = None
    while True:
        time.sleep(WATCH_SECONDS)
        errors = _errors_in(path)
        if len(errors) <= _errors.get("raised", 0):  # none, or each already raised by its loader
            seen_at = None
            continue
        seen_at = seen_at or time.monotonic()
        if time.monotonic() - seen_at > 5 * WATCH_SECONDS:  # the loader did not raise it: paddle is stuck
            say(f"error: {errors[_errors.get('raised', 0)]}")
            os._exit(2)


class GuardedDataset(paddle.io.Dataset):
    def __init__(self, dataset, error_file):
        self.dataset, self.error_file = dataset, error_file

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, item):
        try:
            return self.dataset[item]
        except Exception as err:
            if paddle.io.get_worker_info() is not None:
                message = str(err) if isinstance(err, HnasError) else f"{type(err).__name__}: {err}"
                with open(self.error_file, "a") as sink:
                    sink.write(f"{message} (in a data loader worker, reading item {item})\n")
            raise


class GuardedLoader:
    """A paddle DataLoader over a GuardedDataset: a worker's failure is one HnasError here."""

    def __init__(self, loader, error_file):
        self.loader, self.error_file = loader, error_file

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        batches = iter(self.loader)
        try:
            yield from batches
        except GeneratorExit:  # left before the end (a stopped epoch): end the workers now
            shut_down_workers(batches)
            raise
        except Exception:
            errors = _errors_in(self.error_file)
            if len(errors) <= _errors.get("raised", 0):
                raise
            message = errors[_errors.get("raised", 0)]
            _errors["raised"] = len(errors)  # raised here: the watchdog must not exit the process as well
            # let paddle's pin thread die now, while its traceback can still be silenced (at interpreter
            # shutdown threading's hook is gone and Python prints it)
            pin_thread = pin_memory_thread(batches)
            if pin_thread is not None:
                pin_thread.join(timeout=10)
            shut_down_workers(batches)  # the other workers stop too, so nothing they say follows the error line
            raise HnasError(message) from None


def data_loader(dataset, **options):
    """paddle.io.DataLoader(dataset, **options), guarded when it runs worker processes."""
    if not options.get("num_workers"):
        return paddle.io.DataLoader(dataset, **options)
    error_file = _error_file()
    # a terminal's Ctrl-C reaches the workers too: they leave stopping to the main process (hnas.stopping)
    options.setdefault("worker_init_fn", ignore_in_worker)
    return GuardedLoader(paddle.io.DataLoader(GuardedDataset(dataset, error_file), **options), error_file)
