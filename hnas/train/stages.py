"""Multi-stage recipes (the 2021 winner's pipeline as one config): `stages` is a list of
{name, kind, section.key: value, ...}; each stage is the recipe with its overrides, trained into
output.dir/N-name, in order:

  kind: largest    the largest arch trained alone (hnas standalone); later stages that distil from
                   a teacher (train.distill: teacher) and name none get it as train.teacher_checkpoint
  kind: supernet   (default) a supernet, started from the previous supernet stage's weights unless
                   it sets train.init_checkpoint itself
  kind: contrastive  the supernet's largest arch trained self-supervised (hnas.train.contrastive),
                   started and handed on like a supernet stage

Every stage resumes like a run of its own, so rerunning the command continues where it stopped;
hnas test and export read the last stage (stages.json at output.dir names it).
"""
from pathlib import Path

from hnas.config import STAGE_KEYS, with_overrides
from hnas.errors import HnasError
from hnas.io import write_json
from hnas.layout import STAGES, stage_dir
from hnas.spaces import get_space


def plan_stages(config):
    """[(name, kind, stage config)], every stage's settings checked before any training."""
    stages, root = config["stages"], Path(config["output"]["dir"])  # each stage was validated with the recipe
    planned, teacher, previous = [], None, None
    for i, stage in enumerate(stages, 1):
        overrides = {k: v for k, v in stage.items() if k not in STAGE_KEYS}
        kind = stage.get("kind", "supernet")
        out = stage_dir(root, i, stage["name"])
        cfg = with_overrides(dict(config, stages=None), {**overrides, "output.dir": str(out)}, stage=True)
        if kind in ("supernet", "contrastive"):
            t = cfg["train"]
            if t["distill"] == "teacher" and not t["teacher_checkpoint"]:
                if teacher is None:
                    raise HnasError(f"stage {stage['name']!r} distils from a teacher, but no earlier stage of "
                                    f"kind largest trains one and train.teacher_checkpoint is not set")
                cfg = with_overrides(cfg, {"train.teacher_checkpoint": str(teacher)}, stage=True)
            if previous is not None and not t["init_checkpoint"]:
                cfg = with_overrides(cfg, {"train.init_checkpoint": str(previous)}, stage=True)
            previous = out
        else:
            teacher = out
        planned.append((stage["name"], kind, cfg))
    if previous is None:
        raise HnasError("stages: no stage trains a supernet (kind supernet)")
    return planned


def train_stages(config, fresh=False, part=None):
    """Train every stage in order; returns the last supernet stage's Trainer."""
    from hnas.train.run import train_contrastive, train_standalone, train_supernet
    planned = plan_stages(config)
    root = Path(config["output"]["dir"])
    write_json(root / STAGES, [{"name": name, "kind": kind, "dir": Path(cfg["output"]["dir"]).name}
                                    for name, kind, cfg in planned], indent=1)
    trainer = None
    for i, (name, kind, cfg) in enumerate(planned, 1):
        print(f"stage {i}/{len(planned)}: {name} ({kind}) -> {cfg['output']['dir']}")
        if kind == "largest":
            space = get_space(cfg["space"])
            train_standalone(cfg, space.format(space.largest()), out_dir=cfg["output"]["dir"], fresh=fresh)
        elif kind == "contrastive":
            train_contrastive(cfg, fresh=fresh)
        else:
            trainer = train_supernet(cfg, fresh=fresh, part=part)
    return trainer


def train_recipe(config, fresh=False, part=None):
    """A recipe's training: its stages if it has them, else its one supernet."""
    from hnas.train.run import train_supernet
    if config["stages"]:
        return train_stages(config, fresh, part)
    return train_supernet(config, fresh=fresh, part=part)
