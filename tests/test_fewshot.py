"""Few-shot supernets: the space split on one gene, parts trained from the one-shot supernet and
resumable, `hnas test` routing every arch to its part, part outputs merging like shards."""
import json
import random

import numpy as np
import paddle
import pytest

from hnas.archfile import read_arch_file, sample_arch_file
from hnas.build import build_scorer
from hnas.cli import main
from hnas.errors import ArchError, HnasError
from hnas.interfaces import Space
from hnas.spaces import ResNet20Space, ResNet48Space
from hnas.spaces.split import SpaceSplit
from hnas.train.run import train_supernet
from conftest import TINY, crash_training_at_step, tiny_config

R20, R48 = ResNet20Space(), ResNet48Space()


@pytest.mark.parametrize("space, gene, parts, groups", [
    (R20, "c19", 2, [(4, 8, 12, 16, 20, 24, 28, 32), (36, 40, 44, 48, 52, 56, 60, 64)]),
    (R48, "depth3", 3, [(2, 3, 4), (5, 6), (7, 8)]),
])
def test_a_part_is_a_space_of_its_own(space, gene, parts, groups):
    split = SpaceSplit(space, gene, parts)
    assert split.groups == groups
    position = list(space.gene_names()).index(gene)
    rng = random.Random(0)
    for index in range(parts):
        part = split.part(index)
        assert isinstance(part, Space)
        for arch in (part.largest(), part.smallest(), *(part.sample(rng) for _ in range(20))):
            assert split.part_of(arch) == index and part.validate(arch) == arch
        assert space.to_genes(part.largest())[position] == max(groups[index])
        assert part.gene_choices()[position] == groups[index]
    other = split.part(1).largest()
    with pytest.raises(ArchError, match="not in few-shot part 0"):
        split.part(0).validate(other)


@pytest.mark.parametrize("gene, parts, message", [("c21", 2, "not a gene"), ("c19", 1, "parts must be"),
                                                    ("c1", 99, "parts must be")])
def test_bad_splits_are_one_error(gene, parts, message):
    with pytest.raises(HnasError, match=message):
        SpaceSplit(R20, gene, parts)


CORNERS = [[[2, 2], [2, 3], [2, 4]], [[3, 2], [4, 2], [5, 2], [6, 2], [7, 2], [8, 2]],
           [[8, 3], [8, 4], [8, 5]], [[2, 5], [3, 5], [4, 5], [5, 5], [6, 5], [7, 5]]]  # the 2022 2nd place's


def test_explicit_groups_over_two_genes_leave_the_rest_in_no_part_and_each_part_samples_inside_itself():
    from hnas.spaces.list_ranges import ListRanges, ranged
    space = ResNet48Space()
    split = SpaceSplit(space, ["depth3", "depth4"], groups=CORNERS)
    assert split.parts == 4 and not split.covers
    assert SpaceSplit(space, "depth3", groups=[[2, 3, 4], [5, 6, 7, 8]]).covers
    again = SpaceSplit(space, split.describe()["gene"], groups=split.describe()["groups"])  # what fewshot.json holds
    rng = random.Random(0)
    for _ in range(200):
        arch = space.sample(rng)
        pair = [arch.depths[2], arch.depths[3]]
        expected = next((i for i, group in enumerate(CORNERS) if pair in group), None)
        assert split.part_of(arch) == again.part_of(arch) == expected
    for index in range(4):
        part = split.part(index)
        inside = ranged(part, ListRanges.builtin(space, "cvpr2022_track1"))
        for arch in [part.sample(rng) for _ in range(20)] + [inside.sample(rng) for _ in range(20)]:
            assert split.part_of(arch) == index and part.validate(arch) == arch
        assert split.part_of(part.largest()) == split.part_of(part.smallest()) == index
    assert split.part(1).largest().depths[2:] == (8, 2) and split.part(1).smallest().depths[2:] == (3, 2)
    with pytest.raises(HnasError, match="overlap"):
        SpaceSplit(space, ["depth3", "depth4"], groups=[[[2, 2]], [[2, 2], [3, 3]]])
    with pytest.raises(HnasError, match=r"group 1 on depth3, depth4: \[9, 2\] is not a list of one value per gene"):
        SpaceSplit(space, ["depth3", "depth4"], groups=[[[9, 2]]])
    with pytest.raises(HnasError, match="several genes need explicit groups"):
        SpaceSplit(space, ["depth3", "depth4"], 2)


def test_parts_over_explicit_groups_train_and_archs_in_no_group_are_scored_by_the_supernet_they_started_from(
        fewshot_run, tmp_path):
    root, archs = fewshot_run
    groups = [[4], [16]]  # the stem's narrowest and widest: an arch with c1 = 8 or 12 is in no part
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as refused:  # no supernet for the archs in no group: one error before training
        main(["train", "None", *_argv(out, **{"train.fewshot_gene": "c1", "train.fewshot_groups": json.dumps(groups)})])
    assert refused.value.code == 2
    main(["train", "None", *_argv(out, **{"train.fewshot_gene": "c1", "train.fewshot_groups": json.dumps(groups),
                                           "train.init_checkpoint": root / "oneshot"})])
    recorded = json.loads((out / "fewshot.json").read_text())
    assert recorded["groups"] == groups and recorded["rest"] == str((root / "oneshot").resolve())
    config = tiny_config(out)
    scorer, params = build_scorer(config, out)
    entries = [(key, R20.parse(text)) for key, text in read_arch_file(archs, R20)]
    routed = {SpaceSplit(R20, "c1", groups=groups).part_of(arch) for _, arch in entries}
    assert None in routed and routed - {None}  # the sample holds archs of a part and archs of none
    oneshot, _ = build_scorer(config, root / "oneshot")
    for _, arch in entries:
        if SpaceSplit(R20, "c1", groups=groups).part_of(arch) is None:
            assert scorer.evaluate(arch) == oneshot.evaluate(arch)


