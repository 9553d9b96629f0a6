"""Prior fusion at scoring time: a supernet's scores combined with free priors (no ground truth).

Each source is first put on a common scale, then summed with weights: the supernet counts 1, each
prior its weight. `rank` (the default) maps each source to its normalised average rank in [0, 1],
so only orders matter and one outlier cannot dominate; `zscore` standardises values (mean 0, std 1),
so a source's confidence (how far apart it puts two archs) carries into the sum. Pure numpy/scipy.
"""
import math

import numpy as np
from scipy import stats

from hnas.errors import HnasError
from hnas.config_schema import FUSION_METHODS as METHODS  # the allowed values, defined with the recipe schema
from hnas.fusion.weight_rule import auto_weight, known_strength

# A prior given without a weight gets the automatic one (hnas.fusion.weight_rule): large beside a
# supernet that agrees little with it, small beside one that agrees as much as the prior agrees with the
# truth. It replaced a fixed 2, chosen on digits, where every supernet ranks below the prior, which
# dragged the 2021 winner's predictions from 0.857 to 0.725 (benchmarks/README.md, "Prior fusion").
AUTO = "auto"
DEFAULT_WEIGHT = AUTO
DEFAULT_METHOD = "rank"


def check_method(method):
    if method not in METHODS:
        raise HnasError(f"unknown fusion method {method!r}; expected one of {', '.join(METHODS)}")


def standardize(values, method=DEFAULT_METHOD):
    """One source's scores on the common scale (higher stays better)."""
    check_method(method)
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise HnasError("fusion needs finite scores; a source holds NaN or infinity")
    if len(values) < 2:
        return np.zeros_like(values)
    if method == "rank":
        return (stats.rankdata(values) - 1.0) / (len(values) - 1.0)
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def parse_prior_specs(specs, default_weight=DEFAULT_WEIGHT):
    """'zen=0.3,params' / ['zen=0.3', 'params'] / {'zen': 0.3} -> {'zen': 0.3, 'params': default}.
    A name is a prior hnas computes or a path to a score file; '=W' sets its weight, a number >= 0
    or 'auto' (the automatic weight, for a prior whose strength is known)."""
    if isinstance(specs, dict):
        items = [(str(k), v) for k, v in specs.items()]
    else:
        parts = specs.split(",") if isinstance(specs, str) else [str(s) for s in (specs or ())]
        items = []
        for part in (p.strip() for p in parts):
            if not part:
                continue
            name, sep, weight = part.rpartition("=")
            items.append((name, weight) if sep else (part, default_weight))
    weights = {}
    for name, weight in items:
        if weight == AUTO:
            known_strength(name)
            weights[name] = AUTO
            continue
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            weight = math.nan
        if not math.isfinite(weight) or weight < 0:
            raise HnasError(f"prior weight for {name!r} is {weight!r}; expected a number >= 0 or {AUTO} (NAME=WEIGHT)")
        weights[name] = weight
    if not weights:
        raise HnasError(f"no priors to fuse in {specs!r}; expected NAME[=WEIGHT],... (e.g. zen=0.5,params)")
    return weights


def fusion_weights(specs, method=DEFAULT_METHOD, default_weight=DEFAULT_WEIGHT):
    """The {prior: weight} of a fusion setting, its method checked too: one call validates a whole
    setting before any prior is computed or any arch scored."""
    check_method(method)
    return parse_prior_specs(specs, default_weight)


def resolve_weights(supernet, priors, weights):
    """({prior: number}, {prior: how an automatic weight was set}): 'auto' weights set from the
    supernet's agreement with each prior over the supernet's keys; every prior must score exactly those keys."""
    keys = list(supernet)
    numbers, rules = {}, {}
    for name, scores in priors.items():
        missing = [k for k in keys if k not in scores]
        if missing:
            raise HnasError(f"prior {name!r} has no score for {len(missing)} of the {len(keys)} archs "
                            f"(e.g. {missing[0]!r}); fuse scores of the same arch list")
        if weights[name] == AUTO:
            rules[name] = auto_weight([supernet[k] for k in keys], [scores[k] for k in keys], known_strength(name))
            numbers[name] = rules[name]["weight"]
        else:
            numbers[name] = weights[name]
    return numbers, rules


def fuse(supernet, priors, weights, method=DEFAULT_METHOD):
    """{key: fused score}: standardize(supernet) + sum of weight * standardize(prior), over the
    supernet's keys (weights as resolve_weights sets them)."""
    keys = list(supernet)
    numbers, _ = resolve_weights(supernet, priors, weights)
    fused = standardize([supernet[k] for k in keys], method)
    for name, scores in priors.items():
        fused = fused + numbers[name] * standardize([scores[k] for k in keys], method)
    return {k: float(v) for k, v in zip(keys, fused)}
