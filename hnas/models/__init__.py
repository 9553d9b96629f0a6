"""Models: a registry of supernets and the stand-alone nets they export to."""
from hnas.errors import HnasError
from hnas.models.resnet20 import ResNet20, count_trainable_params
from hnas.models.supernet20 import ResNet20Supernet

SUPERNETS = {"resnet20": ResNet20Supernet}
STANDALONE = {"resnet20": ResNet20}


def _lookup(table, name, what):
    if name not in table:
        raise HnasError(f"unknown {what} {name!r}; expected one of {sorted(table)}")
    return table[name]


def create_supernet(name, num_classes, **options):
    return _lookup(SUPERNETS, name, "supernet")(num_classes=num_classes, **options)


def create_standalone(name, arch, num_classes, **options):
    return _lookup(STANDALONE, name, "model")(arch, num_classes=num_classes, **options)


__all__ = ["create_supernet", "create_standalone", "count_trainable_params", "ResNet20", "ResNet20Supernet"]
