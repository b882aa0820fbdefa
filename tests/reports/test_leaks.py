"""`find_secrets`: where in a document any secret appears (keys included)."""

from __future__ import annotations

from typing import Any

from reports import find_secrets, render_html, render_json, render_junit, render_markdown

SECRET = "adm1n-s3cret-0123456789abcdef"


def test_a_clean_document_has_no_secrets(doc: dict[str, Any]) -> None:
    assert find_secrets(doc, [SECRET, "djJ8MTAwfE-ks"]) == []


def test_every_path_holding_a_secret_is_named(doc: dict[str, Any]) -> None:
    doc["cases"][0]["client"]["detail"] = f"curl -d secret={SECRET}"
    doc["cases"][2]["scenario"][f"x{SECRET}"] = 1
    doc["run"]["requirements_selected"] = ["UT-C01", f"{SECRET}!"]
    assert find_secrets(doc, ["", SECRET]) == [
        "$.run.requirements_selected[1]",
        "$.cases[0].client.detail",
        f'$.cases[2].scenario["x{SECRET}"]',
    ]


def test_empty_secrets_match_nothing(doc: dict[str, Any]) -> None:
    assert find_secrets(doc, []) == []
    assert find_secrets(doc, [""]) == []


def test_writers_add_nothing_that_is_not_in_the_document(doc: dict[str, Any]) -> None:
    # What the run knew but the document does not hold never reaches a report.
    assert find_secrets(doc, [SECRET]) == []
    for render in (render_json, render_markdown, render_junit, render_html):
        assert SECRET not in render(doc)
