"""The 2022 kit end to end on tiny image folders: train the ResOFA supernet with the foundation's
Trainer, then score a slice of the real 45k list into a competition-format submission."""
import json

import paddle
import pytest

from conftest import load_anchor
from hnas.config import load_config
from hnas.evaluate.run import evaluate_arch_file
from hnas.models import ResNet48
from hnas.spaces import ResNet48Space, build_sampler
from hnas.train.plans import StepPlan
from hnas.train.run import train_supernet

SPACE = ResNet48Space()


def tiny48(image_folder, run_dir, **overrides):
    return load_config("configs/cvpr2022_track1_3rd_prelu.yaml", **{
        "data.root": str(image_folder), "data.image_size": 32, "data.crop_sizes": [24, 32],
        "data.batch_size": 8, "data.num_workers": 0,
        "train.epochs": 1, "train.warmup_epochs": 0, "train.num_archs": 3, "train.eval_every": 0,
        "train.lr_reference_batch": None, "train.lr": 0.01, "model.pretrained": None,
        "eval.batch_size": 9, "eval.calib_batches": 1, "output.dir": str(run_dir), **overrides})


@pytest.fixture(scope="module")
def trained48(image_folder, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run48")
    train_supernet(tiny48(image_folder, run_dir))
    return run_dir


def test_sandwich_training_writes_a_resumable_checkpoint(trained48):
    latest = json.loads((trained48 / "latest.json").read_text())
    assert latest["epoch"] == 1 and latest["step"] == 3
    assert latest["model"]["name"] == "resnet48_prelu" and latest["space"] == "resnet48"
    assert (trained48 / latest["params"]).exists() and (trained48 / "train.log").exists()


@pytest.mark.parametrize("bn_mode", ["batch", "calib_train"])
def test_submission_for_a_slice_of_the_real_45k_list(trained48, image_folder, tmp_path, bn_mode):
    real = load_anchor("cvpr2022_track1_test_45k.json")
    keys = list(real)[:4] + list(real)[-2:]
    archs = tmp_path / "CVPR_2022_NAS_Track1_test_slice.json"
    archs.write_text(json.dumps({k: real[k] for k in keys}))
    out = tmp_path / "submission.json"
    config = tiny48(image_folder, trained48, **{"eval.bn_mode": bn_mode, "eval.metric": "acc"})
    evaluate_arch_file(config, trained48, archs, out)
    result = json.loads(out.read_text())
    assert list(result) == keys
    for key in keys:
        assert result[key]["arch"] == real[key]["arch"]
        assert 0.0 <= result[key]["acc"] <= 1.0


def test_pretrained_teacher_dyna_batch_and_progressive_shrinking(image_folder, tmp_path):
    paddle.seed(0)
    pretrained = tmp_path / "resnet48.pdparams"
    paddle.save(ResNet48(SPACE.largest(), num_classes=3).state_dict(), str(pretrained))
    config = tiny48(image_folder, tmp_path / "run", **{
        "model.name": "resnet48", "model.pretrained": str(pretrained), "model.reorder": True,
        "train.strategy": "dyna_batch", "train.num_archs": 2, "train.sampler": "progressive",
        "train.phase_epochs": 1, "train.distill": "teacher", "train.distill_loss": "mixed",
        "train.teacher_checkpoint": str(pretrained), "train.lr_reference_batch": 256, "train.epochs": 2})
    trainer = train_supernet(config)
    assert trainer.global_step == 6
    phase0 = [arch for step in range(3) for arch, _ in trainer.plan(step)]
    assert all(code == 1 for a in phase0 for blocks in a.stages for pair in blocks for code in pair)
    assert trainer._optimizer._learning_rate.base_lr == pytest.approx(0.01 * 8 / 256)  # scaled by batch


def test_plan_draws_agree_for_every_rank_and_resume():
    """Ranks build the plan from the same seed and step, so they activate the same subnets."""
    def plan():
        sampler = build_sampler("progressive", SPACE, seed=7, steps_per_epoch=5, phase_epochs=[1, 1, 1, 1, 1])
        return StepPlan("sandwich", SPACE, sampler, num_archs=4, distill="inplace")
    rank0, rank1 = plan(), plan()
    for step in (0, 3, 9, 17, 40):
        assert rank0(step) == rank1(step)
