"""Priors: analytic counts equal the built models', Zen-score equals an independent numpy
computation of its definition, `hnas proxy` writes a competition-format file."""
import json

import numpy as np
import pytest

from conftest import ROOT, count_macs
from hnas.errors import HnasError
from hnas.proxies import build_prior, count_flops, count_params
from hnas.spaces import ResNet20Space, ResNet48Space

R20, R48 = ResNet20Space(), ResNet48Space()


def test_count_priors_import_no_paddle():
    import subprocess
    import sys
    code = "import sys, hnas.proxies; sys.exit('paddle' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("space,arch,options", [
    (R20, R20.sample(__import__("random").Random(3)), {}),
    (R20, R20.sample(__import__("random").Random(4)), {"always_project": True}),
    (R48, R48.sample(__import__("random").Random(5)), {"name": "resnet48_prelu"}),
])
def test_params_and_flops_priors_match_the_built_models(space, arch, options):
    from hnas.models import count_trainable_params, create_standalone
    model = create_standalone(space.name, arch, 10, **options)
    assert build_prior("params", space, 10, model_options=options)(arch) == count_trainable_params(model)
    assert build_prior("flops", space, 10, 32, options)(arch) == count_macs(model, 32)
    assert count_params(space, arch, 10, options) == count_trainable_params(model)
    assert count_flops(space, arch, 32, 10, options) == count_macs(model, 32)


def _conv(x, w, stride):
    """Reference conv3x3 (padding 1) or conv1x1 in numpy."""
    k = w.shape[-1]
    pad = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    size = (x.shape[-1] + 2 * pad - k) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], size, size))
    for dy in range(k):
        for dx in range(k):
            patch = xp[:, :, dy:dy + stride * size:stride, dx:dx + stride * size:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, dy, dx])
    return out


def _bn_train(x, running_var):
    """Batch-statistics normalisation (weight 1, bias 0); returns the output and the running
    variance after paddle's update (momentum 0.9, biased batch variance)."""
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5), 0.9 * running_var + 0.1 * var.ravel()


def _reference_zen(net, arch, x, e, gamma):
    """Zen-score of the plain (residual-free) ResNet20 from its definition, in float64 numpy."""
    weights = {name: p.numpy().astype(np.float64) for name, p in net.named_parameters()}
    running = {name[:-len(".weight")]: np.ones(p.shape[0]) for name, p in net.named_parameters()
               if "bn" in name and name.endswith(".weight")}

    def features(inp):
        h, running["stem_bn"] = _bn_train(_conv(inp, weights["stem_conv.weight"], 1), running["stem_bn"])
        h = np.maximum(h, 0)
        for b, spec in enumerate(R20.blocks(arch)):
            p = f"blocks.{b}."
            h, running[p + "bn1"] = _bn_train(_conv(h, weights[p + "conv1.weight"], spec.stride), running[p + "bn1"])
            h, running[p + "bn2"] = _bn_train(_conv(np.maximum(h, 0), weights[p + "conv2.weight"], 1), running[p + "bn2"])
            h = np.maximum(h, 0)
        return h

    delta = np.abs(features(x) - features(x + gamma * e)).sum(axis=(1, 2, 3)).mean()
    return np.log(delta) + sum(np.log(np.sqrt(v.mean())) for v in running.values())


def test_zen_score_equals_its_definition_computed_independently():
    """The reused supernet's Zen-score of an arch equals the definition computed in numpy on the
    stand-alone net holding the arch's slices of the same device draws, with the same x and e."""
    import paddle
    from hnas.models import create_standalone, create_supernet
    from hnas.proxies.zen import ZenScore, _repeat_seed, gaussian_init
    arch = R20.parse("8-4-8-8-12-4-8-12-16-8-24-8-12-28-40-12-36-8-24-20")
    score = ZenScore(R20, 10, 8, batch_size=4, repeats=1, seed=7)(arch)
    # the same draws, in the same order: the supernet's weights first, then x and e
    replay = create_supernet("resnet20", 10)
    paddle.seed(_repeat_seed(7, 0))
    gaussian_init(replay)
    x, e = paddle.randn([4, 3, 8, 8]), paddle.randn([4, 3, 8, 8])
    net = create_standalone("resnet20", arch, 10)
    net.set_state_dict(replay.export_state(arch))
    reference = _reference_zen(net, arch, x.numpy().astype(np.float64), e.numpy().astype(np.float64), 1e-2)
    assert score == pytest.approx(reference, abs=2e-3)


