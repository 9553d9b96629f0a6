"""The Paddle and PaddleSlim internals hnas relies on, in one place: what a framework upgrade can
break is here and nowhere else (tests/test_layers.py checks that no other module reaches into a
private attribute of a paddle object).

- BatchNorm keeps its running statistics and momentum in private attributes (`_mean`, `_variance`,
  `_momentum`; paddle keeps the statistics as untrainable parameters, not buffers), which BN
  calibration and channel reordering read and set.
- `_BatchNormBase` is the one class every paddle BatchNorm and paddleslim's super BN share.
- A DataLoader iterator's workers are shut down by a private method when it is left early.
- A DataLoader's pin-memory thread is private (`_thread`, its target `_thread_loop`): joining it
  before an error is raised keeps its traceback out of the user's terminal.
- paddle.jit.save names its program file by the program format (Paddle 3's PIR or the old one).
- hnas.compat.cropped_layers: paddleslim's super conv, linear and BN layers without their per-call
  costs, overriding their methods (and so reading their private state).
"""
import paddle

BatchNormBase = paddle.nn.layer.norm._BatchNormBase


def bn_running_mean(bn):
    return bn._mean


def bn_running_variance(bn):
    return bn._variance


def bn_momentum(bn):
    """The weight of the old running statistics in paddle's update (running = m * running + (1 - m) * batch)."""
    return bn._momentum


def set_bn_momentum(bn, momentum):
    bn._momentum = momentum


def pin_memory_thread(batches):
    """The pin-memory thread of a DataLoader's iterator, or None."""
    return getattr(batches, "_thread", None)


def is_pin_memory_thread(thread):
    return "_thread_loop" in getattr(thread, "name", "")


def shut_down_workers(batches, timeout=10):
    """End the worker processes of a DataLoader iterator left before its end (a stopped epoch):
    otherwise they wait for indices until the interpreter's exit joins them, forever."""
    shutdown = getattr(batches, "_try_shutdown_all", None)
    if shutdown is not None:
        shutdown(timeout)


def inference_program(prefix):
    """The program file paddle.jit.save writes for `prefix`: PREFIX.json under Paddle 3's PIR (its
    default), PREFIX.pdmodel under Paddle 2.6."""
    pir = paddle.get_flags(["FLAGS_enable_pir_api"])["FLAGS_enable_pir_api"]
    return f"{prefix}.json" if pir else f"{prefix}.pdmodel"
