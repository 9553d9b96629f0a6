"""Losses for supernet training: labels, in-place / fixed-teacher distillation, the 2021 2nd-place mix."""
import paddle
import paddle.nn.functional as F

from hnas.train.alpha_divergence import adaptive_alpha_divergence


def label_cross_entropy(logits, labels):
    """Mean cross-entropy on hard labels. paddle's reduction="mean" asks the host whether any label
    is ignored (a copy per call, which empties a GPU's queue); hnas never ignores a label."""
    return F.cross_entropy(logits, labels, reduction="none").mean()


def soft_cross_entropy(student_logits, teacher_logits, temperature=1.0):
    """KD as in-place distillation uses it: cross-entropy to the teacher's softened distribution."""
    teacher = F.softmax(teacher_logits.detach() / temperature, axis=-1)
    log_student = F.log_softmax(student_logits / temperature, axis=-1)
    return -(teacher * log_student).sum(axis=-1).mean() * temperature ** 2


def mixed_distill_loss(student_logits, teacher_logits, labels, temperature=1.0):
    """2021 2nd place: 0.5 * (CE on labels + CE on the teacher's predicted labels) + 2 * KD."""
    teacher_labels = paddle.argmax(teacher_logits.detach(), axis=-1)
    hard = label_cross_entropy(student_logits, labels) + label_cross_entropy(student_logits, teacher_labels)
    return 0.5 * hard + 2.0 * soft_cross_entropy(student_logits, teacher_logits, temperature)


# distillation losses by the recipe's train.distill_loss (the schema's DISTILL_LOSSES)
DISTILL_LOSS_FUNCTIONS = {
    "kd": lambda student, teacher, labels, t: soft_cross_entropy(student, teacher, t),
    "mixed": mixed_distill_loss,
    # the 2022 baseline: CE on labels plus CE to the teacher's distribution
    "ce_kd": lambda student, teacher, labels, t: (label_cross_entropy(student, labels)
                                                 + soft_cross_entropy(student, teacher, t)),
    "alpha": lambda student, teacher, labels, t: adaptive_alpha_divergence(student, teacher, t),  # AlphaNet, in log space
}


def distill_loss(name, student_logits, teacher_logits, labels, temperature=1.0):
    return DISTILL_LOSS_FUNCTIONS[name](student_logits, teacher_logits, labels, temperature)


# the rank loss's weight at (fractional) `epoch` by train.rank_schedule (the schema's RANK_SCHEDULES):
# constant `weight`; linear warm-up to `weight` over `ramp_epochs`; or progressive
# min(weight, whole epochs / ramp_epochs), the 2022 3rd place's min(2, epoch / 10) with weight 2, ramp 10
RANK_SCHEDULE_FUNCTIONS = {
    "constant": lambda epoch, weight, ramp: float(weight),
    "linear": lambda epoch, weight, ramp: float(weight) * min(1.0, epoch / ramp) if ramp > 0 else float(weight),
    "progressive": lambda epoch, weight, ramp: min(float(weight), int(epoch) / ramp) if ramp > 0 else float(weight),
}


def rank_coefficient(schedule, epoch, weight=1.0, ramp_epochs=10):
    return RANK_SCHEDULE_FUNCTIONS[schedule](epoch, weight, ramp_epochs)


class PairwiseRankLoss:
    """A hinge on the loss difference of two archs that costs only when the supernet ranks them
    against the prior, weighted by the schedule. Two forms:

    - step: every two archs of the step whose priors differ, relu(margin + loss(higher prior) -
      loss(lower prior)), averaged over the pairs; both archs get the gradient.
    - pgonas: the 2022 3rd place's code. The archs come in pairs (a, b) drawn only for this term;
      b alone gets the gradient: relu(loss(b) - loss(a)) if prior(a) < prior(b), else
      relu(loss(a) - loss(b)) (ties included), summed over the pairs.
    """

    def __init__(self, prior, schedule="constant", weight=1.0, ramp_epochs=10, margin=0.0, form="step"):
        self.prior, self.schedule, self.weight = prior, schedule, weight
        self.ramp_epochs, self.margin, self.form = ramp_epochs, margin, form

    def coefficient(self, epoch):
        return rank_coefficient(self.schedule, epoch, self.weight, self.ramp_epochs)

    def __call__(self, archs, losses, epoch):
        """The weighted loss term (a scalar tensor), or None when it is zero-weighted or no pair differs."""
        coefficient = self.coefficient(epoch)
        if coefficient == 0.0:
            return None
        priors = [self.prior(arch) for arch in archs]
        if self.form == "pgonas":
            hinges = []
            for a in range(0, len(archs) - 1, 2):
                b = a + 1
                hinges.append(F.relu(losses[b] - losses[a].detach()) if priors[a] < priors[b]
                              else F.relu(losses[a].detach() - losses[b]))
            return paddle.add_n(hinges) * coefficient if hinges else None
        pairs = [(i, j) for i in range(len(archs)) for j in range(len(archs)) if priors[i] > priors[j]]
        if not pairs:
            return None
        hinge = paddle.add_n([F.relu(self.margin + losses[i] - losses[j]) for i, j in pairs])
        return hinge * (coefficient / len(pairs))
