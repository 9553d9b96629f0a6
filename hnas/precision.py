"""Mixed precision (train.amp, eval.amp) through paddle.amp: one object a training step or a scorer
asks for its autocast context, its backward and its optimizer step.

  off   float32
  fp16  float16 autocast (paddle's O1 lists: convolutions and matmuls in fp16, BatchNorm, softmax
        and the losses in fp32) with dynamic loss scaling
  bf16  bfloat16 autocast with the same lists; bfloat16 has fp32's range, so no loss scaling

Paddle 2.6 runs autocast and loss scaling only on GPU, XPU and custom devices: on a CPU both are
no-ops, so a CPU run computes in float32 along the same code path, and hnas says so once.
"""
import warnings
from contextlib import nullcontext

import numpy as np
import paddle

from hnas.errors import say

DTYPES = {"fp16": "float16", "bf16": "bfloat16"}
INITIAL_LOSS_SCALE = 2.0 ** 15
_said = set()


def device_runs_amp():
    return not paddle.device.get_device().startswith("cpu")


class Precision:
    def __init__(self, mode="off", setting="train.amp"):
        self.mode, self.setting = mode, setting
        self.scaler = None
        if mode == "off":
            return
        # paddle warns on every call on a CPU; hnas says it once per setting instead
        warnings.filterwarnings("ignore", message="(amp_guard|AmpScaler) can only be enabled")
        if not device_runs_amp() and (setting, mode) not in _said:
            _said.add((setting, mode))
            say(f"{setting} {mode} has no effect on a CPU (paddle runs mixed precision only on GPU, XPU "
                f"and custom devices): this run computes in float32")
        if mode == "fp16":
            self.scaler = paddle.amp.GradScaler(enable=True, init_loss_scaling=INITIAL_LOSS_SCALE)

    @staticmethod
    def float32(tensor):
        """An autocast forward's output (fp16 or bf16 where paddle's lists leave it so) as float32."""
        return tensor if tensor.dtype == paddle.float32 else tensor.astype("float32")

    def autocast(self):
        if self.mode == "off":
            return nullcontext()
        return paddle.amp.auto_cast(enable=True, level="O1", dtype=DTYPES[self.mode])

    def backward(self, loss):
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer):
        """The optimizer step; with loss scaling, skipped when a gradient overflowed (the scale then
        shrinks) and the scale updated."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self):
        """The loss scaler's state as JSON values ({} without one, or where paddle disables it)."""
        state = self.scaler.state_dict() if self.scaler is not None else {}
        return {k: np.asarray(v).tolist() if hasattr(v, "shape") else v for k, v in state.items()}

    def set_state_dict(self, state):
        if self.scaler is not None and state:
            self.scaler.load_state_dict({k: np.asarray(v, np.float32) if k == "scale" else v for k, v in state.items()})
