"""Search: candidates stay inside the limits and are never scored twice; evolution resumes onto the
same trajectory; Pareto fronts; budgeted training."""
import json
import random

import pytest

from conftest import tiny_config
from hnas.errors import HnasError
from hnas.proxies.limits import Limits
from hnas.search.candidates import crossover, grid_candidates, mutate, offspring, pareto_front, random_candidates
from hnas.spaces import ResNet20Space, ResNet48Space

R20 = ResNet20Space()


@pytest.mark.parametrize("space", [ResNet20Space(), ResNet48Space(), ResNet48Space(tied=False)],
                         ids=["resnet20", "resnet48", "resnet48-untied"])
def test_genes_round_trip_and_variation_gives_valid_archs(space):
    rng = random.Random(0)
    changed = []
    for _ in range(200):
        a, b = space.sample(rng), space.sample(rng)
        assert space.from_genes(space.to_genes(a)) == a
        child = crossover(space, a, b, rng)
        assert all(g in (x, y) for g, x, y in zip(space.to_genes(child), space.to_genes(a), space.to_genes(b)))
        mutant = mutate(space, a, rng, 0.1)
        space.validate(mutant)  # raises on an invalid arch
        changed.append(sum(x != y for x, y in zip(space.to_genes(mutant), space.to_genes(a))))
    # about 10% of the genes are redrawn (a redraw may keep its value), most mutants differ
    assert 0.03 < sum(changed) / len(changed) / len(space.gene_names()) < 0.15
    assert sum(c > 0 for c in changed) > 150
    names = space.gene_names()
    assert len(names) == len(set(names)) == len(space.gene_choices())


def test_offspring_respect_limits_and_never_repeat():
    limits = Limits(R20, 10, 8, max_params=60_000)
    rng = random.Random(1)
    seen = set()
    parents = random_candidates(R20, rng, 5, limits, seen)
    assert len(parents) == 5 and all(limits(p) for p in parents)
    children = offspring(R20, parents, rng, 20, 20, 0.1, limits, seen)
    texts = [R20.format(c) for c in children]
    assert len(texts) == len(set(texts)) == 40 and all(limits(c) for c in children)
    assert not set(texts) & {R20.format(p) for p in parents}


def test_grid_and_pareto_front():
    archs = grid_candidates(R20, R20.smallest(), ["c1", "c19"], lambda a: True)
    assert len(archs) == 4 * 16 and {a[0] for a in archs} == {4, 8, 12, 16}
    # position 20 is unused by the network: varying it gives one candidate, not 16
    assert len(grid_candidates(R20, R20.smallest(), ["c20"], lambda a: True)) == 1
    with pytest.raises(HnasError, match="unknown dimensions \\['c21'\\]"):
        grid_candidates(R20, R20.smallest(), ["c21"], lambda a: True)
    rng = random.Random(2)
    points = [(rng.randint(0, 20), rng.random()) for _ in range(60)]
    brute = [i for i, (c, s) in enumerate(points)
             if not any((c2 <= c and s2 >= s) and (c2, s2) != (c, s) for c2, s2 in points)]
    assert sorted(pareto_front(points)) == sorted(brute)


def _search(config, run, out, **kw):
    from hnas.search.run import search
    options = dict(generations=2, population=6, parents=3, mutations=3, crossovers=3, max_params=80_000)
    return search(config, run, out, **{**options, **kw})


def test_evolution_writes_outputs_and_resumes_onto_the_same_trajectory(trained_run, tmp_path, monkeypatch):
    config = tiny_config(trained_run)
    book = _search(config, trained_run, tmp_path / "full")
    out = tmp_path / "full"
    scored = json.loads((out / "scored.json").read_text())
    assert len(scored) == len(book.scores) == 6 + 2 * 6
    assert all(R20.count_params(R20.parse(e["arch"]), 10) <= 80_000 for e in scored.values())
    top = json.loads((out / "top.json").read_text())
    assert list(top)[0] == "top1" and top["top1"]["acc"] == max(e["acc"] for e in scored.values())
    assert [h["generation"] for h in json.loads((out / "history.json").read_text())] == [0, 1, 2]
    front = json.loads((out / "pareto_flops.json").read_text())
    assert front and (out / "pareto.png").exists()
    # interrupted after 8 scores, then rerun: the same archs and scores as the uninterrupted run
    import hnas.search.run as search_run
    calls = {"n": 0}
    real_save = search_run.ScoreBook.save

    def crash_after_eight(self):
        real_save(self)
        calls["n"] += 1
        if len(self.scores) >= 8:
            raise KeyboardInterrupt
    monkeypatch.setattr(search_run, "SAVE_EVERY", 1)
    monkeypatch.setattr(search_run.ScoreBook, "save", crash_after_eight)
    with pytest.raises(KeyboardInterrupt):
        _search(config, trained_run, tmp_path / "resumed")
    monkeypatch.setattr(search_run.ScoreBook, "save", real_save)
    resumed = _search(config, trained_run, tmp_path / "resumed")
    assert list(resumed.scores) == list(book.scores)
    assert resumed.scores == pytest.approx(book.scores)
    with pytest.raises(HnasError, match="holds a search with other settings"):
        _search(config, trained_run, tmp_path / "resumed", seed=5)


