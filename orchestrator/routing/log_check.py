"""What the message log held when it was read, kept small enough to check it again cheaply.

The part of the log read so far is kept as stretches that each end between two blocks, with
their size and CRC-32, not as text: checking 25 MB against them reads the file once (a few
milliseconds, the file is in the page cache) and holds one stretch at a time. The first
stretch whose bytes changed is where a parse must start again; everything before it reads
as it did. Recent stretches are one per read (a STATUS edit of a recent message re-parses
only that message); older ones are merged up to ``STRETCH`` bytes as checks pass.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from protocol._text import encode_text

__all__ = ["STRETCH", "Stretch", "matching", "stretch", "stretches", "unchanged_suffix"]

STRETCH = 1 << 16  # bytes of a merged stretch: an edit of an old message re-parses this much
_RECENT = 16  # the latest stretches stay as read, not merged


@dataclass(frozen=True, slots=True)
class Stretch:
    """Bytes ``[byte, byte + size)`` of the log; ``char`` and ``line`` are the position
    where the stretch ends (between blocks, where a parse may start)."""

    byte: int
    size: int
    crc: int
    char: int
    line: int

    @property
    def byte_end(self) -> int:
        return self.byte + self.size


def stretch(byte: int, data: bytes, char: int, line: int) -> Stretch:
    """The stretch of ``data`` read at ``byte``, ending at ``char``/``line``."""
    return Stretch(byte, len(data), zlib.crc32(data), char, line)


def stretches(
    text: str, start: int, stop: int, *, byte: int, line: int, ends: Sequence[int]
) -> list[Stretch]:
    """``text[start:stop]`` (settled; it begins at ``byte`` and ``line`` of the file) cut at
    the block ends ``ends`` into stretches of about ``STRETCH`` characters."""
    out: list[Stretch] = []
    cuts = [e for e in ends if start < e < stop]
    cuts.append(stop)
    at = start
    for i, cut in enumerate(cuts):
        if cut - at < STRETCH and i < len(cuts) - 1:
            continue
        data = encode_text(text[at:cut])
        line += text.count("\n", at, cut)
        if data:
            out.append(stretch(byte, data, cut, line))
        byte += len(data)
        at = cut
    return out


def matching(f: BinaryIO, checked: Sequence[Stretch]) -> tuple[list[Stretch], int]:
    """The leading stretches of ``checked`` that ``f`` (read from its start) still holds,
    older ones merged, and how many of ``checked`` they are; reading stops at the first
    that changed."""
    out: list[Stretch] = []
    count = 0
    pos = 0
    f.seek(0)
    mergeable = len(checked) - _RECENT
    for i, s in enumerate(checked):
        if s.byte != pos:
            break
        data = f.read(s.size)
        if len(data) != s.size or zlib.crc32(data) != s.crc:
            break
        last = out[-1] if out else None
        if i < mergeable and last is not None and last.size + s.size <= STRETCH:
            out[-1] = Stretch(
                last.byte, last.size + s.size, zlib.crc32(data, last.crc), s.char, s.line
            )
        else:
            out.append(s)
        pos += s.size
        count += 1
    return out, count


def unchanged_suffix(data: bytes, at: int, old: Sequence[Stretch], shift: int) -> int | None:
    """The index of the first of the trailing stretches of ``old`` that ``data`` (the file
    from byte ``at``) holds, moved by ``shift`` bytes; None when not even the last is there.
    ``old`` must be contiguous."""
    first = None
    for i in range(len(old) - 1, -1, -1):
        s = old[i]
        lo = s.byte + shift - at
        if lo < 0 or zlib.crc32(data[lo : lo + s.size]) != s.crc or len(data) < lo + s.size:
            break
        first = i
    return first
