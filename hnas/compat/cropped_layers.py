"""PaddleSlim's super conv, linear and BN layers without their per-call costs.

PaddleSlim slices the active weight with `weight[:out, :in]`. Under paddle 2.6's stride kernels
that slice is a strided view, and every kernel that reads it first runs a slow generic strided
copy: on a 1024x1024x3x3 weight the forward of one conv took 65 ms instead of 34 ms, and a training
step 210 ms instead of 113 ms (benchmarks/resofa_speed.py has the whole-network figures).
`paddle.crop` produces the same values with one contiguous copy. Inside `keeping_crops(model)`,
where the caller promises that the weights do not change (scoring one arch), eval forwards without
gradients keep each layer's last crop, so that scoring many batches of one arch crops its weights
once; the kept crops are dropped when the block ends, so no path that writes weights has to.
"""
from contextlib import contextmanager

import paddle
from paddleslim.nas.ofa.layers import SuperBatchNorm2D, SuperConv2D, SuperLinear

from hnas.errors import HnasError


def _crop(weight, shape):
    """weight[:shape[0], :shape[1]] as a contiguous tensor, for weights cropped on their first two
    axes only. Cropping the 2-D view [out, in * kh * kw] is the same block of memory rows, and
    its backward is a third cheaper than a 4-D crop's."""
    full = weight.shape
    rest = 1
    for n in full[2:]:
        rest *= n
    flat = paddle.crop(weight.reshape([full[0], full[1] * rest]), shape=[shape[0], shape[1] * rest])
    return flat.reshape(shape)


class _CropCache:
    def _cropped(self, shape):
        """The leading `shape` block of self.weight (the weight itself when that is all of it)."""
        shape = [min(n, full) for n, full in zip(shape, self.weight.shape)]
        if shape == list(self.weight.shape):
            return self.weight
        kept = self.__dict__.get("_kept_crops")
        if kept is None or self.training or paddle.is_grad_enabled():  # the weight may change after this
            return _crop(self.weight, shape)
        if tuple(shape) not in kept:
            kept.clear()
            kept[tuple(shape)] = _crop(self.weight, shape)
        return kept[tuple(shape)]


@contextmanager
def keeping_crops(model):
    """Within the block, `model`'s weights do not change: its cropped layers keep their last crop
    between eval forwards without gradients, and drop it when the block ends."""
    layers = [layer for layer in model.sublayers() if isinstance(layer, _CropCache)]
    for layer in layers:
        layer.__dict__["_kept_crops"] = {}
    try:
        yield
    finally:
        for layer in layers:
            layer.__dict__.pop("_kept_crops", None)


class CroppedConv2D(_CropCache, SuperConv2D):
    def get_active_filter(self, in_nc, out_nc, kernel_size):
        if kernel_size != self._kernel_size[0]:
            raise HnasError(f"cropped super conv has no elastic kernel: asked for {kernel_size}, "
                            f"the weight is {self._kernel_size[0]}")
        return self._cropped([out_nc, in_nc, *self.weight.shape[2:]])


class CroppedLinear(_CropCache, SuperLinear):
    def forward(self, input, expand_ratio=None, channel=None):
        if expand_ratio is not None:
            raise HnasError("cropped super linear takes a channel count, not an expand ratio")
        out_nc = self._out_features if channel is None else int(channel)
        weight = self._cropped([int(input.shape[-1]), out_nc])
        bias = self.bias if self.bias is None or self.bias.shape[0] <= out_nc else self.bias[:out_nc]
        return paddle.nn.functional.linear(input, weight, bias)


class CroppedBatchNorm2D(SuperBatchNorm2D):
    """Normalises the first C channels with the first C entries of each parameter and statistic.
    The prefixes are views, so the kernel's in-place update of the running statistics lands in
    the full buffers; PaddleSlim's layer also writes them back with four set_value calls per
    forward, a fifth of an eval forward's time, and latches `_use_global_stats` on first call."""

    def forward(self, input):
        width = int(input.shape[1])
        if width == self._mean.shape[0]:
            mean, variance, weight, bias = self._mean, self._variance, self.weight, self.bias
        else:
            mean, variance = self._mean[:width], self._variance[:width]
            weight, bias = self.weight[:width], self.bias[:width]
        return paddle.nn.functional.batch_norm(
            input, mean, variance, weight, bias, training=self.training, momentum=self._momentum,
            epsilon=self._epsilon, data_format=self._data_format, use_global_stats=self._use_global_stats)


CROPPED = {SuperConv2D: CroppedConv2D, SuperLinear: CroppedLinear, SuperBatchNorm2D: CroppedBatchNorm2D}


def crop_super_layers(model):
    """Turn every SuperConv2D / SuperLinear / SuperBatchNorm2D of a Convert-ed model into its cropped form, in place
    (same parameters and outputs; the subclasses add no state)."""
    for layer in model.sublayers():
        if type(layer) in CROPPED:
            layer.__class__ = CROPPED[type(layer)]
    return model
