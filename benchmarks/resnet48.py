"""The 2022 kit on this machine: codec and analytic-count speed over the real 45k list, and the
ResOFA supernet's training-step and scoring speed against the same arch as a stand-alone ResNet48.

python benchmarks/resnet48.py --image-size 32 --batch-size 16 --steps 5 --archs 3
"""
import zlib  # noqa: F401  (before paddle)
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


def timed_steps(network, images, labels, steps, set_arch=None):
    optimizer = paddle.optimizer.Momentum(0.01, parameters=network.parameters())
    network.train()
    for i in range(steps + 2):  # two warm-up steps
        if i == 2:
            start = time.perf_counter()
        if set_arch:
            set_arch()
        loss = F.cross_entropy(network(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad(set_to_zero=False)
    return steps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--archs", type=int, default=3)
    args = parser.parse_args()
    space = ResNet48Space()
    entries = json.loads(ANCHOR.read_text())
    start = time.perf_counter()
    archs = [space.parse(e["arch"], key=k) for k, e in entries.items()]
    parse_s = time.perf_counter() - start
    start = time.perf_counter()
    flops = [space.count_flops(a) for a in archs]
    params = [space.count_params(a) for a in archs]
    count_s = time.perf_counter() - start
    print(f"parse {len(archs)} archs: {parse_s:.2f} s; params + FLOPs of all: {count_s:.2f} s")
    print(f"params {min(params):,}..{max(params):,}; GMACs at 224: {min(flops) / 1e9:.2f}..{max(flops) / 1e9:.2f}")

    start = time.perf_counter()
    supernet = ResOFA(num_classes=1000)
    print(f"build ResOFA (Convert + OFA over the largest ResNet48): {time.perf_counter() - start:.1f} s")
    paddle.seed(0)
    images = paddle.randn([args.batch_size, 3, args.image_size, args.image_size])
    labels = paddle.to_tensor(np.random.RandomState(0).randint(0, 1000, args.batch_size).astype("int64"))
    print(f"| arch | stand-alone steps/s | supernet steps/s | ratio | supernet scoring s/batch |")
    print("|---|---|---|---|---|")
    for arch in [archs[i] for i in np.linspace(0, len(archs) - 1, args.archs).astype(int)]:
        standalone = ResNet48(arch, num_classes=1000)
        alone = timed_steps(standalone, images, labels, args.steps)
        shared = timed_steps(supernet, images, labels, args.steps, set_arch=lambda: supernet.set_arch(arch))
        supernet.eval()
        start = time.perf_counter()
        with paddle.no_grad():
            for _ in range(args.steps):
                supernet(images)
        score = (time.perf_counter() - start) / args.steps
        print(f"| {space.format(arch)} | {alone:.2f} | {shared:.2f} | {shared / alone:.2f} | {score:.3f} |")


if __name__ == "__main__":
    main()
