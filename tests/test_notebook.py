"""The walkthrough notebook runs top to bottom (tiny settings) and matches its builder."""
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
    assert (tmp_path / "run" / "export" / "inference.pdmodel").exists()
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the rank plot is shown
