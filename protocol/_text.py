"""Line-level primitives shared by the parsers and the editors.

Offsets are indices into the ``str`` the caller passed (characters, not bytes). Lines are
1-based. A leading BOM is kept in the text and simply counted as part of line 1, so that an
edit never drops it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

BOM = "\ufeff"


class Span(NamedTuple):
    """A half-open range ``[start, end)`` of the text, and the line/column where it starts."""

    start: int
    end: int
    line: int
    col: int = 0

    def slice(self, text: str) -> str:
        return text[self.start : self.end]


class Lines:
    """The text split into lines, each with its start offset and its line ending kept apart.

    ``content(i)`` is line *i* without its ending; ``start(i)`` its offset; lines are 1-based.
    """

    __slots__ = ("_ends", "_starts", "eol", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        ends: list[int] = []
        find = text.find
        pos = 0
        while True:
            nl = find("\n", pos)
            if nl < 0:
                break
            ends.append(nl - 1 if nl > 0 and text[nl - 1] == "\r" else nl)
            pos = nl + 1
            starts.append(pos)
        ends.append(len(text))
        if starts[-1] == len(text) and len(starts) > 1:
            # Text ends with a newline: no empty phantom line after it.
            starts.pop()
            ends.pop()
        self._starts = starts
        self._ends = ends
        self.eol = detect_eol(text)

    def __len__(self) -> int:
        return len(self._starts)

    def start(self, line: int) -> int:
        return self._starts[line - 1]

    def end(self, line: int) -> int:
        """Offset just past the line's content, before its line ending."""
        return self._ends[line - 1]

    def next_start(self, line: int) -> int:
        """Offset of the line after ``line`` (past its ending); ``len(text)`` for the last."""
        return self._starts[line] if line < len(self._starts) else len(self.text)

    def content(self, line: int) -> str:
        return self.text[self._starts[line - 1] : self._ends[line - 1]]

    def span(self, line: int, col_start: int, col_end: int) -> Span:
        base = self._starts[line - 1]
        return Span(base + col_start, base + col_end, line, col_start)


def detect_eol(text: str) -> str:
    """The file's line ending: CRLF when its first line ending is CRLF, else LF."""
    nl = text.find("\n")
    if nl > 0 and text[nl - 1] == "\r":
        return "\r\n"
    return "\n"


def replace_span(text: str, span: Span, expected: str, new: str, *, what: str) -> str:
    """Replace ``span`` by ``new`` after checking it still holds ``expected``.

    Raises :class:`EditConflictError` when the text moved under the edit: the caller parsed
    an older version and must re-read.
    """
    from protocol._errors import EditConflictError  # local: keeps import graph flat

    if span.end > len(text) or text[span.start : span.end] != expected:
        found = text[span.start : span.end] if span.end <= len(text) else "<end of file>"
        raise EditConflictError(
            f"{what}: expected {expected!r} at line {span.line}, found {found!r}",
            line=span.line,
        )
    return text[: span.start] + new + text[span.end :]


def decode_text(data: bytes) -> str:
    """A file's bytes as text, each byte that is not UTF-8 kept as a lone surrogate
    (U+DC80-U+DCFF) rather than replaced, so :func:`encode_text` gives the bytes back and
    the plan reader can point at the line (see :func:`invalid_utf8`)."""
    return data.decode("utf-8", errors="surrogateescape")


def encode_text(text: str) -> bytes:
    """The inverse of :func:`decode_text`: bytes Baton did not mean to change stay as read."""
    return text.encode("utf-8", errors="surrogateescape")


_NOT_UTF8 = re.compile("[\udc80-\udcff]+")


def invalid_utf8(text: str) -> list[tuple[int, bytes]]:
    """The lines (1-based) of ``text`` holding bytes that were not UTF-8, with those bytes."""
    out: list[tuple[int, bytes]] = []
    line, pos = 1, 0
    for m in _NOT_UTF8.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        raw = bytes(ord(c) - 0xDC00 for c in m.group())
        if out and out[-1][0] == line:
            out[-1] = (line, out[-1][1] + raw)
        else:
            out.append((line, raw))
    return out
