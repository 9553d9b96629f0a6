"""The CVPR 2022 Track 1 search space: ResNet48 with elastic stage depths and per-conv widths.

The 52-character string: [0] image-size code ('1' = 224); [1:5] the four stage depths; [5] the stem
width code; then two codes (conv1, conv2) per block in fixed slots (stage 1 [6:16], stage 2 [16:26],
stage 3 [26:42], stage 4 [42:52]), blocks past a stage's depth padded '00'. Width code k in 1..7 is
ratio RATIOS[k-1] of the base width, rounded by make_divisible(.., 8).

Residual ties: a block whose shortcut is the identity adds its input to its conv2 output, so those
widths must agree. In the supernet that means one conv2 code per stage, and the stem code equal to
stage 1's (its first block keeps the identity shortcut). The released 45k list follows this; the
space (tied=True) enforces it, tied=False accepts any codes (stand-alone models then project).

An arch is a ResNet48Arch: image code, depths, stem code, and per stage a tuple of (conv1, conv2).
"""
from collections import namedtuple
from functools import lru_cache
from math import ceil

from hnas.errors import ArchError

ARCH_LENGTH = 52
IMAGE_SIZES = {1: 224}
DEPTH_RANGES = ((2, 5), (2, 5), (2, 8), (2, 5))
MAX_DEPTHS = tuple(high for _, high in DEPTH_RANGES)
RATIOS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7)
WIDTH_CODES = tuple(range(1, len(RATIOS) + 1))
STEM_BASE = 64
STAGE_BASES = (64, 128, 256, 512)
STAGE_STRIDES = (1, 2, 2, 2)
SLOT_STARTS = (6, 16, 26, 42)

ResNet48Arch = namedtuple("ResNet48Arch", "image_code depths stem stages")
BlockSpec = namedtuple("BlockSpec", "stage index slot cin mid cout stride project")


