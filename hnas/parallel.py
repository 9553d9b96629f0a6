"""Run independent long jobs (trainings) a few at a time, each in its own spawned process."""
import contextlib
import multiprocessing
from pathlib import Path

from hnas.progress import progress


def run_tasks(function, tasks, workers=1, desc="runs", already_done=0):
    """[function(task) for task in tasks] in order; with workers > 1 the calls run in that many
    spawned processes (`function` must be a module-level function and tasks picklable)."""
    results = []
    with progress(total=len(tasks) + already_done, initial=already_done, desc=desc, unit="run") as bar:
        if workers > 1 and len(tasks) > 1:
            with multiprocessing.get_context("spawn").Pool(min(workers, len(tasks))) as pool:
                for result in pool.imap(function, tasks):
                    results.append(result)
                    bar.update(1)
                # let the workers exit on their own: the pool's terminate() would SIGTERM them,
                # and paddle reports that as an abort
                pool.close()
                pool.join()
        else:
            for task in tasks:
                results.append(function(task))
                bar.update(1)
    return results


@contextlib.contextmanager
def output_to(log_path):
    """Send a job's stdout and stderr (its progress bars) to a log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield
