"""Running an ablation: the ground truth (cached), the priors, one supernet per (row, seed) scored
with every evaluation setting and test subset. Every piece is reused only while the settings that
made it are unchanged (its digest is kept beside it), so an interrupted ablation resumes where it
stopped (a half-trained supernet from its last checkpoint), and an edited row, evaluation or base
recipe redoes exactly the pieces it changes: the edited row's supernets, and rows that start from them."""
import time
from pathlib import Path

import hnas  # noqa: F401  (zlib guard before paddle in spawned workers)
from hnas import layout
from hnas.ablate.report import write_report
from hnas.ablate.spec import AblationSpec, slug
from hnas.archfile import read_arch_file
from hnas.errors import HnasError
from hnas.fingerprint import digest, settings
from hnas.io import check_writable, read_json, write_json
from hnas.parallel import output_to, run_tasks
from hnas.score_store import file_digest
from hnas.spaces import get_space
from hnas.train.groundtruth import read_ground_truth, train_ground_truth, write_ground_truth

TRAINED = "trained"  # in a cell's run directory: written when its supernet finished training


def _record(path):
    timing = layout.seconds(path)
    return read_json(timing, "ablation timing") if Path(path).exists() and timing.is_file() else None


def _timed(path, work, made_by, redo=None):
    """Run work() unless `path` exists and was made by the settings digest `made_by`; the seconds it
    took are kept beside the output with that digest. `redo()` clears a stale output first."""
    record = _record(path)
    if record is None or record.get("settings") != made_by:
        if record is not None and redo is not None:
            redo()
        start = time.time()
        work()
        record = {"seconds": time.time() - start, "settings": made_by}
        write_json(layout.seconds(path), record)
    return record["seconds"]


TRAINING_SECTIONS = ("space", "data", "model", "train", "standalone", "stages")


def training_digest(spec, row, seed):
    """What the (row, seed) supernet's weights depend on: its recipe, and the row it starts from."""
    config = spec.row_config(row, seed)
    made = {"recipe": settings(config, TRAINING_SECTIONS, {"train.init_checkpoint"} if row in spec.sources else ())}
    if row in spec.sources:
        made["from"] = training_digest(spec, spec.sources[row], seed)
    return digest(made)


def cell_digest(spec, row, seed):
    """What a cell's numbers depend on: the supernet, the archs, every evaluation and subset."""
    return digest({"training": training_digest(spec, row, seed), "archs": file_digest(spec.archs),
                   "evals": {name: settings(spec.row_config(row, seed, **overrides), ("eval",))
                             for name, overrides in spec.evals.items()},
                   "subsets": list(spec.subsets)})


def current_cell(spec, row, seed):
    """The cell's recorded numbers if the settings that made them are the current ones, else None."""
    path = spec.run_dir(row, seed) / layout.ABLATION_CELL
    cell = read_json(path, "ablation cell") if path.is_file() else None
    return cell if cell is not None and cell.get("settings") == cell_digest(spec, row, seed) else None


def run_cell(spec, row, seed, test_images):
    """Train the (row, seed) supernet and score the ground-truth archs with every setting; subsets
    are fractions of the `test_images` the (shared) data has."""
    from hnas.evaluate.run import evaluate_arch_file
    from hnas.train.stages import train_recipe
    run = spec.run_dir(row, seed)
    cell = current_cell(spec, row, seed)
    if cell is not None:
        return cell
    config = spec.row_config(row, seed)
    trained_by = training_digest(spec, row, seed)
    cell = {"row": row, "seed": seed, "settings": cell_digest(spec, row, seed), "evals": {}, "subsets": {}}
    marker = run / TRAINED

    def train():
        # a supernet trained with other settings (the row's, the base recipe's or its source row's)
        # trains afresh; an interrupted one (no marker yet) resumes from its last checkpoint
        retrain = marker.exists()
        marker.unlink(missing_ok=True)
        train_recipe(config, fresh=retrain)
        marker.touch()

    with output_to(run / "output.log"):
        cell["train_seconds"] = _timed(marker, train, trained_by)
        if row in spec.sources:  # the compute of a row that starts from another includes the other's
            source = read_json(spec.run_dir(spec.sources[row], seed) / layout.ABLATION_CELL, "ablation cell")
            cell["train_seconds"] += source["train_seconds"]
        n_archs = len(read_arch_file(spec.archs, get_space(config["space"])))

        def score(name, overrides):
            out = run / "scores" / f"{slug(name)}.json"
            scoring = spec.row_config(row, seed, **overrides)
            made_by = digest({"training": trained_by, "eval": settings(scoring, ("eval",)),
                              "archs": file_digest(spec.archs)})

            def clear():
                for stale in (out, layout.partial(out), layout.supernet_scores(out)):
                    stale.unlink(missing_ok=True)
            seconds = _timed(out, lambda: evaluate_arch_file(scoring, run, spec.archs, out), made_by, clear)
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
    write_json(run / layout.ABLATION_CELL, cell, indent=1)
    return cell


def _cell_task(task):
    spec_path, output, row, seed, test_images = task
    return run_cell(AblationSpec(spec_path, output=output), row, seed, test_images)


def score_priors(spec, space, data):
    from hnas.proxies.score import score_arch_file
    n_archs = len(read_arch_file(spec.archs, space))
    model = spec.base["model"]  # the full model options: they change what params and FLOPs count
    priors = {}
    for prior in spec.priors:
        out = spec.output / "priors" / f"{prior}.json"
        made_by = digest({"prior": prior, "archs": file_digest(spec.archs), "space": space.name,
                          "classes": data.num_classes, "image_size": data.image_size, "model": model})

        def clear():
            for stale in (out, layout.partial(out)):
                stale.unlink(missing_ok=True)
        seconds = _timed(out, lambda: score_arch_file(spec.archs, out, prior, space.name, data.num_classes,
                                                      data.image_size, model), made_by, clear)
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
        todo = [job for job in wave_jobs if current_cell(spec, *job) is None]
        run_tasks(_cell_task, [(str(spec.path), str(spec.output), row, seed, len(data.test)) for row, seed in todo],
                  spec.workers, "supernets", len(wave_jobs) - len(todo))
    cells = [current_cell(spec, *job) for job in jobs]
    missing = [f"{row} seed {seed}" for (row, seed), cell in zip(jobs, cells) if cell is None]
    if missing:  # workers that digested other settings than this process: hnas's code changed while it ran
        raise HnasError(f"{len(missing)} ablation cell(s) not recorded with the current settings ({', '.join(missing[:3])}); "
                        f"rerun the same command: finished cells are kept")
    return write_report(spec, space, gt_path, priors, cells, data.num_classes)
