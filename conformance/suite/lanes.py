"""Running a group's lanes at once.

A client-conformance case mostly waits: on the client process, on a fault that holds a
chunk back, on a close retried after a pause. So the lanes of a group (each its own
Hypothesis run with its own seed and share of the examples) run in threads side by side,
while pytest-xdist runs the groups in processes side by side. Hypothesis is thread-safe
(6.136 and later) and each case has a partner of its own, so cases never see each other.

A lane is not a shard: a shard (`sharding`, `--shard I/N`) is a CI job's share of the
whole run, made of whole lanes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

__all__ = ["run_all", "worst_first"]


def run_all(
    tasks: Sequence[Callable[[], None]], *, on_interrupt: Callable[[], None]
) -> list[BaseException | None]:
    """Run every task in a thread of its own; each one's exception (or None), in order.

    Ctrl-C while waiting calls `on_interrupt` (which must make the tasks end soon), waits
    for them, and re-raises."""
    if len(tasks) == 1:  # no thread: a debugger or a traceback sees the case directly
        return [_outcome(tasks[0])]
    with ThreadPoolExecutor(len(tasks), thread_name_prefix="lane") as pool:
        futures = [pool.submit(_outcome, task) for task in tasks]
        try:
            wait(futures)
        except KeyboardInterrupt:
            on_interrupt()
            raise
        return [future.result() for future in futures]


def _outcome(task: Callable[[], None]) -> BaseException | None:
    try:
        task()
    except BaseException as error:  # reported by the caller, whatever it is
        return error
    return None


def worst_first(
    errors: Sequence[BaseException | None], *, fatal: type[BaseException]
) -> BaseException | None:
    """The error to raise for the group: a `fatal` one (no verdict possible) before any
    other, else the first lane's; the others are added to it as notes."""
    found = [error for error in errors if error is not None]
    if not found:
        return None
    found.sort(key=lambda error: not isinstance(error, fatal))
    first, others = found[0], found[1:]
    for other in others:
        _add_note(first, f"another lane also failed: {type(other).__name__}: {other}")
    return first


def _add_note(error: BaseException, text: str) -> None:
    """`error.add_note(text)`, also on Python 3.10 (pytest shows `__notes__` there too)."""
    notes = getattr(error, "__notes__", None)
    if not isinstance(notes, list):
        notes = []
        error.__notes__ = notes  # type: ignore[attr-defined]
    notes.append(text)
