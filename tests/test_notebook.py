"""The walkthrough notebook runs top to bottom (tiny settings) and matches its builder."""
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "hnas_walkthrough.ipynb"


def test_notebook_is_the_builders_output(tmp_path):
    import importlib.util
    import nbformat
    spec = importlib.util.spec_from_file_location("build_walkthrough", REPO / "notebooks" / "build_walkthrough.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    builder.build(tmp_path / "fresh.ipynb")
    sources = [[c.source for c in nbformat.read(str(p), as_version=4).cells] for p in (NOTEBOOK, tmp_path / "fresh.ipynb")]
    assert sources[0] == sources[1], "rerun python notebooks/build_walkthrough.py"


def test_walkthrough_runs_every_cell_without_error(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    monkeypatch.setenv("HNAS_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("HNAS_NOTEBOOK_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("HNAS_REPO", str(REPO))
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on any cell error
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    from hnas.compat import inference_program
    assert (tmp_path / "run" / "export" / inference_program("inference")).exists()
    assert (tmp_path / "run" / "fused_zen.json.fusion.json").exists()  # the supernet fused with the Zen prior
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the rank plot is shown


def _install_cell():
    import nbformat
    cells = [c for c in nbformat.read(str(NOTEBOOK), as_version=4).cells if c.cell_type == "code"]
    assert "def install_hnas" in cells[0].source, "the first code cell installs what the notebook needs"
    return cells[0].source.replace("\ninstall_hnas()", "")


def test_the_install_cell_clones_and_installs_the_pinned_stack_outside_a_checkout(tmp_path, monkeypatch):
    import importlib.util
    import shutil
    import subprocess
    calls = []

    def fake_call(command):
        calls.append(command)
        if command[:2] == ["git", "clone"]:
            Path(command[-1]).mkdir()
            (Path(command[-1]) / "requirements.txt").write_text((REPO / "requirements.txt").read_text())

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(subprocess, "check_call", fake_call)
    namespace = {}
    exec(_install_cell(), namespace)
    with pytest.raises(SystemExit, match="set HNAS_SOURCE"):
        namespace["install_hnas"](tmp_path / "not-a-checkout", None)
    namespace["install_hnas"](tmp_path / "not-a-checkout", "https://example.org/hnas.git")
    assert calls[0] == ["git", "clone", "--depth", "1", "https://example.org/hnas.git", "hnas_kit"]
    assert "paddlepaddle-gpu==2.6.2" in calls[1] and "paddlepaddle==2.6.2" not in calls[1]
    assert "paddleslim==2.6.0" in calls[1] and calls[2][-3:] == ["--no-deps", "-e", "hnas_kit"]
    pinned = calls[1][calls[1].index("-q") + 1:]  # each a requirement pip accepts: NAME==VERSION, no comment
    assert pinned and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.]*", p) for p in pinned), pinned


def test_the_install_cell_does_nothing_in_a_ready_checkout(monkeypatch):
    import subprocess
    monkeypatch.setattr(subprocess, "check_call", lambda command: pytest.fail(f"ran {command}"))
    namespace = {}
    exec(_install_cell(), namespace)
    assert namespace["install_hnas"](REPO, None) == REPO
