"""Outputs written atomically get the mode a plain write would give them."""
import os
import stat

import pytest

from hnas.io import write_json, write_text


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_outputs_have_the_mode_of_a_plain_write(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        write_text(tmp_path / "b.md", "x")
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"a.json": expected, "b.md": expected, "plain.txt": expected}
