import hashlib
import json
import re

import numpy as np
import paddle
import pytest

from hnas.errors import HnasError
from hnas.spaces import ResNet20Space
from hnas.spaces.samplers import UniformSampler
from hnas.train.plans import StepPlan
from hnas.train.run import train_standalone, train_supernet
from hnas.train.trainer import Trainer
from conftest import crash_training_at_step, tiny_config

SPACE = ResNet20Space()


def test_sandwich_plan_is_largest_smallest_then_sampled():
    sampler = UniformSampler(SPACE, seed=0)
    plan = StepPlan("sandwich", SPACE, sampler, num_archs=5, distill="inplace")
    step = plan(7)
    assert [t for _, t in step] == ["labels", "inplace", "inplace", "inplace", "inplace"]
    assert step[0][0] == SPACE.largest() and step[1][0] == SPACE.smallest()
    assert [a for a, _ in step[2:]] == [sampler.draw(7 * 3 + j) for j in range(3)]
    assert plan(7) == step  # a pure function of the step: ranks and resumed runs agree
    assert StepPlan("single_path", SPACE, sampler)(4) == [(sampler.draw(4), "labels")]


def test_size_biased_plan_trains_the_largest_of_its_draws_and_a_random_one_every_third_step():
    from hnas.train.size_biased import SizeBiasedPlan, width_sum
    sampler = UniformSampler(SPACE, seed=0)
    plan = SizeBiasedPlan(SPACE, sampler, num_archs=3, candidates=20, extra_every=3, scale_loss=True)
    for step in (4, 6):
        trained = plan(step)
        candidates = [sampler.draw(step * 20 + j, step) for j in range(20)]
        chosen = [arch for arch, _ in trained[:3]]
        assert all(target == "labels" for _, target in trained) and plan(step) == trained
        assert all(arch in candidates for arch in chosen)
        assert min(width_sum(SPACE, a) for a in chosen) >= max(width_sum(SPACE, a) for a in candidates if a not in chosen)
        assert len(trained) == (4 if step % 3 == 0 else 3)
    entries = [(SPACE.largest(), "labels"), (SPACE.smallest(), "labels")]
    largest, smallest = plan.loss_scales(0, entries)
    assert largest == 1.0 and 0 < smallest < 0.5
    assert SizeBiasedPlan(SPACE, sampler, num_archs=3, candidates=20).loss_scales(0, entries) is None


def test_nsas_keeps_a_diverse_archive_that_a_resumed_run_or_another_rank_replays_exactly():
    from hnas.train.nsas import NsasPlan
    sampler = UniformSampler(SPACE, seed=1)

    def plan():
        return NsasPlan(SPACE, sampler, num_archs=2, archive_size=5, recent=12, knn=3, refresh_every=20)
    running = plan()
    archives = [running.archive(step) for step in range(45)]  # step by step, as training runs
    assert all(len(archive) == 5 for archive in archives)
    assert set(map(SPACE.format, archives[20])) <= set(map(SPACE.format, running._fresh(20) + running._recent(20, 2)))
    resumed = plan()
    assert resumed.archive(37) == archives[37] and resumed.archive(44) == archives[44]  # replayed from step 20
    assert [arch for arch, _ in running(30)] == running._sampled(30) + archives[30]
    scales = running.loss_scales(30, running(30))
    assert scales == [0.5, 0.5] + [0.1] * 5
    # an update only ever raises the replaced member's distance to the rest of the archive
    archive, probe = list(archives[10]), plan()
    for step in range(11, 19):
        for j, arch in enumerate(probe._sampled(step)):
            vectors = np.stack([probe._vector(a) for a in archive])
            nearest = int(np.argmin(np.abs(vectors - probe._vector(arch)).mean(axis=1)))
            rest = np.delete(vectors, nearest, axis=0)
            before = probe._knn_scores(probe._vector(archive[nearest])[None], rest)[0]
            probe._update(archive, arch, step, j + 1)
            assert probe._knn_scores(probe._vector(archive[nearest])[None], rest)[0] >= before


