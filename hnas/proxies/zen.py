"""Zen-score (Lin et al., "Zen-NAS", ICCV 2021), computed the way the authors' code does:

for each repeat: every conv/linear weight ~ N(0, 1) (biases 0), every BN weight 1 and bias 0, the
residual links removed (the whole shortcut branch); a Gaussian batch x and perturbation e; two
train-mode forwards to the feature map before global pooling, f(x) and f(x + gamma * e);

    score = log(mean over the batch of sum |f(x) - f(x + gamma * e)|)
            + sum over BN layers of log(sqrt(mean running variance))

The running statistics are those the two forwards leave, with the model's own BN momentum (paddle's
0.9, i.e. PyTorch's 0.1, as in the authors' code). One deliberate difference: running statistics
are reset before every repeat, so repeats are independent (the authors' loop carries them over).
All random numbers come from numpy with (seed, repeat), so a score does not depend on paddle's
global generator and the same seed gives every arch the same inputs.
"""
import contextlib
import math

import numpy as np
import paddle
import paddle.nn as nn

from hnas.models import create_standalone

BatchNorm = nn.layer.norm._BatchNormBase


@contextlib.contextmanager
def _paddle_rng_untouched():
    """Building a model draws paddle's initial weights; the caller's generator must not move."""
    state = paddle.get_rng_state()
    try:
        yield
    finally:
        paddle.set_rng_state(state)


def _set(tensor, value):
    tensor.set_value(np.broadcast_to(np.asarray(value, dtype="float32"), tensor.shape).copy())


def gaussian_init(network, rng):
    for layer in network.sublayers():
        if isinstance(layer, (nn.Conv2D, nn.Linear)):
            _set(layer.weight, rng.standard_normal(layer.weight.shape))
            if layer.bias is not None:
                _set(layer.bias, 0.0)
        elif isinstance(layer, BatchNorm):
            _set(layer.weight, 1.0)
            _set(layer.bias, 0.0)
            _set(layer._mean, 0.0)
            _set(layer._variance, 1.0)


def remove_residuals(network):
    for layer in network.sublayers():
        if hasattr(layer, "residual"):
            layer.residual = False


@paddle.no_grad()
def zen_score_once(network, rng, batch_size, image_size, gamma):
    gaussian_init(network, rng)
    network.train()
    x = rng.standard_normal((batch_size, 3, image_size, image_size)).astype("float32")
    e = rng.standard_normal(x.shape).astype("float32")
    clean = network.features(paddle.to_tensor(x))
    mixed = network.features(paddle.to_tensor(x + gamma * e))
    expressivity = float(paddle.abs(clean - mixed).sum(axis=[1, 2, 3]).mean())
    bn_scaling = sum(math.log(math.sqrt(float(layer._variance.mean())))
                     for layer in network.sublayers() if isinstance(layer, BatchNorm))
    return math.log(max(expressivity, np.finfo(np.float32).tiny)) + bn_scaling


class ZenScore:
    """arch -> mean Zen-score over `repeats`; `details(arch)` also gives the std and each repeat."""

    def __init__(self, space, num_classes, image_size=None, model_options=None, batch_size=16,
                 repeats=3, gamma=1e-2, seed=0):
        self.space, self.num_classes = space, num_classes
        self.model_name = (model_options or {}).get("name")
        self.image_size, self.batch_size, self.repeats = image_size, int(batch_size), int(repeats)
        self.gamma, self.seed = float(gamma), int(seed)
        self._cache = {}

    def _resolution(self, arch):
        if self.image_size:
            return int(self.image_size)
        return self.space.image_size(arch)

    def details(self, arch):
        key = self.space.format(arch)
        if key not in self._cache:
            with _paddle_rng_untouched():
                network = create_standalone(self.space.name, arch, self.num_classes, name=self.model_name)
            remove_residuals(network)
            scores = [zen_score_once(network, np.random.default_rng([self.seed, repeat]), self.batch_size,
                                     self._resolution(arch), self.gamma)
                      for repeat in range(self.repeats)]
            self._cache[key] = {"mean": float(np.mean(scores)), "std": float(np.std(scores)), "scores": scores}
        return self._cache[key]

    def __call__(self, arch):
        return self.details(arch)["mean"]
