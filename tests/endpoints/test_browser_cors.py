"""A page on another origin uploads to `serve` from a real browser (headless Chromium).

The page (served from a second loopback port, so another origin) adds a token with a JSON
body — a request that needs a CORS preflight (api_v3/web/index.php:5-12) — then uploads a
file in three stages with fetch and FormData, reading every answer (which needs
`Access-Control-Allow-Origin`, KalturaResponseCacher.php:152). The suite's own checks then
judge what reached the wire: every requirement PASS or not exercised, none FAIL.

Skipped, with the reason, where no Chromium can be had (`.ci/run` installs Debian's).
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from chromium import CHROMIUM, QUIET_FLAGS
from loopback import loopback_endpoint

from conformance.checks import run_checks
from conformance.checks.evidence import CaseEvidence, ClientOutcome, FinalToken
from conformance.content import SourceFile
from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.server import LoopbackServer
from conformance.model import Caller, TokenResult
from conformance.proxy import ProxyConfig, ProxyEndpoint
from conformance.requirements import Verdict

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")

SOURCE = SourceFile(150_000, seed=4242)
CUTS = (0, 50_000, 100_000, SOURCE.size)  # opening, one middle, close
FLAGS = (
    "--headless",
    *QUIET_FLAGS,
    "--virtual-time-budget=20000",  # the dump waits while fetches are pending
    "--dump-dom",
)

PAGE = """<!doctype html><html><body><pre id="result">pending</pre><script>
const api = %(api)s, ks = %(ks)s, cuts = %(cuts)s;
const bytes = Uint8Array.from(atob(%(data)s), c => c.charCodeAt(0));
const show = v => { document.getElementById("result").textContent = JSON.stringify(v); };
async function call(action, form) {
  const r = await fetch(api + "/api_v3/service/uploadtoken/action/" + action, {
    method: "POST", body: form });
  return r.json();
}
function chunk(token, start, end, resume, last) {
  const form = new FormData();
  for (const [k, v] of Object.entries({ks: ks, format: "1", uploadTokenId: token,
      resume: resume, finalChunk: last, resumeAt: String(start)})) form.append(k, v);
  form.append("fileData", new Blob([bytes.slice(start, end)]), "chunk_" + start);
  return call("upload", form);
}
(async () => {
  const added = await (await fetch(api + "/api_v3/service/uploadtoken/action/add", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({ks: ks, format: 1, uploadToken: {fileName: "page.bin"}})})).json();
  const token = added.id;
  await chunk(token, cuts[0], cuts[1], "false", "false");
  await Promise.all([chunk(token, cuts[1], cuts[2], "true", "false")]);
  let closed;
  for (let i = 0; i < 20; i++) {
    closed = await chunk(token, cuts[2], cuts[3], "true", "true");
    if (closed.code !== "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE") break;
  }
  show({token: token, closed: closed});
})().catch(e => show({error: String(e)}));
</script></body></html>"""


def _page_server(page: bytes) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the page carries a KS."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@dataclass
class Api:
    """The server the page uploads to, and what the checks read: the server itself, or a
    proxy in front of it (`served`: whose trace, token and file digest are judged)."""

    endpoint: KalturaEndpoint
    url: str
    served: KalturaEndpoint | ProxyEndpoint
    proxy: ProxyEndpoint | None


@pytest.fixture(params=["direct", "proxied"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The reference server, reached straight or through the recording proxy (issue 14:
    a browser's preflight and CORS headers pass through it unchanged)."""
    with ExitStack() as stack:
        server = stack.enter_context(loopback_endpoint(0.3))
        endpoint = server.endpoint
        if request.param == "direct":
            yield Api(endpoint, server.url, endpoint, None)
            return
        proxy = ProxyEndpoint(ProxyConfig(server.url))
        stack.callback(proxy.close)
        front = stack.enter_context(LoopbackServer(proxy))
        yield Api(endpoint, front.url, proxy, proxy)


def test_a_page_on_another_origin_uploads_in_three_stages(api: Api) -> None:
    partner = api.endpoint.add_partner()
    ks = api.endpoint.start_session(partner)
    if api.proxy is not None:
        api.proxy.tell(ks, Caller(partner.partner_id))
    page = PAGE % {
        "api": json.dumps(api.url),
        "ks": json.dumps(ks),
        "cuts": json.dumps(CUTS),
        "data": json.dumps(base64.b64encode(SOURCE.read(0, SOURCE.size)).decode()),
    }
    pages, thread = _page_server(page.encode())
    try:
        with tempfile.TemporaryDirectory() as profile:
            url = f"http://127.0.0.1:{pages.server_address[1]}/"
            assert url.rsplit(":", 1)[1] not in api.url  # another origin
            assert CHROMIUM is not None
            dom = subprocess.run(
                [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", url],
                capture_output=True,
                text=True,
                timeout=90,
                check=False,
            ).stdout
    finally:
        pages.shutdown()
        thread.join()
        pages.server_close()
    result = json.loads(dom.split('<pre id="result">', 1)[1].split("</pre>", 1)[0])
    assert "error" not in result, result
    token_id = result["token"]
    assert result["closed"]["status"] == 2, result
    state = api.served.token(partner.partner_id, token_id)
    assert isinstance(state, TokenResult)
    final = FinalToken(
        token_id,
        int(state.token.status),
        state.token.uploaded_file_size,
        api.served.file_digest(partner.partner_id, token_id),
    )
    assert final.file_digest == SOURCE.digest()
    exchanges = tuple(api.served.trace.exchanges(partner.partner_id))
    evidence = CaseEvidence(
        source=SOURCE,
        exchanges=exchanges,
        outcome=ClientOutcome(succeeded=True),
        final=final,
    )
    verdicts = {r.requirement_id: r.verdict for r in run_checks(evidence)}
    assert Verdict.FAIL not in verdicts.values(), verdicts
    assert verdicts["UT-C14"] is Verdict.PASS
    if api.proxy is not None:  # every answer the model's, every call followed
        assert [e.action for e in exchanges] == ["add", "upload", "upload", "upload"]
        assert api.proxy.shadow.disagreements() == ()
        assert api.proxy.shadow.unmodelled() == ()
