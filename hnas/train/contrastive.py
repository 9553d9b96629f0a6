"""A self-supervised contrastive stage (MoCo v2, He et al. 2020; the CVPR 2022 Track 1 1st place's
first stage): the supernet's largest arch embeds two augmented views of each image; a momentum
copy of it (and of the projection head) embeds the second view as the key; InfoNCE pulls each
query to its key and away from a queue of earlier keys. Only the supernet's weights go on to the
next stage; the heads, the momentum copy and the queue live in this stage's checkpoints so that it
resumes exactly.
"""
import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from hnas.interfaces import BatchSampling
from hnas.train.plans import StepPlan
from hnas.train.trainer import Trainer

KIND = "contrastive"  # the run record's kind: the next stage loads only SUPERNET's weights
SUPERNET = "supernet."  # prefix of the supernet's tensors in this stage's checkpoints


class TwoViews(paddle.io.Dataset):
    """Each item as two independent draws of the dataset's random augmentation, stacked:
    images [2, C, H, W] (under SeededDraws both come from the item's own seed)."""

    def __init__(self, dataset):
        self.dataset = dataset

    @classmethod
    def of(cls, dataset):
        """TwoViews of `dataset`, keeping its batch sampling (an image folder's crop size per batch)."""
        return TwoViewsBatchSampling(dataset) if isinstance(dataset, BatchSampling) else cls(dataset)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, item):
        first, label = self.dataset[item]
        second, _ = self.dataset[item]
        return np.stack([np.asarray(first), np.asarray(second)]), label


class TwoViewsBatchSampling(TwoViews):
    def batch_sampler_for(self, sampler):
        return self.dataset.batch_sampler_for(sampler)


class ProjectionHead(nn.Layer):
    """MoCo v2's MLP on the pooled features: linear, ReLU, linear to `dim`."""

    def __init__(self, channels, dim):
        super().__init__()
        self.hidden, self.out = nn.Linear(channels, channels), nn.Linear(channels, dim)

    def forward(self, features):
        pooled = F.adaptive_avg_pool2d(features, 1).flatten(1)
        return self.out(F.relu(self.hidden(pooled)))


class ContrastiveNet(nn.Layer):
    """The supernet and its head (trained), their momentum copies and the queue of keys.
    `key_supernet`: a second supernet of the same kind; it starts as a copy of `supernet`."""

    def __init__(self, supernet, key_supernet, channels, dim=128, queue=65536, momentum=0.999, temperature=0.2,
                 seed=0):
        super().__init__()
        self.supernet, self.head = supernet, ProjectionHead(channels, dim)
        self.key_supernet, self.key_head = key_supernet, ProjectionHead(channels, dim)
        self.key_supernet.set_state_dict(supernet.state_dict())
        self.key_head.set_state_dict(self.head.state_dict())
        for param in self.key_supernet.parameters() + self.key_head.parameters():
            param.stop_gradient = True  # moved by momentum_update alone (the optimizer takes trainable ones)
        keys = np.random.default_rng(seed).standard_normal((queue, dim)).astype("float32")
        self.register_buffer("queue", paddle.to_tensor(keys / np.linalg.norm(keys, axis=1, keepdims=True)))
        self.momentum, self.temperature = momentum, temperature

    def set_arch(self, arch):
        self.supernet.set_arch(arch)
        self.key_supernet.set_arch(arch)

    def query(self, images):
        return F.normalize(self.head(self.supernet.features(images)), axis=1)

    @paddle.no_grad()
    def key(self, images):
        return F.normalize(self.key_head(self.key_supernet.features(images)), axis=1)

    def info_nce(self, query, key):
        """Cross-entropy of picking each query's own key among it and the queue."""
        positive = (query * key).sum(axis=1, keepdim=True)
        negative = paddle.matmul(query, self.queue.detach(), transpose_y=True)
        logits = paddle.concat([positive, negative], axis=1) / self.temperature
        return F.cross_entropy(logits, paddle.zeros([query.shape[0], 1], dtype="int64"))

    @paddle.no_grad()
    def momentum_update(self):
        for key_param, param in zip(self.key_supernet.parameters() + self.key_head.parameters(),
                                    self.supernet.parameters() + self.head.parameters()):
            key_param.set_value(key_param * self.momentum + param * (1.0 - self.momentum))

    @paddle.no_grad()
    def enqueue(self, keys, step):
        """Write `keys` over the oldest: the step's batch is constant (drop_last), so where they go
        follows from the step, and a resumed run writes where the run never stopped did."""
        size, count = self.queue.shape[0], min(keys.shape[0], self.queue.shape[0])
        positions = paddle.to_tensor((step * keys.shape[0] + np.arange(count)) % size, dtype="int64")
        self.queue.set_value(paddle.scatter(self.queue, positions, keys[:count], overwrite=True))


class ContrastivePlan(StepPlan):
    """The largest arch, every step, learning from the contrastive objective."""

    def __init__(self, space):
        super().__init__("single_path", space)

    def _trained(self, step):
        return [(self.space.largest(), KIND)]


class ContrastiveTrainer(Trainer):
    """Trainer steps on (two views, labels unused): InfoNCE of the query view against the key view."""

    def train_batch(self, inputs, labels=None, update=True):
        net = self.network
        net.train()
        views = inputs[0]
        (arch, _), = self.plan(self.global_step)
        net.set_arch(arch)
        net.momentum_update()
        keys = net.key(views[:, 1])
        with self.precision.autocast():
            loss = net.info_nce(net.query(views[:, 0]), keys)
        self.precision.backward(loss)
        self._average_gradients_across_ranks()
        self.precision.step(self.optimizer)
        self.optimizer.clear_grad(set_to_zero=False)
        if self.world_size > 1:
            gathered = []
            paddle.distributed.all_gather(gathered, keys)
            keys = paddle.concat(gathered)
        net.enqueue(keys, self.global_step)
        if self.schedule is not None:
            self.schedule.step()
        self.global_step += 1
        return [np.array([loss.item()], dtype=np.float32)]
