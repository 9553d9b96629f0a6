"""The one Trainer: a paddle.Model whose train step runs the step plan's archs on one batch,
accumulates their gradients and takes a single optimizer step."""
import itertools
import random
import types

import numpy as np
import paddle
from paddle.hapi.callbacks import config_callbacks
from paddle.static import InputSpec

from hnas.data.loading import data_loader
from hnas.errors import HnasError
from hnas.interfaces import BatchSampling
from hnas import stopping
from hnas.precision import Precision
from hnas.spaces.pareto import Candidates, pick_by_loss
from hnas.train.losses import distill_loss, label_cross_entropy


BUCKET_BYTES = 25 * 2 ** 20  # as PyTorch's DistributedDataParallel


def gradient_buckets(sizes, limit):
    """Consecutive runs of indices whose sizes add up to at most `limit` (a larger one alone)."""
    buckets, current, total = [], [], 0
    for index, size in enumerate(sizes):
        if current and total + size > limit:
            buckets.append(current)
            current, total = [], 0
        current.append(index)
        total += size
    return buckets + [current] if current else buckets


class SeededDraws(paddle.io.Dataset):
    """A training dataset whose random augmentation of an item is drawn from that item's own seed
    (run seed, epoch, index), not from a process-wide random state that data loading advances ahead
    of training: a run resumed inside an epoch draws what the run never stopped drew."""

    def __init__(self, dataset, seed):
        self.dataset, self.seed, self.epoch = dataset, seed, 0

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, item):
        index = item[0] if isinstance(item, tuple) else item  # (index, crop size) from a BatchSampling set
        draws = random.Random(f"{self.seed}:{self.epoch}:{index}")
        random.seed(draws.getrandbits(64))  # paddle.vision's transforms and hnas's draw from these two
        np.random.seed(draws.getrandbits(32))
        return self.dataset[item]


class SkipFirstBatches:
    """A batch sampler that leaves out the first `skip` batches of an epoch (resuming inside one:
    the sampler shuffles by epoch, so the rest come in the order the stopped run would have seen)."""

    def __init__(self, batch_sampler):
        self.batch_sampler, self.skip = batch_sampler, 0

    def set_epoch(self, epoch, skip=0):
        self.batch_sampler.set_epoch(epoch)
        self.skip = skip

    def __iter__(self):
        return itertools.islice(iter(self.batch_sampler), self.skip, None)

    def __len__(self):
        return len(self.batch_sampler) - self.skip


