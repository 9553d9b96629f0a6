"""The 2022 kit end to end on tiny image folders: train the ResOFA supernet with the foundation's
Trainer, then score a slice of the real 45k list into a competition-format submission."""
import json

import paddle
import pytest

from conftest import load_anchor
from hnas.config import load_config
from hnas.evaluate.run import evaluate_arch_file
from hnas.layout import SAMPLE_RANGES
from hnas.models import ResNet48
from hnas.spaces import ResNet48Space, build_sampler
from hnas.spaces.list_ranges import ListRanges
from hnas.spaces.split import SpaceSplit
from hnas.train.plans import StepPlan
from hnas.train.run import train_supernet

SPACE = ResNet48Space()


def tiny48(image_folder, run_dir, recipe="configs/cvpr2022_track1_3rd_prelu.yaml", **overrides):
    return load_config(recipe, **{
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


def test_predict_scores_a_sample_of_the_real_45k_list_and_fills_in_the_rest(trained48, image_folder, tmp_path):
    from hnas.predictor.run import predict_with_supernet
    real = load_anchor("cvpr2022_track1_test_45k.json")
    keys = list(real)[:40]
    archs = tmp_path / "slice.json"
    archs.write_text(json.dumps({k: real[k] for k in keys}))
    out = tmp_path / "predicted.json"
    record = predict_with_supernet(tiny48(image_folder, trained48, **{"eval.metric": "acc"}), trained48, archs, out,
                                   sample=10)
    result = json.loads(out.read_text())
    assert list(result) == keys and record["space"] == "resnet48"
    assert record["scored"] == 10 and record["predicted"] == 30 and "CVPR 2022 Track 1 rules forbid" in record["note"]
    supernet = json.loads((tmp_path / "predicted.json.sample" / "round1.scores.json").read_text())
    assert sorted(supernet) == sorted(record["scored_keys"])
    assert all(result[k]["acc"] == supernet[k]["acc"] for k in supernet)


def test_resofa_calibration_leaves_no_trace_and_an_epoch_eval_does_not_change_the_checkpoint(trained48, image_folder,
                                                                                              tmp_path):
    from conftest import assert_calibration_leaves_no_trace, assert_same_checkpoints
    from hnas.build import build_scorer
    scorer, _ = build_scorer(tiny48(image_folder, trained48, **{"eval.bn_mode": "calib_train"}), trained48)
    assert_calibration_leaves_no_trace(scorer, SPACE.smallest(), SPACE.largest())
    for run, every in (("evaluated", 1), ("not", 0)):
        train_supernet(tiny48(image_folder, tmp_path / run, **{"eval.bn_mode": "calib_train", "train.eval_every": every}))
    assert_same_checkpoints(tmp_path / "evaluated", tmp_path / "not")


@pytest.mark.parametrize("bn_mode", ["batch", "calib_train"])
def test_resofa_scores_an_arch_and_trains_a_step_with_one_host_copy_each(trained48, image_folder, tmp_path,
                                                                         monkeypatch, bn_mode):
    """Issue 25, for the 2022 supernet: no device-to-host copy in a forward, one per scored arch
    and one per training step (the step's mean loss, for the log)."""
    from conftest import host_copies_per_call
    from hnas.build import build_scorer
    from hnas.train.trainer import Trainer
    scorer, _ = build_scorer(tiny48(image_folder, trained48, **{"eval.bn_mode": bn_mode}), trained48)
    expected = scorer.evaluate(SPACE.largest())
    copies = host_copies_per_call(monkeypatch, scorer, "evaluate")
    assert scorer.evaluate(SPACE.largest()) == expected and scorer.evaluate(SPACE.smallest())
    assert copies == [1, 1]
    if bn_mode == "batch":
        steps = host_copies_per_call(monkeypatch, Trainer, "train_batch")
        train_supernet(tiny48(image_folder, tmp_path / "run", **{"train.distill": "inplace"}))
        assert steps and set(steps) == {1}, steps


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
    record = json.loads((tmp_path / "run" / SAMPLE_RANGES).read_text())  # the 2022 recipes train where the 45k list is
    ranges = ListRanges.builtin(SPACE, "cvpr2022_track1")
    assert record == {"source": "built-in ranges cvpr2022_track1", "ranges": ranges.describe()}
    drawn = [arch for step in range(6) for arch, _ in trainer.plan(step)]
    assert all(value is None or value in ranges.choices[name] for a in drawn for name, value in SPACE.gene_values(a).items())
    phase0 = [arch for step in range(3) for arch, _ in trainer.plan(step)]
    assert all(code == 1 for a in phase0 for blocks in a.stages for pair in blocks for code in pair)
    assert trainer.schedule.base_lr == pytest.approx(0.01 * 8 / 256)  # scaled by batch


def test_zen_rank_recipe_trains_with_the_rank_loss(image_folder, tmp_path):
    config = tiny48(image_folder, tmp_path, "configs/cvpr2022_track1_3rd_zen_rank.yaml",
                    **{"train.rank_schedule": "constant", "train.log_every": 1})
    trainer = train_supernet(config)
    assert trainer.global_step == 3 and trainer.rank_loss.coefficient(0.0) == 2.0
    assert trainer.rank_loss.form == "pgonas" and config["model"]["name"] == "resnet48_mish"
    rank_archs = {str(arch) for step in range(3) for arch, target in trainer.plan(step) if target == "rank"}
    assert len(rank_archs) >= 3 and len(trainer.rank_loss.prior._cache) == len(rank_archs)  # Zen of the pairs only
    assert "rank_loss" in (tmp_path / "train.log").read_text()


def test_plan_draws_agree_for_every_rank_and_resume():
    """Ranks build the plan from the same seed and step, so they activate the same subnets."""
    def plan():
        sampler = build_sampler("progressive", SPACE, seed=7, steps_per_epoch=5, phase_epochs=[1, 1, 1, 1, 1])
        return StepPlan("sandwich", SPACE, sampler, num_archs=4, distill="inplace")
    rank0, rank1 = plan(), plan()
    for step in (0, 3, 9, 17, 40):
        assert rank0(step) == rank1(step)


LAUNCHED_TRAINING = '''
import zlib  # noqa: F401
import hashlib, json, sys
import paddle
from hnas.config import load_config
from hnas.train import trainer as trainer_module
from hnas.train.run import train_supernet

config = load_config(sys.argv[1], **json.loads(sys.argv[2]))
seen, picked = [], []
original, judge = trainer_module.Trainer.train_batch, trainer_module.Trainer._judge

def recording(self, inputs, labels=None, update=True):
    seen.append([str(arch) for arch, _ in self.plan(self.global_step)])
    return original(self, inputs, labels, update)

def recording_judge(self, *args):
    arch = judge(self, *args)
    picked.append(str(arch))
    return arch

trainer_module.Trainer.train_batch = recording
trainer_module.Trainer._judge = recording_judge
trainer = train_supernet(config)
digest = hashlib.sha256(b"".join(p.numpy().tobytes() for p in trainer.network.parameters()
                                 if p.trainable)).hexdigest()  # BN running stats are per rank
with open(sys.argv[3] + f"/rank{paddle.distributed.get_rank()}.json", "w") as f:
    json.dump({"archs": seen, "picked": picked, "params": digest, "steps": trainer.global_step}, f)
'''


@pytest.mark.parametrize("extra", [{}, {"train.pareto": "best"}], ids=["sandwich", "pareto-by-loss"])
def test_two_process_cpu_launch_trains_the_same_subnets_and_weights(image_folder, tmp_path, extra):
    """With Pareto-aware sampling by loss each rank judges candidates on its own share of the batch:
    the losses are averaged across ranks, so both pick the same archs (issue 25)."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    script = tmp_path / "launched_training.py"
    script.write_text(LAUNCHED_TRAINING)
    overrides = {"data.root": str(image_folder), "data.image_size": 32, "data.crop_sizes": [24, 32],
                 "data.batch_size": 4, "train.epochs": 1, "train.warmup_epochs": 0, "train.num_archs": 3,
                 "train.eval_every": 0, "train.lr_reference_batch": None, "train.lr": 0.01,
                 "model.pretrained": None, "output.dir": str(tmp_path / "run"), **extra}
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
           "--log_dir", str(tmp_path / "log"), str(script), "configs/cvpr2022_track1_3rd_prelu.yaml",
           json.dumps(overrides), str(tmp_path)]
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    logs = "".join(p.read_text()[-1500:] for p in (tmp_path / "log").glob("workerlog.*"))
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-1500:] + logs
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank0["steps"] == rank1["steps"] == 3  # 24 images, 4 per rank per step
    assert rank0["archs"] == rank1["archs"] and len(rank0["archs"]) == 3
    assert rank0["picked"] == rank1["picked"] and len(rank0["picked"]) == (3 if extra else 0)  # one judged draw per step
    assert rank0["params"] == rank1["params"]  # gradients averaged across ranks every step
    assert (tmp_path / "run" / "latest.json").exists()


def test_few_shot_parts_split_on_a_stage_depth_score_the_real_list(trained48, image_folder, tmp_path):
    """The 2022 4th place's few-shot supernet: parts on stage 3's depth, each from the one-shot weights."""
    from hnas.spaces.split import SpaceSplit
    run = tmp_path / "fewshot48"
    config = tiny48(image_folder, run, **{"train.fewshot_gene": "depth3", "train.init_checkpoint": str(trained48)})
    train_supernet(config)
    real = load_anchor("cvpr2022_track1_test_45k.json")
    split = SpaceSplit(SPACE, "depth3", 2)
    keys = [k for k in list(real)[:60] if split.part_of(SPACE.parse(real[k]["arch"])) == 0][:2] + \
           [k for k in list(real)[:60] if split.part_of(SPACE.parse(real[k]["arch"])) == 1][:2]
    assert len(keys) == 4
    archs, out = tmp_path / "slice.json", tmp_path / "submission.json"
    archs.write_text(json.dumps({k: real[k] for k in keys}))
    evaluate_arch_file(config, run, archs, out)
    assert list(json.loads(out.read_text())) == keys


def _winner_recipe(image_folder, tmp_path, recipe, **overrides):
    """A 2022 winner's staged recipe at 32 px for one epoch a stage, from a resnet48.pdparams in the
    organisers' naming (a largest ResNet48's state dict: the two namings are the same)."""
    from hnas.config import command_line_over_stages
    paddle.seed(0)
    pretrained = tmp_path / "resnet48.pdparams"
    paddle.save(ResNet48(SPACE.largest(), num_classes=3).state_dict(), str(pretrained))
    small = {"data.image_size": 16, "data.crop_sizes": [16]}  # three stages in seconds
    config = tiny48(image_folder, tmp_path / "run", recipe, **{"model.pretrained": str(pretrained), **small, **overrides})
    return command_line_over_stages(config, {"train.epochs": 1, "train.lr": 0.01, "train.warmup_epochs": 0, **small,
                                             **overrides})


def _scores_a_slice_of_the_real_list(config, run, tmp_path):
    real = load_anchor("cvpr2022_track1_test_45k.json")
    keys = list(real)[:3]
    archs = tmp_path / "slice.json"
    archs.write_text(json.dumps({k: real[k] for k in keys}))
    evaluate_arch_file(config, run, archs, tmp_path / "submission.json")
    assert list(json.loads((tmp_path / "submission.json").read_text())) == keys


def test_the_2022_first_place_recipe_trains_from_the_organisers_weights_and_scores_the_list(image_folder, tmp_path):
    """configs/cvpr2022_track1_1st.yaml end to end: the contrastive stage and the size-biased stage,
    then a slice of the real list scored."""
    from hnas.train.stages import train_recipe
    run = tmp_path / "run"
    config = _winner_recipe(image_folder, tmp_path, "configs/cvpr2022_track1_1st.yaml", **{
        "train.teacher_checkpoint": str(tmp_path / "resnet48.pdparams"), "train.size_candidates": 6,
        "train.moco_queue": 16})
    trainer = train_recipe(config)
    stages = json.loads((run / "stages.json").read_text())
    assert [s["kind"] for s in stages] == ["contrastive", "supernet"]
    assert trainer.plan.candidates == 6 and len(trainer.plan(0)) == 3 + 1  # the 3 largest, and a random one at step 0
    ranges = ListRanges.builtin(SPACE, "cvpr2022_track1")
    assert all(value is None or value in ranges.choices[name]
               for arch, _ in trainer.plan(1) for name, value in SPACE.gene_values(arch).items())
    _scores_a_slice_of_the_real_list(config, run, tmp_path)


def test_the_2022_second_place_recipe_trains_progressively_then_nsas_then_few_shot_and_scores_calibrated(
        image_folder, tmp_path):
    """configs/cvpr2022_track1_2nd.yaml end to end: progressive shrinking inside the list's ranges,
    NSAS with its archive, four few-shot corners of the (stage-3, stage-4 depth) grid; scored with BN
    recalibrated on training batches, archs in no corner by the NSAS stage's supernet."""
    from hnas.train.nsas import NsasPlan
    from hnas.train.stages import train_recipe
    run = tmp_path / "run"
    shipped = load_config("configs/cvpr2022_track1_2nd.yaml")["stages"][2]["train.fewshot_groups"]
    config = _winner_recipe(image_folder, tmp_path, "configs/cvpr2022_track1_2nd.yaml", **{
        "train.nsas_archive": 2, "train.nsas_knn": 1, "eval.calib_batches": 1,
        "train.teacher_checkpoint": str(tmp_path / "resnet48.pdparams"),
        "train.fewshot_groups": shipped[1:3]})  # two of the four corners: each part builds a supernet and a teacher
    trainer = train_recipe(config)
    assert [s["name"] for s in json.loads((run / "stages.json").read_text())] == ["progressive", "nsas", "few-shot"]
    assert isinstance(trainer.plan, NsasPlan) and [t for _, t in trainer.plan(0)] == ["teacher", "labels", "labels"]
    first = json.loads((run / "1-progressive" / "config.json").read_text())["train"]
    assert first["phase_epochs"] == [5, 10, 15, 5, 10, 25] and first["sampler"] == "progressive"
    split = json.loads((run / "3-few-shot" / "fewshot.json").read_text())
    assert split["gene"] == ["depth3", "depth4"] and split["parts"] == 2 and split["rest"] == str((run / "2-nsas").resolve())
    assert len(shipped) == 4 and [8, 3] in shipped[2]
    real = load_anchor("cvpr2022_track1_test_45k.json")
    corners = SpaceSplit(SPACE, split["gene"], groups=split["groups"])
    keys = [k for k in real if corners.part_of(SPACE.parse(real[k]["arch"])) is None][:1] + \
           [k for k in real if corners.part_of(SPACE.parse(real[k]["arch"])) == 1][:1]
    archs = tmp_path / "slice.json"
    archs.write_text(json.dumps({k: real[k] for k in keys}))
    evaluate_arch_file(config, run, archs, tmp_path / "submission.json")
    assert list(json.loads((tmp_path / "submission.json").read_text())) == keys


def test_the_2022_fourth_place_recipe_grows_stage_groups_from_a_one_shot_supernet_and_scores_the_list(
        image_folder, tmp_path):
    """configs/cvpr2022_track1_4th.yaml end to end, its first three stages (one-shot, 2 groups, 3 groups):
    each few-shot stage grows from the one before it, and the list is scored by the 3-group supernet."""
    from hnas.train.stages import train_recipe
    run = tmp_path / "run"
    config = _winner_recipe(image_folder, tmp_path, "configs/cvpr2022_track1_4th.yaml", **{"model.pretrained": None})
    shipped = config["stages"]
    assert [s.get("model.stage_groups", 1) for s in shipped] == [1, 2, 3, 4, 5, 6, 7]
    config["stages"] = shipped[:3]
    trainer = train_recipe(config)
    assert trainer.network.stage_groups.count == 3
    assert [s["name"] for s in json.loads((run / "stages.json").read_text())] == ["one-shot", "groups-2", "groups-3"]
    latest = json.loads((run / "3-groups-3" / "latest.json").read_text())
    assert latest["model"]["stage_groups"] == 3 and latest["model"]["pretrained"] is None
    _scores_a_slice_of_the_real_list(config, run, tmp_path)
