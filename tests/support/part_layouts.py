"""Upload layouts for the digest-store tests (`test_digests`, `test_digest_takeover`): parts
of a source file, in any order, overlapping, re-sent, empty or with other bytes, each with
the flags Hypothesis picks."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from conformance.model import Caller

CALLER = Caller(1)


@dataclass(frozen=True)
class Part:
    resume: bool
    final: bool
    resume_at: int
    start: int  # the part's bytes: source[start:start + length], or other bytes
    length: int
    altered: bool


def parts(size: int) -> st.SearchStrategy[Part]:
    return st.builds(
        Part,
        resume=st.booleans() | st.just(True),
        final=st.booleans(),
        resume_at=st.sampled_from([-1, 0]) | st.integers(-2, size + 4),
        start=st.integers(0, size),
        length=st.integers(0, 24),
        altered=st.sampled_from([False, False, False, True]),
    )


@st.composite
def schedules(draw: st.DrawFn) -> tuple[bytes, list[Part]]:
    size = draw(st.integers(1, 96))
    source = draw(st.binary(min_size=size, max_size=size))
    return source, draw(st.lists(parts(size), min_size=1, max_size=14))


def payload(source: bytes, part: Part) -> bytes:
    data = source[part.start : part.start + part.length]
    return bytes(b ^ 0x5A for b in data) if part.altered else data
