"""docs/cli.md is the generated CLI reference, and every command listed there answers --help."""
import subprocess
import sys
from pathlib import Path

from hnas.cli import COMMANDS
from hnas.cli_reference import cli_reference

ROOT = Path(__file__).resolve().parents[1]


def test_docs_cli_md_matches_the_code():
    assert (ROOT / "docs" / "cli.md").read_text() == cli_reference(), "run: python -m hnas.cli_reference > docs/cli.md"
    for name in COMMANDS:
        assert f"## hnas {name}\n" in cli_reference()
    assert "docs/cli.md" in (ROOT / "README.md").read_text()


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "hnas", "--help"], capture_output=True, text=True, cwd=ROOT,
                            env={"PAGER": "cat", "PATH": "/usr/bin:/bin"})
    for name in COMMANDS:
        assert name in result.stdout + result.stderr
