"""Stand-alone ground truth over seeds: trained once, cached by recipe, resumable, parallel."""
import json

import pytest

from conftest import tiny_config
from hnas.metrics import seed_vs_seed_tau
from hnas.spaces import ResNet20Space
from hnas.train import groundtruth
from hnas.train.groundtruth import recipe_key, run_dir, train_ground_truth

SPACE = ResNet20Space()
ENTRIES = [("largest", SPACE.format(SPACE.largest())), ("smallest", SPACE.format(SPACE.smallest()))]


def test_ground_truth_is_cached_per_recipe_and_trained_in_parallel(tmp_path, monkeypatch):
    config = tiny_config(tmp_path / "unused", **{"standalone.epochs": 1})
    cache = tmp_path / "cache"
    table = train_ground_truth(config, ENTRIES, seeds=2, cache=cache, workers=2)
    assert list(table) == ["largest", "smallest"]
    for key, text in ENTRIES:
        row = table[key]
        assert row["arch"] == text and len(row["accs"]) == 2 and row["accs"][0] != row["accs"][1]
        assert row["acc"] == pytest.approx(sum(row["accs"]) / 2)
        first = json.loads((run_dir(cache, config, text, 0) / "result.json").read_text())
        assert first["seed"] == 0 and first["acc"] == row["accs"][0]
    # a rerun trains nothing; another recipe gets its own runs
    monkeypatch.setattr(groundtruth, "_train_one", lambda task: pytest.fail("retrained a cached run"))
    assert train_ground_truth(config, ENTRIES, seeds=2, cache=cache) == table
    other = tiny_config(tmp_path / "unused", **{"standalone.epochs": 2})
    assert recipe_key(other) != recipe_key(config)
    assert recipe_key(tiny_config(tmp_path / "elsewhere", **{"standalone.epochs": 1, "train.lr": 9.0})) == recipe_key(config)


def test_hnas_groundtruth_writes_means_and_the_seed_ceiling(tmp_path, capsys):
    from hnas.cli import main
    archs = tmp_path / "archs.json"
    archs.write_text(json.dumps({k: {"arch": a, "acc": 0.0} for k, a in ENTRIES + [("mid", "8-8-8-8-8-8-8-16-16-16-16-16-16-32-32-32-32-32-32-32")]}))
    out = tmp_path / "gt.json"
    overrides = [f"--{k}={v}" for k, v in {"data.image_size": 8, "data.augment": "none", "data.train_size": 192,
                                          "data.test_size": 96, "standalone.epochs": 1, "standalone.batch_size": 32,
                                          "standalone.warmup_steps": 2}.items()]
    main(["groundtruth", "--config", "None", "--archs", str(archs), "--out", str(out), "--seeds", "2",
          "--cache", str(tmp_path / "cache")] + overrides)
    printed = capsys.readouterr().out
    written = json.loads(out.read_text())
    assert list(written) == ["largest", "smallest", "mid"] and len(written["mid"]["losses"]) == 2
    assert "Kendall tau-b split-half (the ceiling), accuracy" in printed and "one seed against another, loss" in printed
    assert "one seed against the mean of the others, accuracy" in printed
    assert json.loads((tmp_path / "gt.json.meta.json").read_text())["seeds"] == 2


def test_seed_vs_seed_tau():
    # rows are archs, columns seeds: seeds 0 and 1 agree, seed 2 swaps the first two archs
    tau = seed_vs_seed_tau([[1, 1, 2], [2, 2, 1], [3, 3, 3]])
    assert tau == {"mean": pytest.approx(5 / 9), "min": pytest.approx(1 / 3), "max": 1.0, "pairs": 3}
