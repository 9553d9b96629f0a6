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
        assert name in result.stdout, "help asked for goes to stdout (issue 26)"


def test_every_verb_answers_help_with_status_0_whatever_came_before(capsys, monkeypatch):
    import pytest
    from hnas.cli import main
    monkeypatch.setenv("PAGER", "cat")
    for argv in [["--help"], *([name, "--help"] for name in COMMANDS),
                 ["train", "no-such-config.yaml", "--train.epochs", "abc", "--help"], ["test", "-h"]]:
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code in (0, None), f"hnas {' '.join(argv)} exited {done.value.code}"
        printed = capsys.readouterr()
        assert "NAME" in printed.out and "NAME" not in printed.err, argv
