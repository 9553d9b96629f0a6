import io
import os
import pickle
import subprocess
import sys
import tarfile

import numpy as np
import paddle
import pytest

from hnas.data import build_data
from hnas.data.sources import load_cifar100
from hnas.data.transforms import Cutout, build_transform, scaled
from hnas.errors import HnasError


def write_cifar100_tarball(path, n_train=12, n_test=6, seed=0):
    """A small tarball in the exact layout of cifar-100-python.tar.gz."""
    rng = np.random.default_rng(seed)
    splits = {}
    with tarfile.open(path, "w:gz") as tar:
        for split, n in (("train", n_train), ("test", n_test)):
            data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
            labels = rng.integers(0, 100, size=n).tolist()
            payload = pickle.dumps({b"filenames": [b"x.png"] * n, b"fine_labels": labels,
                                    b"coarse_labels": [0] * n, b"data": data}, protocol=2)
            info = tarfile.TarInfo(f"cifar-100-python/{split}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
            splits[split] = (data, labels)
    return splits


def test_cifar100_tarball_reader(tmp_path):
    path = tmp_path / "cifar-100-python.tar.gz"
    written = write_cifar100_tarball(path)
    x_train, y_train, x_test, y_test = load_cifar100(path)
    assert x_train.shape == (12, 32, 32, 3) and x_test.shape == (6, 32, 32, 3)
    assert x_train.dtype == np.uint8 and y_train.tolist() == written["train"][1]
    # row layout: 1024 red, then green, then blue values, row-major
    raw = written["test"][0][2]
    assert x_test[2, 0, 1, 0] == raw[1] and x_test[2, 0, 0, 1] == raw[1024] and x_test[2, 1, 0, 2] == raw[2048 + 32]
    bundle = build_data("cifar100", root=path, image_size=32, augment="official", num_classes=100)
    image, label = bundle.train[0]
    assert image.shape == (3, 32, 32) and image.dtype == np.float32 and bundle.num_classes == 100


def test_missing_dataset_is_one_clear_line(tmp_path):
    with pytest.raises(HnasError, match="cifar-100-python.tar.gz not found at .*nowhere"):
        build_data("cifar100", root=tmp_path / "nowhere.tar.gz")
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(HnasError, match="not a readable cifar-100-python tarball"):
        load_cifar100(tmp_path / "junk.tar.gz")


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_cifar_tarball_that_calls_a_function_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "cifar-100-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        payload = pickle.dumps({b"data": _RunsCode(marker), b"fine_labels": [0]}, protocol=2)
        info = tarfile.TarInfo("cifar-100-python/train")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(HnasError) as err:
        load_cifar100(path)
    assert not marker.exists()
    assert "refusing posix.system" in str(err.value) and "\n" not in str(err.value)


def test_npz_source_and_validation(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=rng.integers(0, 255, (10, 16, 16, 3), dtype=np.uint8), y_train=np.arange(10) % 3,
             x_test=rng.integers(0, 255, (4, 16, 16, 3), dtype=np.uint8), y_test=np.arange(4) % 3)
    bundle = build_data("npz", root=path, image_size=16, augment="cutout")
    assert bundle.num_classes == 3 and len(bundle.train) == 10 and bundle.train[3][0].shape == (3, 16, 16)
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((3, 4), np.uint8), y_train=np.zeros(3), x_test=np.zeros((1, 4), np.uint8),
             y_test=np.zeros(1))
    with pytest.raises(HnasError, match="x_train has shape"):
        build_data("npz", root=bad)


def test_digits_is_real_and_split_is_fixed():
    a = build_data("digits", image_size=8, augment="none")
    b = build_data("digits", image_size=16, augment="official", test_size=1200, train_size=597)
    assert a.num_classes == 10 and len(a.train) + len(a.test) == 1797
    assert len(b.train) == 597 and len(b.test) == 1200 and b.train[0][0].shape == (3, 16, 16)
    np.testing.assert_array_equal(a.test.images, build_data("digits", image_size=8).test.images)


def test_augmentations_scale_with_image_size():
    assert scaled(4, 32) == 4 and scaled(4, 8) == 1 and scaled(16, 16) == 8
    image = np.full((16, 16, 3), 200, np.uint8)
    for augment in ("official", "cutout", "none"):
        out = build_transform(augment, 16, train=True)(image)
        assert out.shape == (3, 16, 16) and out.dtype == np.float32
    cut = Cutout(8)(image)
    assert (cut == 0).any() and (cut == 200).any() and image.min() == 200


