"""The payloads the shadow hands its model (`ShadowPart`), and the files among them with
appended bytes not read yet (`ShadowParts`).

`ShadowPart` wraps each payload. While it is a payload (a pending `.chunk.<r>`, or a part
copied into a file) it is the parser's blob, bytes and all. The first time the model
writes into it (it became a token's file: §4's rename, and a later part goes after it) it
turns into a `DigestFile` (`proxy.digests`): a prefix digest and a tail, never the file.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.model import Blob
from conformance.model.blobs import PIECE_SIZE
from conformance.proxy.digests import WINDOW, Checkpoints, DigestFile, HashMeter

__all__ = ["ShadowPart", "ShadowParts"]


class ShadowPart:
    """A payload handed to the shadow's model: its own bytes until the model writes into it
    (it became a file), then a `DigestFile` of them. A part appended at a file's EOF gives
    its blob to that file unread (`DigestFile.append_later`); `parts.settle` reads them."""

    __slots__ = ("_checkpoints", "_file", "_given", "_parts", "_source")

    def __init__(self, source: Blob, parts: ShadowParts, checkpoints: Checkpoints = ()) -> None:
        self._source: Blob | None = source
        self._checkpoints = checkpoints  # the states of `source`'s prefixes, if known
        self._file: DigestFile | None = None
        self._parts = parts
        self._given: int | None = None  # the size of the blob `give` gave away

    def _blob(self) -> Blob:
        blob = self._file if self._file is not None else self._source
        if blob is None:
            raise ValueError("released")
        return blob

    @property
    def size(self) -> int:
        return self._given if self._given is not None else self._blob().size

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        return self._blob().read(start, end)

    def pieces(self, piece_size: int = PIECE_SIZE) -> Iterator[bytes]:
        return self._blob().pieces(piece_size)

    def sha256(self) -> str:
        whole = self._checkpoints[-1] if self._checkpoints else None
        if self._source is not None and whole is not None and whole.offset == self._source.size:
            return str(whole.state.hexdigest())  # hashed as it came in: not read again
        return self._blob().sha256()

    def write_at(self, offset: int, data: bytes) -> None:
        self._as_file().write_at(offset, data)

    def copy_from(self, source: Blob, offset: int) -> bool:
        file = self._as_file()
        given = source.give() if isinstance(source, ShadowPart) else None
        if given is None:
            return file.copy_from(source, offset)
        blob, checkpoints = given
        if offset == file.size and file.exact:  # an append: hashed once answered
            file.append_later(blob, checkpoints)
            self._parts.unsettled.add(file)
            return True
        file.copy_from(blob, offset)  # not an append: read now, as any write
        blob.release()
        return True

    def give(self) -> tuple[Blob, Checkpoints] | None:
        """The payload's blob and its checkpoints, now the caller's (this part is empty
        then); None once it became a file."""
        source, self._source = self._source, None
        if source is None:
            return None
        self._given = source.size  # the model may still ask (§6.3's write position)
        return source, self._checkpoints

    @property
    def exact(self) -> bool:
        return self._file is None or self._file.exact

    def _as_file(self) -> DigestFile:
        if self._file is None:
            source = self._blob()
            self._file = DigestFile(window=self._parts.window, meter=self._parts.meter)
            self._file.append_later(source, self._checkpoints)  # read by `settle`
            self._checkpoints = ()
            self._parts.unsettled.add(self._file)
            self._source = None
        return self._file

    def release(self) -> None:
        source, self._source = self._source, None
        file, self._file = self._file, None
        if source is not None:
            source.release()
        if file is not None:
            self._parts.unsettled.discard(file)
            file.release()

    def __repr__(self) -> str:
        return f"ShadowPart({self._file or self._source!r})"


class ShadowParts:
    """Wraps payloads as `ShadowPart`s (with this `window`) and knows the files with bytes
    not read yet. Not thread-safe: the shadow calls it under its lock."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self.unsettled: set[DigestFile] = set()
        self.meter = HashMeter()  # the bytes its files hashed themselves

    def wrap(self, source: Blob, checkpoints: Checkpoints = ()) -> ShadowPart:
        """`source` as a shadow part; `checkpoints`, the parser's states of its prefixes
        (`UploadedPart.checkpoints`), let a file it starts skip hashing it again."""
        return ShadowPart(source, self, checkpoints)

    def folds_on_settle(self) -> bool:
        """Whether `settle` would hash (any file's `folds_on_settle`)."""
        return any(file.folds_on_settle for file in self.unsettled)

    def settle(self) -> None:
        """Read and hash every byte appended since the last time."""
        files, self.unsettled = self.unsettled, set()
        failed: Exception | None = None
        for file in files:  # one file's failure leaves the others settled
            try:
                file.settle()
            except Exception as error:
                failed = failed or error
        if failed is not None:
            raise failed
