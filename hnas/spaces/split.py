"""Few-shot NAS (Zhao et al., ICML 2021): the space split into K parts, each trained as its own
sub-supernet. By default one gene's choices are cut into K contiguous groups (the narrowest widths
or the shallowest depths first), so part i holds every arch whose gene falls in group i. Explicit
groups may name the values of one gene, or value lists of several genes (the 2022 2nd place split
corners of the (stage-3 depth, stage-4 depth) grid); archs in no group belong to no part and are
scored by the supernet the parts started from.

SpaceSplit.part(i) is a view of the space restricted to part i: its largest / smallest archs,
sampling, the gene choices search may use and validation all stay inside the part, so samplers,
step plans and search run on it unchanged.
"""
from itertools import product

from hnas.errors import ArchError, HnasError
from hnas.spaces.view import SpaceView, view_of


def _groups(choices, parts):
    """`choices` cut into `parts` contiguous, near-equal groups (earlier groups take the remainder)."""
    size, extra = divmod(len(choices), parts)
    groups, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        groups.append(tuple(choices[start:end]))
        start = end
    return groups


class SpaceSplit:
    def __init__(self, space, gene, parts=2, groups=None):
        names = list(space.gene_names())
        genes = [gene] if isinstance(gene, str) else list(gene)
        unknown = [g for g in genes if g not in names]
        if unknown or not genes:
            raise HnasError(f"few-shot split gene {unknown[0] if unknown else gene!r} is not a gene of {space.name}; "
                            f"its genes: {', '.join(names)}")
        self.space, self.gene, self.genes = space, gene, genes
        self.positions = [names.index(g) for g in genes]
        self._choices = [tuple(space.gene_choices()[p]) for p in self.positions]
        if groups is None:
            if len(genes) > 1:
                raise HnasError(f"few-shot split on {', '.join(genes)}: several genes need explicit groups "
                                f"(train.fewshot_groups)")
            choices = self._choices[0]
            if not 2 <= int(parts) <= len(choices):
                raise HnasError(f"few-shot split: gene {gene} has {len(choices)} choices, so parts must be "
                                f"2..{len(choices)}, got {parts!r}")
            groups = _groups(choices, int(parts))
        self.groups = [self._checked(i, group) for i, group in enumerate(groups)]
        self.parts = len(self.groups)
        self._part = {value: i for i, group in enumerate(self.groups) for value in group}
        if len(self._part) != sum(len(group) for group in self.groups):
            raise HnasError(f"few-shot groups on {self.named()} overlap: a value may be in one group only")
        self.covers = len(self._part) == len(list(product(*self._choices)))

    def named(self):
        return ", ".join(self.genes)

    def _checked(self, index, group):
        """Group `index` as a tuple of values (one gene) or of value tuples (several genes)."""
        several = len(self.genes) > 1
        values = tuple(tuple(v) if several and isinstance(v, (list, tuple)) else v for v in group)
        for value in values:
            combo = value if several else (value,)
            if not isinstance(combo, tuple) or len(combo) != len(self.genes) or any(
                    v not in choices for v, choices in zip(combo, self._choices)):
                shown = list(value) if isinstance(value, tuple) else value
                raise HnasError(f"few-shot group {index + 1} on {self.named()}: {shown!r} is not "
                                f"{'a list of one value per gene' if several else 'a value'} of "
                                + "; ".join(f"{g} {list(c)}" for g, c in zip(self.genes, self._choices)))
        if not values:
            raise HnasError(f"few-shot group {index + 1} on {self.named()} is empty")
        return values

    def describe(self):
        groups = [[list(v) if isinstance(v, tuple) else v for v in group] for group in self.groups]
        return {"gene": self.gene, "parts": self.parts, "groups": groups}

    def value(self, arch):
        genes = self.space.to_genes(arch)
        values = tuple(genes[p] for p in self.positions)
        return values if len(values) > 1 else values[0]

    def part_of(self, arch):
        """The index of `arch`'s part, or None when its values are in no group."""
        return self._part.get(self.value(arch))

    def part(self, index):
        if not 0 <= index < self.parts:
            raise HnasError(f"few-shot part {index} does not exist: the split on {self.named()} has parts "
                            f"0..{self.parts - 1}")
        return view_of(SubSpace, self.space, self, index)


class SubSpace(SpaceView):
    """The archs of one part, with the Space protocol of the whole space."""

    MAX_TRIES = 1000

    def __init__(self, base, split, index):
        super().__init__(base)
        self.split, self.index = split, index
        self.allowed = split.groups[index]

    def _with_gene(self, arch, value):
        genes = list(self.base.to_genes(arch))
        for position, v in zip(self.split.positions, value if len(self.split.positions) > 1 else (value,)):
            genes[position] = v
        return self.base.from_genes(genes)

    def largest(self):
        return self._with_gene(self.base.largest(), max(self.allowed))

    def smallest(self):
        return self._with_gene(self.base.smallest(), min(self.allowed))

    def gene_choices(self, **narrowing):
        choices = list(self.base.gene_choices(**narrowing))
        for i, position in enumerate(self.split.positions):
            used = {v[i] if len(self.split.positions) > 1 else v for v in self.allowed}
            choices[position] = tuple(c for c in choices[position] if c in used)
        return tuple(choices)

    def validate(self, arch, key=None, **kwargs):
        arch = self.base.validate(arch, key, **kwargs)
        if self.split.part_of(arch) != self.index:
            raise ArchError(f"{key or 'arch'} {self.base.format(arch)}: its {self.split.named()} is not one of "
                            f"{list(self.allowed)}, so it is not in few-shot part {self.index}")
        return arch

    def sample(self, rng, **kwargs):
        """The whole space's sampling, conditioned on the part (rejection keeps it exact)."""
        for _ in range(self.MAX_TRIES):
            arch = self.base.sample(rng, **kwargs)
            if self.split.part_of(arch) == self.index:
                return arch
        raise HnasError(f"few-shot part {self.index} ({self.split.named()} in {list(self.allowed)}): no arch of "
                        f"it in {self.MAX_TRIES} draws of the sampler")