def test_gzip_works_after_import_hnas(tmp_path):
    """The zlib guard: reading .tar.gz after importing hnas (and paddle) must not crash."""
    path = tmp_path / "c.tar.gz"
    write_cifar100_tarball(path, n_train=2, n_test=2)
    code = ("import hnas, paddle, gzip, tarfile, sys; "
            f"tarfile.open({str(path)!r}, 'r:gz').extractall({str(tmp_path / 'out')!r}); "
            "import sklearn.datasets; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_image_folder_reads_splits_with_multi_size_crops(image_folder):
    data = build_data("imagefolder", root=str(image_folder), image_size=32, crop_sizes=[24, 32])
    assert data.num_classes == 3 and len(data.train) == 24 and len(data.test) == 9
    image, label = data.test[4]
    assert image.shape == (3, 32, 32) and image.dtype == np.float32 and label == 1
    assert data.train[(0, 24)][0].shape == (3, 24, 24) and data.train[0][0].shape == (3, 32, 32)
    assert abs(float(data.test[0][0].mean())) < 3  # ImageNet normalisation
    sampler = data.train.batch_sampler_for(
        paddle.io.DistributedBatchSampler(data.train, 4, shuffle=True, drop_last=True))
    loader = paddle.io.DataLoader(data.train, batch_sampler=sampler, return_list=True)
    sizes = [images.shape[-1] for images, _ in loader]
    assert set(sizes) == {24, 32} and len(sizes) == 6
    sampler.set_epoch(0)
    first = [batch[0][1] for batch in sampler]
    sampler.set_epoch(0)
    assert first == [batch[0][1] for batch in sampler]


def test_image_folder_errors_name_the_folder(tmp_path, image_folder):
    with pytest.raises(HnasError, match="image folder not found: .*nowhere/train"):
        build_data("imagefolder", root=str(tmp_path / "nowhere"), image_size=32)
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(image_folder, bad)
    (bad / "val" / "n99999999").mkdir()
    (bad / "val" / "n99999999" / "x.png").write_bytes((bad / "val" / "n00000000" / "img_1.png").read_bytes())
    with pytest.raises(HnasError, match="classes the training split lacks: n99999999"):
        build_data("imagefolder", root=str(bad), image_size=32)
    with pytest.raises(HnasError, match="needs data.root"):
        build_data("imagefolder", root=None, image_size=32)


def write_idx(path, array, magic_type=0x08):
    """An IDX file in the MNIST family's exact layout (gzipped if the name ends in .gz)."""
    import gzip
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, magic_type, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.tobytes()
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload)
    path.write_bytes(payload)


def write_idx_dataset(root, n_train=40, n_test=20, size=28, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        write_idx(root / f"{split}-images-idx3-ubyte{suffix}", images)
        write_idx(root / f"{split}-labels-idx1-ubyte{suffix}", labels)
        arrays[split] = (images, labels)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_idx_reader_reads_the_mnist_family_layout(tmp_path, gz):
    from hnas.data.idx import load_idx
    written = write_idx_dataset(tmp_path, gz=gz)
    x_train, y_train, x_test, y_test = load_idx(tmp_path)
    assert x_train.shape == (40, 28, 28, 1) and x_test.shape == (20, 28, 28, 1) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_test[..., 0], written["t10k"][0])
    np.testing.assert_array_equal(y_train, written["train"][1].astype(np.int64))
    bundle = build_data("idx", root=tmp_path, image_size=12, augment="none")
    assert bundle.num_classes == 10 and bundle.train[0][0].shape == (3, 12, 12)


def test_idx_subsets_are_fixed_seeded_and_class_stratified(tmp_path):
    from hnas.data.idx import load_idx
    write_idx_dataset(tmp_path, n_train=200, n_test=100)
    a = load_idx(tmp_path, train_size=50, test_size=0.5, split_seed=0)
    b = load_idx(tmp_path, train_size=50, test_size=0.5, split_seed=0)
    c = load_idx(tmp_path, train_size=50, test_size=0.5, split_seed=1)
    assert len(a[0]) == 50 and len(a[2]) == 50
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert np.bincount(a[1], minlength=10).tolist() == [5] * 10  # 20 of each class -> 5 of each
    assert np.bincount(a[3], minlength=10).tolist() == [5] * 10
    assert len(load_idx(tmp_path, train_size=1)[0]) == 1 and len(load_idx(tmp_path, test_size=1.0)[2]) == 100


