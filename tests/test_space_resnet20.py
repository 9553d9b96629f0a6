from collections import Counter

import pytest

from hnas.errors import ArchError
from hnas.spaces import ResNet20Space, build_sampler
from hnas.spaces.samplers import StrictFairSampler, UniformSampler, WeightedPoolSampler

SPACE = ResNet20Space()


def test_all_anchor_archs_parse_and_round_trip(gt2021):
    assert len(gt2021) == 1000
    for key, entry in gt2021.items():
        arch = SPACE.parse(entry["arch"], key=key)
        assert SPACE.format(arch) == entry["arch"]


@pytest.mark.parametrize("text, fragment", [
    ("16-4-4", "expected 20 ints"),
    ("16-4-x-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4", "position 3 is 'x', not an integer"),
    ("16-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-68", "position 20 is 68, allowed 4..64"),
    ("20-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4", "position 1 is 20, allowed 4..16"),
    ("16-4-4-4-4-4-4-36-4-4-4-4-4-4-4-4-4-4-4-4", "position 8 is 36, allowed 4..32"),
    ("16-4-4-4-4-4-4-6-4-4-4-4-4-4-4-4-4-4-4-4", "position 8 is 6"),
])
def test_bad_strings_name_key_position_and_allowed_values(text, fragment):
    with pytest.raises(ArchError) as err:
        SPACE.parse(text, key="arch42")
    message = str(err.value)
    assert "arch42" in message and fragment in message
    assert "\n" not in message


def test_largest_and_smallest():
    assert SPACE.format(SPACE.largest()) == "-".join(["16"] * 7 + ["32"] * 6 + ["64"] * 7)
    assert SPACE.smallest() == (4,) * 20


def test_blocks_follow_the_organisers_resnet20():
    blocks = SPACE.blocks(SPACE.parse("16-8-16-8-16-8-16-32-32-32-32-32-32-64-64-64-64-64-64-64"))
    assert [b.stride for b in blocks] == [1, 1, 1, 2, 1, 1, 2, 1, 1]
    # every stage's first block projects, the rest only when channels change
    assert [b.project for b in blocks] == [True, False, False, True, False, False, True, False, False]
    assert all(b.project for b in SPACE.blocks(SPACE.largest(), always_project=True))


def test_param_count_by_hand_for_smallest():
    # stem 3*4*9 + 8 ; 9 blocks of two 4->4 convs (144 each) + 2 BNs (8 each); 3 projections 16+8
    stem = 108 + 8
    blocks = 9 * (144 + 8 + 144 + 8) + 3 * (16 + 8)
    fc = 4 * 10 + 10
    assert SPACE.count_params(SPACE.smallest(), num_classes=10) == stem + blocks + fc


def test_flops_grow_with_width_and_resolution():
    small, large = SPACE.smallest(), SPACE.largest()
    assert SPACE.count_flops(small) < SPACE.count_flops(large)
    assert SPACE.count_flops(large, image_size=32) > SPACE.count_flops(large, image_size=16)


def test_uniform_sampler_is_deterministic_and_covers_choices():
    a, b = UniformSampler(SPACE, seed=3), UniformSampler(SPACE, seed=3)
    draws = [a.draw(i) for i in range(400)]
    assert draws == [b.draw(i) for i in range(400)]
    assert draws != [UniformSampler(SPACE, seed=4).draw(i) for i in range(400)]
    for position, choices in enumerate(SPACE.choices):
        assert set(d[position] for d in draws) == set(choices)
        SPACE.validate(draws[position])


def test_strict_fair_uses_every_choice_equally_in_each_block():
    sampler = StrictFairSampler(SPACE, seed=1)
    assert sampler.block_size == 16
    for block in range(3):
        draws = [sampler.draw(block * 16 + i) for i in range(16)]
        for position, choices in enumerate(SPACE.choices):
            counts = Counter(d[position] for d in draws)
            assert set(counts) == set(choices)
            assert set(counts.values()) == {16 // len(choices)}
    assert sampler.draw(0) != sampler.draw(16) or sampler.draw(1) != sampler.draw(17)


def test_params_pool_prefers_large_archs():
    sampler = WeightedPoolSampler.by_params(SPACE, pool_size=200, seed=0, power=2.0)
    drawn = [SPACE.count_params(sampler.draw(i)) for i in range(2000)]
    pool = [SPACE.count_params(a) for a in sampler.pool]
    assert sum(drawn) / len(drawn) > sum(pool) / len(pool)


def test_unknown_sampler_is_a_clear_error():
    from hnas.errors import HnasError
    with pytest.raises(HnasError, match="unknown sampler 'fair'"):
        build_sampler("fair", SPACE)


def test_spaces_do_not_import_paddle():
    import subprocess
    import sys
    code = "import sys, hnas.spaces; assert 'paddle' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
