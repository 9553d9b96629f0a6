"""Host time per scored arch at ImageNet size: the scorer's uint8 cache against decoding every pass.

  python benchmarks/scoring_host_time.py --images 128 --image-size 224 --repeats 3

Writes an ImageFolder of JPEGs at ImageNet's typical size (375x500), builds the 2022 scoring data
through hnas.data (resize 256, centre crop 224), and for each arch (smallest and largest of the
2022 space) measures, interleaved in one process (A, B, C, A, B, C, ...), medians over repeats:

  host ms, uint8 cache   one pass over the cached uint8 batches (what a scored arch costs the
                         host now: the 2022 sets fit the cache)
  host ms, decoding      one pass that reads and decodes every JPEG again (what it cost when
                         the float32 cache could not hold the set)
  normalise ms           the work the cache adds per pass: uint8 to normalised float32 (on the
                         device; on a CPU with numpy, on the host's cores)
  forward ms             the ResOFA supernet's eval forwards over the same batches

and prints the cache bytes of the 2022 recipe's 5,000 scoring images as float32 and as uint8.
"""
import hnas  # noqa: F401  (its zlib guard runs before paddle loads)
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import paddle

from hnas import scoring
from hnas.data import build_data
from hnas.models import create_supernet
from hnas.spaces import ResNet48Space


def write_jpegs(root, count, classes=4, size=(375, 500), seed=0):
    """Random crops and flips of scikit-learn's two sample photographs (427x640), saved as JPEG at
    quality 90: files that decode like ImageNet's (about 100 KB each), not like noise or flat colour."""
    from sklearn.datasets import load_sample_images
    photos = load_sample_images().images
    rng = np.random.RandomState(seed)
    for split in ("train", "val"):
        for i in range(count):
            folder = Path(root) / split / f"n{i % classes:08d}"
            folder.mkdir(parents=True, exist_ok=True)
            photo = photos[i % len(photos)]
            top, left = rng.randint(0, photo.shape[0] - size[0] + 1), rng.randint(0, photo.shape[1] - size[1] + 1)
            crop = photo[top:top + size[0], left:left + size[1], ::-1]
            cv2.imwrite(str(folder / f"img_{i}.JPEG"), crop[:, ::-1] if i % 2 else crop, [cv2.IMWRITE_JPEG_QUALITY, 90])


def timed(run):
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def one_pass(batches):
    def run():
        for images, labels in batches:
            pass
    return run


def normalising(fixed):
    def run():
        for images, _ in fixed.cached:
            normalised = fixed.normalize.batch(images)
        normalised.numpy()  # wait for the device
    return run


def forwards(network, batches):
    @paddle.no_grad()
    def run():
        for images, _ in batches:
            logits = network(images)
        logits.numpy()
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    paddle.seed(0)
    space = ResNet48Space()
    with tempfile.TemporaryDirectory() as root:
        write_jpegs(root, args.images)
        data = build_data("imagefolder", root=root, image_size=args.image_size)
        cached = scoring.FixedBatches(data.test, args.batch_size)
        scoring.CACHE_BYTES, cache_bytes = 0, scoring.CACHE_BYTES
        decoding = scoring.FixedBatches(data.test, args.batch_size)
        scoring.CACHE_BYTES = cache_bytes
        assert cached.cached is not None and decoding.cached is None
        supernet = create_supernet("resnet48", data.num_classes)
        supernet.eval()
        print(f"{args.images} JPEGs 375x500 -> {args.image_size} px, batch {args.batch_size}, "
              f"medians of {args.repeats} interleaved repeats, {paddle.device.get_device()}")
        print("| arch | host ms per arch, uint8 cache | host ms per arch, decoding | normalise ms per arch | "
              "forward ms per arch | host / forward, cache | host / forward, decoding |")
        print("|---|---|---|---|---|---|---|")
        for name, arch in (("smallest", space.smallest()), ("largest", space.largest())):
            supernet.set_arch(arch)
            runs = {"cache": one_pass(cached.cached), "decode": one_pass(decoding),
                    "normalise": normalising(cached), "forward": forwards(supernet, cached)}
            times = {k: [] for k in runs}
            for _ in range(args.repeats):
                for key, run in runs.items():
                    times[key].append(timed(run))
            cache, decode, normalise, forward = (statistics.median(times[k]) for k in runs)
            print(f"| {name} | {cache:.2f} | {decode:.0f} | {normalise:.0f} | {forward:.0f} | "
                  f"{cache / forward:.4f} | {decode / forward:.3f} |")
    per_image = 3 * args.image_size ** 2
    print(f"\nthe 2022 recipes' 5,000 scoring images at {args.image_size} px: "
          f"{5000 * per_image * 4 / 2 ** 30:.2f} GiB as float32, {5000 * per_image / 2 ** 30:.2f} GiB as uint8 "
          f"(cache limit {scoring.CACHE_BYTES / 2 ** 30:.0f} GiB)")


if __name__ == "__main__":
    main()
