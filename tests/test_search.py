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
    archs = grid_candidates(R20, R20.smallest(), ["c1", "c20"], lambda a: True)
    assert len(archs) == 4 * 16 and {a[0] for a in archs} == {4, 8, 12, 16}
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
