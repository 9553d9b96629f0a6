"""Construction from a recipe or a checkpoint's metadata: the data, the supernet, a stand-alone
net, the scorer. Training, evaluation, search, export and ablation all build through here, so
none of them imports another to get a model."""
import random
from pathlib import Path

import numpy as np
import paddle

from hnas.checkpoint import final_stage, load_params, resolve_checkpoint
from hnas.data import build_data, dataset_labels
from hnas.errors import HnasError
from hnas.io import read_json
from hnas.layout import FEWSHOT, part_dir
from hnas.models import create_standalone, create_supernet
from hnas.image_subsets import POOL_FACTOR, disagreement_subset, pilot_archs, random_subset, stratified_subset
from hnas.precision import Precision
from hnas.scoring import FixedBatches, PartRoutedScorer, SupernetScorer, fixed_batches
from hnas.spaces import get_space
from hnas.spaces.split import SpaceSplit


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)




def data_from_config(config, skip_log=None):
    """The recipe's data; `skip_log` lists the unreadable images of an image folder that were skipped."""
    d = config["data"]
    return build_data(d["name"], root=d["root"], image_size=d["image_size"], augment=d["augment"],
                      test_size=d["test_size"], train_size=d["train_size"], split_seed=d["split_seed"],
                      num_classes=d["num_classes"], crop_sizes=d["crop_sizes"], max_bad_images=d["max_bad_images"],
                      skip_log=skip_log)


def loader_options(data_options):
    """paddle DataLoader options of a recipe's data section, for training and scoring alike."""
    return {"num_workers": data_options["num_workers"], "use_shared_memory": data_options["shared_memory"]}


def model_meta(config, data):
    """What a supernet checkpoint records to be rebuilt without its recipe."""
    return {"kind": "supernet", "space": config["space"], "num_classes": data.num_classes,
            "image_size": data.image_size, "model": dict(config["model"])}


def supernet_from_meta(meta):
    return create_supernet(meta["space"], meta["num_classes"], **meta["model"])


def standalone_from_config(config, arch, num_classes):
    """The stand-alone net of `arch`; the supernet's sharing options do not apply to it."""
    m = config["model"]
    return create_standalone(config["space"], arch, num_classes, name=m["name"],
                             always_project=m["always_project"], bn_running_stats=m["bn_running_stats"],
                             residual_act=m["residual_act"])


def scorer_for(supernet, data, config):
    """A scorer of `supernet` with the recipe's eval settings (test subset, BN mode, metric), its
    batches read with the recipe's data-loader options."""
    e, loader = config["eval"], loader_options(config["data"])  # validated with the recipe (hnas.config_schema)
    calib_source = data.test if e["bn_mode"] == "calib_test" else data.train_plain
    calib = fixed_batches(calib_source, e["batch_size"], e["batch_size"] * e["calib_batches"], 0, loader)

    def scorer(indices):
        return SupernetScorer(supernet, FixedBatches(data.test, e["batch_size"], indices, loader), e["bn_mode"],
                              e["metric"], calib, Precision(e["amp"], "eval.amp"))
    return scorer(test_indices(data.test, e, scorer, supernet.space))


def test_indices(dataset, eval_options, scorer, space):
    """The test images eval.subset picks (None: all). `scorer(indices)` scores on those images;
    a disagreement subset scores its pilot archs with it on a random pool of candidates."""
    e, count = eval_options, len(dataset)
    size, seed = e["max_images"], e["subset_seed"]
    if size is None or size >= count:
        return None
    if e["subset"] == "stratified":
        return stratified_subset(dataset_labels(dataset), size, seed)
    if e["subset"] == "disagreement":
        pool = random_subset(count, min(count, POOL_FACTOR * size), seed)
        pool_scorer = scorer(pool)
        losses = [pool_scorer.per_image_losses(arch) for arch in pilot_archs(space, e["pilot_archs"], seed)]
        return disagreement_subset(pool, losses, size)
    return random_subset(count, size, seed)


def build_scorer(config, checkpoint):
    """The scorer of the supernet in `checkpoint` (model settings from its run) with the config's
    eval settings, and the weight files it reads. A few-shot run directory gives a scorer that
    routes every arch to its part's sub-supernet."""
    checkpoint = final_stage(checkpoint)
    root = Path(checkpoint)
    if root.is_dir() and (root / FEWSHOT).is_file():
        return _fewshot_scorer(config, root)
    data = data_from_config(config)
    params, supernet = _trained_supernet(config, checkpoint, data)
    return scorer_for(supernet, data, config), [params]


def _trained_supernet(config, checkpoint, data):
    params, meta = resolve_checkpoint(checkpoint)
    if meta.get("kind", "supernet") != "supernet":
        raise HnasError(f"checkpoint {checkpoint} is a {meta['kind']} model, not a supernet")
    if meta and meta.get("space", config["space"]) != config["space"]:
        raise HnasError(f"checkpoint {checkpoint} holds a {meta['space']} supernet, but the recipe is for "
                        f"{config['space']}: score it with the recipe it was trained with")
    if meta and meta.get("image_size") not in (None, data.image_size):
        raise HnasError(f"checkpoint {checkpoint} was trained at image_size {meta['image_size']}, "
                        f"the config gives {data.image_size}")
    meta = meta or {"space": config["space"], "num_classes": data.num_classes, "model": config["model"]}
    supernet = supernet_from_meta(meta)
    load_params(supernet, params)
    return params, supernet


def fewshot_split(root):
    """The SpaceSplit a few-shot run directory was trained with."""
    path = Path(root) / FEWSHOT
    recorded = read_json(path, "few-shot split")
    try:
        return SpaceSplit(get_space(recorded["space"]), recorded["gene"], recorded["parts"], recorded.get("groups"))
    except (KeyError, TypeError):
        raise HnasError(f"{path} is not a few-shot split written by hnas train "
                        f"(expected JSON with space, gene and parts)") from None


def _fewshot_scorer(config, root):
    split = fewshot_split(root)
    if split.space.name != config["space"]:
        raise HnasError(f"few-shot run {root} splits the {split.space.name} space, the config's is {config['space']}")
    parts = [part_dir(root, i, split.parts) for i in range(split.parts)]
    params = [resolve_checkpoint(p)[0] for p in parts]  # every part must be trained: one error otherwise
    data = data_from_config(config)

    rest = None if split.covers else read_json(Path(root) / FEWSHOT, "few-shot split").get("rest")
    if not split.covers and rest is None:
        raise HnasError(f"{Path(root) / FEWSHOT}: its groups leave archs in no part, and it names no supernet to "
                        f"score them (rest)")

    def part_scorer(index):  # index None: an arch in no group, scored by the supernet the parts started from
        source = rest if index is None else parts[index]
        return scorer_for(_trained_supernet(config, source, data)[1], data, config)
    return PartRoutedScorer(split.part_of, part_scorer), params
