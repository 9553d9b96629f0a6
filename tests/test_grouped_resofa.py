"""The 2022 4th place's few-shot supernet (hnas.models.grouped_resofa): each stage runs the weight group
of its output width, a new group starts from the group it grows from, and export keeps the function."""
import numpy as np
import paddle
import pytest

from hnas.errors import HnasError
from hnas.models import ResNet48, create_supernet
from hnas.models.grouped_resofa import GroupedResOFA
from hnas.spaces import ResNet48Space

SPACE = ResNet48Space()
X = paddle.randn([2, 3, 32, 32])
# stage output codes 1, 1, 7, 2: groups (0, 0, last, 1) at 2 or 3 groups
ARCH = SPACE.make((2, 3, 4, 5), stem=1, conv1=(2, 4, 6, 3), conv2=(1, 1, 7, 2))


def _state(net):
    return {k: v.numpy() for k, v in net.state_dict().items()}


def _block(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _equal(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def one_group(tmp_path_factory):
    paddle.seed(3)
    net = create_supernet("resnet48", 4)
    path = tmp_path_factory.mktemp("one") / "one.pdparams"
    paddle.save(net.state_dict(), str(path))
    return net, path


def test_every_group_of_a_grown_supernet_starts_from_the_one_group_weights(one_group):
    one, path = one_group
    grouped = create_supernet("resnet48", 4, stage_groups=3)
    assert isinstance(grouped, GroupedResOFA)
    grouped.load_grown(path)
    state, source = _state(grouped), _state(one)
    for stage in range(4):
        for group in range(grouped.stage_groups.sizes[stage]):
            for index in range(len(grouped.model.stage_blocks[stage])):
                copied = _block(state, f"model.{grouped.model.block_name(stage, group, index)}.")
                assert _equal(copied, _block(source, f"model.blocks.{one.model.stage_blocks[stage][index]}."))
    for arch in (ARCH, SPACE.largest(), SPACE.smallest()):
        one.set_arch(arch), grouped.set_arch(arch)
        one.eval(), grouped.eval()
        np.testing.assert_allclose(grouped(X).numpy(), one(X).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.every_stack
def test_a_step_trains_only_the_groups_the_arch_runs_and_export_keeps_the_function():
    paddle.seed(4)
    net = create_supernet("resnet48", 4, stage_groups=2)
    net.set_arch(ARCH)
    assert net.model.active_groups == (0, 0, 1, 1)
    before = _state(net)
    optimizer = paddle.optimizer.SGD(0.1, parameters=net.parameters())
    net.train()
    net(X).mean().backward()
    optimizer.step()
    after = _state(net)
    changed = {k.split(".")[1] + "." + k.split(".")[2] for k in before if not np.array_equal(before[k], after[k])}
    assert "groups.2" in changed and "groups.3" in changed and "heads.0" in changed
    assert not any(name.startswith(("groups.0", "groups.1")) for name in changed)
    assert f"blocks.{len(net.model.blocks) - 1}" not in changed  # group 0's head did not run
    net.eval()
    standalone = ResNet48(ARCH, num_classes=4)
    standalone.set_state_dict({k: paddle.to_tensor(v) for k, v in net.export_state(ARCH).items()})
    standalone.eval()
    np.testing.assert_allclose(standalone(X).numpy(), net(X).numpy(), rtol=1e-4, atol=1e-4)


def test_three_groups_grow_from_two_each_new_group_from_the_group_that_covered_it(tmp_path):
    paddle.seed(5)
    two = create_supernet("resnet48", 4, stage_groups=2)
    for p in two.parameters():  # every group distinct
        p.set_value(paddle.randn(p.shape, dtype=p.dtype))
    path = tmp_path / "two.pdparams"
    paddle.save(two.state_dict(), str(path))
    three = create_supernet("resnet48", 4, stage_groups=3)
    three.load_grown(path)
    grown, source = _state(three), _state(two)
    for group, from_group in ((0, 0), (1, 1), (2, 1)):
        assert _equal(_block(grown, f"model.{three.model.block_name(3, group, 0)}."),
                      _block(source, f"model.{two.model.block_name(3, from_group, 0)}."))
        assert _equal(_block(grown, f"model.{three.model.head_name(group)}."),
                      _block(source, f"model.{two.model.head_name(from_group)}."))
    paddle.save(three.state_dict(), str(tmp_path / "three.pdparams"))
    with pytest.raises(HnasError, match="tensors it has no place for"):
        two.load_grown(tmp_path / "three.pdparams")
    partial = {k: v for k, v in two.state_dict().items() if not k.startswith("model.heads.")}
    paddle.save(partial, str(tmp_path / "headless.pdparams"))
    with pytest.raises(HnasError, match=r"holds part of a stage group: \d+ tensors missing \(model.heads.0.fc"):
        three.load_grown(tmp_path / "headless.pdparams")


def test_a_pretrained_largest_model_starts_every_group_and_other_options_are_one_error(tmp_path):
    paddle.seed(6)
    largest = ResNet48(SPACE.largest(), num_classes=4)
    path = tmp_path / "resnet48.pdparams"
    paddle.save(largest.state_dict(), str(path))
    net = create_supernet("resnet48", 4, stage_groups=2)
    net.load_pretrained(path, reorder=True)
    net.set_arch(SPACE.largest()), net.eval(), largest.eval()
    assert net.model.active_groups == (0, 0, 0, 0)
    expected = largest(X).numpy()
    np.testing.assert_allclose(net(X).numpy(), expected, rtol=1e-4, atol=1e-4)
    state = _state(net)
    assert _equal(_block(state, "model.groups.3.0.4."), _block(state, f"model.blocks.{net.model.stage_blocks[3][4]}."))
    with pytest.raises(HnasError, match="has no option model.stage_groups=2"):
        create_supernet("resnet20", 4, stage_groups=2)
