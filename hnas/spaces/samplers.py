"""Arch samplers. Each is a deterministic function of (seed, draw index), so every distributed
rank draws the same archs and a resumed run continues the same sequence without saved state."""
import random
from functools import lru_cache
from math import lcm

from hnas.errors import HnasError


def _rng(seed, *index):
    return random.Random(":".join(str(i) for i in (seed,) + index))


class UniformSampler:
    """SPOS: every position independently uniform over its choices."""

    def __init__(self, space, seed=0):
        self.space, self.seed = space, seed

    def draw(self, index):
        rng = _rng(self.seed, index)
        return tuple(rng.choice(c) for c in self.space.choices)


class StrictFairSampler:
    """FairNAS strict fairness: draws come in blocks of k = lcm of the choice counts (the largest
    count in both Track 1 spaces); inside a block every choice of every position is used exactly
    k / len(choices) times."""

    def __init__(self, space, seed=0):
        self.space, self.seed = space, seed
        self.block_size = lcm(*(len(c) for c in space.choices))
        self._block = lru_cache(maxsize=4)(self._make_block)

    def _make_block(self, block_index):
        rng = _rng(self.seed, "block", block_index)
        columns = []
        for choices in self.space.choices:
            column = list(choices) * (self.block_size // len(choices))
            rng.shuffle(column)
            columns.append(column)
        return [tuple(col[i] for col in columns) for i in range(self.block_size)]

    def draw(self, index):
        return self._block(index // self.block_size)[index % self.block_size]


class WeightedPoolSampler:
    """Draws from a fixed pool of archs with probability proportional to weight ** power."""

    def __init__(self, pool, weights, seed=0, power=1.0):
        if not pool or len(pool) != len(weights):
            raise HnasError(f"pool sampler needs a non-empty pool with one weight per arch "
                            f"(got {len(pool)} archs, {len(weights)} weights)")
        self.pool = list(pool)
        self.weights = [float(w) ** power for w in weights]
        self.seed = seed

    @classmethod
    def by_params(cls, space, pool_size=1000, seed=0, power=1.0, num_classes=100):
        """A pool drawn uniformly, weighted by parameter count: large archs are trained more often."""
        uniform = UniformSampler(space, seed=f"{seed}:pool")
        pool = [uniform.draw(i) for i in range(pool_size)]
        weights = [space.count_params(a, num_classes=num_classes) for a in pool]
        return cls(pool, weights, seed=seed, power=power)

    def draw(self, index):
        return _rng(self.seed, index).choices(self.pool, self.weights, k=1)[0]


SAMPLERS = ("uniform", "strict_fair", "params_pool")


def build_sampler(name, space, seed=0, num_classes=100, pool_size=1000):
    if name == "uniform":
        return UniformSampler(space, seed)
    if name == "strict_fair":
        return StrictFairSampler(space, seed)
    if name == "params_pool":
        return WeightedPoolSampler.by_params(space, pool_size=pool_size, seed=seed, num_classes=num_classes)
    raise HnasError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")
