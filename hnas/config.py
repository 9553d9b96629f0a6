"""Recipes: YAML files over defaults, with `--section.key value` (or a unique `--key value`) overrides."""
import copy
from pathlib import Path

import yaml

from hnas.errors import HnasError

DEFAULTS = {
    "name": None,  # defaults to the config file's stem
    "space": "resnet20",
    "data": {
        "name": "digits", "root": None, "image_size": 32, "augment": "official",
        "test_size": None, "train_size": None, "split_seed": 0, "num_classes": None,
        "batch_size": 128, "num_workers": 0,
        "crop_sizes": None,  # imagefolder: training crop sizes, one drawn per batch (default: image_size)
    },
    "model": {
        "name": None,  # a registered model of the space (resnet48_prelu, ...); defaults to the space's name
        "conv": "full", "bn": "full", "fc": "full",
        "always_project": False, "bn_running_stats": True,
        "residual_act": "relu",  # resnet20: relu | prelu after each residual add (the 2021 winner)
        "pretrained": None, "reorder": False,  # largest-model weights to start from, channels sorted by importance
    },
    "train": {
        "epochs": 300, "lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0,
        "warmup_steps": 0, "clip_norm": None, "seed": 0,
        "warmup_epochs": None,  # if set, overrides warmup_steps
        "lr_reference_batch": None,  # if set, lr is scaled by batch_size * world_size / lr_reference_batch
        "strategy": "sandwich", "sampler": "uniform", "middle_sampler": None, "num_archs": 4,
        "phase_epochs": 1, "depth_phases": 2, "width_phases": 3,  # samplers progressive, levels (width_phases levels)
        # Pareto-aware sampling of the sampled archs (AttentiveNAS): best | worst of
        # pareto_candidates archs near a FLOPs target, judged by loss (the step's batch) or a prior
        "pareto": None, "pareto_candidates": 3, "pareto_quality": "loss", "pareto_window": 0.1,
        "same_batch": True, "distill": "inplace", "distill_loss": "kd", "kd_temperature": 1.0,
        "teacher_checkpoint": None, "teacher_arch": None,
        # pairwise rank loss toward a prior (flops | params | zen), weighted by a schedule;
        # rank_form: step (every pair of the step's archs) | pgonas (the 2022 3rd place's extra pairs)
        "rank_loss": None, "rank_weight": 1.0, "rank_schedule": "constant", "rank_ramp_epochs": 10,
        "rank_margin": 0.0, "rank_form": "step",
        # train only archs inside these bounds (SPOS budget; MACs at data.image_size, parameters)
        "min_flops": None, "max_flops": None, "min_params": None, "max_params": None,
        # sampler arch_pool: a fixed subset of arch_pool_size archs from this arch file
        "arch_pool": None, "arch_pool_size": 100,
        # start a fresh run from a trained supernet's weights (post-training refinement; few-shot parts)
        "init_checkpoint": None,
        # few-shot: split the space on this gene (c19, depth3, ...) into fewshot_parts sub-supernets
        "fewshot_gene": None, "fewshot_parts": 2,
        # multi-branch sharing (model conv/bn/fc: branch): the epoch its width buckets part ways
        "branch_epoch": None,
        "eval_every": 1, "log_every": 20, "keep_checkpoints": 2,
    },
    "eval": {
        "metric": "loss", "bn_mode": "batch",
        # score on max_images test images (None: all), chosen by subset: random | stratified (each
        # class in its proportion) | disagreement (where pilot_archs pilot archs differ most)
        "max_images": None, "subset": "random", "subset_seed": 0, "pilot_archs": 6,
        "normalize": False, "batch_size": 256, "calib_batches": 20, "save_every": 20,
        # prior fusion of the written scores: "zen=0.5,params" (NAME[=WEIGHT], hnas.fusion), rank | zscore;
        # the supernet's own scores are kept in OUT.supernet.json
        "fuse": None, "fuse_method": "rank",
    },
    "standalone": {
        "epochs": 200, "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4, "batch_size": 128,
        "warmup_steps": 500, "clip_norm": None,
    },
    "output": {"dir": None},  # defaults to checkpoints/<name>
    # a multi-stage recipe: [{name, kind: largest | supernet, section.key: value, ...}, ...], each
    # stage trained into output.dir/N-name from the one before it (hnas.train.stages)
    "stages": None,
}


def _merge(base, update, where):
    for key, value in update.items():
        if key not in base:
            known = ", ".join(sorted(base))
            raise HnasError(f"unknown config key {where}{key!r}; known keys here: {known}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise HnasError(f"config key {where}{key!r} must be a mapping, got {value!r}")
            _merge(base[key], value, f"{where}{key}.")
        else:
            base[key] = value


def _override_path(config, flag):
    """'train.lr' -> ('train', 'lr'); a bare 'lr' is accepted when exactly one section has it."""
    if "." in flag:
        return tuple(flag.split("."))
    if flag in config and not isinstance(config[flag], dict):
        return (flag,)
    owners = [section for section, body in config.items() if isinstance(body, dict) and flag in body]
    if len(owners) == 1:
        return (owners[0], flag)
    if not owners:
        raise HnasError(f"unknown config key {flag!r}; use --section.key (sections: "
                        f"{', '.join(k for k, v in DEFAULTS.items() if isinstance(v, dict))})")
    raise HnasError(f"config key {flag!r} is ambiguous; use one of " + ", ".join(f"--{o}.{flag}" for o in owners))


def read_yaml_mapping(path, what="config file"):
    """A YAML file that must hold a mapping, or one clear error naming it."""
    path = Path(path)
    if not path.is_file():
        raise HnasError(f"{what} not found: {path}")
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise HnasError(f"{what} {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(loaded, dict):
        raise HnasError(f"{what} {path} must hold a mapping of sections")
    return loaded


def with_overrides(config, overrides):
    """A copy of `config` with {`section.key` (or a unique `key`): value} applied."""
    config = copy.deepcopy(config)
    for flag, value in overrides.items():
        keys = _override_path(config, flag.replace("-", "_"))
        nested = value
        for key in reversed(keys):
            nested = {key: nested}
        _merge(config, nested, "")
    return config


def load_config(path=None, **overrides):
    config = copy.deepcopy(DEFAULTS)
    if path is not None:
        _merge(config, read_yaml_mapping(path), "")
    config = with_overrides(config, overrides)
    config["name"] = config["name"] or (Path(path).stem if path else "run")
    config["output"]["dir"] = config["output"]["dir"] or str(Path("checkpoints") / config["name"])
    return config
