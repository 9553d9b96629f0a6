"""Per-epoch checkpoints: `epoch_NNNN.pdparams/.pdopt` plus `latest.json`, all written atomically."""
from pathlib import Path

import numpy as np
import paddle

from hnas.errors import HnasError
from hnas.foreign_names import from_organisers_resnet20, is_organisers_resnet20
from hnas.io import atomic_write, load_state, read_json, write_json
from hnas.layout import CHECKPOINT_GLOBS, LATEST, STAGES, checkpoint_stem, mid_epoch_stem


def _paddle_save(obj, path):
    atomic_write(path, lambda tmp: paddle.save(obj, tmp))


class CheckpointDir:
    def __init__(self, root):
        self.root = Path(root)

    def latest(self):
        path = self.root / LATEST
        if not path.exists():
            return None
        return read_run_record(path)

    def save(self, network, optimizer, epoch, step, meta, keep=2, epoch_step=0):
        """Save after `epoch` (0-based) finished at global `step`; with `epoch_step` > 0, inside
        epoch `epoch` after that many of its steps (latest.json then counts `epoch` epochs done)."""
        stem = mid_epoch_stem(step) if epoch_step else checkpoint_stem(epoch + 1)
        _paddle_save(network.state_dict(), self.root / f"{stem}.pdparams")
        _paddle_save(_rename_keys(optimizer.state_dict(), network, to_structured=True),
                     self.root / f"{stem}.pdopt")
        write_json(self.root / LATEST, dict(meta, epoch=epoch if epoch_step else epoch + 1, epoch_step=epoch_step,
                                            step=step, params=f"{stem}.pdparams", optimizer=f"{stem}.pdopt"),
                   indent=2)
        saved = [p for pattern in CHECKPOINT_GLOBS if pattern.endswith(".pdparams") for p in self.root.glob(pattern)]
        for old in sorted(saved, key=lambda p: p.stat().st_mtime_ns)[:-keep]:
            old.unlink()
            old.with_suffix(".pdopt").unlink(missing_ok=True)


def _rename_keys(optimizer_state, network, to_structured):
    """Optimizer state is keyed by paddle's global parameter names (`conv2d_84.w_0_velocity_0`),
    which depend on how many layers the process built before; checkpoints use structured names."""
    pairs = [(p.name, name) for name, p in network.named_parameters()]
    if not to_structured:
        pairs = [(structured, runtime) for runtime, structured in pairs]
    pairs.sort(key=lambda pair: -len(pair[0]))
    renamed = {}
    for key, value in optimizer_state.items():
        for old, new in pairs:
            if key.startswith(old + "_"):
                key = new + key[len(old):]
                break
        renamed[key] = value
    return renamed


def restore_optimizer(optimizer, network, path):
    """Momentum creates a velocity only when a parameter first gets a gradient; paddle then
    insists that every later velocity is in the loaded state, so the missing ones load as zeros."""
    state = load_state(path)
    for name, param in network.named_parameters():
        key = f"{name}_velocity_0"
        if param.trainable and key not in state:
            state[key] = np.zeros(param.shape, dtype="float32")
    optimizer.set_state_dict(_rename_keys(state, network, to_structured=False))


def final_stage(checkpoint):
    """The run directory a checkpoint argument means: a multi-stage run's last supernet stage,
    anything else itself."""
    path = Path(checkpoint)
    listing = path / STAGES
    if not (path.is_dir() and listing.is_file()):
        return checkpoint
    try:
        stages = [s for s in read_json(listing, "stage listing") if s["kind"] == "supernet"]
        return path / stages[-1]["dir"]
    except (KeyError, TypeError, IndexError):
        raise HnasError(f"{listing} does not list the stages hnas train wrote") from None


def resolve_checkpoint(path):
    """A run directory (its latest epoch) or a `.pdparams` file -> (params path, meta or {})."""
    path = Path(path)
    if path.is_dir():
        meta = CheckpointDir(path).latest()
        if meta is None:
            raise HnasError(f"no checkpoint in {path}: expected {path / LATEST} written by `hnas train`")
        return path / meta["params"], meta
    if not path.is_file():
        raise HnasError(f"checkpoint not found: {path} (expected a run directory or a .pdparams file)")
    latest = path.parent / LATEST
    meta = read_run_record(latest) if latest.exists() else {}
    return path, meta


def read_run_record(path):
    """A run's latest.json, or one error: unreadable, or not the record hnas train writes."""
    record = read_json(path, "checkpoint record")
    missing = [key for key in ("params", "epoch", "step") if not isinstance(record, dict) or key not in record]
    if missing:
        raise HnasError(f"checkpoint record {path} was not written by hnas train (no {', '.join(missing)}); "
                        f"delete it or use another output dir")
    return record


def fitting_state(path, own, what="this model", optional=(), prefix=""):
    """The state dict at `path` checked against `own` ({name: tensor}), names in the CVPR 2021
    organisers' ResNet20 naming renamed first (hnas.foreign_names): one error naming what is
    missing, of another shape, or extra (a tensor nothing would load is a sign of the wrong file).
    Names containing one of `optional` may be missing (they keep their init). `prefix`: only the
    tensors under it, without it (the supernet inside a contrastive stage's checkpoint)."""
    state = load_state(path)
    if not isinstance(state, dict):
        raise HnasError(f"checkpoint {path} does not hold a state dict")
    if prefix:
        state = {name[len(prefix):]: tensor for name, tensor in state.items() if name.startswith(prefix)}
    if is_organisers_resnet20(state):
        state = from_organisers_resnet20(state, f"checkpoint {path}")
    missing = [k for k in own if k not in state and not any(part in k for part in optional)]
    wrong = [f"{k} {list(state[k].shape)} (expected {list(own[k].shape)})"
             for k in own if k in state and list(state[k].shape) != list(own[k].shape)]
    extra = [k for k in state if k not in own]
    if missing or wrong or extra:
        problems = [f"{len(missing)} missing ({', '.join(missing[:3])})" if missing else "",
                    f"wrong shape {', '.join(wrong[:3])}" if wrong else "",
                    f"{len(extra)} tensors it has no place for ({', '.join(extra[:3])})" if extra else ""]
        raise HnasError(f"checkpoint {path} does not fit {what}: {'; '.join(p for p in problems if p)}")
    return state


def load_params(network, path, prefix=""):
    network.set_state_dict(fitting_state(path, network.state_dict(),
                                         "this model (was it trained with another model config?)", prefix=prefix))
