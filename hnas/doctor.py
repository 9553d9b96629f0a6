"""`hnas doctor`: one command that checks a machine before a long run. It finds the device, trains
both supernets a few steps and scores a few archs with each, with and without mixed precision, on
random images (no dataset needed), and prints a table of speeds. A check that fails (an error, a
loss or score that is not finite) is a row saying so, and the command exits 1 with one line.

Speeds come from the real training step (hnas.train.trainer.Trainer: the sandwich with in-place
distillation) and the real scorer (hnas.scoring.SupernetScorer with calib_train BN statistics):

  train steps/s, images/s   optimizer steps (each running `--subnets` subnets) after a warm-up step
  score archs/s, images/s   archs scored, each on `--images` test images after calibration on as many
  host ms per arch          one pass over the cached scoring batches without a forward: what the
                            host spends per arch beside the device's work
  tau vs off                Kendall tau-b of the archs' scores against the same archs in float32
"""
import math
import random
import sys
import time

import numpy as np
import paddle

from hnas.data import ArrayDataset
from hnas.data.transforms import Normalize
from hnas.errors import HnasError, say
from hnas.metrics import kendall_tau
from hnas.models import create_supernet
from hnas.precision import Precision, device_runs_amp
from hnas.scoring import FixedBatches, SupernetScorer
from hnas.spaces import build_sampler, get_space
from hnas.train.optim import build_optimizer
from hnas.train.plans import StepPlan
from hnas.train.trainer import Trainer

DEVICES = ("auto", "gpu", "cpu")
SUPERNETS = ("resnet20", "resnet48")
NUM_CLASSES = {"resnet20": 100, "resnet48": 1000}


def choose_device(device):
    """Set paddle's device: a GPU when asked for (one error line when there is none) or found."""
    if device not in DEVICES:
        raise HnasError(f"--device {device!r}: expected one of {', '.join(DEVICES)}")
    gpus = paddle.device.cuda.device_count() if paddle.is_compiled_with_cuda() else 0
    if device == "gpu" and not gpus:
        raise HnasError(f"--device gpu: no GPU found (paddle {paddle.__version__} "
                        f"{'sees none' if paddle.is_compiled_with_cuda() else 'is the CPU build'}; "
                        f"HNAS_GPU=1 bash shell/setup.sh installs the GPU build)")
    paddle.set_device("gpu" if gpus and device != "cpu" else "cpu")
    name = paddle.device.get_device()
    if name.startswith("gpu"):
        name += f" ({paddle.device.cuda.get_device_name()})"
    return name


