"""NSAS fine-tuning, as the CVPR 2022 Track 1 2nd place ran it (QUARKAutoML, after "Overcoming
Multi-Model Forgetting in One-Shot NAS with Diversity Maximization", CVPR 2020): each step trains
the sampled arch(s) at weight `weight` on the recipe's target, and an archive of `archive_size`
archs kept diverse on the labels, each at weight archive_weight / archive_size, so that training
new paths does not erase what the archive's paths learned.

The archive starts from random draws and is redrawn every `refresh_every` steps. After each
sampled arch, the archive member nearest to it is replaced by whichever of itself and the last
`recent` sampled archs lies farthest (mean distance to its `knn` nearest) from the rest of the
archive. Distance: the mean absolute difference of the archs' genes as positions in each gene's
choices, a block past its stage's depth counting as two past the last choice (their code compared
the digits of the strings with '00' padding read as 9).

The archive at a step is replayed from the step's last refresh, so the plan stays a pure function
of the step (every rank and every resumed run agrees) at a cost of at most refresh_every updates.
"""
from functools import lru_cache

import numpy as np

from hnas.train.plans import StepPlan


class NsasPlan(StepPlan):
    def __init__(self, space, sampler, num_archs=1, distill="none", archive_size=10, recent=100, knn=9,
                 refresh_every=500, weight=0.5, archive_weight=0.5):
        super().__init__("nsas", space, sampler, num_archs, distill)
        self.archive_size, self.recent, self.knn = archive_size, recent, knn
        self.refresh_every, self.weight, self.archive_weight = refresh_every, weight, archive_weight
        self._choices = [tuple(c) for c in space.gene_choices()]
        self._positions = {}
        self._state = None  # (step, archive) of the last replay
        self._sampled = lru_cache(maxsize=recent + 8)(self._draw)  # each update looks back `recent` draws

    def _draw(self, step):
        return [self.sampler.draw(step * self.num_archs + j, step) for j in range(self.num_archs)]

    def _trained(self, step):
        student = "labels" if self.distill == "none" else self.distill
        return [(arch, student) for arch in self._sampled(step)] + [(arch, "labels") for arch in self.archive(step)]

    def loss_scales(self, step, entries):
        sampled = self.num_archs
        return [self.weight] * sampled + [self.archive_weight / self.archive_size] * (len(entries) - sampled)

    # -- the archive ------------------------------------------------------------------------------
    def archive(self, step):
        """The archive trained at `step` (after that step's sampled archs updated it)."""
        start = step - step % self.refresh_every
        if self._state is not None and start <= self._state[0] <= step:
            first, archive = self._state[0] + 1, list(self._state[1])
        else:
            first, archive = start, self._fresh(start)
        for t in range(first, step + 1):
            for j, arch in enumerate(self._sampled(t)):
                self._update(archive, arch, t, j + 1)
        self._state = (step, tuple(archive))
        return archive

    def _fresh(self, start):
        """A redrawn archive: draws of a stream of their own (negative indices)."""
        return [self.sampler.draw(-1 - start * self.archive_size - j, start) for j in range(self.archive_size)]

    def _recent(self, step, upto):
        """The last `recent` sampled archs, oldest first, up to step `step`'s first `upto`."""
        archs = []
        for t in range(max(0, step - self.recent), step + 1):
            archs += self._sampled(t)[:upto] if t == step else self._sampled(t)
        return archs[-self.recent:]

    def _update(self, archive, arch, step, upto):
        vectors = np.stack([self._vector(a) for a in archive])
        nearest = int(np.argmin(np.abs(vectors - self._vector(arch)).mean(axis=1)))
        rest = np.delete(vectors, nearest, axis=0)
        candidates = [archive[nearest]] + self._recent(step, upto)
        scores = self._knn_scores(np.stack([self._vector(a) for a in candidates]), rest)
        archive[nearest] = candidates[int(np.argmax(scores))]  # the first of the best: the member itself on a tie

    def _knn_scores(self, candidates, rest):
        distances = np.abs(candidates[:, None, :] - rest[None, :, :]).mean(axis=2)
        k = min(self.knn, rest.shape[0])
        return np.sort(distances, axis=1)[:, :k].mean(axis=1)

    def _vector(self, arch):
        key = self.space.format(arch)
        if key not in self._positions:
            values = self.space.gene_values(arch).values()
            self._positions[key] = np.array(
                [len(choices) + 1 if value is None else choices.index(value)
                 for value, choices in zip(values, self._choices)], dtype=np.float64)
        return self._positions[key]
