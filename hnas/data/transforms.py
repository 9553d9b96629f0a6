"""Image transforms: numpy HWC uint8 in, CHW float32 out. An evaluation transform also splits into
its uint8 part and its normalisation (`split()`), so that fixed scoring batches can be kept as
uint8, a quarter of float32's memory, and normalised on the device."""
import random

import numpy as np
from paddle.vision import transforms as T


CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.1942, 0.1918, 0.1958)


def scaled(length_at_32, image_size):
    """Padding and cutout sizes are published for 32x32 images; keep their proportion."""
    return max(1, round(length_at_32 * image_size / 32))


class RandomApply:
    def __init__(self, transform, p=0.5):
        self.transform, self.p = transform, p

    def __call__(self, image):
        return self.transform(image) if random.random() < self.p else image


class Cutout:
    """Zero one random square (centre anywhere in the image, clipped at the border)."""

    def __init__(self, length):
        self.length = length

    def __call__(self, image):
        height, width = image.shape[:2]
        cy, cx = random.randrange(height), random.randrange(width)
        half = self.length // 2
        image = image.copy()
        image[max(0, cy - half):cy + half, max(0, cx - half):cx + half] = 0
        return image


class Normalize:
    def __init__(self, mean=CIFAR100_MEAN, std=CIFAR100_STD):
        self.mean = np.asarray(mean, np.float32) * 255.0
        self.std = np.asarray(std, np.float32) * 255.0

    def __call__(self, image):
        image = (np.asarray(image, np.float32) - self.mean) / self.std
        return np.ascontiguousarray(image.transpose(2, 0, 1))

    def batch(self, images):
        """The same normalisation of a uint8 NCHW batch, with the same float32 operations as
        __call__ (so the same values): a paddle tensor on its device, a numpy batch with numpy
        (paddle's CPU kernels broadcast about 10x slower than numpy)."""
        import paddle
        if isinstance(images, np.ndarray):
            mean, std = (v.reshape(1, 3, 1, 1) for v in (self.mean, self.std))
            return paddle.to_tensor((images.astype(np.float32) - mean) / std)
        if not hasattr(self, "_device_stats"):
            self._device_stats = tuple(paddle.to_tensor(v.reshape(1, 3, 1, 1)) for v in (self.mean, self.std))
        mean, std = self._device_stats
        return (images.astype("float32") - mean) / std

    def split(self):
        """(the uint8 part of this transform, the normalisation)."""
        return ToChannelsFirst(), self


class ToChannelsFirst:
    """HWC uint8 to contiguous CHW uint8."""

    def __call__(self, image):
        return np.ascontiguousarray(np.asarray(image, np.uint8).transpose(2, 0, 1))


def build_transform(augment, image_size, train):
    normalize = Normalize()
    if not train or augment == "none":
        return normalize
    steps = [T.RandomCrop(image_size, padding=scaled(4, image_size))]
    if augment == "official":  # the 2021 organisers' pipeline
        steps += [RandomApply(T.BrightnessTransform(0.1)), RandomApply(T.ContrastTransform(0.1)),
                  T.RandomHorizontalFlip(), T.RandomRotation(15)]
    else:  # the 2021 2nd place: no colour jitter, Cutout 16 at 32x32
        steps += [T.RandomHorizontalFlip(), T.RandomRotation(15)]
    steps += [normalize]
    if augment == "cutout":
        steps.insert(-1, Cutout(scaled(16, image_size)))
    return T.Compose(steps)
