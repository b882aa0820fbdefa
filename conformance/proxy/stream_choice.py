"""Which request bodies the proxy streams on to the upstream while they arrive (issue 14).

Asked by the loopback server once a request's head is read (`ProxyEndpoint.stream_body`).
A body is streamed when no fault can refuse it: no partner's plan has a not-forwarded
kind, or the KS in the query or path (which win over the body's) is of a partner whose
plan has none, or else, in a multipart body, the KS among the form fields before the first
file part (most clients send them first; the body is held, `HeldBody`, until those fields
are in, within its first `FACTS_WITHIN` bytes). Any other body is stored first.
"""

from __future__ import annotations

from conformance.endpoints.multipart_form import boundary
from conformance.model import Blob, BlobFactory
from conformance.proxy.callers import Callers
from conformance.proxy.cases import CasePlans
from conformance.proxy.sniffing import FACTS_WITHIN, fields_before_file
from conformance.proxy.upstream import HeldBody, Outgoing, Threaded, Upstream
from conformance.wire import ParsedBody, decode_call

__all__ = ["StreamChoice"]


class StreamChoice:
    """Decides a request body's way on from its head (and the fields before its first file
    part), by the fault plans attached now; thread-safe as its parts are."""

    def __init__(
        self, plans: CasePlans, callers: Callers, upstream: Upstream, blobs: BlobFactory
    ) -> None:
        self.plans = plans
        self.callers = callers
        self.upstream = upstream
        self.blobs = blobs

    def stream_body(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], length: int
    ) -> Outgoing | Threaded | HeldBody | None:
        """The loopback server's question once a request's head is read: its body's way
        on, to be fed as it arrives, or None to store it first."""
        if method == "OPTIONS":
            return None
        if self._may_stream(target):
            return self.upstream.open(method, target, headers, length)
        content_type = next((v for n, v in headers if n.lower() == "content-type"), None)
        # The delimiter the body will be parsed by (PHP's rule), so the head is cut alike.
        found = boundary(content_type or "")
        if found is None or not (content_type or "").lower().startswith("multipart/"):
            return None
        head = (method, target, headers)
        delimiter = b"--" + found

        def decide(body: Blob) -> Outgoing | Threaded | bool | None:
            """Once the fields before the first file part are in: stream if their KS is of
            a partner no refusing fault is planned for."""
            prefix = body.read(0, min(body.size, FACTS_WITHIN))
            fields = fields_before_file(prefix, delimiter, content_type, self.blobs)
            if fields is None:
                return False if body.size >= FACTS_WITHIN else None
            ks = decode_call(target, content_type, fields).param("ks")
            if not self._unrefused(ks):
                return False
            return self.upstream.open(method, target, headers, length) or False

        return HeldBody(self.upstream, head, self.blobs.new(), decide)

    def _may_stream(self, target: str) -> bool:
        """No fault that answers without forwarding can match this request, by its query
        and path (whose parameters win over the body's in `decode_call`)."""
        refusing = self.plans.refusing()
        if not refusing:  # no plan refuses: the query need not be read
            return True
        ks = decode_call(target, None, ParsedBody()).param("ks")
        return self.plans.unrefused(self.callers.resolve(ks), refusing)

    def _unrefused(self, ks: object) -> bool:
        """No partner has a refusing fault planned, or `ks` is of one that has none (an
        absent or unreadable KS is of no known partner: it may be refused)."""
        return self.plans.unrefused(self.callers.resolve(ks))
