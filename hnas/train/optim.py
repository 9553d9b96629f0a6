"""Momentum SGD with linear warm-up (counted in steps) into cosine decay, stepped every batch."""
import paddle

from hnas.errors import HnasError


def build_optimizer(parameters, lr, momentum, weight_decay, total_steps, warmup_steps=0,
                    clip_norm=None, nesterov=False):
    """(optimizer, its learning-rate schedule), which Trainer.prepare takes."""
    if total_steps <= 0:
        raise HnasError(f"nothing to train: {total_steps} total steps")
    warmup_steps = min(int(warmup_steps or 0), total_steps - 1)
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(lr, T_max=max(1, total_steps - warmup_steps))
    if warmup_steps > 0:
        schedule = paddle.optimizer.lr.LinearWarmup(schedule, warmup_steps, start_lr=0.0, end_lr=lr)
    optimizer = paddle.optimizer.Momentum(
        learning_rate=schedule, momentum=momentum, parameters=parameters, use_nesterov=nesterov,
        weight_decay=paddle.regularizer.L2Decay(weight_decay) if weight_decay else None,
        grad_clip=paddle.nn.ClipGradByGlobalNorm(clip_norm) if clip_norm else None)
    return optimizer, schedule
