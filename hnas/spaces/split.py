"""Few-shot NAS (Zhao et al., ICML 2021): the space split on one gene into K parts, each trained
as its own sub-supernet. A gene's choices are cut into K contiguous groups (the narrowest widths
or the shallowest depths first), so part i holds every arch whose gene falls in group i.

SpaceSplit.part(i) is a view of the space restricted to part i: its largest / smallest archs,
sampling, the gene choices search may use and validation all stay inside the part, so samplers,
step plans and search run on it unchanged.
"""
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
    def __init__(self, space, gene, parts):
        names = list(space.gene_names())
        if gene not in names:
            raise HnasError(f"few-shot split gene {gene!r} is not a gene of {space.name}; its genes: {', '.join(names)}")
        choices = tuple(space.gene_choices()[names.index(gene)])
        if not 2 <= int(parts) <= len(choices):
            raise HnasError(f"few-shot split: gene {gene} has {len(choices)} choices, so parts must be "
                            f"2..{len(choices)}, got {parts!r}")
        self.space, self.gene, self.parts = space, gene, int(parts)
        self.position = names.index(gene)
        self.groups = _groups(choices, self.parts)

    def describe(self):
        return {"gene": self.gene, "parts": self.parts, "groups": [list(g) for g in self.groups]}

    def part_of(self, arch):
        value = self.space.to_genes(arch)[self.position]
        return next(i for i, group in enumerate(self.groups) if value in group)

    def part(self, index):
        if not 0 <= index < self.parts:
            raise HnasError(f"few-shot part {index} does not exist: the split on {self.gene} has parts "
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
        genes[self.split.position] = value
        return self.base.from_genes(genes)

    def largest(self):
        return self._with_gene(self.base.largest(), max(self.allowed))

    def smallest(self):
        return self._with_gene(self.base.smallest(), min(self.allowed))

    def gene_choices(self):
        choices = list(self.base.gene_choices())
        choices[self.split.position] = self.allowed
        return tuple(choices)

    def validate(self, arch, key=None, **kwargs):
        arch = self.base.validate(arch, key, **kwargs)
        if self.split.part_of(arch) != self.index:
            raise ArchError(f"{key or 'arch'} {self.base.format(arch)}: its {self.split.gene} is not one of "
                            f"{list(self.allowed)}, so it is not in few-shot part {self.index}")
        return arch

    def sample(self, rng, **kwargs):
        """The whole space's sampling, conditioned on the part (rejection keeps it exact)."""
        for _ in range(self.MAX_TRIES):
            arch = self.base.sample(rng, **kwargs)
            if self.split.part_of(arch) == self.index:
                return arch
        raise HnasError(f"few-shot part {self.index} ({self.split.gene} in {list(self.allowed)}): no arch of "
                        f"it in {self.MAX_TRIES} draws of the sampler")
