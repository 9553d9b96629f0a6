"""Pareto-aware sampling (AttentiveNAS, Wang et al., CVPR 2021): each draw picks a FLOPs target
(the FLOPs of an arch the base sampler draws), draws k candidates near it, and trains the best
("best-up": pushes the Pareto front) or the worst ("worst-up": lifts the archs that lag) of them.

Quality is either a prior (a function arch -> score, higher is better), judged here, or the
current mini-batch loss, which only the trainer can measure: then a draw returns the Candidates
and the trainer picks after running each on the step's batch without gradients.
"""
from typing import NamedTuple, Tuple



class Candidates(NamedTuple):
    """Archs of one draw, for the trainer to judge by mini-batch loss; `pick` is best or worst."""
    archs: Tuple
    pick: str


def pick_by_loss(candidates, losses):
    """The best (lowest loss) or worst (highest loss) candidate; ties go to the first drawn."""
    order = sorted(range(len(losses)), key=lambda i: (losses[i], i))
    return candidates.archs[order[0] if candidates.pick == "best" else order[-1]]


class ParetoAware:
    """Wraps a base sampler (a deterministic function of the draw index, so resumed and distributed
    runs draw the same candidates); `flops`: arch -> MACs. A draw is the Candidates, which the
    trainer judges by the step's mini-batch loss (ParetoAwareByPrior judges them itself). Its
    settings are checked with the recipe (hnas.config_schema.Train)."""

    MAX_TRIES = 200

    def __init__(self, base, flops, pick="best", num_candidates=3, window=0.1):
        self.base, self.flops, self.pick = base, flops, pick
        self.num_candidates, self.window = int(num_candidates), float(window)

    def candidates(self, index, step=None):
        """k archs whose FLOPs are within the window around a drawn target (the nearest ones if
        too few fall inside it in MAX_TRIES draws)."""
        first = index * (self.MAX_TRIES + 1)
        target = self.flops(self.base.draw(first, step))
        inside, outside = [], []
        for attempt in range(1, self.MAX_TRIES + 1):
            arch = self.base.draw(first + attempt, step)
            distance = abs(self.flops(arch) - target) / target
            (inside if distance <= self.window else outside).append((distance, attempt, arch))
            if len(inside) == self.num_candidates:
                break
        chosen = inside + sorted(outside)[:self.num_candidates - len(inside)]
        return tuple(arch for _, _, arch in chosen)

    def draw(self, index, step=None) -> Candidates:
        return Candidates(self.candidates(index, step), self.pick)


class ParetoAwareByPrior(ParetoAware):
    """Pareto-aware sampling judged by a prior (`quality`: arch -> score, higher is better): a draw
    is an arch, like any sampler's."""

    def __init__(self, base, flops, quality, pick="best", num_candidates=3, window=0.1):
        super().__init__(base, flops, pick, num_candidates, window)
        self.quality = quality

    def draw(self, index, step=None):
        archs = self.candidates(index, step)
        scores = [self.quality(arch) for arch in archs]
        order = sorted(range(len(archs)), key=lambda i: (-scores[i], i))  # best first
        return archs[order[0] if self.pick == "best" else order[-1]]
