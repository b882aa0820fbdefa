"""The suite's clean-up after a case: forgetting a partner (not Kaltura behaviour)."""

from __future__ import annotations

from conformance.model import (
    AbandonClose,
    AddToken,
    Caller,
    CloseWaiting,
    ContinueClose,
    Failed,
    FilePart,
    GetToken,
    MemoryBlob,
    TokenResult,
    Upload,
    UploadTokenModel,
)


def test_forgetting_a_partner_drops_its_tokens_and_ends_its_waiting_closes() -> None:
    """Its tokens and bytes go; closes still waiting for them end UPLOAD_TOKEN_NOT_FOUND;
    other partners are untouched."""

    model = UploadTokenModel()
    gone, kept = Caller(1), Caller(2)
    tokens = []
    for caller in (gone, kept):
        added = model.apply(AddToken(caller, 0))
        assert isinstance(added, TokenResult)
        tokens.append(added.token.id)
        opening = Upload(caller, 0, added.token.id, FilePart(MemoryBlob(b"ab")), False, False, 0)
        model.apply(opening)
    waits = []
    for _ in range(2):
        close = Upload(gone, 0, tokens[0], FilePart(MemoryBlob(b"z")), True, True, 5)
        waiting = model.apply(close)
        assert isinstance(waiting, CloseWaiting)
        waits.append(waiting.ticket)
    model.forget_partner(1)
    assert model.record(1, tokens[0]) is None
    for ended in (model.apply(ContinueClose(waits[0], 1)), model.apply(AbandonClose(waits[1], 1))):
        assert isinstance(ended, Failed)
        assert ended.code == "UPLOAD_TOKEN_NOT_FOUND"
    assert isinstance(model.apply(GetToken(kept, 1, tokens[1])), TokenResult)
    assert model.waiting_closes == ()
