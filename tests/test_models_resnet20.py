import numpy as np
import paddle
import pytest

from conftest import count_macs

from hnas.models import ResNet20, ResNet20Supernet, count_trainable_params
from hnas.spaces import ResNet20Space
from hnas.spaces.samplers import UniformSampler

SPACE = ResNet20Space()


@pytest.mark.parametrize("options", [{}, {"always_project": True}, {"residual_act": "prelu"}])
def test_analytic_params_equal_built_model(options):
    sampler = UniformSampler(SPACE, seed=0)
    archs = [SPACE.largest(), SPACE.smallest()] + [sampler.draw(i) for i in range(30)]
    for arch in archs:
        model = ResNet20(arch, num_classes=10, **options)
        assert count_trainable_params(model) == SPACE.count_params(arch, 10, options)


def test_analytic_flops_equal_counted_macs():
    sampler = UniformSampler(SPACE, seed=1)
    for arch in [SPACE.largest()] + [sampler.draw(i) for i in range(5)]:
        for size in (8, 15, 32):
            macs = count_macs(ResNet20(arch, num_classes=10), size)
            assert macs == SPACE.count_flops(arch, image_size=size, num_classes=10)


VARIANTS = [  # together these cover every conv, BN and FC sharing variant
    dict(conv="full", bn="full", fc="full"),
    dict(conv="front", bn="front", fc="independent"),
    dict(conv="end", bn="end", fc="full"),
    dict(conv="independent", bn="independent", fc="independent"),
    dict(conv="full", bn="end", fc="independent", always_project=True, bn_running_stats=False),
    # the 2021 winner's supernet, before and after its branches are made
    dict(conv="branch", bn="branch", fc="branch", always_project=True, residual_act="prelu"),
    dict(conv="branch", bn="branch", fc="branch", always_project=True, residual_act="prelu", branched=True),
]


@pytest.mark.every_stack
@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_exported_standalone_matches_supernet(options):
    paddle.seed(0)
    options = dict(options)
    branched = options.pop("branched", False)
    supernet = ResNet20Supernet(num_classes=5, **options)
    x = paddle.randn([4, 3, 8, 8])
    sampler = UniformSampler(SPACE, seed=2)
    # train-mode passes give every BN running stats of its own before comparing
    supernet.train()
    for i in range(3):
        supernet.set_arch(sampler.draw(i))
        supernet(paddle.randn([4, 3, 8, 8]))
    if branched:
        supernet.branch()
        _train_one_step(supernet, SPACE.smallest())  # the buckets part ways
    for arch in [sampler.draw(0), sampler.draw(7), SPACE.smallest(), SPACE.largest()]:
        standalone = ResNet20(arch, num_classes=5, always_project=options.get("always_project", False),
                              bn_running_stats=options.get("bn_running_stats", True),
                              residual_act=options.get("residual_act", "relu"))
        missing, unexpected = standalone.set_state_dict(supernet.export_state(arch))
        assert not missing and not unexpected
        supernet.set_arch(arch)
        for train_mode in (False, True):
            supernet.train() if train_mode else supernet.eval()
            standalone.train() if train_mode else standalone.eval()
            expected = standalone(x).numpy()
            with supernet.bn_stats_mode("batch" if train_mode else "normal"):
                got = supernet(x).numpy()
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_training_updates_only_the_active_slice_of_running_stats():
    supernet = ResNet20Supernet(num_classes=3, bn="full")
    supernet.train()
    supernet.set_arch(SPACE.smallest())
    supernet(paddle.randn([4, 3, 8, 8]) + 3)
    mean = supernet.stem_bn.mean_all.numpy()
    assert np.all(mean[:4] != 0) and np.all(mean[4:] == 0)


def test_calibration_sets_stats_to_mean_of_batches():
    supernet = ResNet20Supernet(num_classes=3)
    supernet.set_arch(SPACE.smallest())
    supernet.eval()
    batches = [paddle.randn([6, 3, 8, 8]) * s + s for s in (1.0, 2.0)]
    with supernet.bn_stats_mode("calibrate"):
        for batch in batches:
            supernet(batch)
    supernet.finish_calibration()
    first_conv = [supernet.stem_conv(b, 3, 4).numpy() for b in batches]
    expected = np.mean([f.mean(axis=(0, 2, 3)) for f in first_conv], axis=0)
    np.testing.assert_allclose(supernet.stem_bn.mean_all.numpy()[:4], expected, rtol=1e-4, atol=1e-5)


