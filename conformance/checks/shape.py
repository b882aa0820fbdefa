"""UT-C22: the shape of an upload, reported for comparison, never judged."""

from __future__ import annotations

import statistics

from conformance.checks.base import Findings, Reads, check
from conformance.checks.evidence import CaseEvidence
from conformance.trace import Exchange

__all__: list[str] = []


@check("UT-C22", reads=Reads.REQUESTS)
def upload_shape(evidence: CaseEvidence) -> Findings:
    uploads = evidence.uploads
    sizes = [e.payload.size for e in uploads if e.payload is not None]
    distinct = {(e.resume, e.resume_at, e.payload.sha256 if e.payload else None) for e in uploads}
    sent = sum(sizes)
    return Findings(
        observations={
            "requests": len(evidence.exchanges),
            "data_requests": len(uploads),
            "chunk_size_min": min(sizes, default=0),
            "chunk_size_median": int(statistics.median(sizes)) if sizes else 0,
            "chunk_size_max": max(sizes, default=0),
            "max_concurrent_middles": _max_concurrency(uploads),
            "retries": len(uploads) - len(distinct),
            "bytes_sent_per_byte": round(sent / evidence.size, 3) if evidence.size else float(sent),
        }
    )


def _max_concurrency(uploads: tuple[Exchange, ...]) -> int:
    """The most middle requests the server held at once (arrival to answer)."""
    events: list[tuple[float, int]] = []
    for e in uploads:
        if e.resume and not e.final_chunk:
            events.append((e.arrival, 1))
            events.append((e.answered_at if e.answered_at is not None else e.arrival, -1))
    level = peak = 0
    for _, step in sorted(events, key=lambda event: (event[0], event[1])):
        level += step
        peak = max(peak, level)
    return peak
