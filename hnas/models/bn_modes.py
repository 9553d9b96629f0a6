"""The evaluator's BatchNorm statistics modes for plain paddle BatchNorm layers (including
paddleslim's SuperBatchNorm2D, which normalises the first C channels of its full-width state).

  normal     train: batch statistics, running stats updated; eval: running stats
  batch      batch statistics, running stats left untouched
  calibrate  batch statistics; each batch's per-channel mean/var is accumulated and
             finish_calibration() writes their mean into the running stats
"""
from contextlib import contextmanager

import paddle

MODES = ("normal", "batch", "calibrate")


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
        # SuperBatchNorm2D latches `_use_global_stats` on its first call, so a layer first run in
        # eval mode would keep using running stats in training; re-derive it from `training` each call.
        bn._use_global_stats = None
        if self.mode == "calibrate":
            with paddle.no_grad():
                x = inputs[0]
                mean = x.mean(axis=[0, 2, 3])
                var = ((x - mean.reshape([1, -1, 1, 1])) ** 2).mean(axis=[0, 2, 3])
            count, mean_sum, var_sum = self.sums.get(id(bn), (0, 0.0, 0.0))
            self.sums[id(bn)] = (count + 1, mean_sum + mean, var_sum + var)

    @contextmanager
    def use(self, mode):
        if mode not in MODES:
            raise ValueError(f"unknown BN mode {mode!r}; expected one of {MODES}")
        saved = [(bn.training, bn._momentum) for bn in self.layers]
        if mode != "normal":
            for bn in self.layers:
                bn.training = True
                bn._momentum = 1.0  # running = momentum * running + (1 - momentum) * batch: unchanged
        self.mode = mode
        try:
            yield
        finally:
            self.mode = "normal"
            for bn, (training, momentum) in zip(self.layers, saved):
                bn.training, bn._momentum = training, momentum

    @paddle.no_grad()
    def finish_calibration(self):
        for bn in self.layers:
            if id(bn) not in self.sums:
                continue
            count, mean_sum, var_sum = self.sums[id(bn)]
            for running, new in ((bn._mean, mean_sum / count), (bn._variance, var_sum / count)):
                width = new.shape[0]
                running.set_value(paddle.concat([new, running[width:]]) if width < running.shape[0] else new)
        self.sums = {}

    def running_statistics(self):
        """{name: tensor} of every layer's running mean and variance."""
        stats = {}
        for name, bn in self.named_layers.items():
            stats[f"{name}._mean"], stats[f"{name}._variance"] = bn._mean, bn._variance
        return stats
