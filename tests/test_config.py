from pathlib import Path

import pytest

from hnas.config import load_config
from hnas.errors import HnasError


def test_yaml_over_defaults_and_flag_overrides(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text("train:\n  lr: 0.5\n  epochs: 3\nmodel:\n  bn: end\n")
    config = load_config(path, **{"train.epochs": 7, "kd_temperature": 4.0})
    assert config["train"]["lr"] == 0.5 and config["train"]["epochs"] == 7
    assert config["train"]["kd_temperature"] == 4.0 and config["model"]["bn"] == "end"
    assert config["name"] == "recipe" and config["output"]["dir"].endswith("checkpoints/recipe")


def test_unknown_and_ambiguous_keys_are_clear(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("train:\n  learning_rate: 0.1\n")
    with pytest.raises(HnasError, match="train.learning_rate: unknown key \\(known here: epochs, lr, "):
        load_config(path)
    with pytest.raises(HnasError, match="ambiguous"):
        load_config(None, batch_size=3)
    with pytest.raises(HnasError, match="unknown config key 'nope'"):
        load_config(None, nope=1)
    with pytest.raises(HnasError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[1].glob("configs/*.yaml")),
                         ids=lambda p: p.stem)
def test_every_shipped_recipe_is_consistent(path):
    """Each recipe loads, names a model of its space, and has a buildable sampler and plan."""
    from hnas.models import MODELS, model_name
    from hnas.spaces import build_sampler, get_space
    from hnas.config_schema import DISTILL_LOSSES
    from hnas.train.plans import StepPlan
    import yaml
    if "recipe" in yaml.safe_load(path.read_text()):  # an ablation file: every row must load
        from hnas.ablate.spec import AblationSpec
        assert AblationSpec(path).rows
        return
    config = load_config(path)
    t = config["train"]
    space = get_space(config["space"])
    assert MODELS[model_name(config["space"], config["model"])].space == config["space"]
    pool = [space.sample(__import__("random").Random(i)) for i in range(5)]  # stands in for train.arch_pool
    sampler = build_sampler(t["sampler"], space, seed=0, num_classes=10, arch_pool=pool)
    StepPlan(t["strategy"], space, sampler, t["num_archs"], t["distill"])(0)
    assert t["distill_loss"] in DISTILL_LOSSES
    if t["rank_loss"]:
        from hnas.proxies import PROXIES
        from hnas.train.losses import rank_coefficient
        assert t["rank_loss"] in PROXIES and t["strategy"] in ("sandwich", "dyna_batch")
        rank_coefficient(t["rank_schedule"], 1.0, t["rank_weight"], t["rank_ramp_epochs"])


ROOT = Path(__file__).resolve().parents[1]
# each bad input of issue 16, and one bad value per section
BAD = [
    ({"train.epochs": "abc"}, "train.epochs 'abc' (expected a valid integer"),
    ({"data.batch_size": 0}, "data.batch_size 0 (expected greater than or equal to 1)"),
    ({"train.lr": "fast"}, "train.lr 'fast' (expected a valid number"),
    ({"train.lr": -1}, "train.lr -1 (expected greater than or equal to 0)"),
    ({"data.image_size": 0}, "data.image_size 0 (expected greater than or equal to 1)"),
    ({"space": "resnet99"}, "space 'resnet99' (expected 'resnet20' or 'resnet48')"),
    ({"data.name": "mnist"}, "data.name 'mnist' (expected 'digits', 'idx', 'npz', 'cifar100' or 'imagefolder')"),
    ({"model.bn": "shared"}, "model.bn 'shared' (expected 'full', 'front', 'end', 'independent' or 'branch')"),
    ({"train.sampler": "strictfair"}, "train.sampler 'strictfair' (expected 'uniform', 'strict_fair'"),
    ({"eval.metric": "accuracy"}, "eval.metric 'accuracy' (expected 'loss' or 'acc')"),
    ({"eval.subset": "stratifed"}, "eval.subset 'stratifed' (expected 'random', 'stratified' or 'disagreement')"),
    ({"standalone.momentum": 1.5}, "standalone.momentum 1.5 (expected less than 1)"),
    ({"output.dir": ["a"]}, "output.dir ['a'] (expected a valid string)"),
    ({"stages": [{"kind": "largest"}]}, "stage 1 needs a name"),
    ({"stages": [{"name": "a", "train.epochs": 0}]}, "stage 'a': 1 bad value: train.epochs 0"),
    # rules across keys (issue 27): checked when the recipe loads, not after the data and supernet are built
    ({"train.strategy": "single_path"}, "train: distill inplace needs strategy sandwich"),
    ({"train.num_archs": 1}, "strategy sandwich needs num_archs >= 2"),
    ({"train.distill": "teacher"}, "distill teacher needs train.teacher_checkpoint"),
    ({"train.rank_form": "pgonas", "train.rank_loss": "flops", "train.num_archs": 2},
     "rank_form pgonas draws num_archs - 2 extra pairs"),
    ({"train.pareto_window": 1}, "train.pareto_window 1 (expected less than 1)"),
    ({"model.name": "resnet48_mish"}, "model.name resnet48_mish belongs to search space resnet48, not resnet20"),
    ({"model.reorder": True}, "model.reorder: model resnet20 cannot reorder channels"),
    ({"train.branch_epoch": 2}, "train.branch_epoch needs multi-branch sharing"),
    ({"stages": [{"name": "a", "train.strategy": "dyna_batch"}]}, "stage 'a': 1 bad value: train: distill inplace"),
]


@pytest.mark.parametrize("overrides, message", BAD, ids=[next(iter(o)) + "=" + str(next(iter(o.values()))) for o, _ in BAD])
def test_a_bad_value_is_one_error_line_naming_key_value_and_expectation(overrides, message):
    with pytest.raises(HnasError) as err:
        load_config(ROOT / "configs" / "quickstart.yaml", **overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_every_bad_key_is_reported_at_once_and_the_cli_exits_2_before_any_work(capsys):
    from hnas.cli import main
    with pytest.raises(SystemExit) as done:
        main(["train", str(ROOT / "configs" / "quickstart.yaml"), "--train.strategy", "sandwhich",
              "--eval.bn_mode", "bach", "--data.batch_size", "0"])
    err = capsys.readouterr().err.strip()
    assert done.value.code == 2 and len(err.splitlines()) == 1 and "3 bad values" in err
    assert "train.strategy 'sandwhich'" in err and "eval.bn_mode 'bach'" in err and "data.batch_size 0" in err


def test_a_rule_across_keys_fails_before_any_data_is_read_in_a_recipe_a_stage_and_an_ablation_row(
        tmp_path, monkeypatch, capsys):
    import hnas.build
    import hnas.train.run
    from hnas.ablate.spec import AblationSpec
    from hnas.cli import main

    def no_data(*args, **kwargs):
        raise AssertionError("the data was read before the recipe was checked")
    for module in (hnas.build, hnas.train.run):
        monkeypatch.setattr(module, "data_from_config", no_data)
    for argv in (["--train.rank_loss", "zen", "--train.strategy", "single_path", "--train.distill", "none"],
                 ["--model.name", "resnet48", "--model.conv", "front", "--space", "resnet48"]):
        with pytest.raises(SystemExit) as done:
            main(["train", str(ROOT / "configs" / "quickstart.yaml"), *argv, "--output.dir", str(tmp_path / "r")])
        err = capsys.readouterr().err.strip()
        assert done.value.code == 2 and len(err.splitlines()) == 1, err
    assert "rank_loss needs at least two archs per step" in main_error(["--train.rank_loss", "zen"], tmp_path, capsys)
    ablation = tmp_path / "ablation.yaml"
    ablation.write_text(f"recipe: {ROOT / 'configs' / 'quickstart.yaml'}\narchs: {ROOT / 'benchmarks' / 'digits_archs.json'}\n"
                        "rows:\n  fine: {}\n  typo: {train.strategy: single_path}\n")
    with pytest.raises(HnasError, match="row 'typo'.*distill inplace needs strategy sandwich"):
        AblationSpec(ablation)


def main_error(argv, tmp_path, capsys):
    """The one error line of `hnas train quickstart.yaml --train.strategy single_path --train.distill none ARGV`."""
    from hnas.cli import main
    with pytest.raises(SystemExit):
        main(["train", str(ROOT / "configs" / "quickstart.yaml"), "--train.strategy", "single_path",
              "--train.distill", "none", *argv, "--output.dir", str(tmp_path / "r")])
    return capsys.readouterr().err


def test_a_recipe_extends_its_base_and_a_circle_is_one_error(tmp_path):
    (tmp_path / "a.yaml").write_text("space: resnet20\ntrain:\n  lr: 0.5\n  epochs: 3\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\ntrain:\n  epochs: 9\n")
    config = load_config(tmp_path / "b.yaml")
    assert config["train"]["lr"] == 0.5 and config["train"]["epochs"] == 9 and config["name"] == "b"
    (tmp_path / "c.yaml").write_text("base: d.yaml\n")
    (tmp_path / "d.yaml").write_text("base: c.yaml\n")
    with pytest.raises(HnasError, match="base recipes extend each other in a circle"):
        load_config(tmp_path / "c.yaml")


def test_the_2022_third_place_variants_only_state_what_differs():
    prelu = load_config(ROOT / "configs" / "cvpr2022_track1_3rd_prelu.yaml")
    for name, changed in [("mish", {"model": {"name": "resnet48_mish"}}),
                          ("zen_rank", {"model": {"name": "resnet48_mish"},
                                        "train": {"rank_loss": "zen", "rank_form": "pgonas", "rank_weight": 2.0,
                                                  "rank_schedule": "progressive"}})]:
        path = ROOT / "configs" / f"cvpr2022_track1_3rd_{name}.yaml"
        assert "base:" in path.read_text() and len(path.read_text().splitlines()) < 15
        config = load_config(path)
        for section, values in changed.items():
            assert {k: config[section][k] for k in values} == values
        assert config["data"] == prelu["data"] and config["eval"] == prelu["eval"]


def test_docs_config_md_is_generated_from_the_schema():
    from hnas.config_schema import reference
    assert (ROOT / "docs" / "config.md").read_text() == reference() + "\n", \
        "run: python -m hnas.config_schema > docs/config.md"


def test_the_code_uses_the_schemas_choices():
    """One registry per choice family, keyed by exactly the schema's choices: the schema checks a
    recipe's value once, and the code looks it up without checking it again (issue 27)."""
    from hnas import config_schema as schema
    from hnas.data import ARRAY_SOURCES
    from hnas.models import MODELS
    from hnas.models.resnet20 import RESIDUAL_ACTIVATIONS
    from hnas.models.resnet48 import OUTER_ACTIVATIONS
    from hnas.models.shared_layers import SHARING_KEYS
    from hnas.spaces import SPACES
    from hnas.spaces.samplers import SAMPLERS
    from hnas.train.losses import DISTILL_LOSS_FUNCTIONS, RANK_SCHEDULE_FUNCTIONS
    assert tuple(OUTER_ACTIVATIONS) == schema.OUTER_ACTIVATION_NAMES
    assert set(MODELS) == set(schema.MODEL_NAMES) and tuple(SPACES) == schema.SPACE_NAMES
    assert SAMPLERS is schema.SAMPLERS
    assert tuple(DISTILL_LOSS_FUNCTIONS) == schema.DISTILL_LOSSES
    assert tuple(RANK_SCHEDULE_FUNCTIONS) == schema.RANK_SCHEDULES
    assert tuple(RESIDUAL_ACTIVATIONS) == schema.RESIDUAL_ACTS
    assert set(SHARING_KEYS) | {"branch"} == set(schema.SHARING) and set(schema.FC_SHARING) <= set(schema.SHARING)
    assert set(ARRAY_SOURCES) | {"imagefolder"} == set(schema.SOURCES)


@pytest.mark.parametrize("overrides, message", [b for b in BAD if not isinstance(next(iter(b[0].values())), list)],
                         ids=lambda v: str(v)[:40])
def test_each_bad_value_on_the_command_line_is_one_error_line_and_exit_2(overrides, message, capsys):
    from hnas.cli import main
    flags = [text for key, value in overrides.items() for text in (f"--{key}", str(value))]
    with pytest.raises(SystemExit) as done:
        main(["train", str(ROOT / "configs" / "quickstart.yaml"), *flags])
    err = capsys.readouterr().err.strip()
    assert done.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("hnas: error:")
    assert message.replace("'", "") in err.replace("'", ""), err