def test_one_step_accumulates_every_arch_gradient():
    """train_batch = sum of each arch's gradients, then exactly one optimizer step."""
    from hnas.models import ResNet20Supernet
    paddle.seed(0)
    net = ResNet20Supernet(num_classes=10)
    archs = [SPACE.largest(), UniformSampler(SPACE, seed=1).draw(0)]

    class TwoArchs(StepPlan):
        def __init__(self):
            super().__init__("dyna_batch", SPACE)

        def __call__(self, step):
            return [(a, "labels") for a in archs]

    x = paddle.randn([8, 3, 8, 8])
    y = paddle.to_tensor(np.arange(8) % 10, dtype="int64")
    before = {n: p.numpy().copy() for n, p in net.named_parameters()}
    grads = {}
    for arch in archs:
        net.set_arch(arch)
        loss = paddle.nn.functional.cross_entropy(net(x), y)
        loss.backward()
    for n, p in net.named_parameters():
        grads[n] = None if p.grad is None else p.grad.numpy().copy()
    net.clear_gradients()
    net.set_state_dict({n: paddle.to_tensor(v) for n, v in before.items()})  # undo BN stat updates too
    trainer = Trainer(net, TwoArchs(), 8)
    trainer.prepare(paddle.optimizer.SGD(learning_rate=1.0, parameters=net.parameters()))
    trainer.train_batch([x], [y])
    for n, p in net.named_parameters():
        if grads[n] is not None:
            np.testing.assert_allclose(p.numpy(), before[n] - grads[n], rtol=1e-4, atol=1e-5)
    assert trainer.global_step == 1


def _params_digest(run_dir):
    latest = json.loads((run_dir / "latest.json").read_text())
    state = paddle.load(str(run_dir / latest["params"]))
    return latest, {k: np.asarray(v) for k, v in state.items()}


@pytest.mark.every_stack
def test_interrupted_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    train_supernet(tiny_config(tmp_path / "clean", **{"train.epochs": 3}))
    restore = crash_training_at_step(monkeypatch, 8)  # in epoch two
    with pytest.raises(KeyboardInterrupt):
        train_supernet(tiny_config(tmp_path / "resumed", **{"train.epochs": 3}))
    assert json.loads((tmp_path / "resumed" / "latest.json").read_text())["epoch"] == 1
    restore()
    trainer = train_supernet(tiny_config(tmp_path / "resumed", **{"train.epochs": 3}))
    assert trainer.start_epoch == 1 and trainer.global_step == 18
    clean_meta, clean = _params_digest(tmp_path / "clean")
    resumed_meta, resumed = _params_digest(tmp_path / "resumed")
    assert clean_meta["step"] == resumed_meta["step"] == 18
    for name in clean:
        np.testing.assert_allclose(resumed[name], clean[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert len(list((tmp_path / "resumed").glob("epoch_*.pdparams"))) == 2  # keep_checkpoints
    assert (tmp_path / "resumed" / "train.log").read_text().count("epoch 3 done") == 1
    assert list((tmp_path / "resumed" / "vdl").iterdir())


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "run"
    train_supernet(tiny_config(run, **{"train.epochs": 1}))
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.glob("epoch_*")}
    latest = (run / "latest.json").read_text()
    import hnas.train.trainer as trainer_module
    real_loss, calls = trainer_module.distill_loss, []

    def diverging_loss(*args, **kwargs):
        calls.append(1)  # two distilled archs per step: from the third step of the resumed run on
        loss = real_loss(*args, **kwargs)
        return loss * float("nan") if len(calls) > 4 else loss

    monkeypatch.setattr(trainer_module, "distill_loss", diverging_loss)
    with pytest.raises(HnasError, match="loss is nan at global step 9.*last good checkpoint is kept"):
        train_supernet(tiny_config(run, **{"train.epochs": 3}))
    assert (run / "latest.json").read_text() == latest
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.glob("epoch_*")} == files


def test_resuming_with_another_model_is_refused(tmp_path):
    train_supernet(tiny_config(tmp_path, **{"train.epochs": 1}))
    with pytest.raises(HnasError, match="holds a run of another model"):
        train_supernet(tiny_config(tmp_path, **{"model.bn": "independent"}))


