"""Scoring at a fraction of the test images: for every evaluation setting of an ablation (by
default configs/ablate_fmnist_scoring.yaml), Kendall tau-b against the stand-alone ground truth
and against the ablation's first setting (all test images), and with the parameter count, mean +- std
over supernet seeds, beside the best prior and the ground truth's ceiling; and the cost per arch in
image-forwards (a count, not a timing).

  python benchmarks/scoring_subsets.py [configs/ablate_fmnist_scoring.yaml]

Runs the ablation first (hnas ablate: resumable, every finished piece kept), then writes the
table to OUTPUT/subsets.md and prints it. The cost counts every image a scorer forwards per arch:
its test images plus, for calib_* BN modes, the calibration images; a disagreement subset also
scores its pilot archs once on a candidate pool, reported separately because it does not grow
with the number of archs.
"""
import hnas  # noqa: F401  (zlib guard before paddle)
import json
import sys
from collections import defaultdict

import numpy as np

from hnas.ablate.run import run_ablation
from hnas.layout import ABLATION_CELL as CELL_FILE
from hnas.ablate.spec import AblationSpec
from hnas.build import data_from_config
from hnas.image_subsets import POOL_FACTOR
from hnas.io import write_text
from hnas.metrics import kendall_tau, split_half_tau
from hnas.metrics.report import matched_scores
from hnas.proxies import count_params
from hnas.spaces import get_space


def images_per_arch(config, test_count, train_count):
    e = config["eval"]
    test = test_count if e["max_images"] is None else min(e["max_images"], test_count)
    calib = 0
    if e["bn_mode"].startswith("calib"):
        source = test_count if e["bn_mode"] == "calib_test" else train_count
        calib = min(source, e["batch_size"] * e["calib_batches"])
    pilots = (e["pilot_archs"] * min(test_count, POOL_FACTOR * test)
              if e["subset"] == "disagreement" and test < test_count else 0)
    return test, calib, pilots


def mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main():
    spec = AblationSpec(sys.argv[1] if len(sys.argv) > 1 else "configs/ablate_fmnist_scoring.yaml")
    print(run_ablation(spec))
    space = get_space(spec.base["space"])
    data = data_from_config(spec.base)
    gt_path = spec.output / "ground_truth.json"
    gt = json.loads(gt_path.read_text())
    model = {"name": spec.base["model"]["name"]}
    params = {k: count_params(space, space.parse(e["arch"]), data.num_classes, model) for k, e in gt.items()}
    reference = next(iter(spec.evals))
    rows = defaultdict(lambda: {"gt": [], "full": [], "params": []})
    for row in spec.rows:
        for seed in spec.seeds:
            cell = json.loads((spec.run_dir(row, seed) / CELL_FILE).read_text())
            full = cell["evals"][reference]["scores"]
            for name, info in cell["evals"].items():
                keys, pred, acc = matched_scores(info["scores"], gt_path, space)
                _, mine, theirs = matched_scores(info["scores"], full, space)
                rows[name]["gt"].append(kendall_tau(pred, acc))
                rows[name]["full"].append(kendall_tau(mine, theirs))
                rows[name]["params"].append(kendall_tau(pred, [params[k] for k in keys]))
    prior_taus = {prior: kendall_tau(*matched_scores(spec.output / "priors" / f"{prior}.json", gt_path, space)[1:])
                  for prior in spec.priors}
    best_prior = max(prior_taus, key=prior_taus.get)
    ceiling = split_half_tau([e["accs"] for e in gt.values()])
    test_count, train_count = len(data.test), len(data.train_plain)
    full_cost = sum(images_per_arch(spec.row_config(next(iter(spec.rows)), spec.seeds[0], **spec.evals[reference]),
                                    test_count, train_count)[:2])
    lines = [f"{len(spec.rows)} recipe(s) x seeds {spec.seeds}; reference: {reference!r} ({full_cost} images per arch). "
             f"Ground truth: {gt_path}: ceiling (split-half tau-b) {ceiling['mean']:.3f}; its tau-b with the "
             f"parameter count {kendall_tau([e['acc'] for e in gt.values()], [params[k] for k in gt]):.3f}. "
             f"Best prior: {best_prior} {prior_taus[best_prior]:.3f}.", "",
             "| scoring | images per arch (test + calib) | fewer images | tau-b vs ground truth | "
             "tau-b vs reference (min) | tau-b vs params | one-time pilot images |",
             "|---|---|---|---|---|---|---|",
             f"| prior: {best_prior} (best prior) | | | {prior_taus[best_prior]:.3f} | | | |",
             f"| ground truth's ceiling (split-half) | | | {ceiling['mean']:.3f} | | | |"]
    for name, r in rows.items():
        config = spec.row_config(next(iter(spec.rows)), spec.seeds[0], **spec.evals[name])
        test, calib, pilots = images_per_arch(config, test_count, train_count)
        lines.append(f"| {name} | {test} + {calib} | {full_cost / (test + calib):.1f}x | {mean_std(r['gt'])} | "
                     f"{mean_std(r['full'])} ({min(r['full']):.3f}) | {mean_std(r['params'])} | {pilots or ''} |")
    table = "\n".join(lines) + "\n"
    write_text(spec.output / "subsets.md", table)
    print(table)


if __name__ == "__main__":
    main()
