"""Rank consistency between predicted scores and ground truth (no paddle).

Ties: Kendall tau-b corrects for ties in either list (tied pairs count neither concordant nor
discordant, and the denominator drops them); Spearman ranks ties by their average rank;
precision@K breaks ties by input order (stable sort), so it is deterministic.
"""
import numpy as np
from scipy import stats

from hnas.errors import HnasError


def _pair(pred, true):
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 1:
        raise HnasError(f"rank metrics need two equally long lists, got {pred.shape} and {true.shape}")
    if len(pred) < 2:
        raise HnasError(f"rank metrics need at least 2 archs, got {len(pred)}")
    return pred, true


def kendall_tau(pred, true):
    """Kendall tau-b."""
    pred, true = _pair(pred, true)
    return float(stats.kendalltau(pred, true, variant="b").statistic)


def pearson(pred, true):
    pred, true = _pair(pred, true)
    return float(stats.pearsonr(pred, true).statistic)


def spearman(pred, true):
    pred, true = _pair(pred, true)
    return float(stats.spearmanr(pred, true).statistic)


def top_k(values, k):
    """Indices of the k highest values (ties: first in input order)."""
    return np.argsort(-np.asarray(values, dtype=np.float64), kind="stable")[:k]


def precision_at_k(pred, true, k):
    """Share of the true top-K that the predicted top-K contains."""
    pred, true = _pair(pred, true)
    k = min(k, len(pred))
    return len(set(top_k(pred, k)) & set(top_k(true, k))) / k


def top_k_tau(pred, true, k):
    """Kendall tau-b among the archs of the true top-K."""
    pred, true = _pair(pred, true)
    chosen = top_k(true, min(k, len(true)))
    return kendall_tau(pred[chosen], true[chosen])


def rank_report(pred, true, ks=(10, 50, 100)):
    """All metrics at once, as a flat dict."""
    report = {"n": len(pred), "kendall_tau_b": kendall_tau(pred, true), "pearson": pearson(pred, true),
              "spearman": spearman(pred, true)}
    for k in ks:
        if k <= len(pred):
            report[f"precision@{k}"] = precision_at_k(pred, true, k)
            report[f"top{k}_kendall_tau_b"] = top_k_tau(pred, true, k)
    return report


__all__ = ["kendall_tau", "pearson", "spearman", "precision_at_k", "top_k_tau", "rank_report", "seed_vs_seed_tau",
           "split_half_tau", "mean_ceiling_estimate", "leave_one_seed_out_tau"]


def seed_vs_seed_tau(per_seed):
    """Kendall tau-b between every two seeds' scores of the same archs (rows: archs, columns: seeds),
    the ceiling no supernet can beat: {'mean', 'min', 'max', 'pairs'}."""
    scores = np.asarray(per_seed, dtype=float)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise HnasError(f"seed-vs-seed tau needs a (archs x seeds) table with >= 2 seeds, got shape {scores.shape}")
    taus = [kendall_tau(scores[:, i], scores[:, j])
            for i in range(scores.shape[1]) for j in range(i + 1, scores.shape[1])]
    return {"mean": float(np.mean(taus)), "min": float(min(taus)), "max": float(max(taus)), "pairs": len(taus)}


def split_half_tau(per_seed):
    """Kendall tau-b between the mean over half of the seeds and the mean over the other half, over
    every such split (rows: archs, columns: seeds; an odd count splits n//2 against the rest): how
    well a ground truth averaged over that many seeds agrees with itself. {'mean', 'min', 'max', 'splits'}."""
    from itertools import combinations
    scores = np.asarray(per_seed, dtype=float)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise HnasError(f"split-half tau needs a (archs x seeds) table with >= 2 seeds, got shape {scores.shape}")
    seeds = range(scores.shape[1])
    half = scores.shape[1] // 2
    splits = [(list(first), [s for s in seeds if s not in first]) for first in combinations(seeds, half)]
    if 2 * half == scores.shape[1]:
        splits = [split for split in splits if 0 in split[0]]  # (A, B) and (B, A) are the same split
    taus = [kendall_tau(scores[:, a].mean(axis=1), scores[:, b].mean(axis=1)) for a, b in splits]
    return {"mean": float(np.mean(taus)), "min": float(min(taus)), "max": float(max(taus)), "splits": len(taus)}


def leave_one_seed_out_tau(per_seed, pred=None):
    """Kendall tau-b against the mean over all seeds but one, for every seed left out: of the left-out
    seed's runs when `pred` is None (what one more stand-alone run per arch reaches, a ranker that
    costs a full training per arch), else of `pred` against the same means, so the two compare on
    equal terms. A callable `pred` maps the left-out seed's runs to a ranker's scores (e.g. that run
    fused with a prior: what the best trained ranker fused with it could reach).
    {'mean', 'min', 'max', 'seeds'}."""
    scores = np.asarray(per_seed, dtype=float)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise HnasError(f"leave-one-seed-out tau needs a (archs x seeds) table with >= 2 seeds, got shape {scores.shape}")
    taus = []
    for held_out in range(scores.shape[1]):
        rest = np.delete(scores, held_out, axis=1).mean(axis=1)
        run = scores[:, held_out]
        taus.append(kendall_tau(run if pred is None else pred(run) if callable(pred) else pred, rest))
    return {"mean": float(np.mean(taus)), "min": float(min(taus)), "max": float(max(taus)), "seeds": len(taus)}


def mean_ceiling_estimate(per_seed):
    """The Kendall tau a perfect ranker would reach against the mean over all seeds, estimated from the
    seeds' agreement: the mean Kendall tau between two seeds, turned into a correlation by Greiner's
    relation r = sin(pi/2 tau) (rank-based, so one outlying arch cannot inflate it), stepped up to the
    k-seed mean by Spearman-Brown (k r / (1 + (k - 1) r)); the square root of that is the correlation
    of the true order with the mean, turned back into a tau. Exact for Gaussian noise."""
    scores = np.asarray(per_seed, dtype=float)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise HnasError(f"the ceiling estimate needs a (archs x seeds) table with >= 2 seeds, got shape {scores.shape}")
    k = scores.shape[1]
    r = float(np.sin(np.pi / 2 * seed_vs_seed_tau(scores)["mean"]))
    if r <= 0:
        return 0.0
    reliability = k * r / (1 + (k - 1) * r)
    return float(2 / np.pi * np.arcsin(np.sqrt(reliability)))
