"""Rank consistency on the bundled digits: priors, and supernets trained without and with the
prior rank loss, against multi-seed stand-alone ground truth (issue 4's measurement).

    python benchmarks/rank_digits.py --workers 2

Every step is a `hnas` command run as a subprocess (logs in OUT/logs), skipped when its output
exists, so an interrupted benchmark resumes. Writes OUT/table.md.
"""
import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

import hnas  # noqa: F401  (zlib guard)
from hnas.metrics import kendall_tau, pearson, seed_vs_seed_tau
from hnas.metrics.report import matched_scores
from hnas.spaces import ResNet20Space

CONFIG = "configs/digits_rank_benchmark.yaml"
ARCHS = "benchmarks/digits_archs.json"


def rank_loss_flags(prior, form="step"):
    """The 2022 3rd place's schedule, min(2, epoch / 10), toward `prior`."""
    return ["--train.rank_loss", prior, "--train.rank_form", form, "--train.rank_schedule", "progressive",
            "--train.rank_weight", "2.0", "--train.rank_ramp_epochs", "10"]


RECIPES = {
    "supernet": [],
    "supernet + FLOPs rank loss": rank_loss_flags("flops"),
    "supernet + params rank loss": rank_loss_flags("params"),
    "supernet + Zen rank loss": rank_loss_flags("zen"),
    # the 2022 3rd place's own form: extra pairs trained only through the hinge (rank_form: pgonas)
    "supernet + FLOPs rank loss (pgonas form)": rank_loss_flags("flops", "pgonas"),
    "supernet + Zen rank loss (pgonas form)": rank_loss_flags("zen", "pgonas"),
    # Why the sampled subnets score near chance: an independent classifier per width gets ~1/16 of the
    # sampled steps, and 270 steps are few. These rows separate the two causes.
    "supernet + FC full": ["--model.fc", "full"],
    "supernet + 120 epochs": ["--train.epochs", "120"],
    "supernet + FC full + 120 epochs": ["--model.fc", "full", "--train.epochs", "120"],
}


def hnas_command(args, log):
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        subprocess.run([sys.executable, "-m", "hnas", *args], stdout=f, stderr=subprocess.STDOUT, check=True)


def supernet_scores(out, name, extra, seed):
    slug = name.replace(" + ", "_").replace(" ", "_").replace("(", "").replace(")", "").lower()
    run = out / "runs" / f"{slug}_seed{seed}"
    scores = run / "scores.json"
    if not scores.exists():
        hnas_command(["train", CONFIG, "--train.seed", str(seed), "--output.dir", str(run), *extra],
                     out / "logs" / f"{slug}_seed{seed}.log")
        hnas_command(["test", CONFIG, "--checkpoint", str(run), "--archs", ARCHS, "--out", str(scores),
                      "--output.dir", str(run)], out / "logs" / f"{slug}_seed{seed}.log")
    return scores


def prior_scores(out, prior):
    scores = out / "priors" / f"{prior}.json"
    if not scores.exists():
        hnas_command(["proxy", "--archs", ARCHS, "--proxy", prior, "--out", str(scores), "--num_classes", "10",
                      "--image_size", "8"], out / "logs" / f"prior_{prior}.log")
    return scores


def taus(pred_path, gt):
    space = ResNet20Space()
    keys, pred, acc = matched_scores(pred_path, gt, space)
    loss = np.array([json.loads(Path(gt).read_text())[k]["loss"] for k in keys])
    return {"tau_acc": kendall_tau(pred, acc), "pearson_acc": pearson(pred, acc), "tau_loss": kendall_tau(pred, -loss)}


def row(name, results):
    cells = []
    for field in ("tau_acc", "pearson_acc", "tau_loss"):
        values = [r[field] for r in results]
        cells.append(f"{np.mean(values):.3f}" + (f" ± {np.std(values):.3f}" if len(values) > 1 else ""))
    return f"| {name} | {len(results)} | " + " | ".join(cells) + " |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/out/rank_digits")
    parser.add_argument("--gt", default="benchmarks/digits_gt.json")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", default="checkpoints/groundtruth", help="hnas groundtruth's run cache")
    args = parser.parse_args()
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    recipes = [r for r in RECIPES if r in args.recipes.split(",")]
    jobs = [(name, seed) for name in recipes for seed in seeds]
    with ThreadPoolExecutor(args.workers) as pool:
        priors = {p: pool.submit(prior_scores, out, p) for p in ("params", "flops", "zen")}
        runs = {job: pool.submit(supernet_scores, out, job[0], RECIPES[job[0]], job[1]) for job in jobs}
        priors = {p: f.result() for p, f in priors.items()}
        runs = {job: f.result() for job, f in runs.items()}
    if not Path(args.gt).exists():
        hnas_command(["groundtruth", CONFIG, "--archs", ARCHS, "--out", args.gt, "--seeds", "3",
                      "--workers", str(args.workers), "--cache", args.cache], out / "logs" / "groundtruth.log")
    gt = json.loads(Path(args.gt).read_text())
    lines = ["| ranker | runs | Kendall tau-b (acc) | Pearson (acc) | Kendall tau-b (loss) |", "|---|---|---|---|---|"]
    ceiling_acc = seed_vs_seed_tau([e["accs"] for e in gt.values()])
    ceiling_loss = seed_vs_seed_tau([[-v for v in e["losses"]] for e in gt.values()])
    lines.append(f"| stand-alone seed vs seed (ceiling) | {ceiling_acc['pairs']} pairs | {ceiling_acc['mean']:.3f} "
                 f"(min {ceiling_acc['min']:.3f}) | | {ceiling_loss['mean']:.3f} (min {ceiling_loss['min']:.3f}) |")
    for prior, path in priors.items():
        lines.append(row(f"prior: {prior}", [taus(path, args.gt)]))
    for name in recipes:
        lines.append(row(name, [taus(runs[(name, seed)], args.gt) for seed in seeds]))
    accs = [e["acc"] for e in gt.values()]
    summary = (f"{len(gt)} archs; ground truth = mean over 3 seeds of stand-alone test accuracy "
               f"({min(accs):.3f}..{max(accs):.3f}) and test loss; supernet rows: mean ± std over seeds {seeds}")
    table = summary + "\n\n" + "\n".join(lines) + "\n"
    (out / "table.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
