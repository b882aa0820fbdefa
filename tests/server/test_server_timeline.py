"""A server check's step timeline: the driver's comparisons in order, the server's answer
and the model's prediction side by side where they differ, the mismatches as evidence; in
a valid results document, drawn in results.html and listed in summary.md."""

from __future__ import annotations

import time

import httpx
from mutant_servers import MUTANTS

from conformance.clients.api import KalturaApi
from conformance.endpoints import EndpointConfig
from conformance.endpoints.server import LoopbackServer
from conformance.reporting import build_results
from conformance.requirements import Verdict
from conformance.server import ServerUnderTest, run_check
from conformance.suite.timeline import server_timeline
from reports import render_html, render_markdown, validate

MUTANT = "resend-appended"  # a re-sent middle appended a second time: UT-S04 fails


def test_a_failing_server_check_draws_its_steps_and_the_disagreement() -> None:
    mutant = MUTANTS[MUTANT]
    endpoint = mutant.endpoint(EndpointConfig(final_wait=0.2))
    partner = endpoint.add_partner()
    try:
        with LoopbackServer(endpoint) as server, httpx.Client(timeout=10) as client:
            api = KalturaApi(client, server.url)
            api.start_session(partner.partner_id, partner.admin_secret)
            target = ServerUnderTest(api)
            result = run_check(mutant.target, target)
    finally:
        endpoint.close()
    assert result.verdict is Verdict.FAIL
    timeline = server_timeline(target.observed, [result])
    steps = timeline["requests"]
    assert timeline["axis"] == "steps"
    assert [s["id"] for s in steps] == list(range(1, len(target.observed) + 1))
    mismatched = [s["id"] for s in steps if "disagreed" in s]
    assert mismatched
    assert timeline["evidence"] == {mutant.target: mismatched}
    for step, observation in zip(steps, target.observed, strict=True):
        if not observation.ok:
            assert step["disagreed"] == {
                "server": observation.actual.describe(),
                "model": observation.expected.describe(),
            }
    case = {
        "test": f"test_server_requirement[{mutant.target}]",
        "description": mutant.target,
        "verdicts": {mutant.target: result.verdict.value},
        "breaches": {mutant.target: [b.message for b in result.breaches]},
        "timeline": timeline,
    }
    doc = build_results(
        [case],
        direction="server",
        target="a mutant server",
        profile="quick",
        seed=None,
        strict=False,
        selected=[mutant.target],
        started_at=time.time(),
        workers=1,
    )
    assert validate(doc) == []
    page = render_html(doc)
    failures = page.split('<section id="failures">')[1].split("</section>")[0]
    assert "Where the server and the model disagreed" in failures
    assert failures.count('<g class="bar ') == len(steps)  # the whole view (no zoom here)
    assert failures.count(' evidence" data-id=') == len(mismatched)
    summary = render_markdown(doc)
    assert "step   1" in summary
    assert "[model predicted: " in summary
