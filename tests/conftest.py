import zlib  # noqa: F401  (paddle's bundled zlib must not load first)
import json
import os
from pathlib import Path

import pytest

ANCHORS = Path(os.environ.get("HNAS_ANCHORS", Path(__file__).resolve().parents[2] / "shared" / "anchors"))


def load_anchor(name):
    path = ANCHORS / name
    if not path.exists():
        pytest.skip(f"anchor data {path} is absent (expected ../shared/anchors beside the checkout)")
    with open(path) as f:
        return json.load(f)


@pytest.fixture
def gt2021():
    return load_anchor("cvpr2021_track1_gt_first_1000.json")
