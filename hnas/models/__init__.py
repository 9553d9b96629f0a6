"""Models: a registry of supernets and the stand-alone nets they export to.

Each registered name belongs to one search space; `model.name` in a recipe picks it (default: the
space's name). Recipe options a model does not have must stay at their defaults.
"""
import importlib
import inspect
from collections import namedtuple
from functools import partial

from hnas.config import DEFAULTS
from hnas.config_schema import STARTING_WEIGHTS
from hnas.errors import HnasError
from hnas.models.resnet20 import ResNet20, count_trainable_params
from hnas.models.resnet48 import OUTER_ACTIVATIONS, ResNet48
from hnas.models.supernet20 import ResNet20Supernet

ModelEntry = namedtuple("ModelEntry", "space supernet standalone")


class _Deferred:
    """A constructor whose module is imported when it is first called or inspected: ResOFA's import
    brings in PaddleSlim (about 2 s), which no ResNet20 command needs."""

    def __init__(self, module, name, **fixed):
        self.module, self.name, self.fixed = module, name, fixed

    def _factory(self):
        return partial(getattr(importlib.import_module(self.module), self.name), **self.fixed)

    @property
    def __signature__(self):
        return inspect.signature(self._factory())

    def __call__(self, *args, **kwargs):
        return self._factory()(*args, **kwargs)


MODELS = {"resnet20": ModelEntry("resnet20", ResNet20Supernet, ResNet20)}
for _act in OUTER_ACTIVATIONS:
    MODELS["resnet48" if _act == "relu" else f"resnet48_{_act}"] = ModelEntry(
        "resnet48", _Deferred("hnas.models.grouped_resofa", "resofa", outer_act=_act), partial(ResNet48, outer_act=_act))

# recipe keys that are not constructor options
INIT_OPTIONS = ("name",) + STARTING_WEIGHTS


def model_name(space, options):
    return options.get("name") or space


def _entry(space, name):
    if name not in MODELS:
        raise HnasError(f"unknown model {name!r}; expected one of {', '.join(sorted(MODELS))}")
    entry = MODELS[name]
    if entry.space != space:
        raise HnasError(f"model {name!r} belongs to search space {entry.space!r}, not {space!r}")
    return entry


def _options(factory, name, options):
    accepted = inspect.signature(factory).parameters
    chosen = {k: v for k, v in options.items() if k not in INIT_OPTIONS}
    unsupported = [f"model.{k}={v!r}" for k, v in chosen.items()
                   if k not in accepted and v != DEFAULTS["model"].get(k)]
    if unsupported:
        raise HnasError(f"model {name!r} has no option {', '.join(unsupported)}; "
                        f"its options: {', '.join(k for k in accepted if k not in ('arch', 'num_classes')) or 'none'}")
    return {k: v for k, v in chosen.items() if k in accepted}


def create_supernet(space, num_classes, **options):
    name = model_name(space, options)
    factory = _entry(space, name).supernet
    return factory(num_classes=num_classes, **_options(factory, name, options))


def create_standalone(space, arch, num_classes, **options):
    name = model_name(space, options)
    factory = _entry(space, name).standalone
    return factory(arch, num_classes=num_classes, **_options(factory, name, options))


def __getattr__(name):
    if name == "ResOFA":
        return importlib.import_module("hnas.models.resofa").ResOFA
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["create_supernet", "create_standalone", "count_trainable_params", "MODELS",
           "ResNet20", "ResNet20Supernet", "ResNet48", "ResOFA"]
