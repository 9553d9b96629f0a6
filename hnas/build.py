"""Construction from a recipe or a checkpoint's metadata: the data, the supernet, a stand-alone
net, the scorer. Training, evaluation, search, export and ablation all build through here, so
none of them imports another to get a model."""
import random

import numpy as np
import paddle

from hnas.checkpoint import load_params, resolve_checkpoint
from hnas.data import build_data
from hnas.errors import HnasError
from hnas.models import create_standalone, create_supernet
from hnas.scoring import SupernetScorer, fixed_batches


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def data_from_config(config):
    d = config["data"]
    return build_data(d["name"], root=d["root"], image_size=d["image_size"], augment=d["augment"],
                      test_size=d["test_size"], train_size=d["train_size"], split_seed=d["split_seed"],
                      num_classes=d["num_classes"], crop_sizes=d["crop_sizes"])


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
                             always_project=m["always_project"], bn_running_stats=m["bn_running_stats"])


def scorer_for(supernet, data, eval_options):
    """A scorer of `supernet` with the recipe's eval settings (test subset, BN mode, metric)."""
    e = eval_options
    test_batches = fixed_batches(data.test, e["batch_size"], e["max_images"], e["subset_seed"])
    calib_source = data.test if e["bn_mode"] == "calib_test" else data.train_plain
    calib = fixed_batches(calib_source, e["batch_size"], e["batch_size"] * e["calib_batches"], 0)
    return SupernetScorer(supernet, test_batches, e["bn_mode"], e["metric"], calib)


def build_scorer(config, checkpoint):
    """The supernet of `checkpoint` (model settings from its run) and the config's eval settings."""
    params, meta = resolve_checkpoint(checkpoint)
    if meta.get("kind", "supernet") != "supernet":
        raise HnasError(f"checkpoint {checkpoint} is a {meta['kind']} model, not a supernet")
    data = data_from_config(config)
    if meta and meta.get("image_size") not in (None, data.image_size):
        raise HnasError(f"checkpoint {checkpoint} was trained at image_size {meta['image_size']}, "
                        f"the config gives {data.image_size}")
    meta = meta or {"space": config["space"], "num_classes": data.num_classes, "model": config["model"]}
    supernet = supernet_from_meta(meta)
    load_params(supernet, params)
    return scorer_for(supernet, data, config["eval"]), params