def _timed(run, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        result = run()
    return (time.perf_counter() - start) / repeats, result


def train_check(supernet, image_size, amp, steps, batch_size, subnets):
    """(seconds per step, mean loss of the last step) of the sandwich on random images."""
    space_name = supernet.space.name
    space = get_space(space_name)
    paddle.seed(0)
    plan = StepPlan("sandwich", space, build_sampler("uniform", space, seed=0), subnets, "inplace")
    trainer = Trainer(supernet, plan, image_size, precision=Precision(amp, "train.amp"))
    optimizer, schedule = build_optimizer(supernet.parameters(), 0.01, 0.9, 0.0, steps + 1)
    trainer.prepare(optimizer, paddle.nn.CrossEntropyLoss(), schedule)
    images = paddle.randn([batch_size, 3, image_size, image_size])
    labels = paddle.randint(0, NUM_CLASSES[space_name], [batch_size], dtype="int64")
    step = lambda: float(trainer.train_batch([images], [labels])[0][0])  # noqa: E731
    step()  # warm-up: kernels chosen, memory allocated
    seconds, loss = _timed(step, steps)
    if not math.isfinite(loss):
        raise HnasError(f"training loss is {loss}")
    return seconds, loss


def score_check(supernet, image_size, amp, archs, images, batch_size):
    """(seconds per arch, host seconds per arch, scores) for `archs` on random uint8 images."""
    space_name = supernet.space.name
    paddle.seed(0)
    rng = np.random.RandomState(0)
    pictures = rng.randint(0, 256, size=(images, image_size, image_size, 3)).astype(np.uint8)
    dataset = ArrayDataset(pictures, rng.randint(0, NUM_CLASSES[space_name], images).astype(np.int64), Normalize())
    batches = FixedBatches(dataset, batch_size)
    scorer = SupernetScorer(supernet, batches, "calib_train", "loss", batches, Precision(amp, "eval.amp"))
    scores = []
    seconds, _ = _timed(lambda: scores.extend(scorer.evaluate(arch)["score"] for arch in archs), 1)
    host, _ = _timed(lambda: list(batches), 1)
    if not all(math.isfinite(s) for s in scores):
        raise HnasError(f"scores are not all finite: {scores}")
    return seconds / len(archs), host, scores


def run_doctor(device="auto", amp="fp16", image_size=None, steps=3, batch_size=16, subnets=3, archs=4,
               images=64, out=sys.stdout):
    """Print the device and the table; return the number of failed checks."""
    for flag, value, least in (("--steps", steps, 1), ("--batch_size", batch_size, 1), ("--archs", archs, 2),
                               ("--images", images, 1), ("--image_size", image_size or 8, 8)):
        if value < least:
            raise HnasError(f"{flag} {value}: expected at least {least}")
    name = choose_device(device)
    if amp not in ("fp16", "bf16"):
        raise HnasError(f"--amp {amp!r}: expected fp16 or bf16 (the mode compared with float32)")
    on_gpu = not name.startswith("cpu")
    sizes = {"resnet20": 32, "resnet48": image_size or (224 if on_gpu else 32)}
    if image_size:
        sizes["resnet20"] = image_size
    print(f"paddle {paddle.__version__}, device {name}; mixed precision "
          f"{'runs here' if device_runs_amp() else 'is a no-op here (paddle runs it only on GPU, XPU and custom devices)'}",
          file=out)
    print("| supernet | amp | px | train steps/s | train images/s | score archs/s | score images/s "
          "| host ms per arch | tau vs off |", file=out)
    print("|---|---|---|---|---|---|---|---|---|", file=out)
    failures = []
    for space_name in SUPERNETS:
        space = get_space(space_name)
        chosen = [space.largest(), space.smallest()] + [space.sample(random.Random(i)) for i in range(max(0, archs - 2))]
        reference = None
        paddle.seed(0)
        supernet = create_supernet(space_name, NUM_CLASSES[space_name])  # built once: ResNet48's takes seconds
        initial = {name: tensor.clone() for name, tensor in supernet.state_dict().items()}
        for mode in ("off", amp):
            size = sizes[space_name]
            try:
                supernet.set_state_dict(initial)  # every check starts from the same weights
                arch_seconds, host_seconds, scores = score_check(supernet, size, mode, chosen, images, batch_size)
                step_seconds, _ = train_check(supernet, size, mode, steps, batch_size, subnets)
            except Exception as err:  # a failed check is a row and the exit status, not a traceback
                reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                failures.append(f"{space_name} {mode}: {reason}")
                print(f"| {space_name} | {mode} | {size} | FAILED: {reason} | | | | | |", file=out)
                continue
            reference = scores if mode == "off" else reference
            tau = "" if mode == "off" or reference is None else f"{kendall_tau(reference, scores):.3f}"
            print(f"| {space_name} | {mode} | {size} | {1 / step_seconds:.2f} | {batch_size / step_seconds:.1f} "
                  f"| {1 / arch_seconds:.2f} | {images / arch_seconds:.1f} | {host_seconds * 1000:.2f} | {tau} |",
                  file=out)
    if failures:
        say(f"doctor: {len(failures)} check(s) failed: {'; '.join(failures)}")
    return len(failures)
