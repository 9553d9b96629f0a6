"""Progress for every long loop: a tqdm bar on a terminal; elsewhere (a log file, CI, a spawned
worker's output.log) a plain line every PLAIN_SECONDS and one at the end, instead of a file
full of carriage-return frames."""
import sys
import time

from tqdm import tqdm

PLAIN_SECONDS = 30.0


def progress(iterable=None, *, total=None, initial=0, desc="", unit="it", file=None, **tqdm_options):
    """tqdm(...) when `file` (stderr by default) is a terminal, else PlainProgress(...)."""
    stream = file or sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(iterable, total=total, initial=initial, desc=desc, unit=unit, file=stream, **tqdm_options)
    return PlainProgress(iterable, total=total, initial=initial, desc=desc, unit=unit, file=stream)


class PlainProgress:
    """The part of tqdm's interface hnas uses (update, set_postfix, close, iteration, `with`),
    printed as lines like `scoring: 40/48 arch (83%), 2:08 elapsed, 2.96 s/arch`."""

    def __init__(self, iterable=None, total=None, initial=0, desc="", unit="it", file=None,
                 every=PLAIN_SECONDS, clock=time.monotonic):
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable, self.total, self.n, self.start_n = iterable, total, initial, initial
        self.desc, self.unit, self.file, self.every, self.clock = desc, unit, file or sys.stderr, every, clock
        self.started = self.last = clock()
        self.postfix, self.closed = "", False

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def update(self, n=1):
        self.n += n
        if self.clock() - self.last >= self.every:
            self._print()

    def set_postfix(self, **values):
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())

    def close(self):
        if not self.closed:
            self.closed = True
            self._print()

    def line(self):
        elapsed = self.clock() - self.started
        done = self.n - self.start_n
        count = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        rate = f", {elapsed / done:.3g} s/{self.unit}" if done else ""
        minutes, seconds = divmod(int(elapsed), 60)
        extra = f", {self.postfix}" if self.postfix else ""
        return f"{self.desc + ': ' if self.desc else ''}{count} {self.unit}{share}, {minutes}:{seconds:02d} elapsed{rate}{extra}"

    def _print(self):
        self.last = self.clock()
        print(self.line(), file=self.file, flush=True)
