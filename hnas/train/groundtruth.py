"""Stand-alone ground truth for a set of archs over several seeds, cached so that it is trained once.

Each (arch, seed) run lives in `<cache>/<recipe key>/<arch>/seed<k>/`; the recipe key hashes
everything that changes a stand-alone result (space, data, stand-alone model options and recipe),
so two recipes never share a run and a rerun reuses every finished one (an interrupted run resumes
from its last epoch checkpoint).
"""
import copy
from pathlib import Path

import numpy as np

from hnas.fingerprint import digest, settings, training_precision
from hnas.io import check_writable, read_json, write_json
from hnas.layout import RESULT, meta as meta_record
from hnas.parallel import output_to, run_tasks



def recipe_key(config):
    """The stand-alone runs' cache key: what stand-alone training computes with (not where the data is)."""
    model = {f"model.{k}": config["model"][k] for k in ("name", "always_project", "bn_running_stats", "residual_act")}
    return digest({**settings(config, ("space", "data", "standalone")), **model, **training_precision(config)})  # epochs included: a result is final


def run_dir(cache, config, arch_text, seed):
    return Path(cache) / recipe_key(config) / arch_text / f"seed{seed}"


def _train_one(task):
    """One stand-alone run in its own process; its progress bars go to the run's stdout.txt."""
    import hnas  # noqa: F401  (zlib guard before paddle in the spawned process)
    from hnas.train.run import train_standalone
    config, arch_text, seed, directory = task
    config = copy.deepcopy(config)
    config["train"]["seed"] = seed
    with output_to(Path(directory) / "stdout.txt"):
        return train_standalone(config, arch_text, out_dir=directory)


def _finished(directory):
    path = Path(directory) / RESULT
    return read_json(path, "stand-alone result") if path.is_file() else None


def train_ground_truth(config, entries, seeds, cache, workers=1):
    """{key: {'arch', 'acc', 'loss', 'acc_std', 'loss_std', 'accs', 'losses'}} for entries
    [(key, arch string)], each arch trained once per seed in 0..seeds-1 (means over seeds)."""
    check_writable(cache)
    tasks = [(config, text, seed, str(run_dir(cache, config, text, seed)))
             for _, text in entries for seed in range(seeds)]
    results = {task[3]: _finished(task[3]) for task in tasks}
    todo = [task for task in tasks if results[task[3]] is None]
    for task, result in zip(todo, run_tasks(_train_one, todo, workers, "ground truth", len(tasks) - len(todo))):
        results[task[3]] = result
    table = {}
    for key, text in entries:
        runs = [results[str(run_dir(cache, config, text, seed))] for seed in range(seeds)]
        accs, losses = [r["acc"] for r in runs], [r["loss"] for r in runs]
        table[key] = {"arch": text, "acc": float(np.mean(accs)), "loss": float(np.mean(losses)),
                      "acc_std": float(np.std(accs)), "loss_std": float(np.std(losses)),
                      "accs": accs, "losses": losses}
    return table


def write_ground_truth(path, table, config=None, seeds=None):
    """A competition-format file (acc = mean accuracy over seeds) with the per-seed numbers beside it;
    with `config`, PATH.meta.json records which recipe and seeds made it (so it can stand in for the cache)."""
    write_json(path, table, indent=1)
    if config is not None:
        write_json(meta_record(path), {"recipe_key": recipe_key(config), "seeds": seeds, "space": config["space"]},
                   indent=1)


def read_ground_truth(path, config, entries, seeds):
    """The table of a committed ground-truth file if its meta file says the same recipe and seeds made
    it and it holds every entry's arch; None otherwise (then train, from the cache)."""
    path, meta = Path(path), meta_record(path)
    if not (path.is_file() and meta.is_file()):
        return None
    recorded = read_json(meta, "ground-truth record")
    if recorded.get("recipe_key") != recipe_key(config) or recorded.get("seeds") != seeds:
        return None
    table = read_json(path, "ground-truth file")
    if any(key not in table or table[key]["arch"] != text for key, text in entries):
        return None
    return {key: table[key] for key, _ in entries}
