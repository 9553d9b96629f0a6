"""Progress: tqdm on a terminal, plain periodic lines in a file."""
import io

from tqdm import tqdm

from hnas.progress import PlainProgress, progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_bar_and_a_file_gets_plain_lines():
    bar = progress(total=3, desc="scoring", file=Terminal())
    assert isinstance(bar, tqdm)
    bar.close()
    assert isinstance(progress(total=3, file=io.StringIO()), PlainProgress)


def test_plain_lines_come_every_period_and_at_the_end_without_carriage_returns():
    now = [0.0]
    out = io.StringIO()
    with PlainProgress(total=100, desc="scoring", unit="arch", file=out, every=30.0, clock=lambda: now[0]) as bar:
        for _ in range(100):
            now[0] += 1.0  # one arch a second: a line at 30, 60 and 90 s, and the last at 100
            bar.update(1)
            bar.set_postfix(loss="0.5")
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(lines) == 4
    assert lines[0] == "scoring: 30/100 arch (30%), 0:30 elapsed, 1 s/arch, loss 0.5"
    assert lines[-1] == "scoring: 100/100 arch (100%), 1:40 elapsed, 1 s/arch, loss 0.5"


def test_plain_progress_over_an_iterable_and_a_resumed_count():
    out = io.StringIO()
    assert list(progress([1, 2, 3], desc="runs", file=out)) == [1, 2, 3]
    assert out.getvalue().splitlines()[-1].startswith("runs: 3/3 it (100%)")
    out = io.StringIO()
    with progress(total=10, initial=7, unit="run", file=out) as bar:
        bar.update(3)
    assert out.getvalue().startswith("10/10 run (100%)")
