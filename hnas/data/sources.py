"""Readers that turn each supported dataset into uint8 NHWC arrays and int64 labels."""
import pickle
import tarfile
import zipfile
from pathlib import Path

from importlib.metadata import version

import numpy as np

from hnas.errors import HnasError
from hnas.io import atomic_write
from hnas.layout import cache_root, digits_split_file

CIFAR100_MEMBERS = {"train": "cifar-100-python/train", "test": "cifar-100-python/test"}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _require_file(path, what):
    path = Path(path) if path else None
    if path is None or not path.is_file():
        raise HnasError(f"{what} not found at {path}; set data.root to the file's path")
    return path


class CifarUnpickler(pickle.Unpickler):
    """Unpickles what the official CIFAR files hold (dicts, lists, bytes, str, numbers, numpy
    arrays and dtypes) and refuses every other global, so a crafted tarball cannot run code."""
    ALLOWED = {(module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
               for name in ("_reconstruct", "scalar")} | {("numpy", "ndarray"), ("numpy", "dtype"),
                                                          ("_codecs", "encode")}  # bytes, in protocol 2 from Python 3

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name}: a CIFAR file holds only dicts, lists, bytes, "
                                     f"numbers and numpy arrays")


def load_cifar100(path):
    """Read the official `cifar-100-python.tar.gz` (pickled dicts, `data` N x 3072 uint8, `fine_labels`)."""
    path = _require_file(path, "cifar-100-python.tar.gz")
    splits = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for split, member in CIFAR100_MEMBERS.items():
                try:
                    raw = CifarUnpickler(tar.extractfile(member), encoding="bytes").load()
                except KeyError:
                    raise HnasError(f"{path}: expected member {member!r} as in cifar-100-python.tar.gz") from None
                splits[split] = _cifar_split(raw, f"{path}: member {member!r}")
    except (tarfile.TarError, EOFError, pickle.UnpicklingError, ValueError, AttributeError) as err:
        raise HnasError(f"{path}: not a readable cifar-100-python tarball ({err})") from None
    return splits["train"] + splits["test"]


def _cifar_split(raw, where):
    """(images N x 32 x 32 x 3, labels) of one unpickled CIFAR-100 split, checked before any reshape."""
    expected = "a dict with b'data' (N x 3072 uint8) and b'fine_labels' (N ints 0-99)"
    if not isinstance(raw, dict) or b"data" not in raw or b"fine_labels" not in raw:
        raise HnasError(f"{where} is not a CIFAR-100 split: expected {expected}")
    try:
        data = np.asarray(raw[b"data"])
        labels = np.asarray(raw[b"fine_labels"])
    except (TypeError, ValueError):
        raise HnasError(f"{where}: b'data' or b'fine_labels' is not an array; expected {expected}") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) == 0:
        raise HnasError(f"{where}: b'data' has shape {data.shape} dtype {data.dtype}; expected {expected}")
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 99:
        raise HnasError(f"{where}: b'fine_labels' does not hold {len(data)} ints 0-99; expected {expected}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def load_npz(path):
    """A generic `.npz` with x_train, y_train, x_test, y_test (uint8 NHWC images, int labels)."""
    path = _require_file(path, ".npz dataset")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in NPZ_KEYS if k not in data]
            if missing:
                raise HnasError(f"{path}: missing arrays {missing}; expected {', '.join(NPZ_KEYS)}")
            arrays = [data[k] for k in NPZ_KEYS]
    except ValueError:  # object arrays: numpy refuses to unpickle them, and so does hnas
        raise HnasError(f"{path}: holds object arrays (pickles); expected numeric arrays {', '.join(NPZ_KEYS)}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise HnasError(f"{path}: not a readable .npz file ({type(err).__name__})") from None
    for name, images in (("x_train", arrays[0]), ("x_test", arrays[2])):
        if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.dtype != np.uint8 or 0 in images.shape:
            raise HnasError(f"{path}: {name} has shape {images.shape} dtype {images.dtype}; "
                            f"expected non-empty uint8 N x H x W x 3 (or x 1)")
    for name, labels, images in (("y_train", arrays[1], arrays[0]), ("y_test", arrays[3], arrays[2])):
        if labels.dtype.kind not in "iu" or labels.reshape(-1).shape != (len(images),):
            raise HnasError(f"{path}: {name} has shape {labels.shape} dtype {labels.dtype}; "
                            f"expected {len(images)} integer labels, one per image")
    return tuple(a if i % 2 == 0 else a.astype(np.int64).reshape(-1) for i, a in enumerate(arrays))


def load_digits(test_size=None, train_size=None, split_seed=0):
    """scikit-learn's bundled 8x8 handwritten digits (real, offline) as 3-channel uint8 images;
    a stratified split with `test_size` (default 0.2) held out. The split is cached per scikit-learn
    version (hnas.layout.digits_split_file): importing scikit-learn takes about a second, and every
    digits command would pay it."""
    cache = digits_split_file(cache_root(), version("scikit-learn"), test_size, train_size, split_seed)
    try:
        with np.load(cache) as saved:
            return tuple(saved[name] for name in DIGITS_SPLIT)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # absent, or unreadable: compute it again
        pass
    split = _split_digits(test_size, train_size, split_seed)
    def write(tmp):
        with open(tmp, "wb") as file:
            np.savez(file, **dict(zip(DIGITS_SPLIT, split)))
    try:
        atomic_write(cache, write)
    except OSError:  # a read-only home: the run goes on without the cache
        pass
    return split


DIGITS_SPLIT = ("x_train", "y_train", "x_test", "y_test")


def _split_digits(test_size, train_size, split_seed):
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    for name, size in (("test_size", test_size), ("train_size", train_size)):
        if size is not None and size >= len(digits.target):
            raise HnasError(f"data.{name} {size}: the digits set has {len(digits.target)} images; "
                            f"expected train_size + test_size below that")
    if test_size is not None and train_size is not None and test_size + train_size > len(digits.target):
        raise HnasError(f"data.train_size {train_size} + data.test_size {test_size}: the digits set has "
                        f"{len(digits.target)} images")
    images = np.repeat((digits.images * (255.0 / 16.0)).round().astype(np.uint8)[..., None], 3, axis=-1)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target.astype(np.int64), test_size=0.2 if test_size is None else test_size,
        train_size=train_size, random_state=split_seed, stratify=digits.target)
    return x_train, y_train, x_test, y_test
