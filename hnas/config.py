"""Recipes: YAML files (optionally extending another with `base:`) over the defaults of
hnas.config_schema, with `--section.key value` (or a unique `--key value`) overrides; the whole
recipe is validated when it loads and every bad key is reported in one error line."""
import copy
from pathlib import Path

import yaml
from pydantic import ValidationError

from hnas.config_schema import STAGE_KINDS, Recipe
from hnas.errors import HnasError
from hnas.io import read_text

DEFAULTS = Recipe().model_dump()
STAGE_KEYS = ("name", "kind")


def _deep_merge(base, update):
    """`update` over `base`: mappings merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        merged[key] = _deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(
            merged.get(key), dict) else copy.deepcopy(value)
    return merged


def _override_path(flag):
    """'train.lr' -> ('train', 'lr'); a bare 'lr' is accepted when exactly one section has it."""
    if "." in flag:
        return tuple(flag.split("."))
    if flag in DEFAULTS and not isinstance(DEFAULTS[flag], dict):
        return (flag,)
    owners = [section for section, body in DEFAULTS.items() if isinstance(body, dict) and flag in body]
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
        loaded = yaml.safe_load(read_text(path, what)) or {}
    except RecursionError:
        raise HnasError(f"{what} {path} nests too deeply to be read") from None
    except yaml.YAMLError as err:
        raise HnasError(f"{what} {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(loaded, dict):
        raise HnasError(f"{what} {path} must hold a mapping of sections")
    return loaded


def read_recipe(path, extending=()):
    """The mapping of a recipe file with its `base:` chain applied (a base path is relative to the
    file that names it)."""
    path = Path(path)
    if path.resolve() in extending:
        raise HnasError(f"config {path}: base recipes extend each other in a circle")
    raw = read_yaml_mapping(path)
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise HnasError(f"config {path}: base must be a recipe file name, got {base!r}")
    return _deep_merge(read_recipe(path.parent / base, extending + (path.resolve(),)), raw)


def _nested(overrides):
    nested = {}
    for flag, value in overrides.items():
        keys = _override_path(flag.replace("-", "_"))
        for key in reversed(keys):
            value = {key: value}
        nested = _deep_merge(nested, value)
    return nested


def _problem(error, schema=Recipe):
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        model = schema
        for part in error["loc"][:-1]:
            field = model.model_fields.get(part) if isinstance(part, str) else None
            if field is None or not isinstance(field.annotation, type):
                break
            model = field.annotation
        return f"{where}: unknown key (known here: {', '.join(model.model_fields)})"
    if error["type"] == "value_error" and isinstance(error["input"], dict):  # a rule across keys
        return error["msg"].replace("Value error, ", "")
    expected = error["msg"].replace("Input should be ", "").replace("Value error, ", "")
    return f"{where} {error['input']!r} (expected {expected})"


def checked(schema, raw, source, context=None):
    """`raw` validated by the pydantic model `schema`; every bad key in one HnasError naming `source`."""
    try:
        return schema.model_validate(raw, context=context)
    except ValidationError as err:
        problems = [_problem(e, schema) for e in err.errors()]
        raise HnasError(f"{source}: {len(problems)} bad value{'s' if len(problems) > 1 else ''}: "
                        + "; ".join(problems)) from None


def validated(raw, source, stage=False):
    """The recipe `raw` checked against the schema, as plain dicts; every bad key in one error."""
    config = checked(Recipe, raw, source, {"stage": stage}).model_dump()
    for i, stage in enumerate(config["stages"] or (), 1):
        if not isinstance(stage.get("name"), str) or not stage["name"]:
            raise HnasError(f"{source}: stage {i} needs a name, got {stage!r}")
        if stage.get("kind", "supernet") not in STAGE_KINDS:
            raise HnasError(f"{source}: stage {stage['name']!r} has kind {stage['kind']!r}; expected one of "
                            f"{', '.join(STAGE_KINDS)}")
        settings = {k: v for k, v in stage.items() if k not in STAGE_KEYS}
        validated(_deep_merge(dict(config, stages=None), _nested(settings)), f"{source}, stage {stage['name']!r}",
                  stage=True)
    return config


def with_overrides(config, overrides, stage=False):
    """A validated copy of `config` with {`section.key` (or a unique `key`): value} applied
    (`stage`: the config of one stage of a staged recipe)."""
    return validated(_deep_merge(config, _nested(overrides)), "overrides", stage)


def command_line_over_stages(config, overrides):
    """`config` (loaded with `overrides`) with the command line's keys winning over its stages' own:
    `hnas train RECIPE --train.epochs 1` shortens every supernet stage. A largest stage trains with
    standalone.* keys: a train.* key given without its standalone.* twin would not reach it, which
    is one error naming the twin. (A recipe's own top-level keys, and an ablation row's, stay below
    the stages' values.)"""
    if not (config["stages"] and overrides):
        return config
    overridden = {_override_path(flag.replace("-", "_")) for flag in overrides}
    return dict(config, stages=_stages_under(config["stages"], overridden))


def _stages_under(stages, overridden):
    for stage in stages:
        if stage.get("kind") == "largest":
            unreached = [path for path in overridden if path[0] == "train" and len(path) == 2
                         and path[1] in DEFAULTS["standalone"] and ("standalone", path[1]) not in overridden]
            if unreached:
                keys = ", ".join(f"--standalone.{path[1]}" for path in unreached)
                raise HnasError(f"--{'.'.join(unreached[0])} does not reach stage {stage['name']!r} (kind largest), which "
                                f"trains with standalone.{unreached[0][1]}: give {keys} too")
    return [{k: v for k, v in stage.items() if k in STAGE_KEYS or _override_path(k) not in overridden}
            for stage in stages]


def load_config(path=None, **overrides):
    raw = read_recipe(path) if path is not None else {}
    source = f"config {path}" if path is not None else "config"
    if overrides:
        source += " with " + " ".join(f"--{k} {v}" for k, v in overrides.items())
    config = validated(_deep_merge(_deep_merge(DEFAULTS, raw), _nested(overrides)), source)
    config["name"] = config["name"] or (Path(path).stem if path else "run")
    config["output"]["dir"] = config["output"]["dir"] or str(Path("checkpoints") / config["name"])
    return config
