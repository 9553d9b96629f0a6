"""`hnas export`: the stand-alone model of one arch with the supernet's weights, its BN statistics
recalibrated on training data, saved as .pdparams and as a paddle.jit inference model, and checked
to score exactly what the supernet scores for that arch on the same test data."""
import copy
from pathlib import Path

import paddle
from paddle.static import InputSpec

from hnas.layout import EXPORT_REPORT, EXPORTED_MODEL, INFERENCE
from hnas.errors import HnasError
from hnas.build import build_scorer, standalone_from_config
from hnas.scoring import loss_and_accuracy
from hnas.io import check_writable, write_json
from hnas.archfile import space_of_strings

LOSS_TOLERANCE = 1e-4


def export_subnet(config, checkpoint, arch_text, out_dir):
    space = space_of_strings([("--arch", arch_text)], "--arch", expected=config["space"])
    arch = space.parse(arch_text, key="--arch")
    out_dir = Path(out_dir)
    check_writable(out_dir)
    config = copy.deepcopy(config)
    config["eval"]["bn_mode"] = "calib_train"  # an exported model keeps running statistics: calibrate them
    routed, _ = build_scorer(config, checkpoint)
    scorer = routed.for_arch(arch)  # a few-shot run: the sub-supernet of the arch's part
    with scorer.arch_ready(arch) as supernet:
        state = supernet.export_state(arch)
        expected = loss_and_accuracy(supernet, scorer.test_batches)
    classifier = [v for k, v in state.items() if k.endswith("fc.weight")][-1]  # [features, classes]
    network = standalone_from_config(config, arch, int(classifier.shape[1]))
    network.set_state_dict({k: paddle.to_tensor(v) for k, v in state.items()})
    network.eval()
    got = loss_and_accuracy(network, scorer.test_batches)
    report = {"arch": space.format(arch), "checkpoint": str(checkpoint), "bn": "calib_train",
              "calib_images": config["eval"]["batch_size"] * config["eval"]["calib_batches"],
              "supernet": expected, "exported": got}
    write_json(out_dir / EXPORT_REPORT, report, indent=1)
    if got["acc"] != expected["acc"] or abs(got["loss"] - expected["loss"]) > LOSS_TOLERANCE:
        raise HnasError(f"the exported model of {space.format(arch)} scores acc {got['acc']:.6f} loss "
                        f"{got['loss']:.6f}, the supernet acc {expected['acc']:.6f} loss {expected['loss']:.6f}; "
                        f"see {out_dir / EXPORT_REPORT}")
    paddle.save(network.state_dict(), str(out_dir / EXPORTED_MODEL))
    image_size = config["data"]["image_size"]  # build_scorer refuses a checkpoint trained at another size
    paddle.jit.save(network, str(out_dir / INFERENCE),
                    input_spec=[InputSpec([None, 3, image_size, image_size], "float32", "image")])
    return report
