"""Datasets: read a source into arrays, resize once, wrap as paddle datasets with transforms."""
from dataclasses import dataclass

import numpy as np
import paddle

from hnas.data.idx import load_idx
from hnas.data.imagefolder import SkippedImages, build_imagefolder
from hnas.data.sources import load_cifar100, load_digits, load_npz
from hnas.data.transforms import build_transform
from hnas.errors import HnasError


class ArrayDataset(paddle.io.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(self.images[index]), self.labels[index]

    def with_transform(self, transform):
        return ArrayDataset(self.images, self.labels, transform)


def split_normalization(dataset):
    """(the dataset yielding uint8 CHW images, the Normalize that turns their batches into what
    `dataset` yields). Only evaluation datasets split: their transforms have no randomness."""
    transform, normalize = dataset.transform.split()
    return dataset.with_transform(transform), normalize


def dataset_labels(dataset):
    """Every label of an ArrayDataset or ImageFolderDataset, without reading an image."""
    if isinstance(dataset, ArrayDataset):
        return np.asarray(dataset.labels).reshape(-1)
    return np.asarray([label for _, label in dataset.samples])


@dataclass
class DataBundle:
    train: ArrayDataset
    test: ArrayDataset
    train_plain: ArrayDataset  # training images without augmentation (BN calibration)
    num_classes: int
    image_size: int


def _to_rgb_size(images, image_size):
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if images.shape[1:3] != (image_size, image_size):
        import cv2
        images = np.stack([cv2.resize(im, (image_size, image_size), interpolation=cv2.INTER_LINEAR)
                           for im in images])
    return np.ascontiguousarray(images)


# the array datasets (imagefolder is read lazily by build_imagefolder); names from the schema's SOURCES
ARRAY_SOURCES = {
    "digits": lambda root, test_size, train_size, split_seed: load_digits(
        test_size=test_size, train_size=train_size, split_seed=split_seed),
    "idx": lambda root, test_size, train_size, split_seed: load_idx(
        root, train_size=train_size, test_size=test_size, split_seed=split_seed),
    "npz": lambda root, *_: load_npz(root),
    "cifar100": lambda root, *_: load_cifar100(root),
}


def load_arrays(name, root=None, test_size=None, train_size=None, split_seed=0):
    return ARRAY_SOURCES[name](root, test_size, train_size, split_seed)


def build_data(name, root=None, image_size=32, augment="official", test_size=None, train_size=None,
               split_seed=0, num_classes=None, crop_sizes=None, max_bad_images=0, skip_log=None):
    """skip_log: the file that lists an image folder's unreadable images (at most max_bad_images are skipped)."""
    if name == "imagefolder":
        train, val, train_plain, classes = build_imagefolder(root, image_size, crop_sizes, split_seed,
                                                             SkippedImages(max_bad_images, skip_log))
        if num_classes and classes > num_classes:
            raise HnasError(f"image folder {root} has {classes} classes, but num_classes is {num_classes}")
        return DataBundle(train=train, test=val, train_plain=train_plain,
                          num_classes=num_classes or classes, image_size=image_size)
    x_train, y_train, x_test, y_test = load_arrays(name, root, test_size, train_size, split_seed)
    if len(x_train) == 0 or len(x_test) == 0:
        raise HnasError(f"dataset {name!r} ({root}): empty train or test split")
    x_train, x_test = _to_rgb_size(x_train, image_size), _to_rgb_size(x_test, image_size)
    if min(y_train.min(), y_test.min()) < 0:
        raise HnasError(f"dataset {name!r} ({root}): a label is {min(y_train.min(), y_test.min())}; "
                        f"expected class numbers 0, 1, ...")
    classes = int(max(y_train.max(), y_test.max())) + 1
    num_classes = num_classes or classes
    if classes > num_classes:
        raise HnasError(f"dataset {name!r} has label {classes - 1}, but num_classes is {num_classes}")
    plain = build_transform("none", image_size, train=False)
    return DataBundle(
        train=ArrayDataset(x_train, y_train, build_transform(augment, image_size, train=True)),
        test=ArrayDataset(x_test, y_test, plain),
        train_plain=ArrayDataset(x_train, y_train, plain),
        num_classes=num_classes, image_size=image_size)


__all__ = ["ArrayDataset", "DataBundle", "build_data", "load_arrays", "split_normalization"]
