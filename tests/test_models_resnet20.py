import numpy as np
import paddle
import pytest

from conftest import count_macs

from hnas.models import ResNet20, ResNet20Supernet, count_trainable_params
from hnas.spaces import ResNet20Space
from hnas.spaces.samplers import UniformSampler

SPACE = ResNet20Space()


@pytest.mark.parametrize("always_project", [False, True])
def test_analytic_params_equal_built_model(always_project):
    sampler = UniformSampler(SPACE, seed=0)
    archs = [SPACE.largest(), SPACE.smallest()] + [sampler.draw(i) for i in range(30)]
    for arch in archs:
        model = ResNet20(arch, num_classes=10, always_project=always_project)
        assert count_trainable_params(model) == SPACE.count_params(arch, 10, {"always_project": always_project})


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
]


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_exported_standalone_matches_supernet(options):
    paddle.seed(0)
    supernet = ResNet20Supernet(num_classes=5, **options)
    x = paddle.randn([4, 3, 8, 8])
    sampler = UniformSampler(SPACE, seed=2)
    # train-mode passes give every BN running stats of its own before comparing
    supernet.train()
    for i in range(3):
        supernet.set_arch(sampler.draw(i))
        supernet(paddle.randn([4, 3, 8, 8]))
    for arch in [sampler.draw(0), sampler.draw(7), SPACE.smallest(), SPACE.largest()]:
        standalone = ResNet20(arch, num_classes=5, always_project=options.get("always_project", False),
                              bn_running_stats=options.get("bn_running_stats", True))
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
