"""Issue 31: the 2022 1st place's self-supervised first stage (MoCo v2 on the supernet's largest
arch) as a stage kind: its parts, its resume, and its hand-off to the next supernet stage."""
import json

import numpy as np
import paddle
import pytest

from conftest import tiny_config
from hnas.checkpoint import load_params
from hnas.models import ResNet20Supernet
from hnas.train import contrastive
from hnas.train.stages import train_recipe

STAGES = [{"name": "contrast", "kind": "contrastive", "train.epochs": 2},
          {"name": "supernet", "train.epochs": 1}]
RECIPE = {"train.moco_queue": 40, "data.augment": "official", "train.lr": 0.01, "stages": STAGES}


def test_the_key_encoder_follows_by_momentum_the_queue_wraps_and_info_nce_is_moco_s():
    paddle.seed(0)
    net = contrastive.ContrastiveNet(ResNet20Supernet(num_classes=3), ResNet20Supernet(num_classes=3), 64, dim=8,
                                     queue=10, momentum=0.9, temperature=0.5)
    for key, query in zip(net.key_supernet.parameters(), net.supernet.parameters()):
        np.testing.assert_array_equal(key.numpy(), query.numpy())
        assert key.stop_gradient and not query.stop_gradient
    query = net.supernet.stem_conv.w_all
    before_key, moved = net.key_supernet.stem_conv.w_all.numpy(), query.numpy() + 1.0
    query.set_value(paddle.to_tensor(moved))
    net.momentum_update()
    np.testing.assert_allclose(net.key_supernet.stem_conv.w_all.numpy(), 0.9 * before_key + 0.1 * moved, rtol=1e-6)
    keys = paddle.nn.functional.normalize(paddle.randn([4, 8]), axis=1)
    net.enqueue(keys, step=2)  # positions 8, 9, 0, 1
    np.testing.assert_allclose(net.queue.numpy()[[8, 9, 0, 1]], keys.numpy(), rtol=1e-6)
    queries = paddle.nn.functional.normalize(paddle.randn([4, 8]), axis=1)
    logits = np.concatenate([(queries.numpy() * keys.numpy()).sum(1, keepdims=True),
                             queries.numpy() @ net.queue.numpy().T], axis=1) / 0.5
    expected = np.mean(np.log(np.exp(logits).sum(1)) - logits[:, 0])
    assert net.info_nce(queries, keys).item() == pytest.approx(expected, rel=1e-5)


def test_a_contrastive_stage_resumes_exactly_and_hands_its_supernet_to_the_next_stage(tmp_path, monkeypatch):
    clean = train_recipe(tiny_config(tmp_path / "clean", **RECIPE))
    assert clean.global_step == 6
    original = contrastive.ContrastiveTrainer.train_batch

    def crashing(self, *args, **kwargs):
        if self.global_step == 8:  # in the contrastive stage's second epoch
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)
    monkeypatch.setattr(contrastive.ContrastiveTrainer, "train_batch", crashing)
    with pytest.raises(KeyboardInterrupt):
        train_recipe(tiny_config(tmp_path / "resumed", **RECIPE))
    monkeypatch.setattr(contrastive.ContrastiveTrainer, "train_batch", original)
    train_recipe(tiny_config(tmp_path / "resumed", **RECIPE))
    for stage in ("1-contrast", "2-supernet"):
        latest = json.loads((tmp_path / "clean" / stage / "latest.json").read_text())
        clean_state = paddle.load(str(tmp_path / "clean" / stage / latest["params"]))
        resumed_state = paddle.load(str(tmp_path / "resumed" / stage / latest["params"]))
        assert clean_state.keys() == resumed_state.keys()
        for name in clean_state:
            np.testing.assert_allclose(resumed_state[name].numpy(), clean_state[name].numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{stage} {name}")
    first = json.loads((tmp_path / "clean" / "1-contrast" / "latest.json").read_text())
    assert first["kind"] == "contrastive"
    assert {name.split(".")[0] for name in paddle.load(str(tmp_path / "clean" / "1-contrast" / first["params"]))} == {
        "supernet", "head", "key_supernet", "key_head", "queue"}
    # the supernet stage started from the contrastive stage's supernet, not from scratch
    handed = ResNet20Supernet(num_classes=10)
    load_params(handed, tmp_path / "clean" / "1-contrast" / first["params"], prefix=contrastive.SUPERNET)
    config = json.loads((tmp_path / "clean" / "2-supernet" / "config.json").read_text())
    assert config["train"]["init_checkpoint"] == str(tmp_path / "clean" / "1-contrast")
    stages = json.loads((tmp_path / "clean" / "stages.json").read_text())
    assert [s["kind"] for s in stages] == ["contrastive", "supernet"]
