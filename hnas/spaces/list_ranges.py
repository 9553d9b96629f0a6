"""Train where you score: the per-gene choices an arch list uses, and a view of a space restricted
to them for training.

The 2022 list of 45,000 archs uses width codes 1-3 in the stem and stages 1-2, 1-5 in stage 3 and
1-7 in stage 4; a supernet sampling every code 1-7 everywhere trains on widths no listed arch has
(the 2022 1st place sampled exactly the list's per-stage ranges). ListRanges reads the choices off
a list (or names a built-in set); RangedSpace draws, and builds its largest and smallest archs,
only inside them. Scoring uses the whole space: any valid arch is still scored.
"""
from hnas.config_schema import LIST_RANGES
from hnas.errors import ArchError, HnasError
from hnas.spaces.resnet48 import DEPTH_RANGES, MAX_DEPTHS, WIDTH_CODES
from hnas.spaces.view import SpaceView, view_of

# the 45k list's ranges (../shared/anchors/cvpr2022_track1_test_45k.json; a test reads them off it)
_CVPR2022_STAGE_CODES = ((1, 2, 3), (1, 2, 3), (1, 2, 3, 4, 5), WIDTH_CODES)


def _cvpr2022_track1():
    ranges = {f"depth{s + 1}": tuple(range(lo, hi + 1)) for s, (lo, hi) in enumerate(DEPTH_RANGES)}
    for stage, codes in enumerate(_CVPR2022_STAGE_CODES):
        ranges.update({f"s{stage + 1}b{i + 1}.conv1": codes for i in range(MAX_DEPTHS[stage])})
        ranges[f"s{stage + 1}.conv2"] = codes
    return ranges


BUILTIN = {"cvpr2022_track1": _cvpr2022_track1}  # name: {gene: choices}, of the space LIST_RANGES names


class ListRanges:
    """For each gene of `space`, the choices training may draw (a subset of the gene's own)."""

    def __init__(self, space, choices, source):
        names, full = space.gene_names(), dict(zip(space.gene_names(), space.gene_choices()))
        unknown = sorted(set(choices) - set(names))
        if unknown:
            raise HnasError(f"{source}: {', '.join(unknown)} are not genes of {space.name}")
        self.choices = {}
        for name in names:
            allowed = tuple(sorted(set(choices.get(name, full[name]))))
            outside = [value for value in allowed if value not in full[name]]
            if not allowed or outside:
                raise HnasError(f"{source}: gene {name} allows {list(allowed)}; expected a non-empty subset of "
                                f"{list(full[name])}")
            self.choices[name] = allowed
        self.source = source

    @classmethod
    def from_archs(cls, space, archs, source="the arch list"):
        """The choices the listed archs use (a block slot past its stage's depth uses none)."""
        if not archs:
            raise HnasError(f"{source}: no archs to read ranges from")
        seen = {name: set() for name in space.gene_names()}
        for arch in archs:
            for name, value in space.gene_values(arch).items():
                if value is not None:
                    seen[name].add(value)
        return cls(space, {name: values for name, values in seen.items() if values}, source)

    @classmethod
    def builtin(cls, space, name):
        if LIST_RANGES.get(name) != space.name:
            raise HnasError(f"no built-in ranges {name!r} for search space {space.name}; built in: "
                            f"{', '.join(f'{n} ({s})' for n, s in LIST_RANGES.items())}")
        return cls(space, BUILTIN[name](), f"built-in ranges {name}")

    def restricts(self, space):
        return any(self.choices[name] != tuple(full) for name, full in zip(space.gene_names(), space.gene_choices()))

    def describe(self):
        """{gene: [choices]}, for the run's record."""
        return {name: list(values) for name, values in self.choices.items()}

    def summary(self, space):
        """One line naming each restricted gene and its choices (a run of consecutive values as lo-hi)."""
        full = dict(zip(space.gene_names(), space.gene_choices()))
        parts = [f"{name} {_span(values)}" for name, values in self.choices.items() if values != tuple(full[name])]
        return f"{self.source}: " + (", ".join(parts) if parts else "every choice")


def _span(values):
    values = list(values)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ",".join(map(str, values))


class RangedSpace(SpaceView):
    """A space whose sampling and largest / smallest archs stay inside ListRanges (and inside the
    base's own narrowing, a few-shot part); parsing, validation and counting are the whole space's,
    so a supernet trained on it scores any arch."""

    MAX_TRIES = 1000

    def __init__(self, base, ranges):
        super().__init__(base)
        self.ranges = ranges
        self._choices = tuple(tuple(c for c in ranges.choices[name] if c in own)
                              for name, own in zip(base.gene_names(), base.gene_choices()))
        empty = [name for name, choices in zip(base.gene_names(), self._choices) if not choices]
        if empty:
            raise HnasError(f"{ranges.source}: no choice of gene {', '.join(empty)} is left inside this part of "
                            f"the space")

    def gene_choices(self):
        return self._choices

    def _moved_inside(self, arch):
        """`arch` with each gene moved to its nearest allowed choice."""
        genes = [_nearest(allowed, (value,)) for value, allowed in zip(self.base.to_genes(arch), self._choices)]
        return self.base.from_genes(genes)

    def largest(self):
        return self._moved_inside(self.base.largest())

    def smallest(self):
        return self._moved_inside(self.base.smallest())

    def sample(self, rng, **narrowing):
        """Each gene uniform over its allowed choices; `narrowing` (a progressive phase's
        depth_choices / codes) narrows them further where it meets them, else keeps the allowed
        choice nearest the phase's."""
        phase = self.base.gene_choices(**narrowing) if narrowing else self._choices
        for _ in range(self.MAX_TRIES):  # genes drawn one by one; a view that ties genes (a few-shot part
            genes = []                   # over several) rejects the combinations it does not hold
            for allowed, phase_choices in zip(self._choices, phase):
                both = [choice for choice in allowed if choice in phase_choices]
                genes.append(rng.choice(both) if both else _nearest(allowed, phase_choices))
            arch = self.base.from_genes(genes)
            try:
                return self.base.validate(arch)
            except ArchError:
                continue
        raise HnasError(f"{self.ranges.source}: no arch of this part of the space in {self.MAX_TRIES} draws")


def _nearest(allowed, targets):
    return min(allowed, key=lambda choice: (min(abs(choice - t) for t in targets), choice))


def ranged(space, ranges):
    """`space` restricted to `ranges` for training (an elastic view when the space is elastic)."""
    return view_of(RangedSpace, space, ranges)
