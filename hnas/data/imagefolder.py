"""ImageFolder data (ImageNet layout: root/train/<class>/*.jpg, root/val/<class>/*.jpg), read lazily.

Training crops are random-resized crops whose output size can switch among several sizes (the
2022 3rd place's multi-resolution training): every image of a batch shares one size, drawn per
batch from (seed, epoch, batch index), so it is the same on every run and every worker.
Validation: resize the short side to size / 0.875, centre crop, ImageNet normalisation.
"""
import random
from pathlib import Path

import numpy as np
import paddle
from paddle.vision import transforms as T

from hnas.data.transforms import Normalize, ToChannelsFirst
from hnas.errors import HnasError, say
from hnas.io import scratch_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
CENTER_CROP_RATIO = 0.875


def scan_folder(folder, classes=None):
    """[(path, label)] and the sorted class names of an ImageFolder split."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HnasError(f"image folder not found: {folder} (expected class sub-folders of images)")
    found = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not found:
        raise HnasError(f"image folder {folder} has no class sub-folders")
    classes = classes or found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise HnasError(f"image folder {folder} has classes the training split lacks: {', '.join(unknown[:5])}")
    index = {name: i for i, name in enumerate(classes)}
    samples = [(str(path), index[name]) for name in found
               for path in sorted((folder / name).rglob("*")) if path.suffix.lower() in EXTENSIONS]
    if not samples:
        raise HnasError(f"image folder {folder} has no images ({', '.join(EXTENSIONS)})")
    return samples, classes


def read_rgb(path):
    """The RGB image at `path`, or None when it cannot be decoded (empty, truncated, not an image,
    a dangling link; ImageNet as downloaded holds a few such files)."""
    import cv2
    if not Path(path).is_file():  # a dangling link, or a folder named like an image: OpenCV would warn first
        return None
    try:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
    except Exception:  # cv2.error on files its decoders reject outright
        return None
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class SkippedImages:
    """Unreadable images met while reading a dataset. Any process (a data loader's workers too)
    adds one: it is said once and appended to a log file (the run directory's, or a temporary one)
    that every process counts, and more than `limit` is one error (hnas.data.loading makes a
    worker's error one line, not a hang): a folder that bad is the wrong folder."""

    def __init__(self, limit, log=None):
        self.limit, self.log, self.seen = limit, Path(log) if log else scratch_file("hnas_skipped_"), set()

    def add(self, path):
        if path in self.seen:
            return
        self.seen.add(path)
        say(f"warning: skipping unreadable image {path}")
        with open(self.log, "a") as log:  # appends of one short line are atomic across processes
            log.write(f"{path}\n")
        count = len(set(self.log.read_text().splitlines()))
        if count > self.limit:
            raise HnasError(f"{count} unreadable images (listed in {self.log}), more than data.max_bad_images "
                            f"{self.limit}; fix the image folder or raise data.max_bad_images")


class TrainTransform:
    """Random-resized crop to a given size, horizontal flip, ImageNet normalisation."""

    def __init__(self, sizes):
        self.crops = {size: T.RandomResizedCrop(size) for size in sizes}
        self.flip = T.RandomHorizontalFlip()
        self.normalize = Normalize(IMAGENET_MEAN, IMAGENET_STD)

    def __call__(self, image, size):
        return self.normalize(self.flip(self.crops[size](image)))


class EvalTransform:
    def __init__(self, size):
        self.steps = T.Compose([T.Resize(int(round(size / CENTER_CROP_RATIO))), T.CenterCrop(size)])
        self.normalize = Normalize(IMAGENET_MEAN, IMAGENET_STD)

    def __call__(self, image, size=None):
        return self.normalize(self.steps(image))

    def split(self):
        """(the decoded centre crop as uint8 CHW, the normalisation)."""
        return UnnormalizedEval(self.steps), self.normalize


class UnnormalizedEval:
    def __init__(self, steps):
        self.steps, self.to_chw = steps, ToChannelsFirst()

    def __call__(self, image, size=None):
        return self.to_chw(self.steps(image))


class ImageFolderDataset(paddle.io.Dataset):
    """Items are indices, or (index, crop size) pairs from MultiSizeBatchSampler."""

    def __init__(self, samples, transform, default_size, crop_sizes=None, seed=0, skipped=None):
        self.samples, self.transform = samples, transform
        self.default_size, self.crop_sizes, self.seed = default_size, crop_sizes, seed
        self.skipped = skipped or SkippedImages(0)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, item):
        index, size = item if isinstance(item, tuple) else (item, self.default_size)
        for offset in range(len(self.samples)):  # an unreadable image: the next readable one stands in
            path, label = self.samples[(index + offset) % len(self.samples)]
            image = read_rgb(path)
            if image is not None:
                return self.transform(image, size), np.int64(label)
            self.skipped.add(path)
        raise HnasError("no image of the folder can be read")

    def with_transform(self, transform):
        return ImageFolderDataset(self.samples, transform, self.default_size, self.crop_sizes, self.seed, self.skipped)

    def batch_sampler_for(self, batch_sampler):
        """Training loaders wrap their batch sampler with this to get one crop size per batch."""
        if not self.crop_sizes or len(self.crop_sizes) < 2:
            return batch_sampler
        return MultiSizeBatchSampler(batch_sampler, self.crop_sizes, self.seed)


class MultiSizeBatchSampler:
    def __init__(self, batch_sampler, sizes, seed=0):
        self.batch_sampler, self.sizes, self.seed = batch_sampler, list(sizes), seed
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch
        self.batch_sampler.set_epoch(epoch)

    def __len__(self):
        return len(self.batch_sampler)

    def __iter__(self):
        for b, indices in enumerate(self.batch_sampler):
            size = random.Random(f"{self.seed}:{self.epoch}:{b}").choice(self.sizes)
            yield [(int(i), size) for i in indices]


def build_imagefolder(root, image_size, crop_sizes=None, seed=0, skipped=None):
    """(train, val, train with the val transform, number of classes); `skipped` (a SkippedImages)
    records the unreadable images all three meet."""
    if root is None:
        raise HnasError("data.name imagefolder needs data.root (a folder with train/ and val/)")
    train_samples, classes = scan_folder(Path(root) / "train")
    val_samples, _ = scan_folder(Path(root) / "val", classes)
    sizes = sorted(set(crop_sizes or [image_size]))
    evaluation = EvalTransform(image_size)
    skipped = skipped or SkippedImages(0)
    train = ImageFolderDataset(train_samples, TrainTransform(sizes), max(sizes), sizes, seed, skipped)
    return (train, ImageFolderDataset(val_samples, evaluation, image_size, skipped=skipped),
            ImageFolderDataset(train_samples, evaluation, image_size, skipped=skipped), len(classes))
