"""Training callbacks (paddle.callbacks style): progress bar, scalar logs, checkpoints, NaN guard."""
import logging
import math
import time
from pathlib import Path

from paddle.callbacks import Callback

from hnas.errors import HnasError
from hnas.interfaces import Branching
from hnas.layout import TRAIN_LOG, VISUALDL
from hnas.progress import progress


class NonFiniteLoss(HnasError):
    pass


class ProgressBar(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.bar = progress(total=self.params["steps"], desc=f"epoch {epoch + 1}/{self.params['epochs']}",
                        unit="step", leave=False, dynamic_ncols=True)

    def on_train_batch_end(self, step, logs=None):
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{logs['loss'][0]:.4f}", lr=f"{logs['lr']:.4g}")

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()


class NaNGuard(Callback):
    """Stops at the first non-finite loss, before any later checkpoint can be written."""

    def on_train_batch_end(self, step, logs=None):
        loss = logs["loss"][0]
        if not math.isfinite(loss):
            raise NonFiniteLoss(
                f"training stopped: loss is {loss} at global step {self.model.global_step}; "
                f"the last good checkpoint is kept (lower train.lr or set train.clip_norm)")


class ScalarLogger(Callback):
    """VisualDL scalars and a plain `train.log` in the run directory."""

    def __init__(self, run_dir, log_every=20):
        super().__init__()
        self.run_dir, self.log_every = Path(run_dir), log_every
        self.writer = None

    def on_train_begin(self, logs=None):
        from visualdl import LogWriter
        self.writer = LogWriter(logdir=str(self.run_dir / VISUALDL))
        self.log = logging.getLogger(f"hnas.train.{self.run_dir}")
        self.log.setLevel(logging.INFO)
        self.log.propagate = False
        if not self.log.handlers:
            handler = logging.FileHandler(self.run_dir / TRAIN_LOG)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            self.log.addHandler(handler)
        self.log.info("start at epoch %d, step %d", self.model.start_epoch, self.model.global_step)

    def scalar(self, tag, value):
        self.writer.add_scalar(tag=tag, value=float(value), step=self.model.global_step)

    def on_train_batch_end(self, step, logs=None):
        loss = logs["loss"][0]
        self.scalar("train/loss", loss)
        self.scalar("train/lr", logs["lr"])
        rank = ""
        if self.model.rank_loss is not None:
            self.scalar("train/rank_loss", self.model.last_rank_loss)
            rank = f" rank_loss {self.model.last_rank_loss:.5f}"
        if self.model.global_step % self.log_every == 0:
            self.log.info("step %d loss %.5f lr %.6g%s", self.model.global_step, loss, logs["lr"], rank)

    def on_epoch_end(self, epoch, logs=None):
        for tag, value in sorted(self.model.epoch_scores.items()):
            self.scalar(f"eval/{tag}", value)
        scores = " ".join(f"{k} {v:.4f}" for k, v in sorted(self.model.epoch_scores.items()))
        self.log.info("epoch %d done at step %d loss %.5f %s", epoch + 1, self.model.global_step,
                      logs["loss"][0], scores)
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer:
            self.writer.close()


class Checkpointer(Callback):
    """A checkpoint at every epoch's end, and inside an epoch every `every_steps` steps, when
    `minutes` passed since the last one, and when the run is stopping (hnas.stopping)."""

    def __init__(self, checkpoints, meta, keep=2, every_steps=0, minutes=0.0):
        super().__init__()
        self.checkpoints, self.meta, self.keep = checkpoints, meta, keep
        self.every_steps, self.seconds, self.last = every_steps, minutes * 60.0, time.monotonic()

    def _save(self, epoch, epoch_step=0):
        scaler = self.model.precision.state_dict()  # fp16's loss scale, for an exact resume
        self.checkpoints.save(self.model.network, self.model.optimizer, epoch, self.model.global_step,
                              dict(self.meta, **({"amp_scaler": scaler} if scaler else {})), keep=self.keep,
                              epoch_step=epoch_step)
        self.last = time.monotonic()

    def on_train_batch_end(self, step, logs=None):
        if step + 1 >= self.model.steps_per_epoch:
            return  # the epoch's end saves
        due = (self.every_steps and self.model.global_step % self.every_steps == 0) or (
            self.seconds and time.monotonic() - self.last >= self.seconds)
        if logs.get("stopping") or due:
            self._save(logs["epoch"], epoch_step=step + 1)

    def on_epoch_end(self, epoch, logs=None):
        self._save(epoch)


class BranchAt(Callback):
    """The 2021 winner's multi-branch supernet: at the start of epoch `epoch` (0-based), every
    width bucket gets weights of its own, started from the shared ones (a run resumed later is
    already branched: its checkpoint says so)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = int(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        network: Branching = self.model.network  # the recipe schema allows branch_epoch only with branch sharing
        if epoch >= self.epoch and not network.is_branched():
            network.branch()
            print(f"epoch {epoch + 1}: the supernet's width buckets now train apart (multi-branch)")
