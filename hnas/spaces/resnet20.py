"""The CVPR 2021 Track 1 search space: ResNet20 with 20 searchable channel counts.

An arch is a tuple of 20 ints; its string form joins them with '-'. Position p (0-based) is:
0 the stem conv, 1+2b / 2+2b conv1 / conv2 of block b (0..8), 19 carried but unused.
"""
from collections import namedtuple
from math import ceil

from hnas.errors import ArchError

NUM_POSITIONS = 20
NUM_BLOCKS = 9
STAGE_FIRST_BLOCKS = (0, 3, 6)
CLASSIFIER_POSITION = 18

BlockSpec = namedtuple("BlockSpec", "index cin mid cout stride project slot")  # slot: its place in the largest net (= index: depth is fixed)


def _stage_choices(upper):
    return tuple(range(4, upper + 1, 4))


CHOICES = (
    (_stage_choices(16),) * 7
    + (_stage_choices(32),) * 6
    + (_stage_choices(64),) * 7
)


class ResNet20Space:
    """Parse, format, validate and measure ResNet20 channel archs."""

    name = "resnet20"
    elastic_depth = False
    choices = CHOICES

    def parse(self, text, key=None):
        where = f"arch {key!r}" if key is not None else "arch"
        if not isinstance(text, str):
            raise ArchError(f"{where}: expected a string of {NUM_POSITIONS} ints joined by '-', got {type(text).__name__}")
        parts = text.strip().split("-")
        if len(parts) != NUM_POSITIONS:
            raise ArchError(f"{where} {text!r}: expected {NUM_POSITIONS} ints joined by '-', got {len(parts)} fields")
        values = []
        for position, part in enumerate(parts):
            if not (part.isascii() and part.isdigit()):  # int() also reads '١٦' and ' 16 ', which no list holds
                raise ArchError(f"{where} {text!r}: position {position + 1} is {part!r}, not an integer of digits 0-9")
            values.append(int(part))
        arch = tuple(values)
        self.validate(arch, key=key)
        return arch

    def format(self, arch):
        return "-".join(str(int(v)) for v in arch)

    def validate(self, arch, key=None):
        where = f"arch {key!r}" if key is not None else "arch"
        if isinstance(arch, str) or not all(isinstance(value, int) for value in arch):
            raise ArchError(f"{where}: expected a tuple of {NUM_POSITIONS} channel counts (or parse the arch string "
                            f"first), got {arch!r:.80}")
        if len(arch) != NUM_POSITIONS:
            raise ArchError(f"{where}: expected {NUM_POSITIONS} channel counts, got {len(arch)}")
        for position, (value, allowed) in enumerate(zip(arch, self.choices)):
            if value not in allowed:
                raise ArchError(
                    f"{where} {self.format(arch)!r}: position {position + 1} is {value}, "
                    f"allowed {allowed[0]}..{allowed[-1]} step 4 ({', '.join(map(str, allowed))})"
                )
        return arch

    def largest(self):
        return tuple(c[-1] for c in self.choices)

    def smallest(self):
        return tuple(c[0] for c in self.choices)

    # -- genes: a fixed-length list of independent choices, for search --------------------------
    def gene_names(self):
        return tuple(f"c{p + 1}" for p in range(NUM_POSITIONS))

    def gene_choices(self):
        return self.choices

    def to_genes(self, arch):
        return tuple(arch)

    def from_genes(self, genes):
        return self.validate(tuple(genes))

    def canonical(self, arch):
        """The same network with position 20 (carried, unused) set to position 19's value, so
        that search does not count two strings of one network as two candidates."""
        return arch[:NUM_POSITIONS - 1] + (arch[NUM_POSITIONS - 2],)

    def gene_values(self, arch):
        """{gene name: value}; position 20 is carried by the string but unused by the network."""
        return dict(zip(self.gene_names(), self.to_genes(arch)))

    def sample(self, rng):
        """Every position independently uniform over its choices."""
        return tuple(rng.choice(c) for c in self.choices)

    def blocks(self, arch, always_project=False):
        """The 9 BasicBlocks of an arch: channels, stride, and whether the shortcut projects."""
        specs = []
        for b in range(NUM_BLOCKS):
            cin, mid, cout = arch[2 * b], arch[2 * b + 1], arch[2 * b + 2]
            first = b in STAGE_FIRST_BLOCKS
            stride = 2 if first and b > 0 else 1
            project = always_project or first or cin != cout
            specs.append(BlockSpec(b, cin, mid, cout, stride, project, b))
        return specs

    def image_size(self, arch):
        """The resolution an arch string implies: the 2021 space has no resolution gene, so CIFAR's."""
        return 32

    def count_params(self, arch, num_classes=100, model_options=None):
        """Trainable parameters (conv and FC weights, FC bias, BN scale and shift) of the model a
        recipe's `model` options build (always_project adds a projection to every block,
        residual_act prelu one slope per block)."""
        total = 3 * arch[0] * 9 + 2 * arch[0]
        for blk in self.blocks(arch, _always_project(model_options)):
            total += 9 * blk.cin * blk.mid + 2 * blk.mid + 9 * blk.mid * blk.cout + 2 * blk.cout
            if blk.project:
                total += blk.cin * blk.cout + 2 * blk.cout
        if (model_options or {}).get("residual_act") == "prelu":
            total += NUM_BLOCKS  # one PReLU slope per block
        return total + arch[CLASSIFIER_POSITION] * num_classes + num_classes

    def count_flops(self, arch, image_size=None, num_classes=100, model_options=None):
        """Multiply-accumulates of the convs and the classifier for one image (default: 32 px)."""
        res = image_size or self.image_size(arch)
        total = res * res * 3 * arch[0] * 9
        for blk in self.blocks(arch, _always_project(model_options)):
            res = ceil(res / blk.stride)
            total += res * res * 9 * (blk.cin * blk.mid + blk.mid * blk.cout)
            if blk.project:
                total += res * res * blk.cin * blk.cout
        return total + arch[CLASSIFIER_POSITION] * num_classes


def _always_project(model_options):
    return bool((model_options or {}).get("always_project", False))
