"""Report writers for conformance results (JSON, Markdown, HTML, JUnit).

This package renders a saved results file made of plain dicts and imports nothing from
`conformance` or `strategies` (enforced by import-linter). The writers arrive with the
client-conformance suite.
"""

from __future__ import annotations

__all__: list[str] = []