class Trainer(paddle.Model):
    def __init__(self, network, plan, image_size, same_batch=True, distill_loss_name="kd",
                 temperature=1.0, teacher=None, extra_batches=None, epoch_eval=None, rank_loss=None,
                 precision=None):
        super().__init__(network,
                         inputs=[InputSpec([None, 3, image_size, image_size], "float32", "image")],
                         labels=[InputSpec([None], "int64", "label")])
        self.plan, self.same_batch = plan, same_batch
        self.distill_loss_name, self.temperature = distill_loss_name, temperature
        self.teacher, self.extra_batches, self.epoch_eval = teacher, extra_batches, epoch_eval
        self.precision = precision or Precision()
        # a step-form rank loss ties the step's losses by pairwise terms: one backward at the end
        # (the pgonas form's extra pairs are separate, so the step's archs backward as usual)
        self.rank_loss, self.steps_per_epoch, self.last_rank_loss = rank_loss, 1, 0.0
        self.global_step, self.start_epoch, self.epoch_scores = 0, 0, {}
        self.start_epoch_step = 0  # steps of start_epoch already trained (a mid-epoch checkpoint)
        # hapi's DataParallel has already broadcast rank 0's weights. A step runs several subnets
        # with one backward each, which DataParallel's reducer (one backward per forward, every
        # parameter used) does not support; every rank runs the same subnets (the plan is a function
        # of the step), so summing gradients across ranks once before the step is exact.
        self.world_size = paddle.distributed.get_world_size()

    @paddle.no_grad()
    def _average_gradients_across_ranks(self):
        """One all-reduce per bucket of about BUCKET_BYTES, not one per gradient tensor (8,156 of
        them for independent sharing): each call costs a round of latency between devices. Every
        rank trains the same subnets, so every rank has the same gradients present, in the same
        order, and forms the same buckets."""
        if self.world_size == 1:
            return
        grads = [param.grad for param in self.network.parameters() if param.grad is not None]
        for bucket in gradient_buckets([g.size * g.element_size() for g in grads], BUCKET_BYTES):
            members = [grads[i] for i in bucket]
            flat = paddle.concat([g.reshape([-1]) for g in members])
            paddle.distributed.all_reduce(flat)
            flat.scale_(1.0 / self.world_size)
            for grad, part in zip(members, paddle.split(flat, [g.size for g in members])):
                paddle.assign(part.reshape(grad.shape), output=grad)

    @paddle.no_grad()
    def _reference_logits(self, arch, images):
        """The in-place teacher on a batch it has not seen this step: no grads, no BN updates."""
        self.network.set_arch(arch)
        with self.network.bn_stats_mode("batch"), self.precision.autocast():
            return self.network(images)

    @paddle.no_grad()
    def _judge(self, candidates, images, labels):
        """Pareto-aware sampling by mini-batch loss: the candidate to train on this batch. Each rank
        holds its own share of the batch, so the losses are averaged across ranks first: every rank
        must pick the same arch, or their gradient all-reduces no longer match."""
        losses = []
        with self.network.bn_stats_mode("batch"), self.precision.autocast():
            for arch in candidates.archs:
                self.network.set_arch(arch)
                losses.append(label_cross_entropy(self.network(images), labels).reshape([]))
        losses = paddle.stack(losses)
        if self.world_size > 1:
            paddle.distributed.all_reduce(losses)
            losses = losses / self.world_size
        return pick_by_loss(candidates, losses.numpy().tolist())

    def train_batch(self, inputs, labels=None, update=True):
        self.network.train()
        images, targets = inputs[0], labels[0]
        step_losses, inplace_logits = [], None
        kept = {"archs": [], "losses": [], "label_losses": []}
        entries = self.plan(self.global_step)
        scales = self.plan.loss_scales(self.global_step, entries)
        for i, (arch, target) in enumerate(entries):
            x, y = (images, targets) if self.same_batch or i == 0 else self.extra_batches()
            if target == "inplace" and x is not images:
                inplace_logits = self._reference_logits(self.plan.space.largest(), x)
            if isinstance(arch, Candidates):
                arch = self._judge(arch, x, y)
            if arch is not None:
                self.network.set_arch(arch)
            with self.precision.autocast():
                logits = self.network(x)
                if target == "rank":  # trained only through the rank loss
                    kept["archs"].append(arch)
                    kept["label_losses"].append(label_cross_entropy(logits, y))
                    continue
                loss = self._subnet_loss(target, logits, x, y, inplace_logits)
                if scales is not None:
                    loss = loss * scales[i]
                tied = self.rank_loss is not None and not self.plan.rank_pairs
                if tied:
                    label_loss = loss if target == "labels" else label_cross_entropy(logits, y)
            if target == "labels":
                inplace_logits = logits.detach()
            if tied:
                kept["archs"].append(arch)
                kept["losses"].append(loss)
                kept["label_losses"].append(label_loss)
            else:
                self.precision.backward(loss)
            step_losses.append(loss.detach().reshape([]))
        if self.rank_loss is not None:
            self._backward_with_rank_loss(**kept)
        self._average_gradients_across_ranks()
        self.precision.step(self.optimizer)
        # None, not zero: a layer no arch of the next step uses must not move on stale momentum
        self.optimizer.clear_grad(set_to_zero=False)
        if self.schedule is not None:  # here, not in a callback: a mid-epoch checkpoint holds the stepped schedule
            self.schedule.step()
        self.global_step += 1
        # the step's one copy to the host (hapi logs the loss): one per subnet empties a GPU's queue each time
        mean = paddle.stack(step_losses).astype("float64").mean().numpy() if step_losses else np.float64("nan")
        return [np.array([mean], dtype=np.float32).reshape([1])]

    def _subnet_loss(self, target, logits, x, y, inplace_logits):
        """The loss of one subnet: its labels, the largest's logits (in-place distillation) or the teacher's."""
        if target == "labels":
            return label_cross_entropy(logits, y)
        if target == "inplace":
            return distill_loss(self.distill_loss_name, logits, inplace_logits, y, self.temperature)
        with paddle.no_grad():
            teacher_logits = self.teacher(x)
        return distill_loss(self.distill_loss_name, logits, teacher_logits, y, self.temperature)

    def _backward_with_rank_loss(self, archs, losses, label_losses):
        """The rank loss compares the archs' cross-entropy on the labels (the quantity the
        evaluator ranks by), whatever each arch is trained on."""
        term = self.rank_loss(archs, label_losses, self.global_step / self.steps_per_epoch)
        self.last_rank_loss = float(term) if term is not None else 0.0
        objective = [*losses, term] if term is not None else losses
        if objective:
            self.precision.backward(paddle.add_n(objective))

    def prepare(self, optimizer, loss=None, schedule=None):
        """paddle.Model's prepare, keeping the optimizer and its learning-rate schedule in public
        attributes (hapi's own are private)."""
        super().prepare(optimizer, loss)
        self.optimizer, self.schedule = optimizer, schedule

    def _run_epoch(self, loader, callbacks, epoch, first_step=0):
        """One pass over `loader` (which skips the first `first_step` batches) with paddle's callback
        protocol (hapi's own loop is private). After a step, a requested stop (hnas.stopping) saves a
        mid-epoch checkpoint (logs["stopping"], the Checkpointer) and raises Stopped; at the epoch's
        last step the epoch ends first."""
        last = self.steps_per_epoch - 1
        batches = iter(loader)
        try:
            return self._run_steps(batches, callbacks, epoch, first_step, last)
        finally:
            if isinstance(batches, types.GeneratorType):  # hnas.data.loading's: a stop ends its workers too
                batches.close()

    def _run_steps(self, batches, callbacks, epoch, first_step, last):
        logs = {}
        for step, (images, labels) in enumerate(batches, first_step):
            callbacks.on_batch_begin("train", step, logs)
            lr = self.optimizer.get_lr()  # the step's own learning rate, for the logs
            losses = self.train_batch([images], [labels])
            stop_signal = step < last and self._stop_agreed()
            logs = {"loss": [loss.item() for loss in losses], "lr": lr, "step": step, "epoch": epoch,
                    "batch_size": images.shape[0] * self.world_size, "stopping": bool(stop_signal)}
            callbacks.on_batch_end("train", step, logs)
            if stop_signal:
                raise stopping.Stopped(stop_signal, f"epoch {epoch + 1}, step {step + 1} of {self.steps_per_epoch} "
                                                    f"(global step {self.global_step}), checkpoint saved")
        return logs

    def _stop_agreed(self):
        """The signal a stop was requested with (0: none), agreed by every rank so that all stop at
        the same step (one small all-reduce per step when there are several)."""
        signum = stopping.requested() or 0
        if self.world_size > 1:
            flag = paddle.to_tensor([signum], dtype="int32")
            paddle.distributed.all_reduce(flag, op=paddle.distributed.ReduceOp.MAX)
            signum = int(flag.numpy()[0])
        return signum

    def fit(self, train_data, epochs, batch_size, callbacks=(), loader_options=None, seed=0):
        """loader_options: paddle DataLoader options (hnas.build.loader_options: workers, shared memory);
        `seed`: of the augmentation draws (SeededDraws)."""
        stopping.arm()
        sampler = paddle.io.DistributedBatchSampler(train_data, batch_size, shuffle=True, drop_last=True)
        if isinstance(train_data, BatchSampling):  # image-folder training data: one crop size per batch
            sampler = train_data.batch_sampler_for(sampler)
        sampler = resumable = SkipFirstBatches(sampler)
        seeded = SeededDraws(train_data, seed)
        loader = data_loader(seeded, batch_sampler=sampler, return_list=True, **(loader_options or {}))
        steps = len(loader)
        if steps == 0:
            raise HnasError(f"the training set has {len(train_data)} images, fewer than one batch of {batch_size}")
        self.steps_per_epoch = steps
        # train_batch steps the schedule: hapi's own LRScheduler callback is turned off
        no_lr_callback = paddle.callbacks.LRScheduler(by_step=False, by_epoch=False)
        cbks = config_callbacks([*callbacks, no_lr_callback], model=self, epochs=epochs, steps=steps, verbose=0,
                                metrics=["loss"])
        cbks.on_begin("train")
        logs = {}
        for epoch in range(self.start_epoch, epochs):
            first_step = self.start_epoch_step if epoch == self.start_epoch else 0
            resumable.set_epoch(epoch, skip=first_step)
            seeded.epoch = epoch  # before the epoch's workers start: they get a copy of the dataset
            cbks.on_epoch_begin(epoch)
            logs = self._run_epoch(loader, cbks, epoch, first_step)
            self.epoch_scores = self.epoch_eval() if self.epoch_eval else {}
            cbks.on_epoch_end(epoch, logs)
            signum = self._stop_agreed() if epoch + 1 < epochs else 0
            if signum:
                raise stopping.Stopped(signum, f"the end of epoch {epoch + 1} (global step {self.global_step}), "
                                               f"checkpoint saved")
        cbks.on_end("train", logs)
        return logs