def _train_one_step(supernet, arch):
    supernet.train()
    supernet.set_arch(arch)
    optimizer = paddle.optimizer.SGD(0.5, parameters=supernet.parameters())
    paddle.nn.functional.cross_entropy(supernet(paddle.randn([4, 3, 8, 8])), paddle.to_tensor([0, 1, 2, 0])).backward()
    optimizer.step()
    optimizer.clear_grad()


def test_branching_starts_each_bucket_from_the_shared_weight_and_then_trains_it_alone():
    paddle.seed(0)
    supernet = ResNet20Supernet(num_classes=3, conv="branch", bn="branch", fc="branch")
    conv = supernet.blocks[8].conv2  # 64-wide output: buckets of 16
    before = {w: conv.weight(64, w).numpy() for w in (4, 64)}
    assert not supernet.is_branched()
    supernet.branch()
    assert supernet.is_branched() and conv.w_b0.shape[0] == 16 and conv.w_b3.shape[0] == 64
    for width, value in before.items():
        np.testing.assert_array_equal(conv.weight(64, width).numpy(), value)  # same function at branching
    _train_one_step(supernet, SPACE.smallest())
    assert not np.array_equal(conv.weight(64, 4).numpy(), before[4])
    np.testing.assert_array_equal(conv.weight(64, 64).numpy(), before[64])  # another bucket did not move
    state = supernet.state_dict()
    restored = ResNet20Supernet(num_classes=3, conv="branch", bn="branch", fc="branch")
    restored.set_state_dict(state)
    assert restored.is_branched()  # a resumed run stays branched
    np.testing.assert_array_equal(restored.blocks[8].conv2.weight(64, 4).numpy(), conv.weight(64, 4).numpy())


def test_a_shared_batchnorm_forward_writes_its_statistics_on_the_device_without_clones(monkeypatch):
    """Issue 25: the running statistics were cloned and written back through the host (set_value)
    in every training forward; now the kernel updates prefix views of the key's buffers in place."""
    from hnas.models.shared_layers import SharedBatchNorm
    syncs, clones = [], []
    numpy, clone = paddle.Tensor.numpy, paddle.Tensor.clone
    monkeypatch.setattr(paddle.Tensor, "numpy", lambda self, *a, **k: syncs.append(1) or numpy(self, *a, **k))
    monkeypatch.setattr(paddle.Tensor, "clone", lambda self, *a, **k: clones.append(1) or clone(self, *a, **k))
    bn = SharedBatchNorm((4, 8), (4, 8), sharing="full")
    key = bn.statistics_key(8, 4)
    x = paddle.randn([2, 4, 3, 3]) + 2
    bn.eval()
    bn(x, 8, 4)
    bn.train()
    bn._momentum = 1.0  # batch statistics only: the buffers stay as they are
    bn(x, 8, 4)
    assert numpy(getattr(bn, f"mean_{key}")).tolist() == [0.0] * 8
    bn._momentum = 0.0
    bn(x, 8, 4)
    assert syncs == [] and clones == []
    mean = numpy(getattr(bn, f"mean_{key}"))
    np.testing.assert_allclose(mean[:4], numpy(x).mean(axis=(0, 2, 3)), rtol=1e-5)
    assert mean[4:].tolist() == [0.0] * 4  # only the active prefix


def test_the_branch_flag_is_read_once_when_a_state_loads_not_in_every_forward(monkeypatch):
    """Issue 25: is_branched() read a tensor in every layer's forward (1,140 host copies per scored arch)."""
    options = dict(conv="branch", bn="branch", fc="branch", always_project=True, residual_act="prelu")
    branched = ResNet20Supernet(num_classes=5, **options)
    branched.branch()
    fresh = ResNet20Supernet(num_classes=5, **options)
    assert not fresh.is_branched()
    fresh.set_state_dict(branched.state_dict())
    assert fresh.is_branched()  # the loaded flag, mirrored
    syncs = []
    numpy = paddle.Tensor.numpy
    monkeypatch.setattr(paddle.Tensor, "numpy", lambda self, *a, **k: syncs.append(1) or numpy(self, *a, **k))
    fresh.eval()
    fresh.set_arch(SPACE.smallest())
    with paddle.no_grad():
        fresh(paddle.randn([2, 3, 8, 8]))
    assert syncs == []


