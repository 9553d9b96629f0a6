"""The quickstart's figures in benchmarks/README.md, regenerated from a quickstart run so that they
cannot drift from the code (issue 26).

  bash shell/train.sh && bash shell/test.sh                 # README command 1: checkpoints/quickstart/
  python benchmarks/quickstart_figures.py                   # print the figures of checkpoints/quickstart
  python benchmarks/quickstart_figures.py --write           # put them into benchmarks/README.md
  python benchmarks/quickstart_figures.py --check           # exit 1 if the README says otherwise

The figures: the largest and smallest arch's test accuracy after the last epoch (train.log, the
recipe's bn_mode) and the median and range of the test loss of the 100 listed archs (submission.json).
`tests/test_quickstart.py` (marked slow) runs command 1 in a temporary folder and checks them.
"""
import argparse
import json
import re
import statistics
import sys
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- quickstart figures: benchmarks/quickstart_figures.py --write -->", "<!-- end of quickstart figures -->"


def figures(run):
    """{largest, smallest, median_loss, min_loss, max_loss} of a finished quickstart run folder."""
    run = Path(run)
    last = [line for line in (run / "train.log").read_text().splitlines() if " done at step " in line][-1]
    accs = dict(re.findall(r"(largest|smallest)_acc ([0-9.]+)", last))
    losses = [-entry["acc"] for entry in json.loads((run / "submission.json").read_text()).values()]
    return {"largest": float(accs["largest"]), "smallest": float(accs["smallest"]),
            "median_loss": statistics.median(losses), "min_loss": min(losses), "max_loss": max(losses)}


def block(values):
    return (f"{BEGIN}\nAt the end, largest arch: test accuracy {values['largest']:.3f}; smallest: "
            f"{values['smallest']:.3f} (from `checkpoints/quickstart/train.log`, `bn_mode: batch`). The 100 listed "
            f"archs score a median test loss of {values['median_loss']:.2f} (range {values['min_loss']:.2f}-"
            f"{values['max_loss']:.2f}).\n{END}")


def readme_block(text):
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return start, end


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="checkpoints/quickstart")
    parser.add_argument("--readme", default=str(README))
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--write", action="store_true")
    what.add_argument("--check", action="store_true")
    args = parser.parse_args()
    wanted = block(figures(args.run))
    text = Path(args.readme).read_text()
    start, end = readme_block(text)
    if args.write:
        Path(args.readme).write_text(text[:start] + wanted + text[end:])
    elif args.check and text[start:end] != wanted:
        print(f"{args.readme} says:\n{text[start:end]}\nthe run in {args.run} gives:\n{wanted}", file=sys.stderr)
        sys.exit(1)
    print(wanted)


if __name__ == "__main__":
    main()
