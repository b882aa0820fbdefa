"""`forget_deleted`: a long-running server forgets all but its latest deleted tokens, so
that memory stays flat (`serve`, issue 12); no other token is touched, and no client can
tell (a deleted row is invisible to every action, §2.1)."""

from __future__ import annotations

from conformance.model import AddToken, Caller, DeleteToken, TokenResult, UploadTokenModel

ADMIN = Caller(partner_id=101, user_id="admin", is_admin=True)


def add(model: UploadTokenModel, now: int) -> str:
    added = model.apply(AddToken(ADMIN, now, file_name="f.bin", file_size=10))
    assert isinstance(added, TokenResult)
    return added.token.id


def test_only_the_latest_deleted_tokens_are_kept() -> None:
    model = UploadTokenModel()
    kept = add(model, 1)
    ids = [add(model, 2 + n) for n in range(5)]
    for token_id in ids:
        model.apply(DeleteToken(ADMIN, 10, token_id))
    assert all(model.record(101, token_id) is not None for token_id in ids)
    model.forget_deleted(2)
    assert [model.record(101, token_id) is not None for token_id in ids] == [
        False,
        False,
        False,
        True,
        True,
    ]
    assert model.record(101, kept) is not None  # never deleted: never forgotten
    model.forget_deleted(2)
    assert model.record(101, ids[-1]) is not None