def test_zen_score_copies_to_the_host_once_per_arch_and_counts_only_the_layers_an_arch_runs(monkeypatch):
    """Issue 25: a new net per arch with weights drawn by numpy and set through the host, and a host
    copy per BN layer; now one reused supernet, draws on the device and one copy per arch."""
    from conftest import host_copies_per_call
    from hnas.proxies.zen import ZenScore
    zen = ZenScore(R48, 10, 32, {"name": "resnet48_prelu"}, batch_size=2, repeats=1)
    network = zen.network()
    copies = host_copies_per_call(monkeypatch, zen, "details")
    shallow = min((R48.sample(__import__("random").Random(i)) for i in range(20)), key=lambda a: sum(a.depths))
    for arch in (R48.largest(), shallow):
        zen(arch)
    assert copies == [1, 1] and zen.network() is network  # one supernet for every arch
    # the same score as the stand-alone net of the arch with the same weights: blocks past a stage's
    # depth and channels past a layer's width are not counted
    import paddle
    from hnas.models import create_standalone, create_supernet
    from hnas.proxies.zen import _repeat_seed, gaussian_init, remove_residuals
    replay = create_supernet("resnet48", 10, name="resnet48_prelu")
    paddle.seed(_repeat_seed(0, 0))
    gaussian_init(replay)
    x, e = paddle.randn([2, 3, 32, 32]), paddle.randn([2, 3, 32, 32])
    net = create_standalone("resnet48", shallow, 10, name="resnet48_prelu")
    net.set_state_dict(replay.export_state(shallow))
    remove_residuals(net)
    net.train()
    with paddle.no_grad():
        expressivity = float(paddle.abs(net.features(x) - net.features(x + 1e-2 * e)).sum(axis=[1, 2, 3]).mean())
    bn_term = sum(0.5 * np.log(float(layer._variance.mean())) for layer in net.sublayers()
                  if isinstance(layer, paddle.nn.BatchNorm2D))
    assert zen.details(shallow)["scores"][0] == pytest.approx(np.log(expressivity) + bn_term, abs=2e-3)


def test_zen_score_is_seeded_leaves_paddle_rng_alone_and_orders_widths():
    import paddle
    zen = build_prior("zen", R20, 10, 8, batch_size=4, repeats=2)
    paddle.seed(11)
    expected = paddle.rand([3]).numpy()
    paddle.seed(11)
    details = zen.details(R20.largest())
    assert np.allclose(paddle.rand([3]).numpy(), expected)  # building models did not move paddle's generator
    assert len(details["scores"]) == 2 and details["std"] > 0
    again = build_prior("zen", R20, 10, 8, batch_size=4, repeats=2)(R20.largest())
    assert again == details["mean"]
    assert build_prior("zen", R20, 10, 8, batch_size=4, repeats=2, seed=1)(R20.largest()) != details["mean"]
    assert zen(R20.largest()) > zen(R20.smallest())
    zen48 = build_prior("zen", R48, 10, 32, {"name": "resnet48_mish"}, batch_size=2, repeats=1)
    assert zen48(R48.largest()) > zen48(R48.smallest())


def test_hnas_proxy_writes_a_competition_file_and_rejects_bad_input(tmp_path, capsys):
    from hnas.cli import main
    archs = tmp_path / "archs.json"
    main(["sample", str(archs), "--n", "5", "--extremes"])
    out = tmp_path / "params.json"
    main(["proxy", "--archs", str(archs), "--proxy", "params", "--out", str(out)])
    listed, scored = json.loads(archs.read_text()), json.loads(out.read_text())
    assert list(scored) == list(listed) == ["arch1", "arch2", "arch3", "arch4", "arch5", "largest", "smallest"]
    for key, entry in scored.items():
        assert entry["arch"] == listed[key]["arch"]
        assert entry["acc"] == R20.count_params(R20.parse(entry["arch"]), 100)
    zen = tmp_path / "zen.json"
    main(["proxy", "--archs", str(archs), "--proxy", "zen", "--out", str(zen), "--image_size", "8",
          "--batch_size", "2", "--repeats", "1"])
    assert json.loads(zen.read_text())["largest"]["acc"] > json.loads(zen.read_text())["smallest"]["acc"]
    with pytest.raises(SystemExit):
        main(["proxy", "--archs", str(archs), "--proxy", "synflow", "--out", str(tmp_path / "x.json")])
    assert "unknown prior 'synflow'" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(HnasError, match="unknown prior"):
        build_prior("synflow", R20, 10)


