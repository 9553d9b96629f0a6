"""What a predictor sees of an arch: its genes and what it computes (pure Python and numpy).

Per block slot of the largest net, the in x out products of conv1, conv2 and the shortcut's
projection (0 where a slot is unused or does not project): the per-layer weight counts that widths
alone give a tree only through interactions. Then the arch's params and FLOPs at the space's
competition defaults (CIFAR-100 at 32 px; ImageNet at the arch's own size), so that the features are
a function of the arch string alone and a score file needs no recipe to be filled in.
"""
import numpy as np

LAYER_PARTS = ("conv1", "conv2", "shortcut")


def feature_names(space):
    slots = len(space.blocks(space.largest()))
    layers = [f"slot{s + 1}.{part}" for s in range(slots) for part in LAYER_PARTS]
    return list(space.gene_names()) + layers + ["params", "flops"]


def arch_features(space, archs):
    """(names, float matrix with one row per arch)."""
    names = feature_names(space)
    genes = len(space.gene_names())
    rows = np.zeros((len(archs), len(names)))
    for row, arch in zip(rows, archs):
        row[:genes] = [0 if value is None else value for value in space.gene_values(arch).values()]
        for block in space.blocks(arch):
            at = genes + len(LAYER_PARTS) * block.slot
            row[at:at + len(LAYER_PARTS)] = (block.cin * block.mid, block.mid * block.cout,
                              block.cin * block.cout if block.project else 0)
        row[-2:] = space.count_params(arch), space.count_flops(arch)
    return names, rows