def test_random_and_grid_search(trained_run, tmp_path):
    config = tiny_config(trained_run)
    book = _search(config, trained_run, tmp_path / "random", method="random", budget=7)
    assert len(book.scores) == 7
    book = _search(config, trained_run, tmp_path / "grid", method="grid", dims=["c1", "c2"],
                   base_arch=R20.format(R20.smallest()), max_params=None)
    assert len(book.scores) == 16


def test_budgeted_training_samples_only_inside_the_range(tmp_path):
    from hnas.train.run import train_supernet
    trainer = train_supernet(tiny_config(tmp_path / "a", **{"train.epochs": 1, "train.sampler": "uniform",
                                                            "train.max_params": 40_000}))
    drawn = [arch for step in range(6) for arch, _ in trainer.plan(step)[2:]]
    assert drawn and all(R20.count_params(a, 10) <= 40_000 for a in drawn)
    with pytest.raises(HnasError, match="no arch fits the limits"):
        train_supernet(tiny_config(tmp_path / "b", **{"train.sampler": "uniform", "train.max_params": 100}))
    with pytest.raises(HnasError, match="strict_fair sampler cannot be restricted"):
        train_supernet(tiny_config(tmp_path / "c", **{"train.max_flops": 10**9}))


def _exported_equals_supernet(config, run, arch, out):
    import numpy as np
    import paddle
    from hnas.search.export import export_subnet
    report = export_subnet(config, run, arch, out)
    assert report["exported"]["acc"] == report["supernet"]["acc"]
    assert report["exported"]["loss"] == pytest.approx(report["supernet"]["loss"], abs=1e-4)
    from hnas.compat import inference_program
    assert (out / "model.pdparams").exists() and (out / inference_program("inference")).exists()
    # the inference model computes what the saved parameters compute
    size = config["data"]["image_size"]
    x = paddle.to_tensor(np.random.RandomState(0).randn(2, 3, size, size).astype("float32"))
    loaded = paddle.jit.load(str(out / "inference"))
    loaded.eval()
    from hnas.build import standalone_from_config
    from hnas.spaces import get_space
    space = get_space(config["space"])
    net = standalone_from_config(config, space.parse(arch), loaded(x).shape[1])
    net.set_state_dict(paddle.load(str(out / "model.pdparams")))
    net.eval()
    assert np.allclose(loaded(x).numpy(), net(x).numpy(), atol=1e-5)
    return report


@pytest.mark.every_stack
def test_export_matches_the_supernet_and_fine_tunes(trained_run, tmp_path, capsys):
    from hnas.cli import main
    from hnas.train.run import train_standalone
    arch = "8-8-4-4-16-16-12-4-24-8-8-16-4-36-32-8-32-8-4-64"
    config = tiny_config(trained_run)
    _exported_equals_supernet(config, trained_run, arch, tmp_path / "export")
    result = train_standalone(tiny_config(tmp_path / "ft", **{"standalone.epochs": 1, "standalone.lr": 1e-9,
                                                               "standalone.warmup_steps": 0}),
                              arch, out_dir=tmp_path / "ft", init=str(tmp_path / "export" / "model.pdparams"))
    import numpy as np
    import paddle
    from hnas.checkpoint import resolve_checkpoint
    start = paddle.load(str(tmp_path / "export" / "model.pdparams"))
    tuned = paddle.load(str(resolve_checkpoint(tmp_path / "ft")[0]))
    # a (near) zero learning rate keeps the exported weights: the run started from them
    assert all(np.allclose(start[k].numpy(), tuned[k].numpy(), atol=1e-6) for k in start if k.endswith("conv1.weight"))
    assert 0.0 <= result["acc"] <= 1.0
    with pytest.raises(SystemExit):
        main(["export", "None", "--checkpoint", str(trained_run), "--arch", "1-2-3", "--out", str(tmp_path / "x")])
    assert "arch '--arch'" in capsys.readouterr().err


@pytest.mark.every_stack
def test_search_and_export_a_resnet48_supernet(image_folder, tmp_path):
    from test_pipeline_resnet48 import tiny48
    from hnas.search.run import search
    from hnas.train.run import train_supernet
    space = ResNet48Space()
    config = tiny48(image_folder, tmp_path / "run", **{"train.epochs": 1})
    train_supernet(config)
    limit = 15_000_000
    book = search(config, tmp_path / "run", tmp_path / "search", generations=1, population=3, parents=2,
                  mutations=2, crossovers=1, max_params=limit)
    assert len(book.scores) == 6
    assert all(space.count_params(space.parse(t), 3) <= limit for t in book.scores)
    best = json.loads((tmp_path / "search" / "top.json").read_text())["top1"]["arch"]
    _exported_equals_supernet(config, tmp_path / "run", best, tmp_path / "export")


