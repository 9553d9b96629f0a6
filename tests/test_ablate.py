"""`hnas ablate`: a 2x2 grid on a tiny setting, its outputs, and resuming without recomputing."""
import csv
import json
from pathlib import Path

import pytest
import yaml

from conftest import TINY
from hnas.ablate import run as ablate_run
from hnas.ablate.spec import AblationSpec
from hnas.errors import HnasError


def nested(flat):
    out = {}
    for key, value in flat.items():
        section, name = key.split(".")
        out.setdefault(section, {})[name] = value
    return out


@pytest.fixture
def ablation(tmp_path):
    from hnas.cli import main
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(nested({**TINY, "train.epochs": 1, "standalone.epochs": 1})))
    archs = tmp_path / "archs.json"
    main(["sample", str(archs), "--n", "4", "--extremes"])
    spec = {
        "recipe": str(recipe), "archs": str(archs), "output": str(tmp_path / "out"),
        "ground_truth": {"seeds": 2, "cache": str(tmp_path / "gt_cache")}, "seeds": [0],
        "grid": {"bn": {"end": {"model.bn": "end"}, "full": {"model.bn": "full"}},
                 "sampler": {"fair": {"train.sampler": "strict_fair"}, "uniform": {"train.sampler": "uniform"}}},
        "evals": {"batch / loss": {"eval.bn_mode": "batch"},
                  "calib_train / acc": {"eval.bn_mode": "calib_train", "eval.metric": "acc"}},
        "subsets": [0.5], "priors": ["params"], "fusions": {"params 0.5": "params=0.5"}, "ks": [3],
    }
    path = tmp_path / "ablate.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_two_by_two_grid_writes_results_table_and_plot_and_resumes(ablation, tmp_path, capsys, monkeypatch):
    from hnas.cli import main
    main(["ablate", str(ablation)])
    out = tmp_path / "out"
    rows = list(csv.DictReader(open(out / "results.csv")))
    supernet = [r for r in rows if r["kind"] == "supernet"]
    assert [r["row"] for r in rows if r["kind"] == "prior"] == ["params"]
    assert len(supernet) == 4 * 2  # 2x2 rows x 1 seed x 2 evaluation settings
    fused = [r for r in rows if r["kind"] == "fused"]
    assert sorted(r["row"] for r in fused) == sorted(f"{r} + params 0.5" for r in {s["row"] for s in supernet})
    assert all(r["eval"] == "batch / loss" for r in fused)
    prior_row = next(r for r in rows if r["kind"] == "prior")
    assert float(prior_row["kendall_tau_b_params"]) == pytest.approx(1.0)  # the params prior vs params
    assert {r["row"] for r in supernet} == {"bn=end / sampler=fair", "bn=end / sampler=uniform",
                                           "bn=full / sampler=fair", "bn=full / sampler=uniform"}
    for r in rows:
        assert -1.0 <= float(r["kendall_tau_b"]) <= 1.0 and r["n"] == "6"
        assert float(r["eval_seconds_per_arch"]) > 0
    assert all(float(r["train_seconds"]) > 0 for r in supernet)
    subsets = list(csv.DictReader(open(out / "subsets.csv")))
    assert sorted({r["fraction"] for r in subsets}) == ["0.5", "1.0"] and len(subsets) == 8
    assert all(float(r["kendall_tau_b_vs_full_test"]) == pytest.approx(1.0) for r in subsets if r["fraction"] == "1.0")
    table = (out / "table.md").read_text()
    assert "| bn=full / sampler=uniform | calib_train / acc | 1 |" in table and "split-half" in table
    prose = " ".join(table.split())  # wrapped at 110 characters
    assert "One more stand-alone run per arch (each seed's runs against the mean of the other 1" in prose
    assert "against the same means: prior params" in prose and "fused (default weight, auto): the run + params" in prose
    assert "tau-b vs params | tau-b between seeds |" in table and "Best prior: params" in prose
    assert "| prior: params |" in table and "| 0.5 | 48 |" in table
    # issue 26: one line per row and evaluation, its fused variant a column (it was a line of its own,
    # so every row's name came once per fusion), and a plot of the rows alone
    main_table = table.split("The same rows, other agreement measures")[0]
    assert "tau-b between seeds | + params 0.5 | train s |" in main_table and " + params 0.5 |" not in main_table.replace(
        "| + params 0.5 |", "")
    assert main_table.count("| bn=full / sampler=uniform | batch / loss |") == 1
    assert max(len(line) for line in table.splitlines()) < 200
    from PIL import Image
    with Image.open(out / "plot.png") as plot:
        assert plot.size[1] < 8 * plot.size[0]
    assert (out / "plot.png").read_bytes()[:4] == b"\x89PNG"
    assert table in capsys.readouterr().out
    # a rerun recomputes nothing: no training, no scoring; the same table
    monkeypatch.setattr("hnas.train.run.train_supernet", lambda *a, **k: pytest.fail("retrained"))
    monkeypatch.setattr("hnas.evaluate.run.evaluate_arch_file", lambda *a, **k: pytest.fail("rescored"))
    monkeypatch.setattr("hnas.train.groundtruth._train_one", lambda *a, **k: pytest.fail("retrained ground truth"))
    before = (out / "results.csv").read_text()
    main(["ablate", str(ablation)])
    assert (out / "results.csv").read_text() == before


