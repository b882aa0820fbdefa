"""How the server assembles the file from parts (kaltura-server-semantics.md §5, §6, §9).

The real server keeps the contiguous file on disk and every part it cannot write yet as a
file `<target>.chunk.<resumeAt>`. This module is that pair: one growing `Blob` plus a
dict of pending chunks keyed by their float `resumeAt`, with the three ways bytes move
from one to the other:

* the direct write of a non-final part that touches or overlaps EOF (§5 row 2);
* the *drain* (§6.2): append the pending chunk that starts exactly at EOF, repeatedly;
* the *glob pass* (§6.3): write every pending chunk that is valid for the write position,
  including the offset-0 quirk.

Nothing here knows about statuses or errors; `upload.py` decides when each runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.model.blobs import Blob, copy_into

__all__ = ["Assembly"]


@dataclass
class Assembly:
    """The assembled file and the parts stored beside it for one token."""

    file: Blob
    pending: dict[float, Blob] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.file.size

    def replace_file(self, part: Blob) -> None:
        """resume=false: the part becomes the whole file (§4 step 6).

        Quirk copied (§6.5): pending chunks stored for the old file are *not* removed, so a
        later drain may append them to the new file.
        """
        self.file.release()
        self.file = part

    def write(self, offset: int, part: Blob) -> None:
        """Write `part` at `offset` (≤ EOF), overwriting any overlap and growing the file."""
        copy_into(self.file, offset, part)

    def append(self, part: Blob) -> None:
        """resume=true, resumeAt=-1: append at EOF, unconditionally (§5 row 1)."""
        self.write(self.size, part)

    def store(self, resume_at: float, part: Blob) -> None:
        """Keep `part` as `.chunk.<resumeAt>`; a re-upload replaces the stored one (§6.1)."""
        previous = self.pending.pop(resume_at, None)
        if previous is not None and previous is not part:
            previous.release()
        self.pending[resume_at] = part

    def drain(self, limit: int, stop_at: int | None = None) -> int:
        """Append pending chunks that start exactly at EOF (§6.2); return how many.

        Stops at the first missing offset, after `limit` chunks, or (final loop) when the
        file reached `stop_at`. Only exact-offset matches count.
        """
        appended = 0
        while appended < limit and self.size != stop_at:
            chunk = self.pending.pop(float(self.size), None)
            if chunk is None:
                break
            self.append(chunk)
            chunk.release()
            appended += 1
        return appended

    def glob_pass(self) -> int:
        """Write every pending chunk valid for the write position P (§6.3); return how many.

        Valid: offset == 0 (the offset-0 quirk, copied: it is rewritten over the start and P
        drops to its length), or offset ≤ P < offset + length. Chunks that would not enlarge
        the file stay on disk, ignored. Negative offsets are never written: PHP's fseek to a
        negative offset fails [I].
        """
        position = self.size
        written = 0
        while (offset := self._first_valid(position)) is not None:
            chunk = self.pending.pop(offset)
            self.write(int(offset), chunk)
            position = int(offset) + chunk.size
            chunk.release()
            written += 1
        return written

    def _first_valid(self, position: int) -> float | None:
        for offset in sorted(self.pending):
            length = self.pending[offset].size
            if offset == 0 or (0 <= offset <= position < offset + length):
                return offset
        return None

    def release(self) -> None:
        """Free every blob (the token is gone from the model's point of view)."""
        self.file.release()
        for chunk in self.pending.values():
            chunk.release()
        self.pending.clear()
