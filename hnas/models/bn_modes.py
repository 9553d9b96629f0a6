"""The evaluator's BatchNorm statistics modes, one implementation for every supernet: paddle's
BatchNorm layers (including ResOFA's cropped super BN, which normalises the first C channels of
its full-width state) and hnas's SharedBatchNorm (one set of statistics per sharing key).

  normal     train: batch statistics, running stats updated; eval: running stats
  batch      batch statistics, running stats left untouched
  calibrate  batch statistics; each batch's per-channel mean/var is accumulated and
             finish_calibration() writes their mean into the running stats

Non-normal modes put the layers in training mode with momentum 1.0, which in paddle's update
(running = momentum * running + (1 - momentum) * batch) leaves the running statistics as they are.
"""
from contextlib import contextmanager

import paddle

from hnas.models.shared_layers import SharedBatchNorm, write_prefix

MODES = ("normal", "batch", "calibrate")


def _running_buffers(bn, inputs):
    """(key, running mean, running var) that the forward on `inputs` normalises with."""
    if isinstance(bn, SharedBatchNorm):
        return bn.running_buffers(*inputs[1:])
    return id(bn), bn._mean, bn._variance


def _statistics(bn):
    """{name: tensor} of one layer's running statistics. Paddle keeps BatchNorm's as (untrainable)
    parameters, not buffers; a SharedBatchNorm keeps one buffer pair per sharing key."""
    if isinstance(bn, SharedBatchNorm):
        return {name: t for name, t in bn.named_buffers() if name.startswith(("mean_", "var_"))}
    return {"_mean": bn._mean, "_variance": bn._variance}


class BatchNormModes:
    def __init__(self, named_layers):
        """named_layers: {name: BatchNorm layer}."""
        self.named_layers = dict(named_layers)
        self.layers = list(self.named_layers.values())
        self.mode = "normal"
        self.sums = {}
        for bn in self.layers:
            bn.register_forward_pre_hook(self._before_forward)

    def _before_forward(self, bn, inputs):
        if self.mode == "calibrate":
            key, mean_buffer, var_buffer = _running_buffers(bn, inputs)
            with paddle.no_grad():
                x = inputs[0]
                mean = x.mean(axis=[0, 2, 3])
                var = ((x - mean.reshape([1, -1, 1, 1])) ** 2).mean(axis=[0, 2, 3])
            count, mean_sum, var_sum, _, _ = self.sums.get((id(bn), key), (0, 0.0, 0.0, None, None))
            self.sums[(id(bn), key)] = (count + 1, mean_sum + mean, var_sum + var, mean_buffer, var_buffer)

    @contextmanager
    def use(self, mode):
        if mode not in MODES:
            raise ValueError(f"unknown BN mode {mode!r}; expected one of {MODES}")
        saved = [(bn.training, bn._momentum) for bn in self.layers]
        if mode != "normal":
            for bn in self.layers:
                bn.training = True
                bn._momentum = 1.0
        self.mode = mode
        try:
            yield
        finally:
            self.mode = "normal"
            for bn, (training, momentum) in zip(self.layers, saved):
                bn.training, bn._momentum = training, momentum

    @paddle.no_grad()
    def finish_calibration(self):
        for count, mean_sum, var_sum, mean_buffer, var_buffer in self.sums.values():
            for running, new in ((mean_buffer, mean_sum / count), (var_buffer, var_sum / count)):
                write_prefix(running, new)
        self.sums = {}

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