def test_an_interrupted_cell_resumes_and_a_new_row_is_the_only_new_work(ablation, tmp_path, monkeypatch):
    spec = AblationSpec(ablation)
    calls = []
    real = ablate_run.run_cell

    def interrupted(spec_, row, seed, test_images):
        calls.append(row)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(spec_, row, seed, test_images)
    monkeypatch.setattr(ablate_run, "run_cell", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ablate_run.run_ablation(spec)
    finished = [p for p in (tmp_path / "out" / "runs").rglob("cell.json")]
    assert len(finished) == 1
    monkeypatch.setattr(ablate_run, "run_cell", real)
    ablate_run.run_ablation(spec)
    assert len(list((tmp_path / "out" / "runs").rglob("cell.json"))) == 4
    first_cell = json.loads(finished[0].read_text())
    raw = yaml.safe_load(ablation.read_text())
    raw["rows"] = {"N=2": {"train.num_archs": 2}}
    ablation.write_text(yaml.safe_dump(raw))
    done = []
    monkeypatch.setattr(ablate_run, "run_cell", lambda s, row, seed, n: done.append(row) or real(s, row, seed, n))
    ablate_run.run_ablation(AblationSpec(ablation))
    assert done == ["N=2"]
    assert json.loads(finished[0].read_text()) == first_cell


def test_an_edited_row_retrains_that_row_only_and_an_edited_evaluation_only_rescores(ablation, tmp_path,
                                                                                       monkeypatch):
    """Issue 27: a cell was reused because its file existed, so an edited row kept its old numbers."""
    from hnas.train import stages
    ablate_run.run_ablation(AblationSpec(ablation))
    trained, scored = [], []
    real_train = stages.train_recipe
    monkeypatch.setattr(stages, "train_recipe", lambda config, **kw: trained.append(
        (config["output"]["dir"], kw)) or real_train(config, **kw))
    import hnas.evaluate.run as evaluate_run
    real_score = evaluate_run.evaluate_arch_file
    monkeypatch.setattr(evaluate_run, "evaluate_arch_file", lambda config, run, archs, out, **kw: scored.append(
        Path(out).name) or real_score(config, run, archs, out, **kw))
    raw = yaml.safe_load(ablation.read_text())
    raw["grid"]["sampler"]["uniform"] = {"train.sampler": "uniform", "train.lr": 0.02}
    ablation.write_text(yaml.safe_dump(raw))
    ablate_run.run_ablation(AblationSpec(ablation))
    assert sorted(Path(d).parts[-2] for d, _ in trained) == ["bn=end_sampler=uniform", "bn=full_sampler=uniform"]
    assert all(kw == {"fresh": True} for _, kw in trained)  # trained afresh, not resumed from the old weights
    assert len(scored) == 2 * 3  # their 2 evaluations and 1 subset, nothing of the other rows
    trained.clear(), scored.clear()
    raw["evals"]["calib_train / acc"]["eval.calib_batches"] = 1
    ablation.write_text(yaml.safe_dump(raw))
    ablate_run.run_ablation(AblationSpec(ablation))
    assert trained == [] and scored == ["calib_train_acc.json"] * 4  # every row rescored with that setting only


@pytest.mark.parametrize("change,message", [
    ({"rows": {"x": {"data.train_size": 100}}}, "changes data; every row shares"),
    ({"overrides": {"split_seed": 3}}, "changes data; every row shares"),
    ({"rows": {"x": {"train.no_such_key": 1}}}, "train.no_such_key: unknown key"),
    ({"evals": {"e": {"train.lr": 1}}}, "only eval.\\* keys"),
    ({"priors": ["synflow"]}, "priors.0 'synflow' \\(expected 'flops', 'params' or 'zen'\\)"),
    ({"fusions": {"f": "zen=0.5"}}, "uses priors \\['zen'\\] that `priors` does not compute"),
    ({"fusions": {"f": {"priors": "params", "method": "vote"}}}, "unknown fusion method"),
    ({"colour": "red"}, "colour: unknown key \\(known here: recipe, archs"),
    ({"ground_truth": {"seeds": 2, "kache": "x"}}, "ground_truth.kache: unknown key \\(known here: seeds, cache, file\\)"),
    ({"seeds": [-1]}, "seeds are integers in 0..4294967295"),
    ({"rows": {"x": [1]}}, "rows.x"),
    ({"rows": {"x": {"from": "y"}}}, "starts from 'y', which is not a row"),
    ({"rows": {"x": {"from": "y"}, "y": {"from": "x"}}}, "in a circle"),
])
def test_bad_ablation_files_fail_before_any_work(ablation, tmp_path, change, message):
    raw = {**yaml.safe_load(ablation.read_text()), **change}
    ablation.write_text(yaml.safe_dump(raw))
    with pytest.raises(HnasError, match=message):
        AblationSpec(ablation)
    assert not (tmp_path / "out").exists()


def test_a_row_may_augment_the_supernets_training_images(ablation):
    raw = {**yaml.safe_load(ablation.read_text()), "rows": {"augmented": {"data.augment": "official"}}}
    ablation.write_text(yaml.safe_dump(raw))
    spec = AblationSpec(ablation)
    assert spec.row_config("augmented", 0)["data"]["augment"] == "official"
    assert spec.base["data"]["augment"] != "official"  # the ground truth keeps the recipe's


def test_a_committed_ground_truth_file_stands_in_for_the_cache(ablation, tmp_path, monkeypatch):
    raw = yaml.safe_load(ablation.read_text())
    raw.update({"grid": {}, "rows": {"base": {}}, "fusions": {}, "subsets": [],
                "ground_truth": {**raw["ground_truth"], "file": str(tmp_path / "gt.json")}})
    ablation.write_text(yaml.safe_dump(raw))
    ablate_run.run_ablation(AblationSpec(ablation))
    meta = json.loads((tmp_path / "gt.json.meta.json").read_text())
    assert meta["seeds"] == 2 and len(json.loads((tmp_path / "gt.json").read_text())) == 6
    # a fresh machine: no cache, a new output; the committed file is read, nothing is trained
    monkeypatch.setattr("hnas.train.groundtruth._train_one", lambda *a, **k: pytest.fail("retrained ground truth"))
    import shutil
    shutil.rmtree(tmp_path / "gt_cache")
    ablate_run.run_ablation(AblationSpec(ablation, output=tmp_path / "out2"))
    assert (tmp_path / "out2" / "table.md").exists()
    # another stand-alone recipe (or seed count) does not take the file's numbers
    raw["ground_truth"]["seeds"] = 3
    ablation.write_text(yaml.safe_dump(raw))
    with pytest.raises(pytest.fail.Exception, match="retrained ground truth"):
        ablate_run.run_ablation(AblationSpec(ablation, output=tmp_path / "out3"))


def test_a_row_starts_from_another_rows_supernet_of_the_same_seed(ablation, tmp_path):
    """Few-shot parts fine-tuned from the one-shot supernet: the source trains first, its time counts."""
    raw = yaml.safe_load(ablation.read_text())
    raw.update({"grid": {}, "fusions": {}, "subsets": [], "evals": {"batch / loss": {}},
                "rows": {"few-shot K=2": {"from": "one-shot", "train.fewshot_gene": "c19"}, "one-shot": {}}})
    ablation.write_text(yaml.safe_dump(raw))
    spec = AblationSpec(ablation)
    assert spec.waves() == [["one-shot"], ["few-shot K=2"]]
    ablate_run.run_ablation(spec)
    source, fewshot = spec.run_dir("one-shot", 0), spec.run_dir("few-shot K=2", 0)
    assert spec.row_config("few-shot K=2", 0)["train"]["init_checkpoint"] == str(source)
    assert (fewshot / "fewshot.json").is_file() and (fewshot / "part1of2" / "latest.json").is_file()
    cells = [json.loads((run / "cell.json").read_text()) for run in (source, fewshot)]
    assert cells[1]["train_seconds"] > cells[0]["train_seconds"]
    assert "few-shot K=2" in (tmp_path / "out" / "table.md").read_text()


def test_agreement_between_supernet_seeds_is_the_mean_over_seed_pairs():
    from hnas.ablate.report import between_seeds
    first = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
    reversed_ = {k: -v for k, v in first.items()}
    assert between_seeds([first]) == ""  # one seed: nothing to compare
    assert between_seeds([first, dict(first)]) == "1.000"
    assert between_seeds([first, dict(first), reversed_]) == f"{(1 - 1 - 1) / 3:.3f}"
