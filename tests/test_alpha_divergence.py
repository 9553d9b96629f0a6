"""AlphaNet's adaptive alpha-divergence KD: the right value and gradient, finite where the
probability-ratio form is not, and a supernet that trains with it on digits."""
import numpy as np
import paddle
import pytest

from hnas.train.alpha_divergence import adaptive_alpha_divergence
from hnas.train.run import train_supernet
from conftest import tiny_config


def _exact(student_logits, teacher_logits, alpha):
    """D_alpha(p || q) per image from probabilities, differentiable in the student."""
    q = paddle.nn.functional.softmax(student_logits, axis=-1)
    p = paddle.nn.functional.softmax(teacher_logits, axis=-1)
    if alpha == 1.0:
        return (p * (paddle.log(p) - paddle.log(q))).sum(axis=-1)
    return ((q * (p / q) ** alpha).sum(axis=-1) - 1.0) / (alpha * (alpha - 1.0))


def test_value_and_gradient_equal_the_larger_divergence_when_no_ratio_is_clipped():
    rng = np.random.default_rng(0)
    student = paddle.to_tensor(rng.normal(0, 0.3, (6, 5)).astype("float32"), stop_gradient=False)
    teacher = paddle.to_tensor(rng.normal(0, 0.3, (6, 5)).astype("float32"))
    got = adaptive_alpha_divergence(student, teacher)
    (got_grad,) = paddle.grad(got, student)
    left, right = _exact(student, teacher, -1.0), _exact(student, teacher, 1.0)
    expected = paddle.maximum(left, right).mean()
    (expected_grad,) = paddle.grad(expected, student)
    assert (left.numpy() > right.numpy()).any() and (left.numpy() < right.numpy()).any()  # both sides used
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5)
    np.testing.assert_allclose(got_grad.numpy(), expected_grad.numpy(), rtol=1e-4, atol=1e-6)


def test_confident_disagreement_stays_finite():
    """A student sure of class 0 and a teacher sure of class 1: in float32 the student's probability
    of class 1 underflows to 0, so p / q is inf in the probability form."""
    student_logits, teacher_logits = np.float32([[1000, -1000, 0]]), np.float32([[-1000, 1000, 0]])
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # the probability form breaks: that is the point
        q, p = (np.exp(x - x.max()) / np.exp(x - x.max()).sum() for x in (student_logits, teacher_logits))
        assert np.isinf(p / q).any()
    student = paddle.to_tensor(student_logits, stop_gradient=False)
    teacher = paddle.to_tensor(teacher_logits)
    loss = adaptive_alpha_divergence(student, teacher)
    (grad,) = paddle.grad(loss, student)
    assert np.isfinite(loss.numpy()).all() and np.isfinite(grad.numpy()).all()


def test_clipped_ratios_still_pull_a_wrong_student_toward_the_teacher():
    student = paddle.to_tensor([[3.0, -3.0, 0.0]], stop_gradient=False)  # p / q reaches e^6: clipped
    loss = adaptive_alpha_divergence(student, paddle.to_tensor([[-3.0, 3.0, 0.0]]))
    (grad,) = paddle.grad(loss, student)
    assert grad.numpy()[0, 0] > 0 > grad.numpy()[0, 1]  # descent lowers class 0, raises class 1


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_identical_distributions_have_zero_divergence(temperature):
    logits = paddle.to_tensor(np.random.default_rng(1).normal(size=(4, 10)).astype("float32"))
    assert abs(float(adaptive_alpha_divergence(logits, logits, temperature))) < 1e-6


def test_a_supernet_trains_two_hundred_steps_with_it_on_digits(tmp_path):
    trainer = train_supernet(tiny_config(tmp_path, **{
        "data.train_size": 400, "data.batch_size": 16, "train.epochs": 8, "train.distill_loss": "alpha",
        "train.eval_every": 8,
        "train.lr": 0.1}))
    assert trainer.global_step >= 200  # NaNGuard stops the run on a non-finite loss
    scores = trainer.epoch_scores
    assert np.isfinite(scores["largest_loss"]) and np.isfinite(scores["smallest_loss"])
    assert scores["largest_acc"] > 0.6 and scores["smallest_acc"] > 0.4  # chance is 0.1
