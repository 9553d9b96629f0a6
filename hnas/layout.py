"""Every file and folder name hnas derives, in one place: what a run directory holds, and the files
written beside an output. Code that writes or finds one of them asks here (issue 27: ten modules
had their own helpers, so one could rename a file another still looked for).

A run directory (hnas train, hnas standalone):
  latest.json, epoch_NNNN.pdparams / .pdopt   checkpoints (hnas.checkpoint); step_NNNNNNNN.* inside an epoch
  config.json                                 the recipe it was trained with
  train.log, vdl/                             the training log and VisualDL's curves
  result.json                                 a stand-alone run's test accuracy and loss
  skipped_images.txt                          unreadable images its data loaders skipped
  fewshot.json, partIofK/                     a few-shot run's split and its parts
  sample_ranges.json                          the per-gene choices training drew from (train.sample_like)
  stages.json, N-name/                        a multi-stage run's stages and their runs
  .hnas.lock                                  held by the process writing it

Beside an output file OUT (hnas test, proxy, fuse, predict):
  OUT.partial            scores saved so far          OUT.partIofN     one launched rank's share
  OUT.supernet.json      the unfused scores (eval.fuse)
  OUT.fusion.json        the fusion record            OUT.predict.json the predictor's record
  OUT.prior_NAME-HASH.json  a prior computed for OUT's arch list
  OUT.lock               held by the process writing OUT

hnas's cache (HNAS_CACHE, else $XDG_CACHE_HOME/hnas or ~/.cache/hnas):
  digits/split-...npz    the digits set's split per scikit-learn version and split settings
"""
import os
import re
from pathlib import Path

LATEST = "latest.json"
CONFIG = "config.json"
TRAIN_LOG = "train.log"
VISUALDL = "vdl"
RESULT = "result.json"
SKIPPED_IMAGES = "skipped_images.txt"
FEWSHOT = "fewshot.json"
SAMPLE_RANGES = "sample_ranges.json"
STAGES = "stages.json"
SEARCH_STATE = "state.json"  # hnas search's score book and trajectory, in its output folder
ABLATION_CELL = "cell.json"  # one ablation cell's measured rows, in its run directory
# an ablation's output folder
ABLATION_RESULTS, ABLATION_SUBSETS, ABLATION_TABLE, ABLATION_PLOT = "results.csv", "subsets.csv", "table.md", "plot.png"
# in an hnas export folder (the inference model: INFERENCE.pdiparams and hnas.compat.inference_program's file)
EXPORTED_MODEL, EXPORT_REPORT, INFERENCE = "model.pdparams", "export.json", "inference"
DIRECTORY_LOCK = ".hnas.lock"


def safe_name(name, fallback):
    """`name` as one path component: runs of anything but letters, digits and _.=- become "_"."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", str(name)).strip("_") or fallback


def checkpoint_stem(epoch):
    """The file stem of the checkpoint written after `epoch` (1-based) epochs."""
    return f"epoch_{epoch:04d}"


def mid_epoch_stem(step):
    """The file stem of a checkpoint written inside an epoch, after global step `step`."""
    return f"step_{step:08d}"


CHECKPOINT_GLOBS = ("epoch_*.pdparams", "epoch_*.pdopt", "step_*.pdparams", "step_*.pdopt")


def part_dir(root, index, parts):
    """The run directory of few-shot part `index` of `parts`."""
    return Path(root) / f"part{index}of{parts}"


def stage_dir(root, number, name):
    """The run directory of a multi-stage recipe's stage `number` (1-based)."""
    return Path(root) / f"{number}-{safe_name(name, 'stage')}"


def _beside(out, suffix):
    out = Path(out)
    return out.with_name(out.name + suffix)


def partial(out):
    return _beside(out, ".partial")


def shard_part(out, index, count):
    return _beside(out, f".part{index}of{count}")


def supernet_scores(out):
    return _beside(out, ".supernet.json")


def fusion_record(out):
    return _beside(out, ".fusion.json")


def predict_record(out):
    return _beside(out, ".predict.json")


def prior_cache(out, prior, settings_digest):
    return _beside(out, f".prior_{prior}-{settings_digest}.json")


def meta(path):
    """The record of which recipe and seeds made a ground-truth file."""
    return _beside(path, ".meta.json")


def seconds(path):
    """How long the work that wrote `path` took (ablation timings)."""
    return _beside(path, ".seconds")


def lock(output):
    """The lock file of an output: DIR/.hnas.lock for a directory, FILE.lock for a file."""
    output = Path(output)
    return output / DIRECTORY_LOCK if output.is_dir() else _beside(output, ".lock")


def cache_root():
    """Where hnas keeps what it can recompute: HNAS_CACHE, else $XDG_CACHE_HOME/hnas, else ~/.cache/hnas."""
    if os.environ.get("HNAS_CACHE"):
        return Path(os.environ["HNAS_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hnas"


def digits_split_file(root, sklearn_version, test_size, train_size, split_seed):
    return Path(root) / "digits" / f"split-sklearn{sklearn_version}-test{test_size}-train{train_size}-seed{split_seed}.npz"
