"""The tokens a client created through the proxy, as the upstream's answers named them
(for the end-of-run sweep): an `uploadToken.add` alone, or within a multirequest."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.proxy.decoding import decode_items
from conformance.proxy.messages import UpstreamAnswer
from conformance.trace import Exchange
from conformance.wire import ApiCall
from conformance.wire.multirequest import is_multirequest, split_multirequest

__all__ = ["CreatedToken", "tokens_made"]


@dataclass(frozen=True)
class CreatedToken:
    """A token the client created through the proxy, as the upstream's answer named it."""

    partner_id: int | None
    token_id: str
    exchange_id: int


def tokens_made(call: ApiCall, exchange: Exchange, answer: UpstreamAnswer) -> list[CreatedToken]:
    """Every token an `uploadToken.add` made, alone or within a multirequest."""
    if is_multirequest(call.params):
        made = _added_in_multirequest(call, answer)
    elif exchange.service == "uploadtoken" and exchange.action == "add":
        made = [answer.decoded.answered.token_id]
    else:
        return []
    return [CreatedToken(exchange.partner_id, t, exchange.id) for t in made if t]


def _added_in_multirequest(call: ApiCall, answer: UpstreamAnswer) -> list[str | None]:
    """Ids answered to the `uploadToken.add` calls of a multirequest, by position."""
    items = decode_items(answer.headers, answer.body) or []
    multi = split_multirequest(call.params)
    made: list[str | None] = []
    for number, item in zip(range(multi.first, multi.last + 1), items, strict=False):
        params = multi.next_params(number)
        if params is None:
            break
        service, action = (str(params.get(name, "")).lower() for name in ("service", "action"))
        if (service, action) == ("uploadtoken", "add"):
            made.append(item.answered.token_id)
    return made
