"""README command 1 (the quickstart) end to end, and the figures benchmarks/README.md quotes from it
(issue 26: they had drifted from what the code gives). In the default run, so CI checks them: about 80 s,
scheduled first (conftest.py) so that pytest-xdist's other worker runs the rest meanwhile."""
import os
import subprocess
import sys

from conftest import ROOT


def test_the_quickstart_runs_and_gives_the_figures_benchmarks_readme_quotes(tmp_path):
    run = tmp_path / "quickstart"
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    for script in ("shell/train.sh", "shell/test.sh"):
        proc = subprocess.run(["bash", script, "--output.dir", str(run)], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=1800)
        assert proc.returncode == 0, proc.stderr[-2000:]
    check = subprocess.run([sys.executable, "benchmarks/quickstart_figures.py", "--run", str(run), "--check"],
                           cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
