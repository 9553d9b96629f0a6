"""Search spaces: pure Python, no paddle import."""
from hnas.spaces.resnet20 import ResNet20Space
from hnas.spaces.resnet48 import ResNet48Space
from hnas.spaces.samplers import build_sampler

SPACES = {"resnet20": ResNet20Space, "resnet48": ResNet48Space}


def get_space(name):
    from hnas.errors import HnasError
    if name not in SPACES:
        raise HnasError(f"unknown search space {name!r}; expected one of {sorted(SPACES)}")
    return SPACES[name]()


__all__ = ["ResNet20Space", "ResNet48Space", "SPACES", "get_space", "build_sampler"]
