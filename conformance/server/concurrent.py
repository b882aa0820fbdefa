"""Requests in flight together: judged by what the model ALLOWS, never by timing.

The server applies concurrent middles in some order the driver cannot know, and both the
answers and the token's state afterwards depend on it (a chunk that arrives ahead of a gap
waits, and is drained only at certain points, §6). So the driver replays the token's history
plus every order of the batch on a fresh model (`ServerDriver.replay`) and accepts the
server's answers if ONE order explains all of them and the `get` that follows; its own model
then goes the same way. With no such order, the plan order is the prediction.

A close in the batch (last in the list) is tried after the middles: the server waits for
them (§7) and either succeeds, or gives up with `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE`
and leaves the token as it was (UT-S05). The model allows both; a refused close is left out
of the replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import permutations

from conformance.model import ErrorCode
from conformance.server.answers import Observation, ServerAnswer, answer_of_outcome
from conformance.server.driver import ServerDriver, TokenPair
from conformance.server.sends import Send

__all__ = ["send_concurrently"]

_CANNOT_MATCH = ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.name
_MAX_BATCH = 6  # 720 orders: replaying more would cost more than the check is worth


def send_concurrently(
    driver: ServerDriver, pair: TokenPair, sends: Sequence[Send], requirements: tuple[str, ...]
) -> list[Observation]:
    """Send all of `sends` at once (a close, if any, last); then compare the token's `get`."""
    if len(sends) > _MAX_BATCH:
        raise ValueError(f"len(sends)={len(sends)} must be <= {_MAX_BATCH}")
    with ThreadPoolExecutor(max_workers=max(len(sends), 1)) as pool:
        answers = list(pool.map(lambda send: driver.send_to_server(pair, send), sends))
    after = driver.server_get(pair)
    refused = bool(sends) and bool(sends[-1].final) and answers[-1] == _refusal()
    applied = list(sends[:-1]) if refused else list(sends)
    order = _explaining_order(driver, pair, applied, answers, after)
    observed = [_judge(driver, pair, applied[i], answers[i], requirements) for i in order]
    if refused:
        label = f"{sends[-1].describe()} to {pair.label} (concurrent, refused: allowed)"
        observed.append(driver.record(label, _refusal(), answers[-1], requirements))
    driver.compare_get(pair, after, requirements, after=f"{len(sends)} concurrent request(s)")
    return observed


def _refusal() -> ServerAnswer:
    return ServerAnswer("error", code=_CANNOT_MATCH)


def _explaining_order(
    driver: ServerDriver,
    pair: TokenPair,
    applied: list[Send],
    answers: list[ServerAnswer],
    after: ServerAnswer,
) -> tuple[int, ...]:
    """The first order of `applied` (a close stays last) whose replay gives `answers` and
    `after`; the plan order when none does."""
    middles = [i for i, send in enumerate(applied) if not send.final]
    closes = [i for i, send in enumerate(applied) if send.final]
    for middle_order in permutations(middles):
        order = (*middle_order, *closes)
        replayed, final = driver.replay(pair, [applied[i] for i in order])
        if final == after and all(replayed[k] == answers[i] for k, i in enumerate(order)):
            return order
    return tuple(range(len(applied)))


def _judge(
    driver: ServerDriver, pair: TokenPair, send: Send, actual: ServerAnswer, ids: tuple[str, ...]
) -> Observation:
    expected = answer_of_outcome(driver.predict_upload(pair.model_id, send))
    label = f"{send.describe()} to {pair.label} (concurrent)"
    return driver.record(label, expected, actual, ids)
