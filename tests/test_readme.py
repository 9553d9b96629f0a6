"""The README's first screen (what hnas is, the two commands, links that resolve), the recipe tables
of docs/recipes.md covering every shipped config, and the README's two commands being the ones CI runs."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RECIPES = (ROOT / "docs" / "recipes.md").read_text()


def _section(title):
    start = RECIPES.index(title)
    end = RECIPES.find("\n#", start + len(title))
    return RECIPES[start:end if end != -1 else None]


def _configs_named(text):
    return set(re.findall(r"`([\w.]+\.yaml)`", text))


def test_every_config_is_in_both_recipe_tables():
    shipped = {path.name for path in (ROOT / "configs").glob("*.yaml")}
    assert shipped <= _configs_named(_section("## Recipes")), "add the config to the Recipes table"
    published = _section("### Published numbers")
    missing = shipped - _configs_named(published)
    benchmarks = {"digits_rank_benchmark.yaml", "fmnist_rank_benchmark.yaml", "standalone_official.yaml",
                  "ablate_digits.yaml", "ablate_rank_digits.yaml", "ablate_fmnist.yaml",
                  "ablate_fmnist_scoring.yaml", "ablate_fmnist_ranged.yaml", "ablate_fmnist_2022.yaml"}
    assert missing <= benchmarks, missing


def test_ci_runs_the_readme_test_command():
    readme_test_command = "bash shell/setup.sh && .venv/bin/python -m pytest -q"
    assert readme_test_command in README.split("```")[1]
    assert readme_test_command in (ROOT / ".ci" / "run").read_text()


def test_the_first_screen_says_what_hnas_is_and_how_to_run_it():
    first_screen = "\n".join(README.splitlines()[:60])
    assert "One-shot neural architecture search" in first_screen
    assert "bash shell/train.sh && bash shell/test.sh" in first_screen and "python -m pytest -q" in first_screen
    assert "hnas ablate configs/ablate_fmnist.yaml" in first_screen  # one real-data run


def test_every_link_of_the_readme_resolves():
    links = re.findall(r"\]\(([^)#]+)\)", README)
    assert len(links) >= 10
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, missing


def test_the_readme_says_what_every_dependency_is_for():
    named = {"paddlepaddle": "PaddlePaddle", "paddleslim": "PaddleSlim", "numpy": "NumPy", "fire": "python-fire",
             "opencv-python": "OpenCV", "pyyaml": "PyYAML", "scikit-learn": "scikit-learn", "visualdl": "VisualDL"}
    section = README[README.index("## Dependencies"):]
    requirements = [re.split(r"[=<>]", line)[0].strip().lower() for line in
                    (ROOT / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    unnamed = [r for r in requirements if named.get(r, r).lower() not in section.lower()]
    assert not unnamed, unnamed
