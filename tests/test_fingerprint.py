"""One rule for reusing finished work: where files are and how often things are saved never make
work different; what changes the computation always does. One test per kind of reuse."""
from pathlib import Path

import pytest

from hnas.config import load_config, with_overrides
from hnas.fingerprint import digest, scoring_settings, training_settings
from hnas.train.groundtruth import read_ground_truth, recipe_key

ROOT = Path(__file__).resolve().parents[1]
BASE = load_config(ROOT / "configs" / "fmnist_rank_benchmark.yaml")
WHERE = {"data.root": "/elsewhere", "data.num_workers": 4, "output.dir": "/tmp/x", "train.log_every": 7,
         "eval.save_every": 3, "train.keep_checkpoints": 5}


def changed(**overrides):
    return with_overrides(BASE, overrides)


@pytest.mark.parametrize("key, value", WHERE.items())
def test_where_and_how_often_never_change_any_fingerprint(key, value):
    other = changed(**{key: value})
    assert recipe_key(other) == recipe_key(BASE)
    assert training_settings(other, ("space", "data", "model", "train")) == \
        training_settings(BASE, ("space", "data", "model", "train"))
    assert scoring_settings(other) == scoring_settings(BASE)


def test_ground_truth_cache_key_follows_what_stand_alone_training_computes_with():
    for key, value in {"data.image_size": 16, "standalone.lr": 0.2, "model.residual_act": "prelu",
                       "data.train_size": 1000, "standalone.epochs": 3}.items():
        assert recipe_key(changed(**{key: value})) != recipe_key(BASE), key
    assert recipe_key(changed(**{"train.lr": 0.3, "eval.bn_mode": "calib_train"})) == recipe_key(BASE)


def test_the_committed_ground_truths_are_found_by_their_recipes():
    from hnas.archfile import read_arch_file
    from hnas.spaces import get_space
    for recipe, name, seeds in (("fmnist_rank_benchmark", "fmnist", 5), ("digits_rank_benchmark", "digits", 3)):
        config = load_config(ROOT / "configs" / f"{recipe}.yaml")
        entries = read_arch_file(ROOT / "benchmarks" / f"{name}_archs.json", get_space("resnet20"))
        assert read_ground_truth(ROOT / "benchmarks" / f"{name}_gt.json", config, entries, seeds) is not None
    assert (ROOT / "benchmarks" / "fmnist_gt_runs" / recipe_key(load_config(
        ROOT / "configs" / "fmnist_rank_benchmark.yaml"))).is_dir()


def test_a_run_resumes_with_more_epochs_but_not_another_lr():
    sections = ("space", "data", "model", "train")
    assert training_settings(changed(**{"train.epochs": 99}), sections) == training_settings(BASE, sections)
    assert training_settings(changed(**{"train.lr": 0.3}), sections) != training_settings(BASE, sections)


def test_partial_scores_survive_post_processing_changes_but_not_scoring_ones():
    for key, value in {"eval.normalize": True, "eval.fuse": "zen", "eval.fuse_method": "zscore"}.items():
        assert scoring_settings(changed(**{key: value})) == scoring_settings(BASE), key
    for key, value in {"eval.bn_mode": "calib_train", "eval.max_images": 100, "eval.subset": "stratified",
                       "data.test_size": 500, "eval.metric": "acc"}.items():
        assert scoring_settings(changed(**{key: value})) != scoring_settings(BASE), key


def test_the_score_store_is_reused_only_by_the_same_work(tmp_path):
    from hnas.errors import HnasError
    from hnas.score_store import ScoreStore
    store = ScoreStore(tmp_path / "s.json", {"settings": scoring_settings(BASE)})
    store.scores["a"] = 1.0
    store.extra["history"] = [{"generation": 0}]
    store.save()
    again = ScoreStore(tmp_path / "s.json", {"settings": scoring_settings(changed(**{"data.root": "/x"}))})
    assert again.scores == {"a": 1.0} and again.extra == {"history": [{"generation": 0}]}
    other = {"settings": scoring_settings(changed(**{"eval.bn_mode": "supernet"}))}
    assert ScoreStore(tmp_path / "s.json", other).scores == {}
    with pytest.raises(HnasError, match="other settings"):
        ScoreStore(tmp_path / "s.json", other, mismatch="other settings")


@pytest.mark.parametrize("space, expected", [("resnet20", "f2d2a24a7b6f"), ("resnet48", "54337ecc9ece")])
def test_a_recipe_key_added_at_its_default_leaves_saved_runs_resumable(space, expected):
    """The default recipe's training settings as of 2026-12-07: a key added since at a value that
    computes what was computed before must be in fingerprint.NEUTRAL, or every saved run, ground
    truth cache and ablation cell of the users stops matching (a resumed run is refused)."""
    config = load_config(None, space=space)
    assert digest(training_settings(config, ("space", "data", "model", "train", "standalone"))) == expected
