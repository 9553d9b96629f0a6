"""Per-stage weight groups of the 2022 4th place's few-shot supernet (liujiawei2333/CVPR2022-NAS-
competition-Track-1-4th-solution): each stage of ResNet48 holds G copies of its blocks, and an arch
runs, in each stage, the copy of its group, chosen by the stage's output (conv2) width. The stem is
shared; the classifier has one copy per group of the last stage.

With G groups, the G-1 widest widths of a stage have a group each and every narrower width shares the
last; a stage with fewer distinct widths than G has one group per width. Grown from G' to G groups,
group g starts from the G'-group model's group min(g, G'-1), the one that covered its widths.
"""
from hnas.spaces.resnet48 import STAGE_BASES, WIDTH_CODES, width

MAX_GROUPS = len(WIDTH_CODES)


class StageGroups:
    def __init__(self, count):
        if not 1 <= count <= MAX_GROUPS:
            raise ValueError(f"stage groups: expected 1..{MAX_GROUPS}, got {count}")
        self.count = count
        # a stage's distinct output widths, widest first (stage 1 has 3: 64, 56, 48)
        self.widths = tuple(tuple(sorted({width(base, code) for code in WIDTH_CODES}, reverse=True))
                            for base in STAGE_BASES)
        self.sizes = tuple(min(count, len(widths)) for widths in self.widths)

    def group(self, stage, channels):
        """The group of `stage` that runs at output width `channels`."""
        return min(self.widths[stage].index(channels), self.sizes[stage] - 1)

    def of(self, space, arch):
        """The group each stage of `arch` runs (a tuple of 4)."""
        outputs = {spec.stage: spec.cout for spec in space.blocks(arch)}
        return tuple(self.group(stage, outputs[stage]) for stage in range(len(STAGE_BASES)))

    def covered(self, stage, group):
        """The widths `group` of `stage` runs, widest first."""
        widths = self.widths[stage]
        return widths[group:] if group == self.sizes[stage] - 1 else widths[group:group + 1]

    def source(self, stage, group, fewer):
        """The group of the `fewer`-group model (a StageGroups) that group `group` of `stage` starts from."""
        return min(group, fewer.sizes[stage] - 1)


__all__ = ["MAX_GROUPS", "StageGroups"]
