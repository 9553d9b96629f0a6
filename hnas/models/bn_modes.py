"""The evaluator's BatchNorm statistics modes, one implementation for every supernet: paddle's
BatchNorm layers (including ResOFA's cropped super BN, which normalises the first C channels of
its full-width state) and hnas's SharedBatchNorm (one set of statistics per sharing key).

  normal     train: batch statistics, running stats updated; eval: running stats
  batch      batch statistics, running stats left untouched
  calibrate  batch statistics; the running stats become the mean of the batches' statistics

Non-normal modes put the layers in training mode and set the momentum of paddle's update
(running = momentum * running + (1 - momentum) * batch): 1.0 leaves the running statistics as they
are; calibration sets it to (k - 1) / k before a layer's k-th batch, so the kernel itself keeps the
running average of the batch mean and (biased) variance it computes anyway: no extra kernels.
"""
from contextlib import contextmanager

from hnas.compat import bn_momentum, bn_running_mean, bn_running_variance, set_bn_momentum
from hnas.models.shared_layers import SharedBatchNorm

MODES = ("normal", "batch", "calibrate")


def _statistics_key(bn, inputs):
    """Which running statistics of `bn` the forward on `inputs` normalises with."""
    return (id(bn), bn.statistics_key(*inputs[1:]) if isinstance(bn, SharedBatchNorm) else None)


def running_variance(bn, inputs):
    """The running variance entries a forward of `bn` on `inputs` updates: a prefix view of its buffer."""
    width = inputs[0].shape[1]
    if isinstance(bn, SharedBatchNorm):
        return getattr(bn, f"var_{bn.statistics_key(*inputs[1:])}")[:width]
    return bn_running_variance(bn)[:width]


def _statistics(bn):
    """{name: tensor} of one layer's running statistics. Paddle keeps BatchNorm's as (untrainable)
    parameters, not buffers; a SharedBatchNorm keeps one buffer pair per sharing key."""
    if isinstance(bn, SharedBatchNorm):
        return {name: t for name, t in bn.named_buffers() if name.startswith(("mean_", "var_"))}
    return {"_mean": bn_running_mean(bn), "_variance": bn_running_variance(bn)}


class BatchNormModes:
    def __init__(self, named_layers):
        """named_layers: {name: BatchNorm layer}."""
        self.named_layers = dict(named_layers)
        self.layers = list(self.named_layers.values())
        self.mode = "normal"
        self.batches_seen = {}
        for bn in self.layers:
            bn.register_forward_pre_hook(self._before_forward)

    def _before_forward(self, bn, inputs):
        if self.mode == "calibrate":
            key = _statistics_key(bn, inputs)
            seen = self.batches_seen.get(key, 0)
            set_bn_momentum(bn, seen / (seen + 1))
            self.batches_seen[key] = seen + 1

    @contextmanager
    def use(self, mode):
        if mode not in MODES:
            raise ValueError(f"unknown BN mode {mode!r}; expected one of {MODES}")
        saved = [(bn.training, bn_momentum(bn)) for bn in self.layers]
        if mode != "normal":
            for bn in self.layers:
                bn.training = True
                set_bn_momentum(bn, 1.0)
        self.mode = mode
        if mode == "calibrate":
            self.batches_seen = {}
        try:
            yield
        finally:
            self.mode = "normal"
            for bn, (training, momentum) in zip(self.layers, saved):
                bn.training = training
                set_bn_momentum(bn, momentum)

    def finish_calibration(self):
        """The next calibration starts a new average."""
        self.batches_seen = {}

    def running_statistics(self):
        """{name: tensor} of every layer's running means and variances."""
        return {f"{name}.{stat}": tensor for name, bn in self.named_layers.items()
                for stat, tensor in _statistics(bn).items()}


class BatchNormModesMixin:
    """The Supernet protocol's BN methods for a supernet that keeps a BatchNormModes in `bn_modes`."""

    @contextmanager
    def bn_stats_mode(self, mode):
        with self.bn_modes.use(mode):
            yield

    def finish_calibration(self):
        self.bn_modes.finish_calibration()

    def running_statistics(self):
        return self.bn_modes.running_statistics()
