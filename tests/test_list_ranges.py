"""Issue 31: train where you score. ListRanges reads the choices an arch list uses; RangedSpace
draws, and builds its largest and smallest archs, only inside them (pure logic, no paddle)."""
import random

import pytest

from conftest import load_anchor
from hnas.config import load_config
from hnas.errors import HnasError
from hnas.spaces import get_space
from hnas.spaces.list_ranges import ListRanges, RangedSpace, ranged
from hnas.spaces.samplers import ProgressiveShrinkingSampler, StrictFairSampler, UniformSampler
from hnas.spaces.split import SpaceSplit


@pytest.fixture(scope="module")
def list2022():
    space = get_space("resnet48")
    return [space.parse(entry["arch"], key) for key, entry in load_anchor("cvpr2022_track1_test_45k.json").items()]


def _inside(ranges, space, arch):
    return all(value is None or value in ranges.choices[name] for name, value in space.gene_values(arch).items())


def test_the_built_in_2022_ranges_are_those_of_the_real_45k_list(list2022):
    space = get_space("resnet48")
    assert ListRanges.from_archs(space, list2022).describe() == ListRanges.builtin(space, "cvpr2022_track1").describe()
    line = ListRanges.builtin(space, "cvpr2022_track1").summary(space)
    assert "s1.conv2 1-3" in line and "s3b8.conv1 1-5" in line and "depth" not in line and "s4" not in line


def test_uniform_draws_almost_never_land_in_the_2022_list_and_ranged_draws_always_do(list2022):
    space = get_space("resnet48")
    ranges = ListRanges.builtin(space, "cvpr2022_track1")
    uniform = UniformSampler(space, seed=0)
    inside_uniform = sum(_inside(ranges, space, uniform.draw(i)) for i in range(2000))
    assert inside_uniform <= 5  # about 1 in 5,500 (issue 31)
    training = ranged(space, ranges)
    draws = [UniformSampler(training, seed=0).draw(i) for i in range(3000)]
    assert all(_inside(ranges, space, arch) and space.validate(arch) == arch for arch in draws)
    # every allowed choice of every gene is drawn, at the list's own frequencies within a few percent
    drawn_values = [space.gene_values(a) for a in draws]
    listed_values = [space.gene_values(a) for a in list2022[::5]]
    for name, allowed in ranges.choices.items():
        drawn = [values[name] for values in drawn_values if values[name] is not None]
        listed = [values[name] for values in listed_values if values[name] is not None]
        assert set(drawn) == set(allowed), name
        assert abs(len(drawn) / len(drawn_values) - len(listed) / len(listed_values)) < 0.05, name
    assert {space.stem_width(a) for a in draws} == {space.stem_width(a) for a in list2022}


def test_ranged_largest_and_smallest_are_the_extremes_inside_the_ranges():
    space = get_space("resnet48")
    training = ranged(space, ListRanges.builtin(space, "cvpr2022_track1"))
    assert training.largest() == space.largest()
    smallest = training.smallest()
    assert smallest.depths == (2, 2, 2, 2) and smallest.stem == 3
    assert [{c for pair in blocks for c in pair} for blocks in smallest.stages] == [{3}, {3}, {5}, {7}]
    assert isinstance(training, RangedSpace) and training.depth_ranges == space.depth_ranges


def test_progressive_shrinking_on_the_ranged_space_keeps_every_phase_inside_the_ranges():
    space = get_space("resnet48")
    ranges = ListRanges.builtin(space, "cvpr2022_track1")
    sampler = ProgressiveShrinkingSampler(ranged(space, ranges), steps_per_epoch=1, phase_epochs=1)
    for step in range(len(sampler.phases) + 1):
        draws = [sampler.draw(i, step) for i in range(200)]
        assert all(_inside(ranges, space, arch) for arch in draws), step
    first = [sampler.draw(i, 0) for i in range(50)]  # the first depth phase: the deepest blocks at the widest code
    assert all(code == 1 for arch in first for blocks in arch.stages for pair in blocks for code in pair)
    assert {arch.depths[2] for arch in first} <= set(sampler.phases[0][0][2])
    last = [sampler.draw(i, len(sampler.phases) - 2) for i in range(300)]  # a width phase narrower than the ranges
    assert {arch.stages[3][0][0] for arch in last} < set(range(1, 8))


def test_a_resnet20_list_restricts_strict_fair_and_few_shot_draws(gt2021):
    space = get_space("resnet20")
    archs = [space.parse(entry["arch"]) for entry in gt2021.values()]
    narrow = [a for a in archs if a[0] == max(space.gene_choices()[0])]  # a list whose first position is its widest
    ranges = ListRanges.from_archs(space, narrow, "a narrowed list")
    assert ranges.choices["c1"] == (max(space.gene_choices()[0]),) and ranges.restricts(space)
    assert not ListRanges.from_archs(space, archs).restricts(space)  # the 2021 list is uniform over its space
    fair = StrictFairSampler(ranged(space, ranges), seed=1)
    assert all(fair.draw(i)[0] == ranges.choices["c1"][0] for i in range(3 * fair.block_size))
    part = SpaceSplit(space, "c19", 2).part(0)
    both = ranged(part, ranges)
    draws = [both.sample(random.Random(i)) for i in range(200)]
    assert all(a[0] == ranges.choices["c1"][0] and a[18] in part.allowed for a in draws)
    assert both.largest()[0] == both.smallest()[0] == ranges.choices["c1"][0]


def test_bad_ranges_and_bad_pairings_are_one_clear_error(tmp_path):
    space = get_space("resnet48")
    with pytest.raises(HnasError, match="nope are not genes of resnet48"):
        ListRanges(space, {"nope": (1,)}, "a file")
    with pytest.raises(HnasError, match=r"gene s1.conv2 allows \[8\]; expected a non-empty subset"):
        ListRanges(space, {"s1.conv2": (8,)}, "a file")
    with pytest.raises(HnasError, match="no archs"):
        ListRanges.from_archs(space, [], "an empty list")
    with pytest.raises(HnasError, match="no built-in ranges 'cvpr2022_track1' for search space resnet20"):
        ListRanges.builtin(get_space("resnet20"), "cvpr2022_track1")
    part = SpaceSplit(space, "depth1", 4).part(0)  # depth1 = 2 only
    with pytest.raises(HnasError, match="no choice of gene depth1 is left"):
        ranged(part, ListRanges(space, {"depth1": (5,)}, "deep stem lists"))
    with pytest.raises(HnasError, match="train.sample_like cvpr2022_track1: ranges of search space resnet48, not resnet20"):
        load_config(None, **{"train.sample_like": "cvpr2022_track1"})
