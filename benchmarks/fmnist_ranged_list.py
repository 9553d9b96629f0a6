"""Write benchmarks/fmnist_ranged_archs.json: a Fashion-MNIST arch list shaped the way the CVPR 2022
list is (issue 31, "train where you score"): narrow widths excluded in the early stages, every
width in the last. The 2022 list keeps width codes 1-3 of 7 in the stem and stages 1-2, 1-5 in
stage 3 and 1-7 in stage 4; here, in ResNet20's three stages, the stem and stage 1 keep their
widest 2 of 4 widths, stage 2 its widest 4 of 8, stage 3 all 16. About 1 uniform draw in 8,192 lies
inside these ranges (1 in 5,500 for the 2022 list). 24 archs drawn uniformly inside them, plus the
largest and the smallest inside them.

    python benchmarks/fmnist_ranged_list.py   # then: hnas ablate configs/ablate_fmnist_ranged.yaml --workers 2
"""
import zlib  # noqa: F401  (paddle's bundled zlib must not load first)
import random
from pathlib import Path

from hnas.archfile import write_arch_file
from hnas.spaces import get_space
from hnas.spaces.list_ranges import ListRanges, ranged

OUT = Path(__file__).parent / "fmnist_ranged_archs.json"
COUNT, SEED = 24, 31


def list_ranges(space):
    kept = {}
    for name, choices in zip(space.gene_names(), space.gene_choices()):
        kept[name] = choices[-2:] if len(choices) == 4 else choices[-4:] if len(choices) == 8 else choices
    return ListRanges(space, kept, "the Fashion-MNIST list shaped like the 2022 one")


def main():
    space = get_space("resnet20")
    inside = ranged(space, list_ranges(space))
    rng = random.Random(SEED)
    archs, seen = [], set()
    while len(archs) < COUNT:
        arch = inside.sample(rng)
        if space.format(arch) not in seen:
            seen.add(space.format(arch))
            archs.append(arch)
    entries = [(f"arch{i + 1}", space.format(a)) for i, a in enumerate(archs)]
    entries += [("largest", space.format(inside.largest())), ("smallest", space.format(inside.smallest()))]
    write_arch_file(OUT, entries, {key: 0.0 for key, _ in entries})
    print(f"wrote {OUT} ({len(entries)} archs); {list_ranges(space).summary(space)}")


if __name__ == "__main__":
    main()
