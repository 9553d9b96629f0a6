"""Pareto-aware sampling: candidates near a FLOPs target, best-up / worst-up by a prior or by the
step's mini-batch loss."""

import numpy as np
import paddle
import pytest

from hnas.errors import HnasError
from hnas.proxies import count_flops, count_params
from hnas.spaces import ResNet20Space
from hnas.spaces.pareto import Candidates, ParetoAware, ParetoAwareByPrior, pick_by_loss
from hnas.spaces.samplers import UniformSampler
from hnas.train.run import train_supernet
from conftest import tiny_config

SPACE = ResNet20Space()


def flops(arch):
    return count_flops(SPACE, arch, 32, 10)


def params(arch):
    return count_params(SPACE, arch, 10)


def test_candidates_sit_near_the_drawn_target_and_repeat_for_the_same_draw():
    sampler = ParetoAware(UniformSampler(SPACE, seed=3), flops, num_candidates=4, window=0.1)
    for index in range(20):
        drawn = sampler.draw(index, index)
        assert isinstance(drawn, Candidates) and len(drawn.archs) == 4
        target = flops(UniformSampler(SPACE, seed=3).draw(index * (ParetoAware.MAX_TRIES + 1)))
        assert all(abs(flops(a) - target) <= 0.1 * target for a in drawn.archs)
        assert sampler.draw(index, index) == drawn


@pytest.mark.parametrize("pick", ["best", "worst"])
def test_a_prior_picks_the_best_or_the_worst_candidate(pick):
    base = ParetoAware(UniformSampler(SPACE, seed=0), flops, num_candidates=5, window=0.2)
    judged = ParetoAwareByPrior(UniformSampler(SPACE, seed=0), flops, params, pick, num_candidates=5, window=0.2)
    for index in range(10):
        archs = base.draw(index).archs
        expected = (max if pick == "best" else min)(archs, key=params)
        assert judged.draw(index) == expected


def test_loss_picks_the_lowest_or_highest():
    candidates = ("a", "b", "c")
    assert pick_by_loss(Candidates(candidates, "best"), [0.5, 0.2, 0.9]) == "b"
    assert pick_by_loss(Candidates(candidates, "worst"), [0.5, 0.2, 0.9]) == "c"


def test_the_trainer_trains_the_candidate_the_batch_loss_picks(tmp_path):
    from hnas.train import trainer as trainer_module
    judged = []
    real_judge = trainer_module.Trainer._judge

    def spy(self, candidates, images, labels):
        chosen = real_judge(self, candidates, images, labels)
        with paddle.no_grad(), self.network.bn_stats_mode("batch"):
            losses = []
            for arch in candidates.archs:
                self.network.set_arch(arch)
                losses.append(float(paddle.nn.functional.cross_entropy(self.network(images), labels)))
        judged.append((chosen, candidates.archs[int(np.argmax(losses))]))
        return chosen
    trainer_module.Trainer._judge = spy
    try:
        trainer = train_supernet(tiny_config(tmp_path, **{
            "train.epochs": 1, "train.sampler": "uniform", "train.pareto": "worst", "train.eval_every": 1}))
    finally:
        trainer_module.Trainer._judge = real_judge
    assert trainer.global_step == 6 and len(judged) == 6  # one sampled arch per step (num_archs 3)
    assert all(chosen == worst for chosen, worst in judged)
    assert np.isfinite(trainer.epoch_scores["largest_loss"])


def test_a_prior_judged_run_trains(tmp_path):
    trainer = train_supernet(tiny_config(tmp_path, **{
        "train.epochs": 1, "train.sampler": "uniform", "train.pareto": "best", "train.pareto_quality": "params"}))
    assert trainer.global_step == 6
    with pytest.raises(HnasError, match="pareto_quality"):
        train_supernet(tiny_config(tmp_path / "bad", **{"train.pareto": "best", "train.pareto_quality": "speed"}))
