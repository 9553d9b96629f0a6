"""Zen-score (Lin et al., "Zen-NAS", ICCV 2021), computed the way the authors' code does:

for each repeat: every conv/linear weight ~ N(0, 1) (biases 0), every BN weight 1 and bias 0, the
residual links removed (the whole shortcut branch); a Gaussian batch x and perturbation e; two
train-mode forwards to the feature map before global pooling, f(x) and f(x + gamma * e);

    score = log(mean over the batch of sum |f(x) - f(x + gamma * e)|)
            + sum over BN layers of log(sqrt(mean running variance))

The running statistics are those the two forwards leave, with the model's own BN momentum (paddle's
0.9, i.e. PyTorch's 0.1, as in the authors' code). One deliberate difference: running statistics
are reset before every repeat, so repeats are independent (the authors' loop carries them over).

Every arch is scored on one reused supernet of the space (set to the arch: the same function as
the stand-alone net), with its weights, x and e drawn on the device from paddle's generator seeded
by (seed, repeat): every arch of a repeat sees the same draws (its slices of the same weights), a
score does not depend on paddle's global generator (its state is restored), and an arch costs one
copy to the host. The BN term counts the layers the arch's forward ran, over its active channels.
"""
import contextlib

import numpy as np
import paddle
import paddle.nn as nn

from hnas.compat import BatchNormBase
from hnas.interfaces import ResidualSwitch
from hnas.models import create_supernet
from hnas.models.bn_modes import running_variance
from hnas.models.shared_layers import SharedBatchNorm, SharedConv2D, SharedLinear

BatchNorm = BatchNormBase


@contextlib.contextmanager
def _paddle_rng_untouched():
    """Building a model draws paddle's initial weights; the caller's generator must not move."""
    state = paddle.get_rng_state()
    try:
        yield
    finally:
        paddle.set_rng_state(state)


def _role(name):
    """'weight', 'bias', 'mean' or 'var' for a parameter or buffer name of paddle's layers
    (weight, bias, _mean, _variance) or hnas's shared ones (w_KEY, b_KEY, mean_KEY, var_KEY)."""
    name = name.lstrip("_")
    for role, prefixes in (("weight", ("weight", "w_")), ("bias", ("bias", "b_")), ("mean", ("mean",)),
                           ("var", ("var",))):
        if name.startswith(prefixes):
            return role
    return None


def _fill(tensor, value=None):
    """Overwrite `tensor` on its device: N(0, 1) draws from paddle's generator, or a constant."""
    new = paddle.normal(shape=tensor.shape) if value is None else paddle.full(tensor.shape, value, tensor.dtype)
    paddle.assign(new, output=tensor)


@paddle.no_grad()
def gaussian_init(network):
    """Zen's initialisation of every conv, linear and BN layer (paddle's and hnas's shared ones)."""
    for layer in network.sublayers():
        if isinstance(layer, (nn.Conv2D, nn.Linear, SharedConv2D, SharedLinear)):
            values = {"weight": None, "bias": 0.0}
        elif isinstance(layer, (BatchNorm, SharedBatchNorm)):
            values = {"weight": 1.0, "bias": 0.0, "mean": 0.0, "var": 1.0}
        else:
            continue
        own = dict(layer.named_parameters(include_sublayers=False), **dict(layer.named_buffers(include_sublayers=False)))
        for name, tensor in own.items():
            role = _role(name)
            if role in values:
                _fill(tensor, values[role])


def remove_residuals(network):
    for layer in network.sublayers():
        if isinstance(layer, ResidualSwitch):
            layer.residual = False


def _repeat_seed(seed, repeat):
    return (int(seed) * 1_000_003 + int(repeat)) % (2 ** 31)


class ZenScore:
    """arch -> mean Zen-score over `repeats`; `details(arch)` also gives the std and each repeat."""

    def __init__(self, space, num_classes, image_size=None, model_options=None, batch_size=16,
                 repeats=3, gamma=1e-2, seed=0):
        self.space, self.num_classes = space, num_classes
        self.model_name = (model_options or {}).get("name")
        self.image_size, self.batch_size, self.repeats = image_size, int(batch_size), int(repeats)
        self.gamma, self.seed = float(gamma), int(seed)
        self._cache, self._network, self._ran = {}, None, {}

    def _resolution(self, arch):
        if self.image_size:
            return int(self.image_size)
        return self.space.image_size(arch)

    def network(self):
        """The reused supernet, residuals removed, recording which BN layers a forward runs."""
        if self._network is None:
            options = {"name": self.model_name} if self.model_name else {}
            with _paddle_rng_untouched():
                self._network = create_supernet(self.space.name, self.num_classes, **options)
            remove_residuals(self._network)
            for layer in self._network.sublayers():
                if isinstance(layer, (BatchNorm, SharedBatchNorm)):
                    layer.register_forward_pre_hook(self._record_batch_norm)
        return self._network

    def _record_batch_norm(self, layer, inputs):
        self._ran[id(layer), tuple(inputs[1:]), inputs[0].shape[1]] = (layer, inputs)

    @paddle.no_grad()
    def _score_once(self, network, repeat, image_size):
        """One repeat's score, as a device tensor."""
        with _paddle_rng_untouched():
            paddle.seed(_repeat_seed(self.seed, repeat))
            gaussian_init(network)
            x = paddle.randn([self.batch_size, 3, image_size, image_size])
            e = paddle.randn(x.shape)
        network.train()
        self._ran = {}
        clean = network.features(x)
        mixed = network.features(x + self.gamma * e)
        expressivity = paddle.abs(clean - mixed).sum(axis=[1, 2, 3]).mean()
        variances = paddle.stack([running_variance(layer, inputs).mean() for layer, inputs in self._ran.values()])
        self._ran = {}
        tiny = float(np.finfo(np.float32).tiny)
        return paddle.log(paddle.clip(expressivity, min=tiny)) + 0.5 * paddle.log(variances).sum()

    def details(self, arch):
        key = self.space.format(arch)
        if key not in self._cache:
            network = self.network()
            network.set_arch(arch)
            scores = [self._score_once(network, repeat, self._resolution(arch)) for repeat in range(self.repeats)]
            scores = [float(v) for v in paddle.stack(scores).numpy().astype(np.float64)]  # the arch's one host copy
            self._cache[key] = {"mean": float(np.mean(scores)), "std": float(np.std(scores)), "scores": scores}
        return self._cache[key]

    def __call__(self, arch):
        return self.details(arch)["mean"]
