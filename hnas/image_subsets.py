"""Which test images score the archs: all of them, or a fixed subset chosen at random, in
proportion to each class, or where a few pilot archs disagree most. Every choice is a sorted array
of dataset indices that depends only on its inputs, so shards, resumes and reruns score the same
images."""
import numpy as np

from hnas.errors import HnasError

# disagreement: the pilots are scored on a random pool this many times the subset's size
POOL_FACTOR = 4


def random_subset(count, size, seed):
    """`size` of range(count), uniformly at random."""
    return np.sort(np.random.RandomState(seed).permutation(count)[:size])


def stratified_subset(labels, size, seed):
    """`size` indices with every class in the proportion it has in `labels` (largest remainders
    round the shares), uniformly at random within each class."""
    labels = np.asarray(labels).reshape(-1)
    classes, counts = np.unique(labels, return_counts=True)
    shares = counts * size / len(labels)
    take = np.floor(shares).astype(int)
    order = np.argsort(-(shares - take), kind="stable")
    take[order[:size - take.sum()]] += 1
    rng = np.random.RandomState(seed)
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:n] for c, n in zip(classes, take)]
    return np.sort(np.concatenate(chosen))


def disagreement_subset(candidates, pilot_losses, size):
    """The `size` candidate images whose per-image loss varies most across the pilot archs
    (rows of `pilot_losses`, one column per candidate): where the archs differ, a subset keeps
    the differences that rank them. Ties go to the lower index."""
    pilot_losses = np.asarray(pilot_losses, dtype=np.float64)
    if pilot_losses.ndim != 2 or pilot_losses.shape[1] != len(candidates) or pilot_losses.shape[0] < 2:
        raise HnasError(f"disagreement subset: need per-image losses of 2+ pilot archs over the "
                        f"{len(candidates)} candidate images, got shape {pilot_losses.shape}")
    spread = pilot_losses.std(axis=0)
    best = np.argsort(-spread, kind="stable")[:size]
    return np.sort(np.asarray(candidates)[best])


def pilot_archs(space, count, seed):
    """The largest and the smallest arch and count - 2 drawn uniformly (no ground truth involved)."""
    import random
    rng = random.Random(f"pilots:{seed}")
    archs = [space.largest(), space.smallest()]
    while len(archs) < count:
        archs.append(space.sample(rng))
    return archs[:count]
