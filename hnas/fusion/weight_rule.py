"""The automatic fusion weight: how much a prior should count beside a supernet, from the scores
themselves (no ground truth; pure numpy/scipy).

A supernet's error is mostly systematic (Fashion-MNIST: its seeds agree with each other at 0.57, with
the ground truth at 0.41), so its own reliability, from seeds or halves of the test set, overstates
how well it ranks. What does show its strength is how far it agrees with a prior whose strength is
known: in a model where both are the true order plus independent errors, their correlation is the
product of their correlations with the truth. So:

1. each Kendall tau becomes a correlation by Greiner's relation r = sin(pi/2 tau);
2. the supernet's correlation with the truth is estimated as r(supernet, prior) / r(prior, truth),
   clipped to [MIN_CORR, MAX_CORR];
3. each source gets the weight that makes the sum of standardised sources best predict the truth,
   a / (1 - a^2) for a source correlated a with it; a prior's weight beside the supernet's 1 is the ratio.

A supernet that agrees with the prior about as much as the prior agrees with the truth is judged
near perfect and the prior counts little (MAX_CORR keeps its weight above 0); one that agrees
little is judged weak and the prior dominates. The rule needs each prior's strength: what it reached
against this project's real ground truth, below.
"""
import math

from scipy import stats

from hnas.errors import HnasError

# Each prior's Kendall tau-b against the Fashion-MNIST benchmark's ground truth (zen 0.620, params
# 0.494, flops 0.357), rounded down to a multiple of 0.05: overestimating a prior's strength makes a
# strong supernet look weak and drags it down, which costs more than underestimating it costs a weak
# one (benchmarks/README.md, "Prior fusion", the sensitivity table). On the real 2021 list, where the
# rule was checked, the priors rank higher (0.630, 0.587, 0.360).
PRIOR_STRENGTH = {"zen": 0.60, "params": 0.45, "flops": 0.35}
MIN_CORR, MAX_CORR = 0.05, 0.99


def tau_to_corr(tau):
    return math.sin(math.pi / 2 * tau)


def source_weight(corr):
    """The weight of a standardised source correlated `corr` with the truth (independent errors)."""
    return corr / (1.0 - corr * corr)


def known_strength(name):
    """The prior's Kendall tau-b with ground truth, or one error for a prior hnas has not measured."""
    if name not in PRIOR_STRENGTH:
        raise HnasError(f"prior {name!r} has no known strength for the automatic weight (known: "
                        f"{', '.join(PRIOR_STRENGTH)}); give its weight: {name}=W")
    return PRIOR_STRENGTH[name]


def auto_weight(supernet, prior, prior_tau):
    """{'weight', 'agreement' (tau-b of supernet and prior), 'supernet_corr' (estimated), 'prior_tau'}."""
    agreement = float(stats.kendalltau(supernet, prior, variant="b").statistic)
    if math.isnan(agreement):  # a constant source: nothing to agree with, the prior decides
        agreement = 0.0
    prior_corr = tau_to_corr(prior_tau)
    supernet_corr = min(max(tau_to_corr(max(agreement, 0.0)) / prior_corr, MIN_CORR), MAX_CORR)
    return {"weight": source_weight(prior_corr) / source_weight(supernet_corr), "agreement": agreement,
            "supernet_corr": supernet_corr, "prior_tau": prior_tau}
