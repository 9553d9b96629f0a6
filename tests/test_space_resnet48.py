import sys
from collections import Counter

import pytest

from conftest import load_anchor
from hnas.errors import ArchError, HnasError
from hnas.spaces import ResNet48Space, build_sampler
from hnas.spaces.resnet48 import make_divisible, width
from hnas.spaces.samplers import ProgressiveShrinkingSampler, UniformSampler, _rng

SPACE = ResNet48Space()
LARGEST = "1558511111111111111111111111111111111111111111111111"


@pytest.fixture(scope="module")
def list2022():
    return load_anchor("cvpr2022_track1_test_45k.json")


def test_all_45k_archs_parse_and_round_trip(list2022):
    assert len(list2022) == 45000
    depth_counts = Counter()
    for key, entry in list2022.items():
        arch = SPACE.parse(entry["arch"], key=key)
        assert SPACE.format(arch) == entry["arch"]
        depth_counts[arch.depths[2]] += 1
    assert set(depth_counts) == set(range(2, 9))


def test_largest_and_smallest():
    assert SPACE.format(SPACE.largest()) == LARGEST
    smallest = SPACE.format(SPACE.smallest())
    assert smallest == "1" + "2222" + "7" + "7777000000" * 2 + "7777" + "0" * 12 + "7777000000"
    assert SPACE.count_params(SPACE.smallest()) < SPACE.count_params(SPACE.largest())


def test_widths_follow_make_divisible():
    assert [width(64, k) for k in range(1, 8)] == [64, 64, 56, 56, 48, 48, 48]
    assert [width(512, k) for k in range(1, 8)] == [512, 488, 464, 432, 408, 384, 360]
    assert make_divisible(60.8) == 64 and make_divisible(44.8) == 48


@pytest.mark.parametrize("text, fragment", [
    (LARGEST[:51], "expected 52 digits 0-9, got 51"),
    (LARGEST[:51] + "x", "not all digits"),
    ("2" + LARGEST[1:], "image-size code (position 1) is 2, allowed 1"),
    ("1658" + LARGEST[4:], "stage 1 depth (position 2) is 6, allowed 2..5"),
    ("1559" + LARGEST[4:], "stage 3 depth (position 4) is 9, allowed 2..8"),
    ("1518" + LARGEST[4:], "stage 2 depth (position 3) is 1, allowed 2..5"),
    ("14585" + LARGEST[5:], "stage 1 has depth 4, so block 5 (positions 15-16) must be padded '00', got '11'"),
    (LARGEST[:6] + "81" + LARGEST[8:], "stage 1 block 1 conv1 width code (position 7) is 8, allowed 1..7"),
    (LARGEST[:5] + "0" + LARGEST[6:], "stem width code (position 6) is 0, allowed 1..7"),
    (LARGEST[:6] + "1111111100" + LARGEST[16:], "stage 1 has depth 5, but block 5 (positions 15-16) is padded '00'"),
])
def test_bad_strings_name_key_and_problem(text, fragment):
    with pytest.raises(ArchError) as err:
        SPACE.parse(text, key="arch7")
    assert "'arch7'" in str(err.value) and fragment in str(err.value), str(err.value)


def test_padding_error_names_depth():
    text = "1258" + LARGEST[4:]  # stage 1 depth 2 but blocks 3..5 filled
    with pytest.raises(ArchError, match=r"stage 1 has depth 2, so block 3 \(positions 11-12\) must be padded"):
        SPACE.parse(text)


def test_residual_ties_are_enforced_and_can_be_relaxed():
    untied = LARGEST[:7] + "2" + LARGEST[8:]  # stage 1 block 1 conv2 != stem
    with pytest.raises(ArchError, match="stage 1 block 1 conv2 code is 2, but identity shortcuts tie it to the stem"):
        SPACE.parse(untied)
    assert ResNet48Space(tied=False).format(ResNet48Space(tied=False).parse(untied)) == untied
    stage2 = LARGEST[:19] + "3" + LARGEST[20:]  # stage 2 block 2 conv2
    with pytest.raises(ArchError, match="stage 2 block 2 conv2 code is 3, but identity shortcuts tie it to block 1"):
        SPACE.parse(stage2)