def test_edf_analysis_of_the_real_2021_ground_truth(gt2021, tmp_path, capsys):
    from hnas.cli import main
    scores = tmp_path / "gt.json"
    scores.write_text(json.dumps(gt2021))
    main(["analyze", "--scores", str(scores), "--by", "c19", "--out", str(tmp_path / "edf")])
    table = capsys.readouterr().out
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| c19=")]
    assert [r[0] for r in rows] == [f"| c19={w}" for w in range(4, 65, 4)]  # numeric order
    assert sum(int(r[1]) for r in rows) == 1000
    medians = {r[0]: float(r[4]) for r in rows}
    assert medians["| c19=64"] > medians["| c19=4"]  # a wider last layer ranks higher on real data
    assert (tmp_path / "edf" / "edf_c19.png").exists() and (tmp_path / "edf" / "edf_c19.md").exists()


def test_edf_groups_mark_unused_resnet48_blocks():
    from hnas.search.analyze import edf_groups
    space = ResNet48Space()
    rng = random.Random(0)
    entries = [(f"a{i}", space.format(a), float(i)) for i, a in enumerate(space.sample(rng) for _ in range(50))]
    groups = edf_groups(space, entries, "s3b8.conv1")
    assert "unused" in groups and sum(len(v) for v in groups.values()) == 50
    depth8 = [e for e in entries if space.parse(e[1]).depths[2] == 8]
    assert len(groups["unused"]) == 50 - len(depth8)


def test_post_training_refinement_on_a_fixed_subset_with_the_exported_largest_as_teacher(trained_run, tmp_path):
    import numpy as np
    import paddle
    from hnas.cli import main
    from hnas.search.export import export_subnet
    from hnas.checkpoint import resolve_checkpoint
    from hnas.train.run import train_supernet
    export_subnet(tiny_config(trained_run), trained_run, R20.format(R20.largest()), tmp_path / "largest")
    archs = tmp_path / "submission.json"
    main(["sample", str(archs), "--n", "20", "--seed", "4"])
    config = tiny_config(tmp_path / "refine", **{
        "train.epochs": 1, "train.lr": 0.0, "train.warmup_steps": 0, "train.init_checkpoint": str(trained_run),
        "train.strategy": "dyna_batch", "train.sampler": "arch_pool", "train.arch_pool": str(archs),
        "train.arch_pool_size": 3, "train.num_archs": 2, "train.distill": "teacher", "train.distill_loss": "mixed",
        "train.teacher_checkpoint": str(tmp_path / "largest" / "model.pdparams")})
    trainer = train_supernet(config)
    listed = {e["arch"] for e in json.loads(archs.read_text()).values()}
    trained = {R20.format(arch) for step in range(trainer.global_step) for arch, _ in trainer.plan(step)}
    assert len(trained) <= 3 and trained <= listed
    # lr 0: the refined supernet still holds the weights it started from
    start = paddle.load(str(resolve_checkpoint(trained_run)[0]))
    end = paddle.load(str(resolve_checkpoint(tmp_path / "refine")[0]))
    assert all(np.allclose(start[k].numpy(), end[k].numpy()) for k in start if k.endswith("weight"))


def test_search_bookkeeping_is_linear_16k_archs_with_a_free_scorer_in_seconds(tmp_path):
    """Issue 25: the state file was rewritten every 10 archs (16k archs: 45 s with a free scorer)."""
    import time
    from hnas.layout import SEARCH_STATE as STATE_FILE
    from hnas.search.run import ScoreBook
    space = ResNet20Space()
    rng = random.Random(0)
    archs = list({space.format(a): a for a in (space.sample(rng) for _ in range(16_000))}.values())
    book = ScoreBook(tmp_path, {"any": "fingerprint"}, lambda arch: float(sum(arch)))
    start = time.perf_counter()
    scores = book.score_all(space, archs, "free")
    book.record({"generation": 0})
    book.save()
    assert time.perf_counter() - start < 5
    assert scores == [float(sum(a)) for a in archs]
    saved = json.loads((tmp_path / STATE_FILE).read_text())
    assert len(saved["scores"]) == len(archs) and saved["history"] == [{"generation": 0}]
    again = ScoreBook(tmp_path, {"any": "fingerprint"}, lambda arch: 1 / 0)  # a resumed book scores nothing again
    assert again.score_all(space, archs[:100], "resumed") == scores[:100]
