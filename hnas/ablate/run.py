"""Running an ablation: the ground truth (cached), the priors, one supernet per (row, seed) scored
with every evaluation setting and test subset. Every piece is skipped when its output exists, so an
interrupted ablation resumes where it stopped (a half-trained supernet from its last checkpoint)."""
import json
import time
from pathlib import Path

import hnas  # noqa: F401  (zlib guard before paddle in spawned workers)
from hnas.ablate.report import write_report
from hnas.ablate.spec import AblationSpec, slug
from hnas.archfile import read_arch_file
from hnas.io import check_writable, write_json
from hnas.parallel import output_to, run_tasks
from hnas.spaces import get_space
from hnas.train.groundtruth import read_ground_truth, train_ground_truth, write_ground_truth

CELL_FILE = "cell.json"


def _timed(path, work):
    """Run work() unless `path` exists; the seconds it took are kept beside the output."""
    timing = Path(str(path) + ".seconds")
    if not (Path(path).exists() and timing.exists()):
        start = time.time()
        work()
        write_json(timing, {"seconds": time.time() - start})
    return json.loads(timing.read_text())["seconds"]


def run_cell(spec, row, seed, test_images):
    """Train the (row, seed) supernet and score the ground-truth archs with every setting; subsets
    are fractions of the `test_images` the (shared) data has."""
    from hnas.evaluate.run import evaluate_arch_file
    from hnas.train.stages import train_recipe
    run = spec.run_dir(row, seed)
    if (run / CELL_FILE).exists():
        return json.loads((run / CELL_FILE).read_text())
    config = spec.row_config(row, seed)
    cell = {"row": row, "seed": seed, "evals": {}, "subsets": {}}
    marker = run / "trained"

    def train():
        train_recipe(config)  # resumes from the run's last checkpoint
        marker.touch()

    with output_to(run / "output.log"):
        cell["train_seconds"] = _timed(marker, train)
        if row in spec.sources:  # the compute of a row that starts from another includes the other's
            source = json.loads((spec.run_dir(spec.sources[row], seed) / CELL_FILE).read_text())
            cell["train_seconds"] += source["train_seconds"]
        n_archs = len(read_arch_file(spec.archs, get_space(config["space"])))

        def score(name, overrides):
            out = run / "scores" / f"{slug(name)}.json"
            seconds = _timed(out, lambda: evaluate_arch_file(spec.row_config(row, seed, **overrides), run,
                                                             spec.archs, out))
            return {"scores": str(out), "seconds_per_arch": seconds / n_archs}

        for name, overrides in spec.evals.items():
            cell["evals"][name] = score(name, overrides)
        first_name, first = next(iter(spec.evals.items()))
        for fraction in spec.subsets:
            images = max(1, round(fraction * test_images))
            if fraction == 1.0 and first.get("eval.max_images") is None:
                scored = cell["evals"][first_name]  # the first evaluation already used the full test set
            else:
                scored = score(f"subset_{fraction}", {**first, "eval.max_images": images})
            cell["subsets"][str(fraction)] = {"images": images, **scored}
    write_json(run / CELL_FILE, cell, indent=1)
    return cell


def _cell_task(task):
    spec_path, output, row, seed, test_images = task
    return run_cell(AblationSpec(spec_path, output=output), row, seed, test_images)


def score_priors(spec, space, data):
    from hnas.proxies.score import score_arch_file
    n_archs = len(read_arch_file(spec.archs, space))
    priors = {}
    for prior in spec.priors:
        out = spec.output / "priors" / f"{prior}.json"
        seconds = _timed(out, lambda: score_arch_file(spec.archs, out, prior, space.name, data.num_classes,
                                                      data.image_size, spec.base["model"]["name"]))
        priors[prior] = {"scores": str(out), "seconds_per_arch": seconds / n_archs}
    return priors


def run_ablation(spec):
    from hnas.build import data_from_config
    check_writable(spec.output)
    space = get_space(spec.base["space"])
    entries = read_arch_file(spec.archs, space)
    gt = spec.ground_truth
    seeds = int(gt["seeds"])
    table = read_ground_truth(gt["file"], spec.base, entries, seeds) if gt.get("file") else None
    if table is None:
        table = train_ground_truth(spec.base, entries, seeds, gt["cache"], spec.workers)
        if gt.get("file"):
            write_ground_truth(gt["file"], table, spec.base, seeds)
    gt_path = spec.output / "ground_truth.json"
    write_ground_truth(gt_path, table)
    data = data_from_config(spec.base)  # rows share the data (AblationSpec checks), so build it once
    priors = score_priors(spec, space, data)
    jobs = [(row, seed) for row in spec.rows for seed in spec.seeds]
    for wave in spec.waves():  # a row that starts from another trains after it
        wave_jobs = [(row, seed) for row in wave for seed in spec.seeds]
        todo = [job for job in wave_jobs if not (spec.run_dir(*job) / CELL_FILE).exists()]
        run_tasks(_cell_task, [(str(spec.path), str(spec.output), row, seed, len(data.test)) for row, seed in todo],
                  spec.workers, "supernets", len(wave_jobs) - len(todo))
    cells = [json.loads((spec.run_dir(*job) / CELL_FILE).read_text()) for job in jobs]
    return write_report(spec, space, gt_path, priors, cells, data.num_classes)
