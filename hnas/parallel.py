"""Run independent long jobs (trainings) a few at a time, each in its own spawned process, each
process on its own GPU when there are several (round robin), else on the CPU."""
import contextlib
import functools
import multiprocessing
import os
from pathlib import Path

from hnas import stopping
from hnas.progress import progress


def run_tasks(function, tasks, workers=1, desc="runs", already_done=0):
    """[function(task) for task in tasks] in order; with workers > 1 the calls run in that many
    spawned processes (`function` must be a module-level function and tasks picklable)."""
    results = []
    with progress(total=len(tasks) + already_done, initial=already_done, desc=desc, unit="run") as bar:
        if workers > 1 and len(tasks) > 1:
            context = multiprocessing.get_context("spawn")
            stop = context.Value("i", 0)  # the signal the workers are asked to stop with (0: none)
            with context.Pool(min(workers, len(tasks)), initializer=_claim_device,
                              initargs=(context.Value("i", 0), stop if stopping.installed() else None)) as pool:
                try:
                    for result in _collect(pool.imap(functools.partial(_run_unless_stopping, function), tasks), stop):
                        results.append(result)
                        bar.update(1)
                except stopping.Stopped as stopped:
                    stop.value = stopped.signum  # one worker stopped: all do (queued tasks before they start)
                    pool.close()
                    pool.join()
                    raise
                # let the workers exit on their own: the pool's terminate() would SIGTERM them,
                # and paddle reports that as an abort
                pool.close()
                pool.join()
        else:
            for task in tasks:
                results.append(function(task))
                bar.update(1)
    return results


def _run_unless_stopping(function, task):
    stopping.stop_here("a task not started")
    return function(task)


def _collect(results, stop, poll=0.5):
    """The pool's results in order. A stop asked of this process is passed on to the workers through
    `stop`: each stops at its next step or arch with its work saved, and its Stopped comes back here."""
    while True:
        try:
            yield results.next(timeout=poll)
        except StopIteration:
            return
        except multiprocessing.TimeoutError:
            stop.value = stopping.requested() or 0


def worker_device(index, gpus):
    """The device of worker `index` with `gpus` visible GPUs: round robin over them, else the CPU."""
    return f"gpu:{index % gpus}" if gpus else "cpu"


def _claim_device(counter, stop=None):
    """Pool initializer: take the next worker index and put this process on its device (every worker
    landed on gpu:0 before); with `stop`, stop like the command that started it (hnas.stopping)."""
    with counter.get_lock():
        index, counter.value = counter.value, counter.value + 1
    import hnas  # noqa: F401  (the zlib guard before paddle)
    import paddle
    gpus = paddle.device.cuda.device_count() if paddle.is_compiled_with_cuda() else 0
    os.environ["HNAS_WORKER_DEVICE"] = device = worker_device(index, gpus)
    paddle.set_device(device)
    if stop is not None:  # after paddle's import, which installs its own handlers
        stopping.install()
        stopping.follow(stop)


@contextlib.contextmanager
def output_to(log_path):
    """Send a job's stdout and stderr (its progress bars) to a log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield
