"""The cropped super layers compute what PaddleSlim's compute, gradients and running statistics
included, and never serve a stale crop."""
import numpy as np
import paddle
import pytest
from paddleslim.nas.ofa.layers import SuperBatchNorm2D, SuperConv2D, SuperLinear

from hnas.models import ResOFA
from hnas.compat.cropped_layers import CROPPED, crop_super_layers, keeping_crops


def twins(make):
    """The same PaddleSlim layer twice with equal weights, the second turned into its cropped form."""
    paddle.seed(0)
    original = make()
    cropped = make()
    cropped.set_state_dict(original.state_dict())
    cropped.__class__ = CROPPED[type(original)]
    return original, cropped


@pytest.mark.parametrize("make, shape, kwargs", [
    (lambda: SuperConv2D(6, 8, 3, padding=1), [2, 4, 5, 5], {"channel": 5}),
    (lambda: SuperConv2D(6, 8, 3, padding=1), [2, 6, 5, 5], {}),
    (lambda: SuperLinear(6, 8), [3, 4], {"channel": 5}),
])
@pytest.mark.every_stack
def test_conv_and_linear_match_paddleslim_in_outputs_and_gradients(make, shape, kwargs):
    original, cropped = twins(make)
    x = paddle.randn(shape)
    outputs = []
    for layer in (original, cropped):
        out = layer(x, **kwargs)
        (out * out).sum().backward()
        outputs.append((out.numpy(), layer.weight.grad.numpy()))
    np.testing.assert_allclose(outputs[0][0], outputs[1][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(outputs[0][1], outputs[1][1], rtol=1e-6, atol=1e-6)


def test_batch_norm_updates_the_running_prefix_only_and_uses_it_in_eval():
    original, cropped = twins(lambda: SuperBatchNorm2D(8))
    x = paddle.randn([4, 5, 3, 3]) + 3.0
    np.testing.assert_allclose(original(x).numpy(), cropped(x).numpy(), rtol=1e-6, atol=1e-6)
    mean = cropped._mean.numpy()
    np.testing.assert_allclose(mean, original._mean.numpy(), rtol=1e-6)
    assert np.all(mean[:5] > 0.2) and np.all(mean[5:] == 0)
    cropped.eval()
    expected = (x.numpy() - mean[None, :5, None, None]) / np.sqrt(
        cropped._variance.numpy()[None, :5, None, None] + cropped._epsilon)
    np.testing.assert_allclose(cropped(x).numpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(cropped._mean.numpy(), mean)  # eval leaves the statistics alone


def test_a_crop_is_kept_only_inside_keeping_crops_and_dropped_when_it_ends():
    """Issue 27: the kept crop had to be dropped by every path that writes weights; now its lifetime
    is one block, in which the caller promises that the weights do not change."""
    layer = crop_super_layers(paddle.nn.Sequential(SuperConv2D(6, 8, 3, padding=1)))[0]
    layer.eval()
    x = paddle.randn([1, 4, 5, 5])
    with paddle.no_grad():
        first = layer(x, channel=5)
        assert "_kept_crops" not in layer.__dict__  # outside the block nothing is kept
        with keeping_crops(paddle.nn.Sequential(layer)):
            layer(x, channel=5)
            kept = layer._kept_crops[(5, 4, 3, 3)]
            layer(x, channel=5)
            assert layer._kept_crops[(5, 4, 3, 3)] is kept
            layer.train()
            layer(x, channel=5)  # a training-mode forward crops afresh
            layer.eval()
        assert "_kept_crops" not in layer.__dict__
    layer.weight.set_value(layer.weight * 2.0)  # no one has to forget anything
    with paddle.no_grad(), keeping_crops(paddle.nn.Sequential(layer)):
        np.testing.assert_allclose(layer(x, channel=5).numpy(), 2.0 * first.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.every_stack
def test_resofa_runs_only_cropped_layers_and_sees_new_weights_after_set_state_dict():
    supernet = ResOFA(num_classes=10)
    kinds = {type(layer) for layer in supernet.model.sublayers()}
    assert not kinds & set(CROPPED), "a PaddleSlim super layer was left uncropped"
    assert kinds & set(CROPPED.values())
    arch = supernet.space.smallest()
    supernet.set_arch(arch)
    supernet.eval()
    x = paddle.randn([2, 3, 32, 32])
    with paddle.no_grad():
        before = supernet(x).numpy()
        state = {name: value * 0.5 if name.endswith("weight") and len(value.shape) == 4 else value
                 for name, value in supernet.state_dict().items()}
        supernet.set_state_dict(state)
        after = supernet(x).numpy()
        fresh = ResOFA(num_classes=10)
        fresh.set_state_dict(state)
        fresh.set_arch(arch)
        fresh.eval()
        expected = fresh(x).numpy()
    assert not np.allclose(before, expected)
    np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-5)
