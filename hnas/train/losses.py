"""Losses for supernet training: labels, in-place / fixed-teacher distillation, the 2021 2nd-place mix."""
import paddle
import paddle.nn.functional as F

from hnas.errors import HnasError

DISTILL_LOSSES = ("kd", "mixed", "ce_kd")


def soft_cross_entropy(student_logits, teacher_logits, temperature=1.0):
    """KD as in-place distillation uses it: cross-entropy to the teacher's softened distribution."""
    teacher = F.softmax(teacher_logits.detach() / temperature, axis=-1)
    log_student = F.log_softmax(student_logits / temperature, axis=-1)
    return -(teacher * log_student).sum(axis=-1).mean() * temperature ** 2


def mixed_distill_loss(student_logits, teacher_logits, labels, temperature=1.0):
    """2021 2nd place: 0.5 * (CE on labels + CE on the teacher's predicted labels) + 2 * KD."""
    teacher_labels = paddle.argmax(teacher_logits.detach(), axis=-1)
    hard = F.cross_entropy(student_logits, labels) + F.cross_entropy(student_logits, teacher_labels)
    return 0.5 * hard + 2.0 * soft_cross_entropy(student_logits, teacher_logits, temperature)


def distill_loss(name, student_logits, teacher_logits, labels, temperature=1.0):
    if name == "kd":
        return soft_cross_entropy(student_logits, teacher_logits, temperature)
    if name == "mixed":
        return mixed_distill_loss(student_logits, teacher_logits, labels, temperature)
    if name == "ce_kd":  # the 2022 baseline: CE on labels plus CE to the teacher's distribution
        return F.cross_entropy(student_logits, labels) + soft_cross_entropy(student_logits, teacher_logits, temperature)
    raise HnasError(f"unknown distillation loss {name!r}; expected one of {', '.join(DISTILL_LOSSES)}")