def test_resuming_with_another_recipe_is_refused_and_keeps_the_run(tmp_path):
    train_supernet(tiny_config(tmp_path, **{"train.epochs": 1}))
    latest = (tmp_path / "latest.json").read_text()
    with pytest.raises(HnasError, match=r"trained with other settings \(train.lr 0.05 -> 0.2\).*--fresh"):
        train_supernet(tiny_config(tmp_path, **{"train.epochs": 2, "train.lr": 0.2}))
    assert (tmp_path / "latest.json").read_text() == latest
    train_supernet(tiny_config(tmp_path, **{"train.epochs": 2, "train.log_every": 1}))  # longer, other logging
    assert json.loads((tmp_path / "latest.json").read_text())["epoch"] == 2


def test_more_epochs_continue_on_the_longer_schedule(tmp_path):
    """Paddle's cosine decay is recursive; a restored 1-epoch state would keep the lr at 0."""
    def logged_lrs(run):
        return [float(lr) for lr in re.findall(r"step \d+ loss \S+ lr (\S+)", (run / "train.log").read_text())]
    flags = {"train.log_every": 1}
    train_supernet(tiny_config(tmp_path / "extended", **{"train.epochs": 1, **flags}))
    train_supernet(tiny_config(tmp_path / "extended", **{"train.epochs": 3, **flags}))
    train_supernet(tiny_config(tmp_path / "straight", **{"train.epochs": 3, **flags}))
    extended, straight = logged_lrs(tmp_path / "extended"), logged_lrs(tmp_path / "straight")
    assert len(extended) == len(straight) == 18
    assert extended[6:] == straight[6:] and min(extended[6:-1]) > 0


@pytest.mark.parametrize("overrides", [
    {"train.strategy": "single_path", "train.distill": "none", "train.sampler": "uniform"},
    {"train.same_batch": False, "train.middle_sampler": "params_pool"},
    {"train.distill_loss": "mixed", "model.always_project": True, "model.bn_running_stats": False,
     "data.augment": "cutout"},
    {"train.strategy": "size_biased", "train.distill": "none", "train.num_archs": 2, "train.size_candidates": 8,
     "train.size_scaled_loss": True},
    {"train.strategy": "nsas", "train.distill": "none", "train.sampler": "uniform", "train.num_archs": 1,
     "train.nsas_archive": 3, "train.nsas_recent": 4, "train.nsas_knn": 2, "train.nsas_refresh_every": 4},
], ids=["single-path", "sandwich-different-batches", "2nd-place-mixed", "size-biased", "nsas"])
def test_strategies_train(tmp_path, overrides):
    trainer = train_supernet(tiny_config(tmp_path, **{"train.epochs": 1, "train.eval_every": 1, **overrides}))
    assert trainer.global_step == 6
    assert 0.0 <= trainer.epoch_scores["largest_acc"] <= 1.0
    assert np.isfinite(trainer.epoch_scores["smallest_loss"])


def test_standalone_ground_truth_and_fixed_teacher(tmp_path):
    largest = SPACE.format(SPACE.largest())
    result = train_standalone(tiny_config(tmp_path), largest, out_dir=tmp_path / "teacher")
    assert result["arch"] == largest and 0.0 <= result["acc"] <= 1.0 and result["loss"] > 0
    written = json.loads((tmp_path / "teacher" / "result.json").read_text())
    assert written["acc"] == result["acc"]
    trainer = train_supernet(tiny_config(tmp_path / "student", **{
        "train.epochs": 1, "train.distill": "teacher", "train.teacher_checkpoint": str(tmp_path / "teacher")}))
    assert trainer.teacher is not None and trainer.global_step == 6


BRANCHED = {"model.conv": "branch", "model.bn": "branch", "model.fc": "branch", "train.branch_epoch": 0}


