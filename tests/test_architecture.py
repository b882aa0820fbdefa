"""The direction of imports, checked from the source itself (import-linter checks it too).

import-linter forbids named modules; this test states the model's rule positively: every
import in `conformance/model` is the standard library or the model itself.
"""

from __future__ import annotations

import ast
import subprocess
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


# What judging a trace must not load: the endpoints and what only they need (byte stores,
# the wire codec, KS crypto), and the HTTP and test stacks.
_NOT_FOR_CHECKS = (
    "conformance.endpoints",
    "conformance.stores",
    "conformance.wire",
    "conformance.ks",
    "conformance.clients",
    "httpx",
    "respx",
    "multipart",
    "cryptography",
    "pytest",
    "hypothesis",
)


def test_importing_the_checks_loads_no_endpoint_code() -> None:
    """The checks read `conformance.trace` records; the endpoint that writes them is not
    theirs to load (a fresh interpreter, so nothing this test run imported counts)."""
    probe = "import sys, conformance.checks\nprint('\\n'.join(sorted(sys.modules)))\n"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert "conformance.checks" in loaded
    unwanted = [m for m in loaded if any(m == n or m.startswith(f"{n}.") for n in _NOT_FOR_CHECKS)]
    assert unwanted == []
