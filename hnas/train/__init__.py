"""Supernet and stand-alone training: one Trainer, step plans, losses, callbacks, checkpoints."""
