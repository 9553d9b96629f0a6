import zlib  # noqa: F401  (paddle's bundled zlib must not load first)
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ANCHORS = Path(os.environ.get("HNAS_ANCHORS", Path(__file__).resolve().parents[2] / "shared" / "anchors"))


def load_anchor(name):
    path = ANCHORS / name
    if not path.exists():
        pytest.skip(f"anchor data {path} is absent (expected ../shared/anchors beside the checkout)")
    with open(path) as f:
        return json.load(f)


@pytest.fixture
def gt2021():
    return load_anchor("cvpr2021_track1_gt_first_1000.json")


def count_macs(model, image_size):
    """Multiply-accumulates of every conv and linear layer, counted by forward hooks."""
    import numpy as np
    import paddle
    macs = []

    def hook(layer, inputs, output):
        if isinstance(layer, paddle.nn.Conv2D):
            k = layer.weight.shape
            macs.append(int(np.prod(output.shape[1:])) * k[1] * k[2] * k[3])
        else:
            macs.append(int(np.prod(layer.weight.shape)))

    for layer in model.sublayers():
        if isinstance(layer, (paddle.nn.Conv2D, paddle.nn.Linear)):
            layer.register_forward_post_hook(hook)
    model.eval()
    with paddle.no_grad():
        model(paddle.zeros([1, 3, image_size, image_size]))
    return sum(macs)


TINY = {
    "data.image_size": 8, "data.augment": "none", "data.batch_size": 32,
    "data.train_size": 192, "data.test_size": 96,
    "train.epochs": 2, "train.lr": 0.05, "train.warmup_steps": 2, "train.num_archs": 3,
    "train.sampler": "strict_fair", "train.eval_every": 0,
    "eval.batch_size": 48, "eval.calib_batches": 2,
    "standalone.epochs": 2, "standalone.batch_size": 32, "standalone.warmup_steps": 2,
}


def tiny_config(run_dir, **overrides):
    """A recipe that trains in seconds: 192 digits at 8x8, 6 steps per epoch."""
    from hnas.config import load_config
    return load_config(None, **{**TINY, "output.dir": str(run_dir), **overrides})


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """One tiny trained supernet shared by the evaluation tests."""
    from hnas.train.run import train_supernet
    run_dir = tmp_path_factory.mktemp("run")
    train_supernet(tiny_config(run_dir))
    return run_dir


def write_image_folder(root, classes=3, train_per_class=8, val_per_class=3, size=(40, 48), seed=0):
    """A tiny ImageNet-layout folder (train/ and val/ class folders of .JPEG and .png files)
    whose classes differ in colour, so a network can learn them."""
    import cv2
    import numpy as np
    rng = np.random.RandomState(seed)
    root = Path(root)
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for c in range(classes):
            folder = root / split / f"n{c:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                image = rng.randint(0, 80, size=(*size, 3)).astype(np.uint8)
                image[..., c % 3] += 150
                name = f"img_{i}.JPEG" if i % 2 == 0 else f"img_{i}.png"
                cv2.imwrite(str(folder / name), image)
    return root


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("imagenet_tiny"))


def crash_training_at_step(monkeypatch, step):
    """Make every Trainer raise KeyboardInterrupt at global step `step` (a kill mid-run);
    returns a function that undoes it."""
    from hnas.train.trainer import Trainer
    original = Trainer.train_batch

    def crashing(self, *args, **kwargs):
        if self.global_step == step:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train_batch", crashing)
    return lambda: monkeypatch.setattr(Trainer, "train_batch", original)


def tiny_flags(run_dir, **extra):
    """The TINY recipe as command-line flags, writing to run_dir."""
    flags = []
    for key, value in {**TINY, "output.dir": run_dir, **extra}.items():
        flags += [f"--{key}", str(value)]
    return flags


def run_hnas(*args, wait=True):
    """`python -m hnas ARGS` from the checkout: (exit code, stdout, stderr), or the running process."""
    process = subprocess.Popen([sys.executable, "-m", "hnas", *map(str, args)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return process
    out, err = process.communicate(timeout=600)
    return process.returncode, out, err


def kill_when(process, ready, timeout=300, signum=signal.SIGKILL, exit_within=120):
    """Send `signum` (SIGKILL) to `process` as soon as ready() is true (it must not finish first);
    returns its (stdout, stderr) once it exits, which must be within `exit_within` seconds."""
    start = time.time()
    while not ready():
        if process.poll() is not None:
            raise AssertionError(f"finished before it could be killed: {process.communicate()}")
        if time.time() - start > timeout:
            process.kill()
            raise AssertionError("never reached the kill point")
        time.sleep(0.02)
    process.send_signal(signum)
    try:
        return process.communicate(timeout=exit_within)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"still running {exit_within} s after {signal.Signals(signum).name}: a hang") from None


def assert_calibration_leaves_no_trace(scorer, first, second):
    """Scoring with calibrated BN statistics restores the stored ones after every arch: the statistics
    (every BN layer's) are unchanged and two archs score the same in either order."""
    import numpy as np
    net = scorer.supernet
    stats = net.running_statistics()
    layers = net.bn_modes.named_layers
    assert {name.rsplit(".", 1)[0] for name in stats} == set(layers) and len(stats) >= 2 * len(layers)
    before = {name: tensor.numpy().copy() for name, tensor in stats.items()}
    forward = [scorer.evaluate(first), scorer.evaluate(second)]
    for name, tensor in net.running_statistics().items():
        np.testing.assert_array_equal(tensor.numpy(), before[name], err_msg=name)
    assert [scorer.evaluate(second), scorer.evaluate(first)] == forward[::-1]


def assert_same_checkpoints(run_a, run_b):
    """The two runs' last checkpoints hold the same tensors."""
    import numpy as np
    import paddle
    states = [paddle.load(str(Path(run) / json.loads((Path(run) / "latest.json").read_text())["params"]))
              for run in (run_a, run_b)]
    assert states[0].keys() == states[1].keys()
    for name in states[0]:
        np.testing.assert_array_equal(np.asarray(states[0][name]), np.asarray(states[1][name]), err_msg=name)


def host_copies_per_call(monkeypatch, owner, method):
    """The number of device-to-host copies (Tensor.numpy, which float(), int(), bool() and paddle
    2.6's set_value(Tensor) go through) made inside each call of owner.method, in a list that
    grows as calls are made (issue 25: each copy empties a GPU's queue)."""
    import paddle
    numpy, wrapped = paddle.Tensor.numpy, getattr(owner, method)
    copies, inside = [], []

    def counted_numpy(self, *args, **kwargs):
        if inside:
            copies[-1] += 1
        return numpy(self, *args, **kwargs)

    def counted_call(*args, **kwargs):
        copies.append(0)
        inside.append(True)
        try:
            return wrapped(*args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(paddle.Tensor, "numpy", counted_numpy)
    monkeypatch.setattr(owner, method, counted_call)
    return copies


LONGEST_FIRST = ("test_quickstart.py",)


def pytest_collection_modifyitems(config, items):
    """The longest test starts first: under pytest-xdist another worker runs the rest meanwhile,
    instead of the whole suite waiting on it at the end."""
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)
