"""What `hnas test` adds to scoring: the whole command's work (reading and validating the arch
file, building the scorer, the resumable partial saves, writing the submission JSON) against
building the same scorer and calling it on the same archs, the two interleaved in one process,
medians over repeats.

  python benchmarks/test_overhead.py --archs 100,2000 --repeats 5

Uses the quickstart supernet (configs/quickstart.yaml on the bundled digits), training it first if
checkpoints/quickstart holds no finished run. Digits archs score in a few milliseconds each, so any
per-arch cost of the pipeline shows here more than it would on real data.
"""
import hnas  # noqa: F401  (zlib guard before paddle)
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hnas.archfile import read_arch_file, sample_arch_file
from hnas.build import build_scorer
from hnas.config import load_config
from hnas.evaluate.run import evaluate_arch_file
from hnas.spaces import get_space
from hnas.train.stages import train_recipe

CONFIG = "configs/quickstart.yaml"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="100,2000", help="arch-list sizes")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = load_config(CONFIG)
    run = Path(config["output"]["dir"] or "checkpoints/quickstart")
    train_recipe(load_config(CONFIG, **{"output.dir": str(run)}))  # resumes; a finished run returns at once
    space = get_space(config["space"])
    print("| archs | hnas test s | scorer alone s | pipeline adds |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(n) for n in args.archs.split(",")):
            archs = Path(tmp) / f"archs_{count}.json"
            sample_arch_file(archs, space, count, seed=0)
            out = Path(tmp) / "submission.json"

            def whole_command():
                out.unlink(missing_ok=True)
                evaluate_arch_file(config, run, archs, out)

            parsed = [space.parse(text) for _, text in read_arch_file(archs, space)]

            def scorer_alone():
                scorer, _ = build_scorer(config, run)
                for arch in parsed:
                    scorer.evaluate(arch)

            whole_command(), scorer_alone()  # warm-up
            times = {whole_command: [], scorer_alone: []}
            for _ in range(args.repeats):
                for step in times:
                    start = time.perf_counter()
                    step()
                    times[step].append(time.perf_counter() - start)
            command, alone = np.median(times[whole_command]), np.median(times[scorer_alone])
            print(f"| {count} | {command:.2f} | {alone:.2f} | {100 * (command / alone - 1):+.1f}% |")


if __name__ == "__main__":
    main()
