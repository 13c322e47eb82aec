"""The reference may import only the standard library (and itself): it must run anywhere Python does."""
import ast
import pathlib
import sys

import pytest

REFERENCE = pathlib.Path(__file__).resolve().parent.parent / "reference"
ALLOWED = set(sys.stdlib_module_names) | {"reference"}


def foreign_imports(source: str) -> list[str]:
    """Top-level names of absolute imports in ``source`` that are neither stdlib nor ``reference``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:  # relative imports stay inside
            names = [node.module]
        else:
            continue
        found += [name for name in names if name.split(".")[0] not in ALLOWED]
    return found


def test_detector_catches_foreign_imports():
    source = "import math\nimport torch.nn\nfrom numpy import array\nfrom . import vector\ndef f():\n    import scipy\n"
    assert foreign_imports(source) == ["torch.nn", "numpy", "scipy"]


MODULES = sorted(REFERENCE.rglob("*.py"))


def test_reference_has_modules():
    assert {"vector.py", "activations.py", "losses.py", "linear.py"} <= {m.name for m in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(REFERENCE)))
def test_module_imports_only_stdlib(module):
    assert foreign_imports(module.read_text(encoding="utf-8")) == []
