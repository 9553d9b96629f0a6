"""Choosing the test images that score archs: pure logic, no paddle."""
import numpy as np
import pytest

from hnas.errors import HnasError
from hnas.image_subsets import disagreement_subset, pilot_archs, random_subset, stratified_subset
from hnas.spaces import ResNet20Space


def test_random_subset_is_fixed_by_its_seed_sorted_and_without_repeats():
    chosen = random_subset(100, 10, seed=3)
    assert len(set(chosen)) == 10 and list(chosen) == sorted(chosen) and chosen.max() < 100
    np.testing.assert_array_equal(chosen, random_subset(100, 10, seed=3))
    assert not np.array_equal(chosen, random_subset(100, 10, seed=4))


def test_stratified_subset_keeps_every_class_in_proportion():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    chosen = stratified_subset(np.random.RandomState(0).permutation(labels), 20, seed=1)
    shuffled = np.random.RandomState(0).permutation(labels)
    assert len(chosen) == 20 and len(set(chosen)) == 20
    assert np.bincount(shuffled[chosen]).tolist() == [12, 6, 2]
    np.testing.assert_array_equal(chosen, stratified_subset(shuffled, 20, seed=1))


def test_stratified_subset_rounds_shares_to_the_exact_size():
    labels = np.array([0] * 5 + [1] * 5 + [2] * 5)  # 7 of 15: shares 2.33 each
    chosen = stratified_subset(labels, 7, seed=0)
    assert len(chosen) == 7 and sorted(np.bincount(labels[chosen]).tolist()) == [2, 2, 3]


def test_disagreement_subset_takes_the_images_the_pilots_differ_on_most():
    candidates = np.array([10, 20, 30, 40, 50])
    losses = np.array([[1.0, 0.1, 2.0, 0.5, 0.3],
                       [1.0, 0.9, 0.0, 0.5, 0.4],
                       [1.0, 0.5, 1.0, 0.5, 0.5]])
    np.testing.assert_array_equal(disagreement_subset(candidates, losses, 2), [20, 30])
    with pytest.raises(HnasError, match="2\\+ pilot archs"):
        disagreement_subset(candidates, losses[:1], 2)
    with pytest.raises(HnasError, match="5 candidate images"):
        disagreement_subset(candidates, losses[:, :4], 2)


def test_pilots_are_the_extremes_and_fixed_draws():
    space = ResNet20Space()
    pilots = pilot_archs(space, 5, seed=0)
    assert pilots[:2] == [space.largest(), space.smallest()] and len(pilots) == 5
    assert pilots == pilot_archs(space, 5, seed=0) and pilots != pilot_archs(space, 5, seed=1)
    assert all(space.validate(a) == a for a in pilots)
