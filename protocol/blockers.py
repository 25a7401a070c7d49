"""Reading a blocker entry's options, so triage can follow the entry's own recommendation.

Entries list their options as ``(1) Use the workaround, (2) Switch to RS256 (recommended)``
in Required Resolution (or Description), and often say which one they prefer in Escalation:
``No - can proceed with RS256 (recommended)``. Pure functions; no I/O.
"""

from __future__ import annotations

import re

from protocol._model import BlockerEntry

_MARKER = re.compile(r"\((\d{1,2})\)\s*")
_PREFERRED = re.compile(r"\((?:recommended|preferred)\)|\b(?:recommended|preferred)\b", re.I)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+#-]*")
_SKIP = frozenset({"use", "the", "a", "an", "to", "with", "and", "or", "of", "can", "proceed"})


def entry_key(entry: BlockerEntry) -> str:
    """An entry's identity across edits and restarts: its task, agent and heading time."""
    return f"{entry.task_id}|{entry.agent_id}|{entry.timestamp}"


def options(text: str) -> list[tuple[str, str]]:
    """The numbered options of ``text``: ``[("1", "Use the workaround"), ...]``."""
    marks = list(_MARKER.finditer(text))
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        body = text[m.end() : end].strip().rstrip(",;").strip()
        body = re.sub(r"\s+(?:or|and)$", "", body).strip()
        if body:
            out.append((m.group(1), body))
    return out


def recommended_option(entry: BlockerEntry) -> str | None:
    """The option the entry itself recommends, as ``(2) Switch to RS256``; None when the
    entry does not say (then a person must decide)."""
    fields = entry.fields
    listed = options(fields.get("Required Resolution", "")) or options(
        fields.get("Description", "")
    )
    for number, body in listed:
        if _PREFERRED.search(body):
            return f"({number}) {_PREFERRED.sub('', body).strip(' ,;')}"
    note = fields.get("Escalation", "")
    note = re.sub(r"^\s*no\b\s*[-:\u2013\u2014]?\s*", "", note, flags=re.I).strip()
    if not note:
        return None
    if not listed:
        return _PREFERRED.sub("", note).strip(" ,;") or None
    wanted = {w.casefold() for w in _WORD.findall(note)} - _SKIP
    best, score = None, 0
    for number, body in listed:
        words = {w.casefold() for w in _WORD.findall(body)} - _SKIP
        overlap = len(words & wanted)
        if overlap > score:
            best, score = f"({number}) {body}", overlap
    return best


__all__ = ["entry_key", "options", "recommended_option"]
