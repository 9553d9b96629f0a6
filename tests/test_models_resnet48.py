import numpy as np
import paddle
import pytest

from conftest import count_macs
from hnas.errors import HnasError
from hnas.scoring import SupernetScorer
from hnas.models import MODELS, ResNet48, ResOFA, count_trainable_params, create_standalone, create_supernet
from hnas.spaces import ResNet48Space
from hnas.spaces.samplers import UniformSampler

SPACE = ResNet48Space()
FREE = ResNet48Space(tied=False)


@pytest.fixture(scope="module")
def supernet():
    paddle.seed(0)
    return ResOFA(num_classes=5, outer_act="prelu")


def _archs(space, seed, count):
    sampler = UniformSampler(space, seed=seed)
    return [space.largest(), space.smallest()] + [sampler.draw(i) for i in range(count)]


@pytest.mark.parametrize("space", [SPACE, FREE], ids=["tied", "untied"])
def test_analytic_params_and_flops_equal_built_model(space):
    for i, arch in enumerate(_archs(space, 0, 6)):
        act = ("relu", "prelu")[i % 2]
        model = ResNet48(arch, num_classes=10, outer_act=act, space=space)
        assert count_trainable_params(model) == space.count_params(arch, 10, {"name": f"resnet48_{act}"})
        if i < 4:
            for size in (32, 45):
                assert count_macs(model, size) == space.count_flops(arch, image_size=size, num_classes=10)


def test_untied_arch_projects_where_widths_differ():
    text = "1" + "2222" + "1" + "1311000000" + "1111000000" + "11110000" + "00000000" + "1111000000"
    model = ResNet48(FREE.parse(text), num_classes=3, space=FREE)
    blocks = model.basic_blocks()
    assert blocks[0].downsample is not None and blocks[1].downsample is not None  # 64 -> 56 -> 64
    assert [b.downsample is not None for b in blocks[2:]] == [True, False, True, False, True, False]


def test_activation_variants_change_only_the_outer_activation():
    expected = {"resnet48": "ReLU", "resnet48_prelu": "PReLU", "resnet48_mish": "Mish",
                "resnet48_swish": "Swish", "resnet48_selu": "SELU"}
    assert {name for name, entry in MODELS.items() if entry.space == "resnet48"} == set(expected)
    for name, act in expected.items():
        model = create_standalone("resnet48", SPACE.smallest(), 4, name=name)
        for block in model.basic_blocks():
            assert type(block.relu).__name__ == "ReLU" and type(block.act).__name__ == act
        model.eval()
        assert model(paddle.randn([1, 3, 32, 32])).shape == [1, 4]


def test_registry_refuses_mismatched_models_and_options():
    with pytest.raises(HnasError, match="belongs to search space 'resnet48', not 'resnet20'"):
        create_supernet("resnet20", 10, name="resnet48_mish")
    with pytest.raises(HnasError, match="has no option model.conv='front'"):
        create_supernet("resnet48", 10, conv="front")
    with pytest.raises(HnasError, match="unknown model 'resnet48_gelu'"):
        create_supernet("resnet48", 10, name="resnet48_gelu")