def test_blocks_project_exactly_where_the_largest_net_does():
    specs = SPACE.blocks(SPACE.largest())
    assert len(specs) == 23
    assert [s.slot for s in specs if s.project] == [5, 10, 18]
    arch = SPACE.parse("1252233313000000223212122253130000000000006515000000")
    specs = SPACE.blocks(arch)
    assert [(s.stage, s.slot) for s in specs if s.project] == [(1, 5), (2, 10), (3, 18)]
    assert specs[0].cin == width(64, 3) and specs[-1].cout == width(512, 5)


def test_uniform_sampler_covers_the_space_and_keeps_ties():
    sampler = build_sampler("uniform", SPACE, seed=0)
    draws = [sampler.draw(i) for i in range(600)]
    assert draws == [UniformSampler(SPACE, seed=0).draw(i) for i in range(600)]
    for arch in draws:
        SPACE.validate(arch)
    assert {a.depths[2] for a in draws} == set(range(2, 9))
    assert {c for a in draws for blocks in a.stages for pair in blocks for c in pair} == set(range(1, 8))


def test_strict_fair_refuses_elastic_depth():
    with pytest.raises(HnasError, match="elastic depth"):
        build_sampler("strict_fair", SPACE)


def test_progressive_shrinking_phases():
    sampler = ProgressiveShrinkingSampler(SPACE, steps_per_epoch=10, phase_epochs=[1, 1, 2, 1, 1])
    assert [sampler.phase(s) for s in (0, 9, 10, 20, 39, 40, 50, 60, 999)] == [0, 0, 1, 2, 2, 3, 4, 5, 5]
    first = [sampler.draw(i, step=i // 4) for i in range(40)]
    assert all(set(c for b in a.stages for p in b for c in p) == {1} for a in first)
    assert all(a.depths[2] >= 8 - 3 for a in first)  # phase 0: half the depth range
    assert {a.depths[2] for a in first} == {5, 6, 7, 8}
    second = [sampler.draw(i, step=10) for i in range(200)]
    assert {a.depths[2] for a in second} == set(range(2, 9))
    third = [sampler.draw(i, step=20) for i in range(200)]
    codes = {c for a in third for b in a.stages for p in b for c in p}
    assert codes == {1, 2, 3}
    last = [sampler.draw(i, step=60) for i in range(300)]
    assert {c for a in last for b in a.stages for p in b for c in p} == set(range(1, 8))
    with pytest.raises(HnasError, match="5 phases"):
        ProgressiveShrinkingSampler(SPACE, 10, [1, 1])


def test_sampler_draws_are_pure_functions_of_index():
    a = build_sampler("progressive", SPACE, seed=3, steps_per_epoch=5, phase_epochs=1)
    b = build_sampler("progressive", SPACE, seed=3, steps_per_epoch=5, phase_epochs=1)
    assert [a.draw(i, i) for i in range(50)] == [b.draw(i, i) for i in range(50)]
    assert SPACE.sample(_rng(1, 2)) == SPACE.sample(_rng(1, 2))


def test_analytic_counts_match_hand_computation():
    arch = SPACE.smallest()
    stem = 48
    params = 3 * 49 * stem + 2 * stem
    cin = stem
    for stage, depth in enumerate((2, 2, 2, 2)):
        w = width((64, 128, 256, 512)[stage], 7)
        for index in range(depth):
            params += 9 * cin * w + 2 * w + 9 * w * w + 2 * w
            if cin != w or (index == 0 and stage > 0):
                params += cin * w + 2 * w
            cin = w
    params += cin * 1000 + 1000
    assert SPACE.count_params(arch) == params
    assert SPACE.count_params(arch, model_options={"name": "resnet48_prelu"}) == params + 8
    assert SPACE.count_flops(SPACE.largest()) > 3.5e9  # ResNet48 at 224: about 4.5 GMACs


def test_space_module_imports_no_paddle():
    import subprocess
    code = "import sys, hnas.spaces.resnet48, hnas.spaces.samplers; print('paddle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
