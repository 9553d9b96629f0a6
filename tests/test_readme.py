"""The README's recipe tables cover every shipped config, and its two set-up commands are the ones CI runs."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _section(title):
    start = README.index(title)
    end = README.find("\n#", start + len(title))
    return README[start:end if end != -1 else None]


def _configs_named(text):
    return set(re.findall(r"`([\w.]+\.yaml)`", text))


def test_every_config_is_in_both_recipe_tables():
    shipped = {path.name for path in (ROOT / "configs").glob("*.yaml")}
    assert shipped <= _configs_named(_section("## Recipes")), "add the config to the Recipes table"
    published = _section("### Published numbers")
    missing = shipped - _configs_named(published)
    benchmarks = {"digits_rank_benchmark.yaml", "fmnist_rank_benchmark.yaml", "standalone_official.yaml",
                  "ablate_digits.yaml", "ablate_rank_digits.yaml", "ablate_fmnist.yaml",
                  "ablate_fmnist_scoring.yaml"}
    assert missing <= benchmarks, missing


def test_ci_runs_the_readme_test_command():
    readme_test_command = "bash shell/setup.sh && .venv/bin/python -m pytest -q"
    assert readme_test_command in README.split("```")[1]
    assert readme_test_command in (ROOT / ".ci" / "run").read_text()