@pytest.mark.every_stack
def test_exported_standalone_matches_supernet(supernet):
    x = paddle.randn([4, 3, 32, 32])
    supernet.train()
    for arch in _archs(SPACE, 1, 3):  # train-mode passes give BN running stats of their own
        supernet.set_arch(arch)
        supernet(x)
    for arch in _archs(SPACE, 1, 3):
        supernet.set_arch(arch)
        assert supernet.active_arch() == SPACE.format(arch)
        standalone = ResNet48(arch, num_classes=5, outer_act="prelu")
        standalone.set_state_dict({k: paddle.to_tensor(v) for k, v in supernet.export_state(arch).items()})
        for mode in ("eval", "train"):
            getattr(supernet, mode)()
            getattr(standalone, mode)()
            with supernet.bn_stats_mode("batch" if mode == "train" else "normal"):
                expected = supernet(x).numpy()
            np.testing.assert_allclose(standalone(x).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_set_arch_takes_strings_and_keeps_residual_ties(supernet):
    text = "1252233313000000223212122253130000000000006515000000"
    supernet.set_arch(text)
    assert supernet.active_arch() == text
    stage2 = [f"blocks.{1 + 5 + i}.conv2" for i in range(5)] + ["blocks.6.downsample.0"]
    assert {supernet.current_config[k]["channel"] for k in stage2} == {128 * 0 + 120}  # code 2 of 128
    assert supernet.current_config["blocks.0.conv"] == supernet.current_config["blocks.1.conv2"]
    with pytest.raises(Exception, match="identity shortcuts"):
        supernet.set_arch(text[:7] + "1" + text[8:])
    supernet.eval()
    assert supernet(paddle.randn([2, 3, 32, 32])).shape == [2, 5]


def test_bn_modes_leave_running_stats_as_they_were(supernet):
    x = paddle.randn([6, 3, 32, 32])
    batches = [(x[:3], paddle.to_tensor([0, 1, 2])), (x[3:], paddle.to_tensor([3, 4, 0]))]
    before = {k: v.numpy().copy() for k, v in supernet.running_statistics().items()}
    archs = _archs(SPACE, 4, 2)
    for bn_mode in ("batch", "calib_train"):
        scorer = SupernetScorer(supernet, batches[:1], bn_mode, "loss", calib_batches=batches)
        forward = [scorer.evaluate(a)["loss"] for a in archs]
        backward = [scorer.evaluate(a)["loss"] for a in reversed(archs)]
        assert forward == backward[::-1]
    after = supernet.running_statistics()
    assert all(np.array_equal(before[k], after[k].numpy()) for k in before)


def test_calibration_writes_the_mean_of_batch_statistics(supernet):
    supernet.set_arch(SPACE.smallest())
    x = paddle.randn([4, 3, 32, 32]) * 3 + 1
    seen = {}
    stem_bn = supernet.model.blocks[0].bn
    stem_bn.register_forward_post_hook(lambda layer, inputs, out: seen.setdefault("x", inputs[0]))
    with supernet.bn_stats_mode("calibrate"):
        supernet(x)
    supernet.finish_calibration()
    width = SPACE.stem_width(SPACE.smallest())
    expected = seen["x"].numpy().mean(axis=(0, 2, 3))
    np.testing.assert_allclose(stem_bn._mean.numpy()[:width], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.every_stack
def test_pretrained_load_and_reorder_keep_the_largest_function(tmp_path):
    paddle.seed(1)
    teacher = ResNet48(SPACE.largest(), num_classes=5)
    teacher.train()
    teacher(paddle.randn([4, 3, 32, 32]))  # non-trivial running stats
    teacher.eval()
    path = tmp_path / "resnet48.pdparams"
    paddle.save(teacher.state_dict(), str(path))
    x = paddle.randn([2, 3, 32, 32])
    expected = teacher(x).numpy()
    for reorder in (False, True):
        net = ResOFA(num_classes=5)
        net.load_pretrained(path, reorder=reorder)
        net.set_arch(SPACE.largest())
        net.eval()
        np.testing.assert_allclose(net(x).numpy(), expected, rtol=1e-4, atol=1e-4)
    importance = paddle.abs(net.model.blocks[3].conv2.fn.weight).sum(axis=[0, 2, 3]).numpy()
    assert np.all(np.diff(importance) <= 0)
    ResOFA(num_classes=5, outer_act="prelu").load_pretrained(path)  # PReLU slopes keep their init
    paddle.save({"fc.weight": paddle.zeros([3, 3])}, str(tmp_path / "foreign.pdparams"))
    with pytest.raises(HnasError, match=r"does not fit a largest ResNet48 with 5 classes: \d+ missing \(blocks.0.conv.weight"):
        ResOFA(num_classes=5).load_pretrained(tmp_path / "foreign.pdparams")


def test_the_constructors_take_an_arch_string_and_anything_else_is_one_clear_error():
    from hnas.errors import ArchError
    from hnas.models import ResNet20
    from hnas.spaces import ResNet20Space
    text = "1252233313000000223212122253130000000000006515000000"  # the 45k list's arch1
    assert ResNet48(text, num_classes=3).arch == SPACE.parse(text)
    small20 = ResNet20Space().format(ResNet20Space().smallest())
    assert ResNet20(small20, num_classes=3).arch == ResNet20Space().smallest()
    with pytest.raises(ArchError, match="expected a 52-character arch string or a ResNet48Arch, got tuple"):
        ResNet48(tuple(range(5)))
    with pytest.raises(ArchError, match="expected 52 digits"):
        ResNet48(text[:-1])
    with pytest.raises(ArchError, match="expected a tuple of 20 channel counts"):
        ResNet20Space().validate(("4", "8"))
