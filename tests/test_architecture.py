"""The direction of imports, checked from the source itself (import-linter checks it too).

import-linter forbids named modules; this test states the model's rule positively: every
import in `conformance/model` is the standard library or the model itself.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "conformance" / "model"
# The standard library modules the model may not use either: they do I/O or concurrency.
NO_IO = {"socket", "threading", "subprocess", "asyncio", "http", "tempfile", "os", "io", "time"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(MODEL.glob("*.py")), ids=lambda path: path.name)
def test_the_model_imports_only_the_standard_library_and_itself(path: Path) -> None:
    for module in _imported_modules(path):
        top = module.split(".")[0]
        if module.startswith("conformance.model") or top == "__future__":
            continue
        assert top in sys.stdlib_module_names, f"{path.name} imports {module}"
        assert top not in NO_IO, f"{path.name} imports {module}, which does I/O"


def test_reports_import_nothing_of_ours() -> None:
    for path in (ROOT / "reports").rglob("*.py"):
        for module in _imported_modules(path):
            top = module.split(".")[0]
            assert top not in {"conformance", "strategies"}, f"{path} imports {module}"
