"""The MNIST family's IDX files (MNIST, Fashion-MNIST, KMNIST): four files, plain or gzipped.

An IDX file is two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, one
big-endian uint32 per dimension, then the values row-major. Every check names the file it failed on.
"""
import gzip
import math
from pathlib import Path

import numpy as np

from hnas.errors import HnasError

IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
UNSIGNED_BYTE = 0x08
FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist package


def find_idx_file(root, stem):
    """`root/stem` or `root/stem.gz`, or one error naming both and how to get the files."""
    for candidate in (Path(root) / stem, Path(root) / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise HnasError(f"{Path(root) / stem}[.gz] not found; set data.root to a folder holding the four IDX files "
                    f"(Fashion-MNIST: apt-get install dataset-fashion-mnist -> {FASHION_MNIST_ROOT})")


def read_idx(path, ndim):
    """The uint8 array an IDX file holds, checked against the `ndim` its name promises."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as err:
        raise HnasError(f"{path}: not a readable IDX file ({err})") from None
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:2] != b"\0\0" or raw[2] != UNSIGNED_BYTE or raw[3] != ndim:
        raise HnasError(f"{path}: bad IDX magic number {raw[:4].hex() or 'none'}; expected "
                        f"0000{UNSIGNED_BYTE:02x}{ndim:02x} (unsigned bytes, {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, offset=4))
    expected = math.prod(shape)  # Python ints: numpy's product of a hostile header overflows to a small number
    if len(raw) - header != expected:
        raise HnasError(f"{path}: holds {len(raw) - header} values after its header, but its dimensions "
                        f"{'x'.join(map(str, shape))} promise {expected} (truncated or not an IDX file)")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _read_split(root, split):
    image_stem, label_stem = IDX_FILES[split]
    image_path, label_path = find_idx_file(root, image_stem), find_idx_file(root, label_stem)
    images, labels = read_idx(image_path, 3), read_idx(label_path, 1)
    if len(images) != len(labels):
        raise HnasError(f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} labels")
    if 0 in images.shape:
        raise HnasError(f"{image_path}: holds no images (dimensions {'x'.join(map(str, images.shape[:3]))})")
    return images[..., None], labels.astype(np.int64)


def stratified_subset(labels, size, seed, what):
    """Indices of a fixed, seeded, class-stratified subset: `size` images (an int) or that fraction of
    them (a float in (0, 1]); None keeps everything, in file order."""
    if size is None or (isinstance(size, float) and size == 1.0):  # the int 1 is one image, not all of them
        return np.arange(len(labels))
    if isinstance(size, float) and 0 < size < 1:
        size = max(1, round(size * len(labels)))
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= len(labels):
        raise HnasError(f"data.{what} is {size!r}; expected a count in 1..{len(labels)} or a fraction in (0, 1]")
    if size == len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    classes = np.unique(labels)
    stratify = labels if size >= len(classes) else None
    chosen, _ = train_test_split(np.arange(len(labels)), train_size=size, random_state=seed, stratify=stratify)
    return np.sort(chosen)


def load_idx(root, train_size=None, test_size=None, split_seed=0):
    """(x_train, y_train, x_test, y_test) from the four IDX files in `root`, as uint8 N x H x W x 1
    images and int64 labels, each split cut to a stratified subset of the given size."""
    if root is None:
        raise HnasError(f"data.root is not set; expected a folder with the four IDX files, e.g. {FASHION_MNIST_ROOT}")
    if not Path(root).is_dir():
        raise HnasError(f"IDX folder {root} not found; expected a folder with the four IDX files "
                        f"(Fashion-MNIST: apt-get install dataset-fashion-mnist -> {FASHION_MNIST_ROOT})")
    x_train, y_train = _read_split(root, "train")
    x_test, y_test = _read_split(root, "test")
    keep_train = stratified_subset(y_train, train_size, split_seed, "train_size")
    keep_test = stratified_subset(y_test, test_size, split_seed, "test_size")
    return x_train[keep_train], y_train[keep_train], x_test[keep_test], y_test[keep_test]
