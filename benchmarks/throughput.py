"""Throughput of weight sharing and of scoring, on random-init weights (speed does not depend on them).

  python benchmarks/throughput.py --image-size 32 --batch-size 128 --archs 8 --subsets 100,500,1000

(a) training: one step (forward, backward, SGD) of a sampled arch run through the supernet versus
    the same arch as a stand-alone paddle ResNet20, each timed over --steps steps after warm-up;
(b) scoring: archs/s of SupernetScorer (bn_mode batch) for each test-subset size.
"""
import hnas  # noqa: F401  (zlib guard first)

import argparse
import time

import numpy as np
import paddle

from hnas.scoring import SupernetScorer
from hnas.models import ResNet20, ResNet20Supernet
from hnas.spaces import ResNet20Space
from hnas.spaces.samplers import UniformSampler


def time_train_steps(network, images, labels, steps, set_arch=None):
    optimizer = paddle.optimizer.Momentum(learning_rate=0.01, parameters=network.parameters())
    network.train()

    def one_step():
        if set_arch:
            set_arch()
        loss = paddle.nn.functional.cross_entropy(network(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad(set_to_zero=False)

    for _ in range(3):
        one_step()
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    return steps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--archs", type=int, default=8, help="sampled archs for the training comparison")
    parser.add_argument("--subsets", default="100,500,1000", help="test-subset sizes for scoring")
    parser.add_argument("--score-archs", type=int, default=10)
    args = parser.parse_args()
    paddle.seed(0)
    space = ResNet20Space()
    sampler = UniformSampler(space, seed=0)
    archs = [sampler.draw(i) for i in range(args.archs)]
    size, batch = args.image_size, args.batch_size
    images = paddle.randn([batch, 3, size, size])
    labels = paddle.to_tensor(np.arange(batch) % 100, dtype="int64")
    supernet = ResNet20Supernet(num_classes=100, conv="full", bn="end", fc="independent")

    print(f"(a) training, image {size}x{size}, batch {batch}, {args.steps} steps per arch")
    print("| arch | stand-alone steps/s | supernet steps/s | supernet / stand-alone |")
    print("|---|---|---|---|")
    ratios = []
    for arch in archs:
        standalone = time_train_steps(ResNet20(arch, num_classes=100), images, labels, args.steps)
        shared = time_train_steps(supernet, images, labels, args.steps, set_arch=lambda: supernet.set_arch(arch))
        ratios.append(shared / standalone)
        print(f"| {space.format(arch)} | {standalone:.2f} | {shared:.2f} | {shared / standalone:.2f} |")
    print(f"mean supernet/stand-alone throughput ratio: {np.mean(ratios):.2f}\n")

    print(f"(b) scoring with bn_mode batch, eval batch 500, {args.score_archs} archs")
    print("| test images | archs/s | s/arch |")
    print("|---|---|---|")
    for subset in (int(s) for s in args.subsets.split(",")):
        batches = [(paddle.randn([min(500, subset - s), 3, size, size]),
                    paddle.to_tensor(np.arange(min(500, subset - s)) % 100, dtype="int64"))
                   for s in range(0, subset, 500)]
        scorer = SupernetScorer(supernet, batches, bn_mode="batch", metric="loss")
        scorer.evaluate(archs[0])
        start = time.perf_counter()
        for i in range(args.score_archs):
            scorer.evaluate(archs[i % len(archs)])
        elapsed = time.perf_counter() - start
        print(f"| {subset} | {args.score_archs / elapsed:.2f} | {elapsed / args.score_archs:.3f} |")


if __name__ == "__main__":
    main()
