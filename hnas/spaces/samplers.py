"""Arch samplers. Each is a deterministic function of (seed, draw index), so every distributed
rank draws the same archs and a resumed run continues the same sequence without saved state."""
import random
from functools import lru_cache
from math import ceil, lcm

from hnas.errors import HnasError
from hnas.interfaces import ElasticDepthSpace, Space
from hnas.config_schema import SAMPLERS  # the allowed values, defined with the recipe schema


def _rng(seed, *index):
    return random.Random(":".join(str(i) for i in (seed,) + index))


class UniformSampler:
    """SPOS: every position independently uniform over its choices."""

    def __init__(self, space, seed=0):
        self.space, self.seed = space, seed

    def draw(self, index, step=None):
        return self.space.sample(_rng(self.seed, index))


class StrictFairSampler:
    """FairNAS strict fairness: draws come in blocks of k = lcm of the choice counts (the largest
    count in both Track 1 spaces); inside a block every choice of every position is used exactly
    k / len(choices) times."""

    def __init__(self, space, seed=0):
        if space.elastic_depth:
            raise HnasError(f"strict_fair needs a space with a fixed list of positions; {space.name} has "
                            f"elastic depth (use uniform or progressive)")
        self.space, self.seed = space, seed
        self.block_size = lcm(*(len(c) for c in space.gene_choices()))
        self._block = lru_cache(maxsize=4)(self._make_block)

    def _make_block(self, block_index):
        rng = _rng(self.seed, "block", block_index)
        columns = []
        for choices in self.space.gene_choices():
            column = list(choices) * (self.block_size // len(choices))
            rng.shuffle(column)
            columns.append(column)
        return [tuple(col[i] for col in columns) for i in range(self.block_size)]

    def draw(self, index, step=None):
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

    @classmethod
    def fixed_subset(cls, archs, size, seed=0):
        """Uniform over `size` archs drawn once (seeded) from a list, e.g. the submission list:
        the 2021 2nd place's post-training refinement on a fixed subset."""
        if not archs:
            raise HnasError("the arch pool is empty")
        chosen = _rng(seed, "subset").sample(list(archs), min(size, len(archs)))
        return cls(chosen, [1.0] * len(chosen), seed=seed)

    def draw(self, index, step=None):
        return _rng(self.seed, index).choices(self.pool, self.weights, k=1)[0]


class ProgressiveShrinkingSampler:
    """Once-for-all progressive shrinking for elastic depth + width: depth phases first (widths at
    the largest code, the lowest allowed depth of every stage moving down each phase), then width
    phases (all depths, the smallest allowed width code moving down each phase); after the last
    phase the whole space. Which phase a draw belongs to follows from the training step."""

    def __init__(self, space: Space, steps_per_epoch, phase_epochs, seed=0, depth_phases=2, width_phases=3):
        if not isinstance(space, ElasticDepthSpace):
            raise HnasError(f"progressive shrinking needs elastic depth and width; {space.name} has neither")
        self.phases = progressive_phases(space, depth_phases, width_phases)
        epochs = [phase_epochs] * len(self.phases) if isinstance(phase_epochs, int) else list(phase_epochs)
        if len(epochs) != len(self.phases) or any(e < 0 for e in epochs):
            raise HnasError(f"progressive shrinking has {len(self.phases)} phases ({depth_phases} depth + "
                            f"{width_phases} width); train.phase_epochs must be one count or {len(self.phases)} "
                            f"counts >= 0, got {phase_epochs!r}")
        self.phase_ends = [sum(epochs[:i + 1]) for i in range(len(epochs))]
        self.space, self.seed, self.steps_per_epoch = space, seed, max(1, steps_per_epoch)

    def phase(self, step):
        """Index of the phase at `step`, len(phases) once shrinking is over."""
        epoch = step // self.steps_per_epoch
        return next((i for i, end in enumerate(self.phase_ends) if epoch < end), len(self.phases))

    def draw(self, index, step=None):
        if step is None:
            raise HnasError("progressive shrinking draws need the training step")
        phase = self.phase(step)
        rng = _rng(self.seed, index)
        if phase == len(self.phases):
            return self.space.sample(rng)
        depth_choices, codes = self.phases[phase]
        return self.space.sample(rng, depth_choices=depth_choices, codes=codes)


class WidthLevelsSampler:
    """The 2021 winner's progressive sampler, for spaces with a fixed list of positions: in phase
    i of `levels` (phase_epochs each) every position draws uniformly from its widest (i + 1) /
    levels of choices, so narrower widths are admitted level by level; the last phase, and all
    training after it, draws from every choice."""

    def __init__(self, space, steps_per_epoch, phase_epochs, seed=0, levels=4):
        if space.elastic_depth:
            raise HnasError(f"the levels sampler needs a space with a fixed list of positions; {space.name} has "
                            f"elastic depth (use progressive)")
        if int(levels) < 1 or int(phase_epochs) < 0:
            raise HnasError(f"the levels sampler needs train.width_phases >= 1 and train.phase_epochs >= 0, "
                            f"got {levels!r} and {phase_epochs!r}")
        self.space, self.seed, self.levels = space, seed, int(levels)
        self.steps_per_epoch, self.phase_epochs = max(1, steps_per_epoch), int(phase_epochs)

    def allowed(self, step):
        """Each position's admitted choices at `step`."""
        epoch = step // self.steps_per_epoch
        phase = min(self.levels - 1, epoch // self.phase_epochs) if self.phase_epochs else self.levels - 1
        return [c[len(c) * (self.levels - 1 - phase) // self.levels:] for c in self.space.gene_choices()]

    def draw(self, index, step=None):
        if step is None:
            raise HnasError("the levels sampler's draws need the training step")
        rng = _rng(self.seed, index)
        return tuple(rng.choice(c) for c in self.allowed(step))


def progressive_phases(space: ElasticDepthSpace, depth_phases, width_phases):
    """[(per-stage depth choices, width codes), ...]: depth phases, then width phases."""
    phases = []
    for i in range(depth_phases):
        depth_choices = [range(hi - ceil((hi - lo) * (i + 1) / depth_phases), hi + 1) for lo, hi in space.depth_ranges]
        phases.append((depth_choices, space.width_codes[:1]))
    full_depths = [range(lo, hi + 1) for lo, hi in space.depth_ranges]
    codes = space.width_codes
    for j in range(width_phases):
        phases.append((full_depths, codes[:ceil(len(codes) * (j + 1) / width_phases)]))
    return phases


class WithinLimits:
    """SPOS training under a budget: a base sampler's draws, rejected until one satisfies
    `limits` (arch -> bool, e.g. hnas.proxies.limits.Limits)."""

    MAX_TRIES = 1000

    def __init__(self, base, limits):
        if isinstance(base, StrictFairSampler):
            raise HnasError("the strict_fair sampler cannot be restricted to a FLOPs/params range: rejecting "
                            "draws breaks its fairness (use uniform, params_pool or progressive)")
        self.base, self.limits = base, limits

    def draw(self, index, step=None):
        for attempt in range(self.MAX_TRIES):
            arch = self.base.draw(index * self.MAX_TRIES + attempt, step)
            if self.limits(arch):
                return arch
        raise HnasError(f"no arch within {self.limits.describe()} in {self.MAX_TRIES} draws of the sampler")


def build_sampler(name, space, seed=0, num_classes=100, pool_size=1000, steps_per_epoch=1,
                  phase_epochs=1, depth_phases=2, width_phases=3, arch_pool=None):
    """`arch_pool`: the archs the arch_pool sampler picks its fixed subset of `pool_size` from."""
    if name == "arch_pool":
        if arch_pool is None:
            raise HnasError("sampler arch_pool needs train.arch_pool (a competition arch file)")
        return WeightedPoolSampler.fixed_subset(arch_pool, pool_size, seed)
    if name == "progressive":
        return ProgressiveShrinkingSampler(space, steps_per_epoch, phase_epochs, seed, depth_phases, width_phases)
    if name == "levels":
        return WidthLevelsSampler(space, steps_per_epoch, phase_epochs, seed, width_phases)
    if name == "uniform":
        return UniformSampler(space, seed)
    if name == "strict_fair":
        return StrictFairSampler(space, seed)
    if name == "params_pool":
        return WeightedPoolSampler.by_params(space, pool_size=pool_size, seed=seed, num_classes=num_classes)
    raise HnasError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")