@pytest.mark.parametrize("damage, message", [
    ("missing", r"t10k-labels-idx1-ubyte\[.gz\] not found"),
    ("truncated", r"train-images-idx3-ubyte.gz: holds \d+ values after its header, but its dimensions 40x28x28"),
    ("foreign", r"train-images-idx3-ubyte.gz: bad IDX magic number 89504e47; expected 00000803"),
    ("labels as images", r"t10k-images-idx3-ubyte.gz: bad IDX magic number 00000801"),
    ("count mismatch", r"holds 20 images but .*t10k-labels-idx1-ubyte.gz holds 7 labels"),
    ("not gzip", r"train-images-idx3-ubyte.gz: not a readable IDX file"),
])
def test_idx_reader_names_the_bad_file(tmp_path, damage, message):
    from hnas.data.idx import load_idx
    write_idx_dataset(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    if damage == "missing":
        (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    elif damage == "truncated":
        import gzip
        images.write_bytes(gzip.compress(gzip.decompress(images.read_bytes())[:-100]))
    elif damage == "foreign":
        import gzip
        images.write_bytes(gzip.compress(b"\x89PNG\r\n\x1a\n" + bytes(100)))
    elif damage == "labels as images":
        write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros(20))
    elif damage == "count mismatch":
        write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(7))
    elif damage == "not gzip":
        images.write_bytes(b"plain bytes, not gzip")
    with pytest.raises(HnasError, match=message):
        load_idx(tmp_path)


def test_idx_bad_root_and_sizes_are_one_line(tmp_path):
    from hnas.data.idx import load_idx
    with pytest.raises(HnasError, match="data.root is not set"):
        load_idx(None)
    with pytest.raises(HnasError, match="IDX folder .*nowhere not found.*dataset-fashion-mnist"):
        load_idx(tmp_path / "nowhere")
    write_idx_dataset(tmp_path)
    with pytest.raises(HnasError, match=r"data.train_size is 41; expected a count in 1..40"):
        load_idx(tmp_path, train_size=41)
    with pytest.raises(HnasError, match=r"data.test_size is 'all'"):
        load_idx(tmp_path, test_size="all")


def test_idx_bad_file_from_the_cli_is_one_line_exit_2(tmp_path):
    write_idx_dataset(tmp_path / "fm")
    (tmp_path / "fm" / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    run = subprocess.run([sys.executable, "-m", "hnas", "standalone", "configs/quickstart.yaml",
                          "--arch", "4-" * 19 + "4", "--data.name", "idx", "--data.root", str(tmp_path / "fm"),
                          "--output.dir", str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("hnas: error")]
    assert len(lines) == 1 and "train-labels-idx1-ubyte.gz: bad IDX magic number none" in lines[0], run.stderr


def test_the_digits_split_is_cached_per_setting_and_read_back_without_scikit_learn(tmp_path, monkeypatch):
    from hnas.data.sources import _split_digits, load_digits
    monkeypatch.setenv("HNAS_CACHE", str(tmp_path / "cache"))
    fresh = _split_digits(96, 192, 3)
    first = load_digits(96, 192, 3)
    [cached] = (tmp_path / "cache" / "digits").glob("split-sklearn*-test96-train192-seed3.npz")
    monkeypatch.setitem(sys.modules, "sklearn", None)  # any import of scikit-learn now fails
    second = load_digits(96, 192, 3)
    for a, b, c in zip(fresh, first, second):
        assert a.dtype == b.dtype == c.dtype and np.array_equal(a, b) and np.array_equal(a, c)
    cached.write_bytes(b"not an npz")  # a damaged cache is computed again and rewritten
    monkeypatch.delitem(sys.modules, "sklearn")
    assert all(np.array_equal(a, b) for a, b in zip(fresh, load_digits(96, 192, 3)))
    assert np.load(cached)["x_train"].shape == fresh[0].shape
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("HNAS_CACHE", str(tmp_path / "a_file" / "cache"))  # a cache that cannot be written
    assert all(np.array_equal(a, b) for a, b in zip(_split_digits(96, 192, 4), load_digits(96, 192, 4)))
