"""`reports` renders plain data: it imports nothing from `conformance` or `strategies`, and
only the standard library (it must install and run without the suite's dependencies)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import reports

PACKAGE = Path(reports.__file__).resolve().parent
MODULES = sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # relative imports stay inside the package
            found.add("reports" if node.level else node.module or "")
    return found


def test_every_module_is_checked() -> None:
    assert {p.name for p in MODULES} >= {"__init__.py", "__main__.py", "schema.py", "html.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_reports_imports_only_itself_and_the_standard_library(path: Path) -> None:
    for module in _imports(path):
        top = module.split(".")[0]
        assert top not in {"conformance", "strategies"}, f"{path.name} imports {module}"
        assert top == "reports" or top in sys.stdlib_module_names, f"{path.name} imports {module}"
