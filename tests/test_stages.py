"""Multi-stage recipes: the 2021 winner's pipeline (max-path, distilled supernet, multi-branch with
the levels sampler, a low-lr pass) trains end to end on digits from one config, resumes stage by
stage, and scores and exports from its last stage."""
import json
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

from hnas.archfile import sample_arch_file
from hnas.cli import main
from hnas.config import load_config
from hnas.errors import HnasError
from hnas.spaces import ResNet20Space
from hnas.spaces.samplers import WidthLevelsSampler
from hnas.train.stages import plan_stages
from conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
R20 = ResNet20Space()
TINY_STAGES = {"standalone.epochs": 1, "train.epochs": 1, "train.num_archs": 3, "train.phase_epochs": 1,
               "data.name": "digits", "data.root": None, "data.augment": "none", "eval.batch_size": 48}


def _winner_config(run_dir, **changes):
    return load_config(ROOT / "configs" / "cvpr2021_track1_1st.yaml", **{
        **{k: v for k, v in TINY.items() if not k.startswith("train.")}, **TINY_STAGES,
        "output.dir": str(run_dir), **changes})


def test_the_winners_stages_chain_teacher_and_weights():
    planned = plan_stages(_winner_config("runs/w"))
    assert [(name, kind) for name, kind, _ in planned] == [
        ("max-path", "largest"), ("distilled supernet", "supernet"), ("multi-branch", "supernet"),
        ("second pass", "supernet")]
    teacher = str(Path("runs/w/1-max-path"))
    assert all(cfg["train"]["teacher_checkpoint"] == teacher for _, kind, cfg in planned if kind == "supernet")
    assert planned[2][2]["train"]["init_checkpoint"] == str(Path("runs/w/2-distilled_supernet"))
    assert planned[2][2]["train"]["branch_epoch"] == 0 and planned[3][2]["train"]["lr"] == 0.001


@pytest.mark.parametrize("stages, message", [
    ([], "stages \\[\\] \\(expected List should have at least 1 item"), ([{"kind": "largest"}], "stage 1 needs a name"),
    ([{"name": "a", "kind": "teacher"}], "has kind 'teacher'; expected one of largest, supernet"),
    ([{"name": "a", "kind": "largest"}], "no stage trains"),
    ([{"name": "a", "train.distill": "teacher"}], "no earlier stage"),
    ([{"name": "a", "train.no_such": 1}], "train.no_such: unknown key"),
])
def test_bad_stages_fail_before_any_training(tmp_path, stages, message):
    with pytest.raises(HnasError, match=message):
        plan_stages(_winner_config(tmp_path, stages=stages))


def test_levels_admit_narrower_widths_phase_by_phase():
    sampler = WidthLevelsSampler(R20, steps_per_epoch=10, phase_epochs=2, seed=0, levels=4)
    first = sampler.allowed(0)
    assert first[0] == (16,) and first[18] == (52, 56, 60, 64)  # the widest quarter
    assert sampler.allowed(20)[0] == (12, 16) and sampler.allowed(60)[18] == R20.choices[18]
    assert sampler.allowed(10_000) == list(R20.choices)
    draws = [sampler.draw(i, 0) for i in range(20)]
    assert all(all(a[p] in first[p] for p in range(20)) for a in draws)


def test_the_winners_recipe_trains_scores_and_exports_on_digits(tmp_path):
    run = tmp_path / "winner"
    recipe = tmp_path / "winner.yaml"
    raw = yaml.safe_load((ROOT / "configs" / "cvpr2021_track1_1st.yaml").read_text())
    raw["data"] = {"name": "digits", "image_size": 8, "augment": "none", "batch_size": 32, "train_size": 192,
                   "test_size": 96}
    raw["standalone"].update({"epochs": 1, "batch_size": 32})
    raw["train"].update({"epochs": 1, "num_archs": 3, "phase_epochs": 1})
    raw["eval"].update({"batch_size": 48})
    raw["stages"][-1]["train.epochs"] = 1  # the second pass sets its own length
    raw["output"] = {"dir": str(run)}
    recipe.write_text(yaml.safe_dump(raw))
    main(["train", str(recipe)])
    listed = json.loads((run / "stages.json").read_text())
    assert [s["dir"] for s in listed] == ["1-max-path", "2-distilled_supernet", "3-multi-branch", "4-second_pass"]
    assert json.loads((run / "1-max-path" / "result.json").read_text())["arch"] == R20.format(R20.largest())
    for stage, branched in (("2-distilled_supernet", 0.0), ("3-multi-branch", 1.0), ("4-second_pass", 1.0)):
        state = paddle.load(str(run / stage / "epoch_0001.pdparams"))
        assert float(np.asarray(state["blocks.0.conv1.branched"])[0]) == branched, stage
    archs, out = tmp_path / "archs.json", tmp_path / "scores.json"
    sample_arch_file(archs, R20, 6, seed=1)
    main(["test", str(recipe), "--checkpoint", str(run), "--archs", str(archs), "--out", str(out)])
    assert len(json.loads(out.read_text())) == 6
    main(["export", str(recipe), "--checkpoint", str(run), "--arch", R20.format(R20.smallest()),
          "--out", str(tmp_path / "export")])  # fails unless the stand-alone model scores as the supernet
    assert (tmp_path / "export" / "model.pdparams").is_file()
    # a rerun resumes every stage where it stopped (here: all done) and trains nothing new
    before = {p: p.stat().st_mtime for p in run.rglob("epoch_*.pdparams")}
    main(["train", str(recipe)])
    assert {p: p.stat().st_mtime for p in run.rglob("epoch_*.pdparams")} == before


def test_command_line_keys_win_over_every_stage_or_name_the_key_that_would_reach_it():
    """Issue 26: `--train.epochs 1` on a staged recipe still trained 300 epochs (the stages' own
    values won silently)."""
    from hnas.config import command_line_over_stages
    recipe = ROOT / "configs" / "cvpr2021_track1_1st.yaml"

    def from_command_line(**flags):
        return command_line_over_stages(load_config(recipe, **flags), flags)
    with pytest.raises(HnasError, match="^--train.epochs does not reach stage 'max-path' \\(kind largest\\), which "
                                        "trains with standalone.epochs: give --standalone.epochs too$"):
        from_command_line(**{"train.epochs": 1})
    planned = plan_stages(from_command_line(**{"train.epochs": 1, "standalone.epochs": 1}))
    assert [cfg["standalone" if kind == "largest" else "train"]["epochs"] for _, kind, cfg in planned] == [1, 1, 1, 1]
    assert [cfg["train"]["lr"] for _, kind, cfg in planned[1:]] == [0.01, 0.001, 0.001]  # the rest is the stages'
