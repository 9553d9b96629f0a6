"""The 2022 4th place's per-stage weight groups: which group a stage runs, and which group a new one
grows from (pure; hnas.spaces.stage_groups)."""
import pytest

from hnas.config_schema import Model
from hnas.spaces import ResNet48Space
from hnas.spaces.stage_groups import MAX_GROUPS, StageGroups

# the widest width each group runs, narrowest group first, per stage: their get_max_channel_per_stage
THEIR_GROUP_WIDTHS = {
    2: [[56, 64], [120, 128], [240, 256], [488, 512]],
    3: [[48, 56, 64], [112, 120, 128], [232, 240, 256], [464, 488, 512]],
    4: [[48, 56, 64], [104, 112, 120, 128], [216, 232, 240, 256], [432, 464, 488, 512]],
    5: [[48, 56, 64], [96, 104, 112, 120, 128], [208, 216, 232, 240, 256], [408, 432, 464, 488, 512]],
    6: [[48, 56, 64], [88, 96, 104, 112, 120, 128], [192, 208, 216, 232, 240, 256], [384, 408, 432, 464, 488, 512]],
}


@pytest.mark.parametrize("count", sorted(THEIR_GROUP_WIDTHS))
def test_the_groups_cover_the_widths_the_fourth_place_gave_them(count):
    groups = StageGroups(count)
    widest = [sorted(groups.covered(stage, g)[0] for g in range(groups.sizes[stage])) for stage in range(4)]
    assert widest == THEIR_GROUP_WIDTHS[count]


def test_every_width_runs_in_exactly_the_group_that_covers_it():
    for count in range(1, MAX_GROUPS + 1):
        groups = StageGroups(count)
        for stage, widths in enumerate(groups.widths):
            for channels in widths:
                group = groups.group(stage, channels)
                assert channels in groups.covered(stage, group)
    assert StageGroups(2).group(3, 512) == 0 and StageGroups(2).group(3, 488) == StageGroups(2).group(3, 360) == 1
    assert StageGroups(7).sizes == (3, 6, 7, 7) and StageGroups(1).sizes == (1, 1, 1, 1)


def test_an_arch_runs_the_group_of_each_stages_output_width():
    space = ResNet48Space()
    arch = space.make((2, 3, 4, 5), stem=3, conv1=(1, 1, 1, 1), conv2=(3, 1, 7, 2))
    assert StageGroups(3).of(space, arch) == (1, 0, 2, 1)   # 56 -> 1; 128 -> 0; 176 -> the last; 488 -> 1
    assert StageGroups(1).of(space, arch) == (0, 0, 0, 0)


def test_a_new_group_grows_from_the_group_that_covered_its_widths():
    two, three = StageGroups(2), StageGroups(3)
    assert [three.source(3, g, two) for g in range(3)] == [0, 1, 1]
    assert [StageGroups(7).source(3, g, StageGroups(1)) for g in range(7)] == [0] * 7
    for g in range(3):  # the widths a new group runs were all run by its source
        assert set(three.covered(3, g)) <= set(two.covered(3, three.source(3, g, two)))


def test_the_count_is_checked_and_the_recipe_schema_allows_the_same_range():
    with pytest.raises(ValueError):
        StageGroups(MAX_GROUPS + 1)
    bounds = {type(m).__name__: m for m in Model.model_fields["stage_groups"].metadata}
    assert bounds["Ge"].ge == 1 and bounds["Le"].le == MAX_GROUPS
