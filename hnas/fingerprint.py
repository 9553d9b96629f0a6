"""What makes two pieces of work the same, for every kind of reuse: resuming a training run, the
stand-alone ground-truth cache, a scoring partial file and search's score book. A setting that only
says where files are, or how often to log or save, never makes work different; one that changes
what is computed always does."""
import hashlib
import json

WHERE_AND_HOW_OFTEN = frozenset({"name", "output.dir", "data.root", "data.num_workers", "data.shared_memory",
                                 "data.max_bad_images",
                                 "train.log_every", "train.keep_checkpoints", "train.eval_every", "eval.save_every",
                                 "train.checkpoint_every", "train.checkpoint_minutes",
                                 "eval.wait_timeout"})
# a resumed run may train longer (the schedule stretches to the new length)
TRAINING_LENGTH = frozenset({"train.epochs", "standalone.epochs"})
# applied to finished raw scores, so partial scores stay valid when they change
AFTER_SCORING = frozenset({"eval.normalize", "eval.fuse", "eval.fuse_method"})
# settings added after work was saved: at these values they compute what was computed before they
# existed, so they are left out and older runs, partial files and caches still match
NEUTRAL = {"train.amp": "off", "eval.amp": "off",
           # issue 31 (2026-12-08): list ranges, the 2022 winners' strategies, explicit few-shot groups
           "train.sample_like": None, "train.fewshot_groups": None,
           "train.size_candidates": 400, "train.size_extra_every": 3, "train.size_scaled_loss": False,
           "train.nsas_archive": 10, "train.nsas_recent": 100, "train.nsas_knn": 9,
           "train.nsas_refresh_every": 500, "train.nsas_weight": 0.5, "train.nsas_archive_weight": 0.5,
           "train.moco_dim": 128, "train.moco_queue": 65536, "train.moco_momentum": 0.999,
           "train.moco_temperature": 0.2,
           # the 2022 4th place's per-stage weight groups (2026-12-08)
           "model.stage_groups": 1}


def settings(config, sections, ignore=frozenset()):
    """{section.key: value} of the recipe's `sections` that change the work, in JSON form."""
    flat = {}
    for section in sections:
        value = config[section]
        flat.update({f"{section}.{k}": v for k, v in value.items()} if isinstance(value, dict) else {section: value})
    skip = WHERE_AND_HOW_OFTEN | frozenset(ignore)
    kept = {k: v for k, v in flat.items() if k not in skip and not (k in NEUTRAL and NEUTRAL[k] == v)}
    return json.loads(json.dumps(kept, default=str))


def training_precision(config):
    """{"train.amp": mode} where mixed precision changes what training computes ({} at off)."""
    return settings({"train": {"amp": config["train"]["amp"]}}, ("train",))


def training_settings(config, sections):
    """What a run must have been trained with to be resumed by `config`."""
    return settings(config, sections, ignore=TRAINING_LENGTH)


def scoring_settings(config):
    """What scores computed by `config` depend on besides the weights and the archs."""
    return settings(config, ("space", "data", "eval"), ignore=AFTER_SCORING)


def digest(obj, length=12):
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:length]


def weights_fingerprint(paths):
    """Which weight files work was computed with: their resolved paths, sizes and modification times
    (a retrained or replaced checkpoint is other weights)."""
    from pathlib import Path
    return [[str(Path(p).resolve()), Path(p).stat().st_size, Path(p).stat().st_mtime] for p in paths]
