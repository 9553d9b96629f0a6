"""Import direction: each part of hnas imports only parts below it, never sideways or upward,
so construction (hnas.build) never needs the training or evaluation code that uses it."""
import ast
from pathlib import Path

import hnas

# lowest first; a module may import its own part and any part of a lower layer
LAYERS = [
    {"errors", "__init__", "config_schema", "layout"},
    {"io", "interfaces", "image_subsets", "progress", "fingerprint", "compat", "stopping", "foreign_names"},
    {"plots", "parallel", "spaces", "config", "lock"},
    {"archfile", "checkpoint"},
    {"data", "models", "metrics", "score_store", "precision"},
    {"proxies", "scoring"},
    {"fusion", "build"},
    {"train", "evaluate", "search"},
    {"ablate", "predictor", "doctor"},
    {"cli"},
    {"cli_reference"},
    {"__main__"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
ROOT = Path(hnas.__file__).parent


def _part(module):
    """'hnas.evaluate.run' -> 'evaluate'; 'hnas' -> '__init__'."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def _hnas_imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "hnas":
            yield node.module if node.module != "hnas" else f"hnas.{node.names[0].name}"
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "hnas")


def test_every_part_of_hnas_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert parts == set(RANK), parts ^ set(RANK)


def test_nothing_imports_upward_or_sideways():
    wrong = []
    for path in ROOT.rglob("*.py"):
        module = ".".join(("hnas",) + path.relative_to(ROOT).with_suffix("").parts)
        source = _part(module)
        for target in _hnas_imports(path):
            if target == "hnas":  # the package itself (for its side effects)
                continue
            other = _part(target)
            if other != source and RANK[other] >= RANK[source]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


STDLIB_PRIVATE = {"os._exit", "sys._getframe"}  # documented private names of the standard library


def _classes_defined_in_hnas():
    return {node.name for path in ROOT.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ClassDef)}


def test_no_private_paddle_attribute_outside_the_compat_module():
    """Issue 27: paddle and paddleslim internals in one module (hnas.compat), so a framework
    upgrade breaks one place. Flags `x._name` on anything but self/cls, and `self._name` that no
    hnas code assigns or defines (an inherited paddle internal, e.g. hapi's `_optimizer`)."""
    own = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                own.add(node.name)
    found = []
    for path in ROOT.rglob("*.py"):
        if path.parent.name == "compat":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
                continue
            text = ast.unparse(node)
            on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if text in STDLIB_PRIVATE or (on_self and node.attr in own) or text.startswith("_errors"):
                continue
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text}")
    assert not found, found
