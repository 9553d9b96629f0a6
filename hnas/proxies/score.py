"""`hnas proxy`: score a competition arch file with a prior, resumably and shardably (the evaluator's runner)."""
import os
from pathlib import Path

from hnas.archfile import read_arch_file, space_of_file
from hnas.config import DEFAULTS
from hnas.config_schema import STARTING_WEIGHTS, WAIT_TIMEOUT
from hnas.score_store import file_digest, finish, merge_launched_parts, score_entries, shard_entries, shard_plan
from hnas.io import check_writable
from hnas.proxies import build_prior

DEFAULT_CLASSES = {"resnet20": 100, "resnet48": 1000}


def launched_ranks():
    """(world size, rank) under paddle.distributed.launch, from its environment ((1, 0) otherwise;
    paddle is not needed for the counting priors)."""
    return int(os.environ.get("PADDLE_TRAINERS_NUM", 1)), int(os.environ.get("PADDLE_TRAINER_ID", 0))


def score_arch_file(archs, out, proxy, space_name=None, num_classes=None, image_size=None,
                    model=None, shard=None, ranks=(1, 0), **zen_options):
    """Score `archs` with a prior; the space is the strings' own unless `space_name` overrides it.
    Shards like `hnas test`: `shard` I/N, or one share per rank given `ranks` (world size, rank)
    of a launched run (hnas proxy passes launched_ranks()). `model`: the recipe's model options (or
    a model name): params, FLOPs and Zen-score are those of the network they build."""
    space = space_of_file(archs, override=space_name)
    space_name = space.name
    entries = read_arch_file(archs, space)  # every entry validated before any work
    check_writable(Path(out).parent)
    num_classes = num_classes or DEFAULT_CLASSES[space_name]
    world, rank = ranks
    index, count, target, launched = shard_plan(shard, out, world, rank)
    mine = shard_entries(entries, index, count)
    options = dict(model) if isinstance(model, dict) else {"name": model}
    prior = build_prior(proxy, space, num_classes, image_size, options, **zen_options)
    fingerprint = {"proxy": proxy, "space": space_name, "num_classes": num_classes, "image_size": image_size,
                   "model": counted_model(options), "zen": zen_options, "archs": file_digest(archs), "shard": [index, count]}
    scores = score_entries(lambda text: prior(space.parse(text)), mine, target, fingerprint)
    finish(target, mine, scores)
    if launched and rank == 0:
        merge_launched_parts(archs, space, out, count, WAIT_TIMEOUT)
    return mine


def counted_model(model):
    """The model options that change the network, in the form files scored before they counted
    were recorded with (a model name, or None for the space's default), so those stay valid."""
    options = dict(model) if isinstance(model, dict) else {"name": model}
    changed = {k: v for k, v in options.items() if k not in STARTING_WEIGHTS and v != DEFAULTS["model"].get(k)}
    return changed.get("name") if set(changed) <= {"name"} else changed
