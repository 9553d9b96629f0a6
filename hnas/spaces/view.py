"""A view of a search space that narrows what training draws (a few-shot part, a list's ranges):
parsing, formatting, genes, counting and the rest are the whole space's, named one by one so the
view answers exactly the Space protocol (hnas.interfaces)."""
from functools import lru_cache

from hnas.interfaces import ElasticDepthSpace


class SpaceView:
    def __init__(self, base):
        self.base, self.name = base, base.name

    def parse(self, text, key=None):
        return self.base.parse(text, key)

    def format(self, arch):
        return self.base.format(arch)

    def validate(self, arch, key=None, **kwargs):
        return self.base.validate(arch, key, **kwargs)

    @property
    def elastic_depth(self):
        return self.base.elastic_depth

    def gene_names(self):
        return self.base.gene_names()

    def to_genes(self, arch):
        return self.base.to_genes(arch)

    def from_genes(self, genes):
        return self.base.from_genes(genes)

    def canonical(self, arch):
        return self.base.canonical(arch)

    def gene_values(self, arch):
        return self.base.gene_values(arch)

    def blocks(self, arch, *args, **kwargs):
        return self.base.blocks(arch, *args, **kwargs)

    def image_size(self, arch):
        return self.base.image_size(arch)

    def count_params(self, arch, *args, **kwargs):
        return self.base.count_params(arch, *args, **kwargs)

    def count_flops(self, arch, *args, **kwargs):
        return self.base.count_flops(arch, *args, **kwargs)


class ElasticView:
    """Mixed into a view of an elastic-depth space (hnas.interfaces.ElasticDepthSpace)."""

    @property
    def depth_ranges(self):
        return self.base.depth_ranges

    @property
    def width_codes(self):
        return self.base.width_codes


@lru_cache(maxsize=None)
def _elastic(view_class):
    return type(f"Elastic{view_class.__name__}", (ElasticView, view_class), {})


def view_of(view_class, base, *args):
    """view_class(base, *args), elastic when `base` is."""
    return (_elastic(view_class) if isinstance(base, ElasticDepthSpace) else view_class)(base, *args)
