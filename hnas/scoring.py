"""Scoring one network or one supernet arch on fixed, preloaded test batches."""
from contextlib import contextmanager, nullcontext

import numpy as np
import paddle
import paddle.nn.functional as F

from hnas.data import split_normalization
from hnas.data.loading import data_loader
from hnas.errors import HnasError
from hnas.image_subsets import random_subset
from hnas.precision import Precision


CACHE_BYTES = 1 << 30


class FixedBatches:
    """The same (images, labels) batches on every pass: the dataset's images at `indices` (all
    of them by default). When their uint8 bytes fit in CACHE_BYTES (CIFAR, digits, the 2022
    recipes' 5,000 ImageNet crops at 224 px: 0.75 GB) they are read once, kept as uint8 on the
    device (as numpy on a CPU) and normalised per pass; otherwise every pass reads them again (a
    whole ImageNet val folder), normalised by the data loader's workers."""

    def __init__(self, dataset, batch_size, indices=None, loader_options=None):
        """dataset: an evaluation dataset (hnas.data.split_normalization); loader_options: paddle
        DataLoader options (hnas.build.loader_options: workers, shared memory)."""
        self.indices = np.arange(len(dataset)) if indices is None else np.asarray(indices)
        self.dataset, self.batch_size, self.loader_options = dataset, batch_size, dict(loader_options or {})
        uint8_source, self.normalize = split_normalization(dataset)
        first = np.asarray(uint8_source[int(self.indices[0])][0]) if len(self.indices) else np.zeros(0)
        self.cached = None
        if first.nbytes * len(self.indices) <= CACHE_BYTES:
            self.cached = [(images.numpy() if images.place.is_cpu_place() else images, labels)
                           for images, labels in self._read(uint8_source)]

    def _read(self, dataset):
        subset = paddle.io.Subset(dataset, [int(i) for i in self.indices])
        loader = data_loader(subset, batch_size=self.batch_size, shuffle=False, return_list=True,
                             **self.loader_options)
        for images, labels in loader:
            yield images, labels.reshape([-1]).astype("int64")

    def __iter__(self):
        if self.cached is None:
            return self._read(self.dataset)
        return ((self.normalize.batch(images), labels) for images, labels in self.cached)

    def __len__(self):
        return -(-len(self.indices) // self.batch_size)


def fixed_batches(dataset, batch_size, max_images=None, seed=0, loader_options=None):
    """FixedBatches of the whole dataset, or of a fixed random subset of max_images."""
    count = len(dataset)
    indices = random_subset(count, max_images, seed) if max_images is not None and max_images < count else None
    return FixedBatches(dataset, batch_size, indices, loader_options)


@paddle.no_grad()
def loss_and_accuracy(network, batches, precision=None):
    """Mean cross-entropy and accuracy over the batches, summed on the device (in float64, as the
    host summed them before) and copied to the host once: a copy per batch empties a GPU's queue.
    precision: the forward's mixed precision (hnas.precision; default float32)."""
    precision = precision or Precision()
    total_loss, correct, count = paddle.zeros([], "float64"), paddle.zeros([], "float64"), 0
    for images, labels in batches:
        with precision.autocast():
            logits = precision.float32(network(images))
        total_loss += F.cross_entropy(logits, labels, reduction="sum").astype("float64").reshape([])
        correct += (paddle.argmax(logits, axis=-1) == labels).astype("float64").sum()
        count += labels.shape[0]
    total_loss, correct = paddle.stack([total_loss, correct]).numpy().tolist()
    return {"loss": total_loss / count, "acc": int(correct) / count}


class SupernetScorer:
    """Scores archs of a supernet; every arch starts from the same stored BN statistics, so a
    score does not depend on which archs were scored before it (shards and resumes agree)."""

    def __init__(self, supernet, test_batches, bn_mode="batch", metric="loss", calib_batches=None, precision=None):
        if bn_mode.startswith("calib") and not calib_batches:
            raise HnasError(f"bn_mode {bn_mode} needs calibration batches")
        self.supernet, self.test_batches = supernet, test_batches
        self.bn_mode, self.metric, self.calib_batches = bn_mode, metric, calib_batches
        self.precision = precision or Precision()

    @contextmanager
    def arch_ready(self, arch):
        """The supernet set to `arch` in eval mode with the BN statistics its bn_mode scores with
        (calibrated ones for calib_*); the stored statistics are restored afterwards."""
        net = self.supernet
        was_training = net.training
        net.set_arch(arch)
        net.eval()
        saved = ({name: t.clone() for name, t in net.running_statistics().items()}
                 if self.bn_mode.startswith("calib") else None)
        try:
            with net.weights_fixed():
                if saved is not None:
                    self._calibrate()
                yield net
        finally:
            if saved is not None:
                current = net.running_statistics()
                for name, value in saved.items():
                    paddle.assign(value, output=current[name])  # on the device (set_value copies through the host)
            if was_training:
                net.train()

    @contextmanager
    def scoring_net(self, arch):
        """The supernet as it scores `arch`: arch_ready, and with bn_mode batch, batch statistics."""
        with self.arch_ready(arch) as net, (net.bn_stats_mode("batch") if self.bn_mode == "batch" else nullcontext()):
            yield net

    @paddle.no_grad()
    def per_image_losses(self, arch):
        """Cross-entropy of every test image (in the order of the test batches) under `arch`."""
        losses = []
        with self.scoring_net(arch) as net:
            for images, labels in self.test_batches:
                with self.precision.autocast():
                    logits = self.precision.float32(net(images))
                losses.append(F.cross_entropy(logits, labels, reduction="none").numpy().reshape(-1))
        return np.concatenate(losses)

    def for_arch(self, arch):
        """The scorer that scores `arch` (this one; a few-shot scorer picks the arch's part)."""
        return self

    def evaluate(self, arch):
        """{'loss', 'acc', 'score'}; score is -loss or acc, higher is better."""
        with self.scoring_net(arch) as net:
            result = loss_and_accuracy(net, self.test_batches, self.precision)
        result["score"] = -result["loss"] if self.metric == "loss" else result["acc"]
        return result

    @paddle.no_grad()
    def _calibrate(self):
        with self.supernet.bn_stats_mode("calibrate"), self.precision.autocast():
            for images, _ in self.calib_batches:
                self.supernet(images)
        self.supernet.finish_calibration()


class PartRoutedScorer:
    """A few-shot supernet's scorer: each arch is scored by the sub-supernet of its part.
    `part_scorer(i)` builds part i's SupernetScorer, on first use, so a run that scores one
    part loads one sub-supernet."""

    def __init__(self, part_of, part_scorer):
        self.part_of, self.part_scorer, self.scorers = part_of, part_scorer, {}

    def for_arch(self, arch):
        part = self.part_of(arch)
        if part not in self.scorers:
            self.scorers[part] = self.part_scorer(part)
        return self.scorers[part]

    def evaluate(self, arch):
        return self.for_arch(arch).evaluate(arch)
