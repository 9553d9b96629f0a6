"""The 2022 kit on this machine: parsing, validating and counting (params, FLOPs) the real 45k list.
The ResOFA supernet's speed against stand-alone networks is benchmarks/resofa_speed.py.

python benchmarks/resnet48.py
"""
import json
import time
from pathlib import Path

from hnas.spaces import ResNet48Space

ANCHOR = Path(__file__).resolve().parents[2] / "shared" / "anchors" / "cvpr2022_track1_test_45k.json"


def main():
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


if __name__ == "__main__":
    main()
