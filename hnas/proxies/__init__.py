"""Priors: a score per arch that needs no training. Higher means the prior expects a better network.

`flops` and `params` are the spaces' analytic counters (equal to the built models', see the model
tests); `zen` is the Zen-score (hnas.proxies.zen, the only one that imports paddle).
"""
from hnas.errors import HnasError
from hnas.proxies.counts import count_flops, count_params
from hnas.config_schema import PROXIES  # the allowed values, defined with the recipe schema


def build_prior(name, space, num_classes, image_size=None, model_options=None, **zen_options):
    """A function arch -> float for the named prior. `image_size` is the resolution FLOPs and the
    Zen-score are computed at (default: 32 for resnet20, the arch's own for resnet48)."""
    model_options = dict(model_options or {})
    if name == "params":
        return lambda arch: float(count_params(space, arch, num_classes, model_options))
    if name == "flops":
        return lambda arch: float(count_flops(space, arch, image_size, num_classes, model_options))
    if name == "zen":
        from hnas.proxies.zen import ZenScore
        return ZenScore(space, num_classes, image_size, model_options, **zen_options)
    raise HnasError(f"unknown prior {name!r}; expected one of {', '.join(PROXIES)}")


__all__ = ["PROXIES", "build_prior", "count_flops", "count_params"]
