"""Which archs of a file the supernet scores (pure numpy): at random, or spread over the file's
params range (the file sorted by params, cut into as many equal bins as archs are wanted, one arch
drawn from each), so that a small sample holds the largest and smallest nets as well as the middle."""
import numpy as np

from hnas.errors import HnasError

METHODS = ("random", "spread")


def choose(pool, count, method, params, rng):
    """`count` indices from the index array `pool` (no repeats); params: the whole file's params."""
    if method not in METHODS:
        raise HnasError(f"sample selection {method!r}: expected one of {', '.join(METHODS)}")
    pool = np.asarray(pool)
    count = min(count, len(pool))
    if method == "random":
        return np.sort(rng.choice(pool, size=count, replace=False))
    by_params = pool[np.argsort(np.asarray(params)[pool], kind="stable")]
    return np.sort([rng.choice(part) for part in np.array_split(by_params, count)])