@pytest.mark.parametrize("sharing", [{}, BRANCHED], ids=["full", "branch"])
def test_a_training_step_copies_to_the_host_once(tmp_path, monkeypatch, sharing):
    """Issue 25: a step of the sandwich (4 subnets, in-place distillation) copied each subnet's loss
    to the host and wrote BN statistics through it (1,144 copies a step for the 2021 winner's
    branches); now the step's mean loss is its one copy."""
    from conftest import host_copies_per_call, tiny_config
    from hnas.train.run import train_supernet
    from hnas.train.trainer import Trainer
    copies = host_copies_per_call(monkeypatch, Trainer, "train_batch")
    train_supernet(tiny_config(tmp_path, **{"train.epochs": 1, "train.strategy": "sandwich", "train.num_archs": 4,
                                            "train.distill": "inplace", **sharing}))
    assert copies and set(copies) == {1}, copies


def test_data_loader_options_reach_training_and_scoring(tmp_path, monkeypatch):
    """data.num_workers and data.shared_memory go to every DataLoader: training's and the scorer's
    (the scorer read with paddle's defaults; shared memory was not a recipe key, issue 25)."""
    import paddle
    from conftest import tiny_config
    from hnas.build import build_scorer
    from hnas.train.run import train_supernet
    seen = []
    loader = paddle.io.DataLoader

    def recording(*args, **kwargs):
        seen.append({k: kwargs.get(k) for k in ("num_workers", "use_shared_memory")})
        return loader(*args, **kwargs)

    monkeypatch.setattr(paddle.io, "DataLoader", recording)
    config = tiny_config(tmp_path, **{"train.epochs": 1, "data.shared_memory": False})
    train_supernet(config)
    build_scorer(config, tmp_path)
    assert len(seen) >= 3 and all(s == {"num_workers": 0, "use_shared_memory": False} for s in seen), seen


LAUNCHED_REDUCTION = r'''
import zlib  # noqa: F401
import json, sys
import numpy as np
import paddle
from hnas.config import load_config
from hnas.train import trainer as trainer_module
from hnas.train.run import train_supernet

config, out = load_config(None, **json.loads(sys.argv[1])), sys.argv[2]
average, all_reduce = trainer_module.Trainer._average_gradients_across_ranks, paddle.distributed.all_reduce
calls = []
paddle.distributed.all_reduce = lambda *a, **k: calls.append(1) or all_reduce(*a, **k)

def recording(self):
    grads = lambda: [p.grad.numpy().copy() for p in self.network.parameters() if p.grad is not None]
    before = grads()
    del calls[:]
    average(self)
    if self.global_step == 0:
        np.savez(f"{out}/rank{paddle.distributed.get_rank()}.npz", calls=len(calls),
                 **{f"before{i}": g for i, g in enumerate(before)}, **{f"after{i}": g for i, g in enumerate(grads())})

trainer_module.Trainer._average_gradients_across_ranks = recording
train_supernet(config)
'''


def test_gradients_are_averaged_across_two_launched_ranks_in_buckets(tmp_path):
    """Issue 25: one all-reduce per gradient tensor (8,156 a step for independent sharing); now one
    per bucket of 25 MB, with the same averages."""
    import json
    import os
    import subprocess
    import sys
    from conftest import ROOT, TINY
    from hnas.train.trainer import gradient_buckets
    assert gradient_buckets([10, 10, 30, 5, 5, 50, 1], 20) == [[0, 1], [2], [3, 4], [5], [6]]
    script = tmp_path / "launched.py"
    script.write_text(LAUNCHED_REDUCTION)
    overrides = {**TINY, "train.epochs": 1, "model.conv": "independent", "output.dir": str(tmp_path / "run")}
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
           str(tmp_path / "log"), str(script), json.dumps(overrides), str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                          text=True, timeout=600)
    logs = "".join(p.read_text()[-1500:] for p in (tmp_path / "log").glob("workerlog.*"))
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:] + logs
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    count = len([k for k in ranks[0].files if k.startswith("before")])
    assert count > 100 and int(ranks[0]["calls"]) == int(ranks[1]["calls"]) == 1  # a small net is one bucket
    differ = 0
    for i in range(count):
        mean = (ranks[0][f"before{i}"] + ranks[1][f"before{i}"]) / 2
        differ += not np.array_equal(ranks[0][f"before{i}"], ranks[1][f"before{i}"])
        for rank in ranks:
            np.testing.assert_allclose(rank[f"after{i}"], mean, rtol=1e-6, atol=1e-7)
    assert differ > count // 2  # each rank had its own share of the batch
