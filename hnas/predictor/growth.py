"""How many archs to score: a sample that grows until its fill-in is good enough (pure Python).

The fill-in's quality is the K-fold tau-b against the supernet's own scores. On a weak supernet that
figure stays low whatever the sample size (the scores are mostly noise a predictor cannot learn), so
a target alone would score the whole list: the sample doubles until the target is met, the figure
stops rising (a doubling that gains less than `plateau`), or the cap is reached.
"""
from hnas.errors import HnasError

DEFAULT_PLATEAU = 0.01


def check_plan(first, total, target=None, cap=None, plateau=DEFAULT_PLATEAU):
    """One error line for a sample plan that cannot work, before any arch is scored."""
    if isinstance(first, bool) or not isinstance(first, int) or first < 1:
        raise HnasError(f"--sample {first!r}: expected a number of archs >= 1")
    if first > total:
        raise HnasError(f"--sample {first}: the arch file holds only {total} archs")
    if target is not None and not (isinstance(target, (int, float)) and 0 < target <= 1):
        raise HnasError(f"--target {target!r}: expected a Kendall tau-b in (0, 1]")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < first):
        raise HnasError(f"--max_sample {cap!r}: expected a number of archs >= --sample ({first})")
    if not (isinstance(plateau, (int, float)) and plateau >= 0):
        raise HnasError(f"--plateau {plateau!r}: expected a tau-b gain >= 0")


def next_size(history, total, target=None, cap=None, plateau=DEFAULT_PLATEAU):
    """(size of the next sample or None, why it stops). history: [(sample size, K-fold tau-b), ...]."""
    size, tau = history[-1]
    limit = min(total, cap or total)
    if target is None:
        return None, "fixed sample size"
    if tau >= target:
        return None, f"K-fold tau-b {tau:.3f} reached the target {target}"
    if size >= limit:
        return None, f"cap: {size} archs scored (--max_sample {cap})" if cap and cap < total else "every arch scored"
    if len(history) > 1 and tau - history[-2][1] < plateau:
        return None, f"plateau: growing the sample gained {tau - history[-2][1]:+.3f} < {plateau}"
    return min(2 * size, limit), "below the target"
