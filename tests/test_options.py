"""Run options: the client's own chunk size and the profiles' bounds for it."""

from __future__ import annotations

import pytest

from conformance.options import (
    MAX_CLIENT_CHUNK_SIZE,
    PROFILES,
    OptionError,
    RunOptions,
    client_chunk_size,
)


def test_the_client_chunk_size_is_optional_and_parsed() -> None:
    assert RunOptions().client_chunk_size is None
    assert client_chunk_size(None) is None
    assert client_chunk_size("2MiB") == 2 << 20
    assert RunOptions(client_chunk_size=MAX_CLIENT_CHUNK_SIZE).client_chunk_size == 1 << 30


@pytest.mark.parametrize("text", ["0", "-1", "1.5B", "5XB", ""])
def test_a_wrong_size_names_the_option(text: str) -> None:
    with pytest.raises(OptionError) as raised:
        client_chunk_size(text)
    assert str(raised.value).startswith("--kaltura-client-chunk-size: ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (0, "=0: must be a positive number of bytes"),
        (-5, "=-5: must be a positive number of bytes"),
        (True, "=True: must be a positive number of bytes"),
        (MAX_CLIENT_CHUNK_SIZE + 1, f"={MAX_CLIENT_CHUNK_SIZE + 1}: at most"),
    ],
)
def test_run_options_refuse_a_chunk_size_out_of_bounds(value: int, says: str) -> None:
    with pytest.raises(OptionError) as raised:
        RunOptions(client_chunk_size=value)
    assert str(raised.value).startswith(f"--kaltura-client-chunk-size{says}")


def test_every_profile_leaves_room_for_an_opening_middles_and_a_close() -> None:
    # Fault groups draw files of at least three client chunks.
    chunks = [PROFILES[name].max_client_chunks for name in ("quick", "default", "thorough")]
    assert chunks == sorted(chunks)
    assert min(chunks) >= 3
