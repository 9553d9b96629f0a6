"""ResOFA supernet against the same arch as a stand-alone ResNet48: training-step and scoring speed,
the two sides interleaved in one process (step A, step B, step A, ...), medians over repeats.

  python benchmarks/resofa_speed.py --image-sizes 32,64 --batch-size 16 --archs 5 --repeats 7

For each arch (evenly spaced over the real 45k list in ../shared/anchors/): a training step is
set_arch + forward + cross-entropy + backward + momentum SGD + clear_grad on the supernet, and the
same without set_arch on a ResNet48(arch) with its own optimizer; a scoring step is set_arch once,
then an eval-mode forward under no_grad, against the stand-alone's eval forward. A ratio is
stand-alone seconds / supernet seconds (1.0: the supernet is as fast), the median over repeats per
arch, and the table's last line is the median over archs.
"""
import hnas  # noqa: F401  (its zlib guard runs before paddle loads)
import argparse
import json
import time
from pathlib import Path

import numpy as np
import paddle
import paddle.nn.functional as F

from hnas.models import ResNet48, ResOFA
from hnas.spaces import ResNet48Space

ANCHOR = Path(__file__).resolve().parents[2] / "shared" / "anchors" / "cvpr2022_track1_test_45k.json"


def training_step(network, optimizer, images, labels, before=None):
    def step():
        if before:
            before()
        loss = F.cross_entropy(network(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad(set_to_zero=False)
    return step


def scoring_step(network, images):
    @paddle.no_grad()
    def step():
        network(images)
    return step


def interleaved_seconds(step_a, step_b, repeats, warmup=2):
    """Median seconds of each step, timed alternately so that machine load hits both alike."""
    for _ in range(warmup):
        step_a(), step_b()
    times_a, times_b = [], []
    for _ in range(repeats):
        for step, times in ((step_a, times_a), (step_b, times_b)):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
    return float(np.median(times_a)), float(np.median(times_b))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-sizes", default="32,64")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--archs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    space = ResNet48Space()
    entries = list(json.loads(ANCHOR.read_text()).values())
    archs = [space.parse(entries[i]["arch"]) for i in np.linspace(0, len(entries) - 1, args.archs).astype(int)]
    paddle.seed(0)
    supernet = ResOFA(num_classes=1000)
    supernet_optimizer = paddle.optimizer.Momentum(0.01, parameters=supernet.parameters())
    print(f"batch {args.batch_size}, {args.repeats} interleaved repeats after 2 warm-up, "
          f"{paddle.get_flags(['FLAGS_use_stride_kernel'])}")
    for size in (int(s) for s in args.image_sizes.split(",")):
        images = paddle.randn([args.batch_size, 3, size, size])
        labels = paddle.to_tensor(np.random.RandomState(0).randint(0, 1000, args.batch_size).astype("int64"))
        print(f"\n{size}x{size} px")
        print("| arch | stand-alone train s | supernet train s | train ratio | stand-alone score s | supernet score s | score ratio |")
        print("|---|---|---|---|---|---|---|")
        train_ratios, score_ratios = [], []
        for arch in archs:
            standalone = ResNet48(arch, num_classes=1000)
            standalone.train(), supernet.train()
            alone_train, shared_train = interleaved_seconds(
                training_step(standalone, paddle.optimizer.Momentum(0.01, parameters=standalone.parameters()),
                              images, labels),
                training_step(supernet, supernet_optimizer, images, labels, before=lambda: supernet.set_arch(arch)),
                args.repeats)
            standalone.eval(), supernet.eval()
            supernet.set_arch(arch)
            alone_score, shared_score = interleaved_seconds(scoring_step(standalone, images),
                                                            scoring_step(supernet, images), args.repeats)
            train_ratios.append(alone_train / shared_train)
            score_ratios.append(alone_score / shared_score)
            print(f"| {space.format(arch)} | {alone_train:.3f} | {shared_train:.3f} | {train_ratios[-1]:.2f} "
                  f"| {alone_score:.4f} | {shared_score:.4f} | {score_ratios[-1]:.2f} |")
        print(f"| median over {len(archs)} archs | | | {np.median(train_ratios):.2f} | | | {np.median(score_ratios):.2f} |")


if __name__ == "__main__":
    main()
