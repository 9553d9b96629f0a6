"""Every search space and every supernet kind satisfies hnas.interfaces (the methods the drivers use)."""
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


def test_the_stage_grouped_supernet_satisfies_the_protocols_and_grows_from_fewer_groups():
    from hnas.interfaces import GrowsFromFewerGroups, StartsFromPretrained
    supernet = create_supernet("resnet48", 3, stage_groups=2)
    assert isinstance(supernet, Supernet) and isinstance(supernet, StartsFromPretrained)
    assert isinstance(supernet, GrowsFromFewerGroups)
    assert not isinstance(create_supernet("resnet20", 3), GrowsFromFewerGroups)


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


def _accesses(names, skip=()):
    """{attribute: files} of `x.attr` in hnas where x is a variable or attribute named one of `names`."""
    import ast
    from collections import defaultdict
    from conftest import ROOT
    found = defaultdict(set)
    for path in (ROOT / "hnas").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if any(relative.startswith(s) for s in skip):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                owner = node.value
                if (isinstance(owner, ast.Name) and owner.id in names) or (
                        isinstance(owner, ast.Attribute) and owner.attr in names):
                    found[node.attr].add(relative)
    return found


def _members(*protocols):
    return {name for protocol in protocols for klass in protocol.__mro__ if klass.__module__ == "hnas.interfaces"
            for name in list(vars(klass)) + list(getattr(klass, "__annotations__", {})) if not name.startswith("_")}


def test_the_drivers_use_only_what_the_protocols_declare():
    """A space's or supernet's member that a driver uses but no protocol declares is a contract on
    paper only: a new kind of space would break there (issue 27)."""
    import paddle
    from hnas.interfaces import ElasticDepthSpace, GrowsFromFewerGroups, StartsFromPretrained
    implementations = ("hnas/spaces/resnet20.py", "hnas/spaces/resnet48.py", "hnas/models/")
    undeclared = {name: files for name, files in _accesses({"space", "base_space"}, implementations).items()
                  if name not in _members(ElasticDepthSpace)}
    assert not undeclared, undeclared
    layer_api = set(dir(paddle.nn.Layer))
    undeclared = {name: files for name, files in _accesses({"supernet"}, implementations).items()
                  if name not in _members(Supernet, StartsFromPretrained, GrowsFromFewerGroups) | layer_api}
    assert not undeclared, undeclared


def test_no_driver_probes_a_space_or_model_for_an_ability():
    import re
    from conftest import ROOT
    probes = [f"{path.relative_to(ROOT)}:{i}" for path in (ROOT / "hnas").rglob("*.py")
              for i, line in enumerate(path.read_text().splitlines(), 1)
              if re.search(r"\b(hasattr|getattr)\((space|supernet|network|layer|train_data|self\.space)\b", line)
              and "hnas/models/" not in path.as_posix()]  # the implementations themselves
    assert not probes, probes


@pytest.mark.parametrize("name", sorted(SPACES))
def test_a_few_shot_part_is_the_same_kind_of_space_as_the_whole(name):
    from hnas.interfaces import ElasticDepthSpace
    from hnas.spaces.split import SpaceSplit
    space = get_space(name)
    gene = space.gene_names()[-1]
    part = SpaceSplit(space, gene, 2).part(1)
    assert isinstance(part, Space) and isinstance(part, ElasticDepthSpace) == isinstance(space, ElasticDepthSpace)
    arch = part.largest()
    assert part.parse(part.format(arch)) == arch and part.canonical(arch) == space.canonical(arch)
    assert part.gene_values(arch) == space.gene_values(arch) and part.blocks(arch) == space.blocks(arch)
    with pytest.raises(AttributeError):
        part.no_such_member  # noqa: B018 (a part answers only what it declares, not any name)