def _zen_single_and_sharded(tmp_path):
    """(arch file, zen flags, the single-process file), after checking that two --shard processes
    merged with hnas merge write the same bytes."""
    from conftest import run_hnas
    from hnas.archfile import sample_arch_file
    archs = tmp_path / "archs.json"
    sample_arch_file(archs, R20, 6, seed=1)
    zen = ["--proxy", "zen", "--image_size", "8", "--batch_size", "2", "--repeats", "2", "--num_classes", "10"]
    single = tmp_path / "single.json"
    code, _, err = run_hnas("proxy", "--archs", archs, "--out", single, *zen)
    assert code == 0, err
    parts = [tmp_path / f"part{i}.json" for i in range(2)]
    for i, part in enumerate(parts):
        code, out, err = run_hnas("proxy", "--archs", archs, "--out", part, "--shard", f"{i}/2", *zen)
        assert code == 0 and "3 archs, prior zen, shard" in out, err
    merged = tmp_path / "merged.json"
    assert run_hnas("merge", archs, merged, *parts)[0] == 0
    assert merged.read_bytes() == single.read_bytes()
    return archs, zen, single


def test_zen_over_an_arch_file_shards_to_the_single_process_bytes(tmp_path):
    """Issue 25: Zen-score shards like scoring: --shard I/N and hnas merge, or one share per rank
    under paddle.distributed.launch with rank 0 merging (the slow test below): the same file."""
    _zen_single_and_sharded(tmp_path)


@pytest.mark.slow
def test_zen_under_paddle_distributed_launch_writes_the_single_process_bytes(tmp_path):
    import os
    import subprocess
    import sys
    from conftest import ROOT
    archs, zen, single = _zen_single_and_sharded(tmp_path)
    launched = tmp_path / "launched.json"
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir", str(tmp_path / "log"),
           "-m", "hnas", "proxy", "--archs", str(archs), "--out", str(launched), *zen]
    proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert launched.read_bytes() == single.read_bytes()


def test_a_prior_over_an_arch_file_counts_the_network_the_full_model_options_build(tmp_path):
    """Issue 27: hnas proxy, eval.fuse and ablate built priors from the model name alone, so under
    residual_act prelu or always_project they counted another network than the rank loss did."""
    from hnas.cli import main
    from hnas.config import DEFAULTS
    from hnas.proxies.score import counted_model, score_arch_file
    archs = tmp_path / "archs.json"
    main(["sample", str(archs), "--n", "5"])
    plain, full = tmp_path / "plain.json", tmp_path / "full.json"
    options = dict(DEFAULTS["model"], always_project=True, pretrained="ignored.pdparams")
    score_arch_file(archs, plain, "params")
    score_arch_file(archs, full, "params", model=options)
    counts = [{k: v["acc"] for k, v in json.loads(p.read_text()).items()} for p in (plain, full)]
    # the projections' weights are counted (an arch whose widths change in every block projects anyway)
    assert all(counts[1][k] >= counts[0][k] for k in counts[0]) and counts[1] != counts[0]
    # files scored before the options counted were recorded with a model name or None: still valid
    assert counted_model(DEFAULTS["model"]) is None and counted_model(None) is None
    assert counted_model(dict(DEFAULTS["model"], name="resnet48_mish")) == "resnet48_mish"
    assert counted_model(options) == {"always_project": True}
    from_recipe = tmp_path / "recipe.json"  # hnas proxy --config: the recipe's model options (2021 2nd: always_project)
    main(["proxy", "--archs", str(archs), "--out", str(from_recipe), "--config",
          str(ROOT / "configs" / "cvpr2021_track1_2nd.yaml")])
    assert {k: v["acc"] for k, v in json.loads(from_recipe.read_text()).items()} == counts[1]