def _argv(run_dir, **overrides):
    settings = {**TINY, "output.dir": str(run_dir), "train.epochs": 1, **overrides}
    return [arg for key, value in settings.items() for arg in (f"--{key}", str(value))]


@pytest.fixture(scope="module")
def fewshot_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fewshot")
    main(["train", "None", *_argv(root / "oneshot")])
    main(["train", "None", *_argv(root / "fewshot", **{"train.fewshot_gene": "c19",
                                                       "train.init_checkpoint": root / "oneshot"})])
    archs = root / "archs.json"
    sample_arch_file(archs, R20, 12, seed=5)
    return root, archs


def test_parts_train_from_the_one_shot_supernet_and_scores_route_to_them(fewshot_run, tmp_path):
    root, archs = fewshot_run
    run = root / "fewshot"
    assert json.loads((run / "fewshot.json").read_text())["gene"] == "c19"
    assert all((run / f"part{i}of2" / "latest.json").is_file() for i in range(2))
    out = tmp_path / "routed.json"
    main(["test", "None", "--checkpoint", str(run), "--archs", str(archs), "--out", str(out), *_argv(run)])
    routed = json.loads(out.read_text())
    split = SpaceSplit(R20, "c19", 2)
    config = tiny_config(run)
    by_part = [build_scorer(config, run / f"part{i}of2")[0] for i in range(2)]
    entries = read_arch_file(archs, R20)
    assert {split.part_of(R20.parse(text)) for _, text in entries} == {0, 1}
    for key, text in entries:
        arch = R20.parse(text)
        assert routed[key]["acc"] == pytest.approx(by_part[split.part_of(arch)].evaluate(arch)["score"], abs=1e-6)


def test_parts_scored_apart_merge_to_the_same_bytes(fewshot_run, tmp_path):
    root, archs = fewshot_run
    run = root / "fewshot"
    whole, merged = tmp_path / "whole.json", tmp_path / "merged.json"
    main(["test", "None", "--checkpoint", str(run), "--archs", str(archs), "--out", str(whole), *_argv(run)])
    parts = []
    for i in range(2):
        parts.append(tmp_path / f"part{i}.json")
        main(["test", "None", "--checkpoint", str(run), "--archs", str(archs), "--out", str(parts[-1]),
              "--part", str(i), *_argv(run)])
    assert 0 < len(json.loads(parts[0].read_text())) < 12
    main(["merge", str(archs), str(merged), *map(str, parts)])
    assert merged.read_bytes() == whole.read_bytes()


def test_an_interrupted_part_resumes_to_the_same_weights(fewshot_run, tmp_path, monkeypatch):
    root, _ = fewshot_run
    settings = {"train.fewshot_gene": "c19", "train.init_checkpoint": str(root / "oneshot"), "train.epochs": 3}
    train_supernet(tiny_config(tmp_path / "clean", **settings), part=1)
    restore = crash_training_at_step(monkeypatch, 8)  # in epoch two
    with pytest.raises(KeyboardInterrupt):
        train_supernet(tiny_config(tmp_path / "resumed", **settings), part=1)
    restore()
    trainer = train_supernet(tiny_config(tmp_path / "resumed", **settings), part=1)
    assert trainer.start_epoch == 1 and trainer.global_step == 18
    assert not (tmp_path / "resumed" / "part0of2").exists()
    a = paddle.load(str(tmp_path / "clean" / "part1of2" / "epoch_0003.pdparams"))
    b = paddle.load(str(tmp_path / "resumed" / "part1of2" / "epoch_0003.pdparams"))
    for name in a:
        np.testing.assert_allclose(np.asarray(b[name]), np.asarray(a[name]), rtol=1e-5, atol=1e-6, err_msg=name)


def test_a_part_of_a_recipe_without_a_split_is_one_error(tmp_path):
    with pytest.raises(HnasError, match="fewshot_gene"):
        train_supernet(tiny_config(tmp_path), part=0)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "None", "--part", "-1", *_argv(tmp_path)])
    assert exit_info.value.code == 2


def test_an_arch_exports_from_its_part_with_the_same_outputs(fewshot_run, tmp_path):
    root, _ = fewshot_run
    run = root / "fewshot"
    arch = SpaceSplit(R20, "c19", 2).part(1).largest()
    main(["export", "None", "--checkpoint", str(run), "--arch", R20.format(arch), "--out", str(tmp_path / "x"),
          *_argv(run)])  # export_subnet fails unless the exported model scores what the supernet scores
    report = json.loads((tmp_path / "x" / "export.json").read_text())
    part_scorer, _ = build_scorer(tiny_config(run, **{"eval.bn_mode": "calib_train"}), run / "part1of2")
    assert report["supernet"]["loss"] == pytest.approx(part_scorer.evaluate(arch)["loss"], abs=1e-6)
