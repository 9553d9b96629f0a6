"""The CVPR 2022 Track 1 1st place's size-biased sampling (FuxiAutoML, stage 2): each step draws
`candidates` random subnets and trains the `num_archs` largest by a width sum, and every
`extra_every`-th step one more random subnet; optionally each subnet's loss is scaled by its width
sum over the largest arch's (their use_loss_expand). Their width sum weighs each conv's code by a
per-stage base width of their own; hnas sums the channels the network actually has (the stem and
every block's two convs), which orders archs the same way within a stage.
"""
from hnas.train.plans import StepPlan


def width_sum(space, arch):
    """Channels of the stem and of every conv of every active block."""
    blocks = space.blocks(arch)
    return blocks[0].cin + sum(block.mid + block.cout for block in blocks)


class SizeBiasedPlan(StepPlan):
    def __init__(self, space, sampler, num_archs, distill="none", candidates=400, extra_every=3, scale_loss=False):
        super().__init__("size_biased", space, sampler, num_archs, distill)
        self.candidates, self.extra_every, self.scale_loss = candidates, extra_every, scale_loss
        self.largest_width = width_sum(space, space.largest())

    def _trained(self, step):
        student = "labels" if self.distill == "none" else self.distill
        drawn = {}
        for j in range(self.candidates):  # distinct archs, in draw order
            arch = self.sampler.draw(step * self.candidates + j, step)
            drawn.setdefault(self.space.format(arch), arch)
        ranked = sorted(drawn.values(), key=lambda arch: -width_sum(self.space, arch))  # stable: ties by draw order
        chosen = ranked[:self.num_archs]
        if self.extra_every and step % self.extra_every == 0:
            chosen.append(self.sampler.draw(-1 - step, step))  # a stream of its own
        return [(arch, student) for arch in chosen]

    def loss_scales(self, step, entries):
        if not self.scale_loss:
            return None
        return [width_sum(self.space, arch) / self.largest_width for arch, _ in entries]
