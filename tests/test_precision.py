"""Mixed precision (issue 25): train.amp and eval.amp run paddle.amp's autocast and loss scaling in
the training step, stand-alone training and scoring, for both supernets. Paddle runs both only on
GPU, XPU and custom devices: on this CPU they are no-ops, so these tests check that hnas's code
path runs (the contexts are entered with the right dtype, the scaler drives every step, one line
says a CPU computes in float32) and that it changes nothing on a CPU; the low-precision numerics
themselves were never run here."""
import numpy as np
import paddle
import pytest

from conftest import tiny_config
from hnas.metrics import kendall_tau
from hnas.precision import Precision


@pytest.fixture
def amp_calls(monkeypatch):
    """Every paddle.amp.auto_cast dtype entered, and every GradScaler call, in order."""
    calls = []
    auto_cast, scaler = paddle.amp.auto_cast, paddle.amp.GradScaler

    def recording_auto_cast(*args, **kwargs):
        calls.append(("auto_cast", kwargs.get("dtype"), kwargs.get("level")))
        return auto_cast(*args, **kwargs)

    for name in ("scale", "step", "update"):
        original = getattr(scaler, name)
        monkeypatch.setattr(scaler, name, lambda self, *a, _name=name, _original=original, **k:
                            calls.append(("scaler", _name)) or _original(self, *a, **k))
    monkeypatch.setattr(paddle.amp, "auto_cast", recording_auto_cast)
    return calls


def _weights(network):
    return {k: v.numpy() for k, v in network.state_dict().items()}


@pytest.mark.parametrize("mode, dtype", [("fp16", "float16"), ("bf16", "bfloat16")])
def test_supernet_training_under_amp_runs_the_path_and_on_a_cpu_computes_what_fp32_does(
        tmp_path, amp_calls, capfd, monkeypatch, mode, dtype):
    from hnas import precision
    from hnas.train.run import train_supernet
    monkeypatch.setattr(precision, "_said", set())  # said once per process: earlier tests may have said it
    plain = train_supernet(tiny_config(tmp_path / "fp32", **{"train.epochs": 1}))
    assert amp_calls == []
    mixed = train_supernet(tiny_config(tmp_path / mode, **{"train.epochs": 1, "train.amp": mode,
                                                          "train.distill": "inplace"}))
    casts = [c for c in amp_calls if c[0] == "auto_cast"]
    steps = [c for c in amp_calls if c == ("scaler", "step")]
    assert casts and set(casts) == {("auto_cast", dtype, "O1")}
    assert len(steps) == (mixed.global_step if mode == "fp16" else 0)  # bf16 needs no loss scaling
    assert len([c for c in amp_calls if c == ("scaler", "scale")]) >= len(steps)
    err = capfd.readouterr().err
    assert err.count(f"hnas: train.amp {mode} has no effect on a CPU") == 1 and "amp_guard" not in err
    if mode == "bf16":  # without the in-place teacher the run is the fp32 run: on a CPU, the same weights
        same = train_supernet(tiny_config(tmp_path / "bf16_same", **{"train.epochs": 1, "train.amp": mode}))
        a, b = _weights(plain.network), _weights(same.network)
        assert all(np.array_equal(a[k], b[k]) for k in a)


def test_standalone_training_under_amp_keeps_its_own_ground_truth_cache_key(tmp_path, amp_calls):
    from hnas.spaces import ResNet20Space
    from hnas.train.groundtruth import recipe_key
    from hnas.train.run import train_standalone
    config = tiny_config(tmp_path / "sa", **{"train.amp": "fp16", "standalone.epochs": 1})
    result = train_standalone(config, ResNet20Space().format(ResNet20Space().smallest()))
    assert 0 <= result["acc"] <= 1 and ("auto_cast", "float16", "O1") in amp_calls
    assert ("scaler", "step") in amp_calls
    off = tiny_config(tmp_path / "sa")
    assert recipe_key(config) != recipe_key(off)  # fp16 ground truth is not fp32's
    assert recipe_key(off) == recipe_key(tiny_config(tmp_path / "sa", **{"train.amp": "off"}))


def _rank_agreement(supernet, space, batches, archs, calls, mode):
    from hnas.scoring import SupernetScorer
    scores = {}
    for amp in ("off", mode):
        scorer = SupernetScorer(supernet, batches, "calib_train", "loss", calib_batches=batches,
                                precision=Precision(amp, "eval.amp"))
        scores[amp] = [scorer.evaluate(arch)["score"] for arch in archs]
    assert ("auto_cast", {"fp16": "float16", "bf16": "bfloat16"}[mode], "O1") in calls
    return kendall_tau(scores["off"], scores[mode]), scores


@pytest.mark.parametrize("space_name", ["resnet20", "resnet48"])
def test_scoring_under_amp_ranks_as_fp32_does(space_name, amp_calls):
    import random
    from hnas.models import create_supernet
    from hnas.spaces import get_space
    paddle.seed(0)
    space = get_space(space_name)
    supernet = create_supernet(space_name, 4)
    supernet.train()
    supernet.set_arch(space.largest())
    supernet(paddle.randn([8, 3, 16, 16]))
    batches = [(paddle.randn([6, 3, 16, 16]), paddle.to_tensor([0, 1, 2, 3, 0, 1])) for _ in range(2)]
    rng = random.Random(0)
    archs = [space.sample(rng) for _ in range(8)]
    tau, scores = _rank_agreement(supernet, space, batches, archs, amp_calls, "bf16")
    assert tau >= 0.99
    assert scores["off"] == scores["bf16"]  # on a CPU autocast is a no-op: the same scores


def test_an_unknown_amp_mode_is_refused_by_the_recipe(tmp_path):
    from hnas.errors import HnasError
    with pytest.raises(HnasError, match="train.amp"):
        tiny_config(tmp_path, **{"train.amp": "fp8"})