def make_divisible(value, divisor=8):
    """Round to the nearest multiple of divisor, never more than 10% below value (MobileNet rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


@lru_cache(maxsize=None)  # 35 (base, code) pairs; blocks() asks about 100 times per arch
def width(base, code):
    return make_divisible(base * RATIOS[code - 1])


class ResNet48Space:
    """Parse, format, validate and measure ResNet48 depth + width archs."""

    name = "resnet48"
    elastic_depth = True
    depth_ranges = DEPTH_RANGES
    width_codes = WIDTH_CODES

    def __init__(self, tied=True):
        self.tied = tied

    # -- codec ---------------------------------------------------------------------------------
    def parse(self, text, key=None):
        where = f"arch {key!r}" if key is not None else "arch"
        if not isinstance(text, str):
            raise ArchError(f"{where}: expected a {ARCH_LENGTH}-character string, got {type(text).__name__}")
        text = text.strip()
        digits_only = text.isascii() and text.isdigit()  # str.isdigit() also accepts '²' and '١'
        if len(text) != ARCH_LENGTH or not digits_only:
            raise ArchError(f"{where} {text!r}: expected {ARCH_LENGTH} digits 0-9, got {len(text)} characters"
                            + ("" if digits_only else " (not all digits 0-9)"))
        digits = [int(c) for c in text]
        depths = tuple(digits[1:5])
        for stage, (depth, (low, high)) in enumerate(zip(depths, DEPTH_RANGES)):
            if not low <= depth <= high:
                raise ArchError(f"{where} {text!r}: stage {stage + 1} depth (position {stage + 2}) is {depth}, "
                                f"allowed {low}..{high}")
        stages = []
        for stage, (start, depth) in enumerate(zip(SLOT_STARTS, depths)):
            blocks = []
            for slot in range(MAX_DEPTHS[stage]):
                pos = start + 2 * slot
                pair = (digits[pos], digits[pos + 1])
                if slot < depth and pair == (0, 0):
                    raise ArchError(f"{where} {text!r}: stage {stage + 1} has depth {depth}, but block {slot + 1} "
                                    f"(positions {pos + 1}-{pos + 2}) is padded '00'")
                if slot < depth:
                    blocks.append(pair)
                elif pair != (0, 0):
                    raise ArchError(f"{where} {text!r}: stage {stage + 1} has depth {depth}, so block {slot + 1} "
                                    f"(positions {pos + 1}-{pos + 2}) must be padded '00', got '{pair[0]}{pair[1]}'")
            stages.append(tuple(blocks))
        arch = ResNet48Arch(digits[0], depths, digits[5], tuple(stages))
        return self.validate(arch, key=key, text=text)

    def format(self, arch):
        digits = [arch.image_code, *arch.depths, arch.stem]
        for stage, blocks in enumerate(arch.stages):
            for slot in range(MAX_DEPTHS[stage]):
                digits += blocks[slot] if slot < len(blocks) else (0, 0)
        return "".join(str(d) for d in digits)

    def validate(self, arch, key=None, text=None):
        where = f"arch {key!r}" if key is not None else "arch"
        if not isinstance(arch, ResNet48Arch):
            raise ArchError(f"{where}: expected a {ARCH_LENGTH}-character arch string or a ResNet48Arch, got "
                            f"{type(arch).__name__} {arch!r:.80}")
        shown = text if text is not None else _safe_format(self, arch)
        if arch.image_code not in IMAGE_SIZES:
            raise ArchError(f"{where} {shown!r}: image-size code (position 1) is {arch.image_code}, "
                            f"allowed {', '.join(map(str, IMAGE_SIZES))}")
        if len(arch.depths) != 4 or len(arch.stages) != 4:
            raise ArchError(f"{where}: expected 4 stages, got {len(arch.depths)} depths and {len(arch.stages)} stages")
        for stage, (depth, (low, high), blocks) in enumerate(zip(arch.depths, DEPTH_RANGES, arch.stages)):
            if not low <= depth <= high or len(blocks) != depth:
                raise ArchError(f"{where} {shown!r}: stage {stage + 1} depth {depth} with {len(blocks)} blocks, "
                                f"allowed depth {low}..{high}")
        self._check_code(where, shown, arch.stem, "stem width code (position 6)")
        for stage, blocks in enumerate(arch.stages):
            for slot, pair in enumerate(blocks):
                for conv, code in enumerate(pair):
                    if code not in WIDTH_CODES:  # the message is built only on failure: validation runs 50k times
                        pos = SLOT_STARTS[stage] + 2 * slot + conv + 1
                        self._check_code(where, shown, code, f"stage {stage + 1} block {slot + 1} conv{conv + 1} "
                                                             f"width code (position {pos})")
        if self.tied:
            self._check_ties(where, shown, arch)
        return arch

    @staticmethod
    def _check_code(where, shown, code, what):
        if code not in WIDTH_CODES:
            raise ArchError(f"{where} {shown!r}: {what} is {code}, allowed 1..7")

    @staticmethod
    def _check_ties(where, shown, arch):
        for stage, blocks in enumerate(arch.stages):
            tied = arch.stem if stage == 0 else blocks[0][1]
            for slot, (_, conv2) in enumerate(blocks):
                if conv2 != tied:
                    owner = "the stem code" if stage == 0 else "block 1's conv2 code"
                    raise ArchError(f"{where} {shown!r}: stage {stage + 1} block {slot + 1} conv2 code is {conv2}, "
                                    f"but identity shortcuts tie it to {owner} ({tied})")

    # -- the space -----------------------------------------------------------------------------
    def make(self, depths, stem, conv1, conv2, image_code=1):
        """An arch from depths, a stem code, and per stage either one conv1 code or one per block,
        and one conv2 code per stage (the tied form) or one per block."""
        stages = []
        for stage, depth in enumerate(depths):
            c1 = conv1[stage] if isinstance(conv1[stage], (tuple, list)) else (conv1[stage],) * depth
            c2 = conv2[stage] if isinstance(conv2[stage], (tuple, list)) else (conv2[stage],) * depth
            stages.append(tuple(zip(c1[:depth], c2[:depth])))
        return self.validate(ResNet48Arch(image_code, tuple(depths), stem, tuple(stages)))

    def largest(self):
        return self.make(MAX_DEPTHS, 1, (1,) * 4, (1,) * 4)

    def smallest(self):
        low = WIDTH_CODES[-1]
        return self.make(tuple(lo for lo, _ in DEPTH_RANGES), low, (low,) * 4, (low,) * 4)

    def sample(self, rng, depth_choices=None, codes=WIDTH_CODES):
        """Uniform over each stage's depth (from depth_choices if given) and every free width code."""
        depths = tuple(rng.choice(depth_choices[s] if depth_choices else range(lo, hi + 1))
                       for s, (lo, hi) in enumerate(DEPTH_RANGES))
        conv1 = [tuple(rng.choice(codes) for _ in range(d)) for d in depths]
        if self.tied:
            conv2 = [rng.choice(codes) for _ in depths]
            stem = conv2[0]
        else:
            conv2 = [tuple(rng.choice(codes) for _ in range(d)) for d in depths]
            stem = rng.choice(codes)
        return self.make(depths, stem, conv1, conv2)

    def image_size(self, arch):
        return IMAGE_SIZES[arch.image_code]

    # -- genes: a fixed-length list of independent choices, for search --------------------------
    # depth per stage, then conv1 per block slot (slots past the depth are carried but unused),
    # then conv2 per stage (tied; the stem follows stage 1) or per slot plus the stem (untied)
    def _slots(self):
        return [(stage, index) for stage, depth in enumerate(MAX_DEPTHS) for index in range(depth)]

    def gene_names(self):
        names = [f"depth{s + 1}" for s in range(4)]
        names += [f"s{s + 1}b{i + 1}.conv1" for s, i in self._slots()]
        if self.tied:
            return tuple(names + [f"s{s + 1}.conv2" for s in range(4)])
        return tuple(names + [f"s{s + 1}b{i + 1}.conv2" for s, i in self._slots()] + ["stem"])

    def gene_choices(self, depth_choices=None, codes=WIDTH_CODES):
        """Every gene's choices, or those a progressive phase allows (as sample() takes them)."""
        depths = [tuple(depth_choices[s] if depth_choices else range(lo, hi + 1)) for s, (lo, hi) in enumerate(DEPTH_RANGES)]
        return tuple(depths + [tuple(codes)] * (len(self.gene_names()) - 4))

    def to_genes(self, arch):
        def per_slot(which):
            return [arch.stages[s][i][which] if i < arch.depths[s] else WIDTH_CODES[0] for s, i in self._slots()]
        if self.tied:
            return tuple(arch.depths) + tuple(per_slot(0)) + tuple(blocks[0][1] for blocks in arch.stages)
        return tuple(arch.depths) + tuple(per_slot(0)) + tuple(per_slot(1)) + (arch.stem,)

    def canonical(self, arch):
        """Strings already name each network once (unused slots are '00')."""
        return arch

    def gene_values(self, arch):
        """{gene name: value}, None for a block slot past its stage's depth (carried, unused)."""
        values = dict(zip(self.gene_names(), self.to_genes(arch)))
        for stage, index in self._slots():
            if index >= arch.depths[stage]:
                for which in ("conv1", "conv2"):
                    name = f"s{stage + 1}b{index + 1}.{which}"
                    if name in values:
                        values[name] = None
        return values

    def from_genes(self, genes):
        genes = tuple(genes)
        depths, slots = genes[:4], len(self._slots())
        starts = [sum(MAX_DEPTHS[:s]) for s in range(4)]
        conv1 = [genes[4 + starts[s]:4 + starts[s] + MAX_DEPTHS[s]] for s in range(4)]
        if self.tied:
            conv2 = genes[4 + slots:4 + slots + 4]
            return self.make(depths, conv2[0], conv1, conv2)
        conv2 = [genes[4 + slots + starts[s]:4 + slots + starts[s] + MAX_DEPTHS[s]] for s in range(4)]
        return self.make(depths, genes[-1], conv1, conv2)

    def blocks(self, arch):
        """Every active BasicBlock: channels, stride, projection, and its slot in the largest net."""
        specs, cin = [], width(STEM_BASE, arch.stem)
        for stage, blocks in enumerate(arch.stages):
            for index, (c1, c2) in enumerate(blocks):
                mid, cout = width(STAGE_BASES[stage], c1), width(STAGE_BASES[stage], c2)
                stride = STAGE_STRIDES[stage] if index == 0 else 1
                slot = sum(MAX_DEPTHS[:stage]) + index
                specs.append(BlockSpec(stage, index, slot, cin, mid, cout, stride, stride != 1 or cin != cout))
                cin = cout
        return specs

    def stem_width(self, arch):
        return width(STEM_BASE, arch.stem)

    def count_params(self, arch, num_classes=1000, model_options=None):
        """Trainable parameters: convs (no bias), BN scale and shift, FC weight and bias, and one
        PReLU slope per block when the recipe's model is a PReLU variant (resnet48_prelu)."""
        prelu = ((model_options or {}).get("name") or "").endswith("_prelu")
        stem = self.stem_width(arch)
        total = 3 * 49 * stem + 2 * stem
        specs = self.blocks(arch)
        for blk in specs:
            total += 9 * blk.cin * blk.mid + 2 * blk.mid + 9 * blk.mid * blk.cout + 2 * blk.cout
            if blk.project:
                total += blk.cin * blk.cout + 2 * blk.cout
        total += int(prelu) * len(specs)
        return total + specs[-1].cout * num_classes + num_classes

    def count_flops(self, arch, image_size=None, num_classes=1000, model_options=None):
        """Multiply-accumulates of the convs and the classifier for one image (default: the arch's
        own image size); no model variant changes them."""
        res = ceil((image_size or self.image_size(arch)) / 2)
        stem = self.stem_width(arch)
        total = res * res * 3 * 49 * stem
        res = ceil(res / 2)  # max pool
        specs = self.blocks(arch)
        for blk in specs:
            res = ceil(res / blk.stride)
            total += res * res * 9 * (blk.cin * blk.mid + blk.mid * blk.cout)
            if blk.project:
                total += res * res * blk.cin * blk.cout
        return total + specs[-1].cout * num_classes


def _safe_format(space, arch):
    try:
        return space.format(arch)
    except (TypeError, IndexError, ValueError):
        return repr(arch)
