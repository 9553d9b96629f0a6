"""Every search space and every supernet kind satisfies hnas.interfaces (the methods the drivers use)."""
import zlib  # noqa: F401

import pytest

from hnas.interfaces import Space, Supernet
from hnas.models import MODELS, create_supernet
from hnas.spaces import SPACES, get_space


@pytest.mark.parametrize("name", sorted(SPACES))
def test_every_space_satisfies_the_space_protocol(name):
    assert isinstance(get_space(name), Space)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_supernet_kind_satisfies_the_supernet_protocol(model):
    entry = MODELS[model]
    supernet = create_supernet(entry.space, 3, name=model)
    assert isinstance(supernet, Supernet)
    assert isinstance(supernet.space, Space)


def test_the_multi_branch_supernet_and_a_few_shot_part_satisfy_the_protocols():
    from hnas.spaces.split import SpaceSplit
    branched = create_supernet("resnet20", 3, conv="branch", bn="branch", fc="branch", residual_act="prelu")
    branched.branch()
    assert isinstance(branched, Supernet)
    assert isinstance(SpaceSplit(get_space("resnet48"), "depth3", 2).part(1), Space)


def test_a_few_shot_part_keeps_its_spaces_kind_and_strict_fair_draws_only_its_part():
    from hnas.spaces.samplers import StrictFairSampler
    from hnas.spaces.split import SpaceSplit
    assert not get_space("resnet20").elastic_depth and get_space("resnet48").elastic_depth
    part = SpaceSplit(get_space("resnet20"), "c19", 2).part(0)
    assert isinstance(part, Space) and not part.elastic_depth
    sampler = StrictFairSampler(part, seed=0)
    draws = [sampler.draw(i) for i in range(2 * sampler.block_size)]
    assert {a[18] for a in draws} == set(part.gene_choices()[18]) and all(part.validate(a) == a for a in draws)
