"""The protocols every search space and every supernet kind of hnas satisfies, and the optional
abilities some of them have.

Code that drives supernets (training, scoring, export, search, priors, the predictor) relies only
on these members, and asks for an optional ability with isinstance; a new kind of space or supernet
plugs in by providing them. tests/test_interfaces.py checks every registered kind, and that the
drivers use no member of a space or supernet that is not declared here.
"""
from contextlib import AbstractContextManager
from typing import Any, Dict, Protocol, Sequence, runtime_checkable


@runtime_checkable
class Space(Protocol):
    name: str  # the registry name (resnet20, resnet48)
    elastic_depth: bool  # False: every arch uses every gene (a fixed list of positions); True: depth genes decide which width genes count

    def parse(self, text: str, key: str = None) -> Any:
        """The arch of a competition string; one ArchError naming `key` if it is not one."""

    def format(self, arch: Any) -> str:
        """The competition string of an arch (parse(format(a)) == a)."""

    def validate(self, arch: Any, key: str = None) -> Any:
        """`arch` itself if it belongs to the space, else one ArchError."""

    def largest(self) -> Any:
        """The arch with every gene at its largest choice."""

    def smallest(self) -> Any:
        """The arch with every gene at its smallest choice."""

    def sample(self, rng) -> Any:
        """A uniformly drawn arch (rng: random.Random)."""

    def gene_names(self) -> Sequence[str]:
        """One name per gene, in the order of to_genes."""

    def gene_choices(self) -> Sequence[Sequence[Any]]:
        """The allowed values of each gene."""

    def to_genes(self, arch: Any) -> Sequence[Any]:
        """The arch as a flat list of gene values (what search mutates)."""

    def from_genes(self, genes: Sequence[Any]) -> Any:
        """The arch of a gene list (from_genes(to_genes(a)) == a)."""

    def canonical(self, arch: Any) -> Any:
        """One representative per network: genes that no layer uses are set to a fixed value."""

    def gene_values(self, arch: Any) -> Dict[str, Any]:
        """{gene name: value} of the arch, None where the arch does not use the gene."""

    def blocks(self, arch: Any) -> Sequence[Any]:
        """The arch's residual blocks in order (their widths and strides)."""

    def image_size(self, arch: Any) -> int:
        """The input resolution the arch implies when a recipe does not fix one."""

    def count_params(self, arch: Any, num_classes: int, model_options: Dict = None) -> int:
        """Trainable parameters of the stand-alone model the recipe's `model` options build."""

    def count_flops(self, arch: Any, image_size: int = None, num_classes: int = ...,
                    model_options: Dict = None) -> int:
        """Multiply-accumulates for one image (image_size None: the arch's own)."""


@runtime_checkable
class Supernet(Protocol):
    space: Space  # the space whose archs it runs

    def set_arch(self, arch: Any) -> None:
        """Make `arch` the active subnet: every forward until the next call runs it alone."""

    def __call__(self, images) -> Any:
        """Logits of the active subnet."""

    def features(self, images) -> Any:
        """The active subnet's feature map before global pooling (a contrastive stage embeds it)."""

    def bn_stats_mode(self, mode: str) -> AbstractContextManager:
        """Within the block, BatchNorm uses `mode` (hnas.models.bn_modes.MODES); normal after."""

    def weights_fixed(self) -> AbstractContextManager:
        """Within the block the weights do not change (one arch being scored): the supernet may keep
        work that depends on them, and drops it when the block ends."""

    def finish_calibration(self) -> None:
        """Write the statistics accumulated in calibrate mode into the running statistics."""

    def running_statistics(self) -> Dict[str, Any]:
        """{name: tensor} of every running BN statistic (what calibration rewrites)."""

    def export_state(self, arch: Any) -> Dict[str, Any]:
        """State dict (numpy) of the stand-alone network of `arch`, equal in outputs to the subnet."""


@runtime_checkable
class ElasticDepthSpace(Space, Protocol):
    """A space whose stages have a depth gene (elastic_depth True): progressive shrinking draws
    depths and widths from growing ranges."""
    depth_ranges: Sequence[Sequence[int]]  # (fewest, most) blocks per stage
    width_codes: Sequence[int]  # width choices, widest first

    def sample(self, rng, depth_choices: Sequence[Sequence[int]] = None, codes: Sequence[int] = ...) -> Any:
        """A uniform draw, restricted to per-stage depth choices and width codes when given."""


@runtime_checkable
class Branching(Protocol):
    """A supernet with multi-branch sharing (model conv/bn/fc: branch): at train.branch_epoch each
    width bucket gets its own copy of the shared weights."""

    def branch(self) -> None:
        """Give every width bucket its own weights, started from the shared ones."""

    def is_branched(self) -> bool:
        """Whether branch() has happened (a resumed run restores it with the weights)."""


@runtime_checkable
class StartsFromPretrained(Protocol):
    """A supernet that can start from the weights of its largest network (model.pretrained)."""

    def load_pretrained(self, path: str, reorder: bool = False) -> None:
        """Load a stand-alone largest network's state dict; `reorder` sorts channels by importance."""


@runtime_checkable
class GrowsFromFewerGroups(Protocol):
    """A supernet with per-stage weight groups that a checkpoint with fewer groups starts (the 2022
    4th place's few-shot supernet, hnas.models.grouped_resofa)."""

    def load_grown(self, path: str, prefix: str = "") -> None:
        """Load a state with these groups or fewer; each missing group copies the one it grows from."""


@runtime_checkable
class ResidualSwitch(Protocol):
    """A residual block whose shortcut can be switched off: Zen-score measures the plain network."""
    residual: bool


@runtime_checkable
class BatchSampling(Protocol):
    """A training dataset that draws its own batches (e.g. one crop size per batch)."""

    def batch_sampler_for(self, sampler: Any) -> Any:
        """The batch sampler the data loader uses, wrapping the trainer's own."""
