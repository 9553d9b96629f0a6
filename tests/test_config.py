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
