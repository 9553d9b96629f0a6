"""Which archs a training step runs, and what each one learns from.

Strategies: single_path (one sampled arch, SPOS), dyna_batch (num_archs sampled archs, OFA's
dynamic_batch_size), sandwich (largest + smallest + num_archs - 2 sampled), standalone;
size_biased (the num_archs largest of many draws) is hnas.train.size_biased's, nsas (sampled
archs plus a diverse archive) hnas.train.nsas's.
A plan is a pure function of the global step, so every rank and every resumed run agrees.
Targets: "labels" (cross-entropy), "inplace" (the largest arch's logits in the same step),
"teacher" (a fixed, separately trained teacher network), "rank" (drawn in pairs only for the
2022 3rd place's rank loss: cross-entropy on the labels that trains through that loss alone).
Which strategies and targets go together is a recipe rule (hnas.config_schema.Train).
"""


class StepPlan:
    def __init__(self, strategy, space=None, sampler=None, num_archs=4, distill="none", rank_sampler=None,
                 rank_pairs=0):
        self.strategy, self.space, self.sampler = strategy, space, sampler
        self.num_archs, self.distill = num_archs, distill
        self.rank_sampler, self.rank_pairs = rank_sampler, rank_pairs

    def __call__(self, step):
        """[(arch or None, target), ...] for one step."""
        k = 2 * self.rank_pairs
        return self._trained(step) + [(self.rank_sampler.draw(step * k + j, step), "rank") for j in range(k)]

    def loss_scales(self, step, entries):
        """A factor on each entry's loss of self(step) (`entries`), or None for all 1
        (hnas.train.size_biased scales by size, hnas.train.nsas weighs its archive)."""
        return None

    def _trained(self, step):
        student = "labels" if self.distill == "none" else self.distill
        if self.strategy == "standalone":
            return [(None, "labels" if self.distill == "none" else "teacher")]
        if self.strategy == "single_path":
            return [(self.sampler.draw(step, step), student)]
        if self.strategy == "dyna_batch":
            k = self.num_archs
            return [(self.sampler.draw(step * k + j, step), student) for j in range(k)]
        middle = self.num_archs - 2
        largest_target = "teacher" if self.distill == "teacher" else "labels"
        return ([(self.space.largest(), largest_target), (self.space.smallest(), student)]
                + [(self.sampler.draw(step * middle + j, step), student) for j in range(middle)])
