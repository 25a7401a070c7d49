"""The revision marker: which of Baton's writes a saved plan was based on.

Baton ends the plan with one HTML comment, ``<!-- baton:rev N -->``, and raises N with every
write. Markdown renderers hide it; an editor keeps it in its buffer like any other line. So
a save from a buffer loaded before Baton's latest write still carries the older N, and Baton
knows exactly which of its own changes that save has not seen — no guessing from content.
"""

from __future__ import annotations

from protocol._text import detect_eol

_OPEN = "<!-- baton:rev "
_CLOSE = " -->"


def _find(text: str) -> tuple[int, int, int] | None:
    """(start of the number, its end, the revision) of the last marker, if any."""
    at = text.rfind(_OPEN)
    while at != -1:
        start = at + len(_OPEN)
        end = start
        while end < len(text) and text[end].isdigit():
            end += 1
        line_start = at == 0 or text[at - 1] in "\r\n"
        if line_start and end > start and text.startswith(_CLOSE, end):
            return start, end, int(text[start:end])
        at = text.rfind(_OPEN, 0, at)
    return None


def is_marker_line(line: str) -> bool:
    """Whether ``line`` (without its ending) is a revision marker."""
    return line.startswith(_OPEN) and line.rstrip().endswith(_CLOSE)


def read_revision(text: str) -> int | None:
    """The revision a plan text carries, or None when it has no marker."""
    found = _find(text)
    return found[2] if found is not None else None


def set_revision(text: str, revision: int) -> str:
    """``text`` carrying ``revision``: the number in an existing marker is replaced; without
    one, a marker line is added at the end of the file in the file's own line endings."""
    if revision < 0:
        raise ValueError("a revision is not negative")
    found = _find(text)
    if found is not None:
        start, end, _ = found
        return text[:start] + str(revision) + text[end:]
    eol = detect_eol(text)
    if text and not text.endswith(("\n", "\r")):
        text += eol
    return f"{text}{eol if text else ''}{_OPEN}{revision}{_CLOSE}{eol}"


__all__ = ["is_marker_line", "read_revision", "set_revision"]
