"""The search space comes from the arch strings; --space overrides, a recipe must agree."""
import json
from pathlib import Path

import pytest

from hnas.archfile import space_of_file, space_of_strings
from hnas.cli import main
from hnas.errors import HnasError
from hnas.spaces import ResNet20Space, ResNet48Space

ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "anchors"
R20, R48 = ResNet20Space(), ResNet48Space()
A20 = [(f"a{i}", R20.format(a)) for i, a in enumerate([R20.largest(), R20.smallest(), R20.largest()])]
A48 = [(f"b{i}", R48.format(a)) for i, a in enumerate([R48.largest(), R48.smallest()])]


def write(path, keyed):
    path.write_text(json.dumps({k: {"arch": t, "acc": 0.0} for k, t in keyed}))
    return path


def test_each_space_is_recognised_by_its_strings():
    assert space_of_strings(A20, "x").name == "resnet20"
    assert space_of_strings(A48, "x").name == "resnet48"


def test_a_file_mixing_spaces_is_one_error_naming_entries_of_each():
    with pytest.raises(HnasError) as err:
        space_of_strings(A20 + A48, "arch file f.json")
    message = str(err.value)
    assert "mixes search spaces" in message and "3 resnet20 ('a0', 'a1', ...)" in message
    assert "2 resnet48 ('b0', 'b1')" in message and "\n" not in message


def test_a_recipe_of_another_space_is_one_error_and_space_overrides():
    with pytest.raises(HnasError, match="holds resnet48 archs but the recipe is for resnet20"):
        space_of_strings(A48, "arch file f.json", expected="resnet20")
    assert space_of_strings(A48, "x", override="resnet20").name == "resnet20"
    with pytest.raises(HnasError, match="--space resnet48 disagrees with the recipe's space resnet20"):
        space_of_strings(A20, "x", override="resnet48", expected="resnet20")


def test_strings_of_no_space_fall_back_so_the_reader_can_list_them(tmp_path):
    assert space_of_strings([("k", "nonsense")], "x").name == "resnet20"
    assert space_of_strings([("k", "nonsense")], "x", expected="resnet48").name == "resnet48"


@pytest.mark.skipif(not (ANCHORS / "cvpr2022_track1_test_45k.json").exists(), reason="needs ../shared/anchors")
def test_the_real_2022_list_is_read_as_resnet48_and_scored_by_a_prior_without_space(tmp_path, capsys):
    real = json.loads((ANCHORS / "cvpr2022_track1_test_45k.json").read_text())
    assert space_of_file(ANCHORS / "cvpr2022_track1_test_45k.json").name == "resnet48"
    some = tmp_path / "some.json"
    some.write_text(json.dumps(dict(list(real.items())[:50])))
    main(["proxy", "--archs", str(some), "--proxy", "params", "--out", str(tmp_path / "params.json")])
    scored = json.loads((tmp_path / "params.json").read_text())
    assert list(scored) == list(real)[:50] and len({e["acc"] for e in scored.values()}) > 1


def test_verbs_that_read_a_file_infer_its_space(tmp_path, capsys):
    scores = write(tmp_path / "scores.json", A48)
    main(["analyze", "--scores", str(scores), "--out", str(tmp_path / "edf")])
    assert "plot:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["analyze", "--scores", str(write(tmp_path / "mixed.json", A20 + A48))])
    assert done.value.code == 2 and "mixes search spaces" in capsys.readouterr().err


def test_hnas_test_refuses_a_list_of_another_space_before_loading_anything(tmp_path):
    from hnas.config import load_config
    from hnas.evaluate.run import evaluate_arch_file
    with pytest.raises(HnasError, match="holds resnet48 archs but the recipe is for resnet20"):
        evaluate_arch_file(load_config("configs/quickstart.yaml"), tmp_path / "no-run", write(tmp_path / "b.json", A48),
                           tmp_path / "out.json")