def _organisers_resnet20(path, num_classes=10, seed=3):
    """A full-width ResNet20 with trained-looking BN statistics, saved under the CVPR 2021
    organisers' tensor names (conv1.conv1.0/1, layer{s}.{i}.conv1.0/1, .downsample.0/1, fc), as
    pretrained_model/resnet20.pdparams holds them; returns the net."""
    from hnas.foreign_names import to_organisers_resnet20
    paddle.seed(seed)
    net = ResNet20(SPACE.largest(), num_classes=num_classes)
    net.train()
    net(paddle.randn([8, 3, 8, 8]))
    net.eval()
    state = to_organisers_resnet20(net.state_dict())
    assert "conv1.conv1.0.weight" in state and "layer2.0.downsample.1._mean" in state and "layer3.2.conv2.1.bias" in state
    paddle.save(state, str(path))
    return net


@pytest.mark.every_stack
def test_the_organisers_2021_weights_load_as_a_teacher_and_as_a_supernets_start(tmp_path):
    from hnas.checkpoint import load_params
    from hnas.errors import HnasError
    path = tmp_path / "resnet20.pdparams"
    original = _organisers_resnet20(path)
    x = paddle.randn([4, 3, 8, 8])
    expected = original(x).numpy()
    teacher = ResNet20(SPACE.largest(), num_classes=10)
    load_params(teacher, path)  # as train.teacher_checkpoint and `hnas standalone --init` read it
    teacher.eval()
    np.testing.assert_array_equal(teacher(x).numpy(), expected)
    for sharing in ("full", "independent"):
        supernet = ResNet20Supernet(num_classes=10, conv=sharing, bn=sharing, fc=sharing)
        supernet.load_pretrained(path)
        supernet.set_arch(SPACE.largest())
        supernet.eval()
        np.testing.assert_allclose(supernet(x).numpy(), expected, rtol=1e-5, atol=1e-5)
        smaller = UniformSampler(SPACE, seed=2).draw(0)  # any arch starts from the largest's leading slices
        standalone = ResNet20(smaller, num_classes=10)
        standalone.set_state_dict(supernet.export_state(smaller))
        exported_conv = standalone.blocks[4].conv1.weight.numpy()
        np.testing.assert_array_equal(exported_conv, original.blocks[4].conv1.weight.numpy()[:exported_conv.shape[0], :exported_conv.shape[1]])
    # a file with a tensor nothing would load is refused, naming it
    state = paddle.load(str(path))
    state["layer1.0.se.fc.weight"] = paddle.zeros([2])
    paddle.save(state, str(tmp_path / "extra.pdparams"))
    with pytest.raises(HnasError, match=r"organisers' ResNet20 naming but has 1 tensors that naming does not have \(e.g. layer1.0.se.fc.weight"):
        load_params(teacher, tmp_path / "extra.pdparams")
    state = teacher.state_dict()
    state["head.weight"] = paddle.zeros([2])
    paddle.save(state, str(tmp_path / "extra_hnas.pdparams"))
    with pytest.raises(HnasError, match=r"1 tensors it has no place for \(head.weight\)"):
        ResNet20Supernet(num_classes=10).load_pretrained(tmp_path / "extra_hnas.pdparams")


def test_hnas_train_distils_from_and_starts_from_the_organisers_2021_file(tmp_path):
    from conftest import run_hnas, tiny_flags
    path = tmp_path / "resnet20.pdparams"
    _organisers_resnet20(path)
    flags = tiny_flags(tmp_path / "run", **{"train.epochs": 1, "model.pretrained": path, "train.distill": "teacher",
                                            "train.teacher_checkpoint": path, "train.strategy": "dyna_batch"})
    code, out, err = run_hnas("train", "None", *flags)
    assert code == 0, err
    assert (tmp_path / "run" / "epoch_0001.pdparams").exists()
