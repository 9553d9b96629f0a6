"""The pairwise rank loss: its schedules, its hinge, and its place in the Trainer's step."""
import numpy as np
import paddle
import pytest

from conftest import tiny_config
from hnas.errors import HnasError
from hnas.train.losses import PairwiseRankLoss, rank_coefficient
from hnas.train.run import train_supernet


def test_schedules():
    assert rank_coefficient("constant", 0.0, 0.5) == 0.5
    assert [rank_coefficient("linear", e, 2.0, 4) for e in (0, 1, 2, 6)] == [0.0, 0.5, 1.0, 2.0]
    # the 2022 3rd place: min(2, epoch / 10), by whole epochs
    assert [rank_coefficient("progressive", e, 2.0, 10) for e in (0, 5.7, 10, 19.9, 35)] == [0.0, 0.5, 1.0, 1.9, 2.0]


def test_hinge_penalises_only_pairs_ordered_against_the_prior():
    priors = {"a": 3.0, "b": 2.0, "c": 1.0, "c2": 1.0}
    loss = PairwiseRankLoss(priors.get, weight=2.0)
    values = [paddle.to_tensor(v, stop_gradient=False) for v in (0.5, 0.2, 0.9, 0.1)]
    term = loss(["a", "b", "c", "c2"], values, epoch=0.0)
    # pairs with prior(i) > prior(j): a>b (0.5-0.2 -> 0.3), a>c (0), b>c (0), a>c2 (0.4), b>c2 (0.1);
    # c and c2 tie, so that pair is left out
    assert float(term) == pytest.approx(2.0 * (0.3 + 0.4 + 0.1) / 5)
    term.backward()
    assert [float(v.grad) for v in values] == pytest.approx([0.8, 0.0, 0.0, -0.8])
    assert loss(["c", "c2"], values[2:], epoch=0.0) is None  # no pair differs


def _weights(trainer):
    return {k: v.numpy() for k, v in trainer.network.state_dict().items()}


def test_rank_loss_in_the_sandwich_step(tmp_path):
    base = {"train.epochs": 1, "train.sampler": "uniform"}
    plain = _weights(train_supernet(tiny_config(tmp_path / "plain", **base)))
    # zero weight: one backward over the summed losses equals the per-arch backwards
    zero = _weights(train_supernet(tiny_config(tmp_path / "zero", **base, **{
        "train.rank_loss": "params", "train.rank_weight": 0.0})))
    assert all(np.allclose(plain[k], zero[k], atol=1e-5) for k in plain)
    ranked = train_supernet(tiny_config(tmp_path / "ranked", **base, **{
        "train.rank_loss": "flops", "train.rank_weight": 5.0, "train.log_every": 1}))
    moved = _weights(ranked)
    assert any(not np.allclose(plain[k], moved[k], atol=1e-5) for k in plain)
    log = (tmp_path / "ranked" / "train.log").read_text()
    assert "rank_loss" in log and ranked.rank_loss.coefficient(0.5) == 5.0


def test_rank_loss_needs_two_archs_per_step(tmp_path):
    with pytest.raises(HnasError, match="rank_loss needs at least two archs per step"):
        train_supernet(tiny_config(tmp_path, **{"train.strategy": "single_path", "train.distill": "none",
                                                "train.rank_loss": "flops"}))


def test_pgonas_form_trains_only_the_second_arch_of_each_pair():
    priors = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 1.0}
    loss = PairwiseRankLoss(priors.get, weight=2.0, form="pgonas")
    values = [paddle.to_tensor(v, stop_gradient=False) for v in (0.2, 0.5, 0.4, 0.3, 0.9)]
    # (a, b): b has the larger prior, relu(0.5 - 0.2) = 0.3; (c, d): d's is smaller, relu(0.4 - 0.3) = 0.1;
    # the fifth arch has no partner
    term = loss(["a", "b", "c", "d", "a"], values, epoch=0.0)
    assert float(term) == pytest.approx(2.0 * (0.3 + 0.1))
    term.backward()
    assert [None if v.grad is None else float(v.grad) for v in values] == [None, 2.0, None, -2.0, None]
    tie = loss(["a", "d"], [paddle.to_tensor(0.1), paddle.to_tensor(0.3)], epoch=0.0)
    assert float(tie) == 0.0  # a tie takes the second branch: relu(0.1 - 0.3)


def test_pgonas_pairs_train_only_through_the_rank_loss(tmp_path):
    base = {"train.epochs": 1, "train.sampler": "uniform", "train.num_archs": 4}
    plain = train_supernet(tiny_config(tmp_path / "plain", **base))
    pgonas = {"train.rank_loss": "flops", "train.rank_form": "pgonas"}
    zero = train_supernet(tiny_config(tmp_path / "zero", **base, **pgonas, **{"train.rank_weight": 0.0}))
    plan = zero.plan(3)
    assert [target for _, target in plan] == ["labels", "inplace", "inplace", "inplace", "rank", "rank", "rank", "rank"]
    assert plan[:4] == plain.plan(3) and plan == zero.plan(3)
    # the extra pairs move no weight at weight 0 (they do update BN statistics, as in their code)
    trained = {k: v.numpy() for k, v in plain.network.named_parameters()}
    assert all(np.allclose(trained[k], v.numpy(), atol=1e-5) for k, v in zero.network.named_parameters())
    ranked = train_supernet(tiny_config(tmp_path / "ranked", **base, **pgonas, **{"train.rank_weight": 5.0}))
    assert any(not np.allclose(trained[k], v.numpy(), atol=1e-5) for k, v in ranked.network.named_parameters())
    with pytest.raises(HnasError, match="rank_form pgonas .* needs strategy sandwich, num_archs >= 3"):
        train_supernet(tiny_config(tmp_path / "two", **{**base, **pgonas, "train.num_archs": 2}))
