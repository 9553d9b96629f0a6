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
    with pytest.raises(HnasError, match="unknown config key train.'learning_rate'"):
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
    from hnas.train.losses import DISTILL_LOSSES
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
