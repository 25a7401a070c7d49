"""Task statuses: five inside Baton, many spellings in the plans people write.

A Status cell is read by meaning: markup (``**Done**``, `` `pending` ``), leading or
trailing emoji (``✅ Completed``), case, and ``-``/``_`` between words are ignored, and the
common synonyms map to the five (docs/user-guide.md lists them). When Baton writes a
status it uses the plan's own spelling of it, so a plan that says ``✅ Completed`` keeps
saying so.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from protocol._model import BLOCKED, COMPLETED, FAILED, IN_PROGRESS, NOT_STARTED, STATUSES

# Each status and the words that mean it, the status itself first. Keys are compared as
# :func:`_key` leaves them.
SYNONYMS: Mapping[str, tuple[str, ...]] = {
    NOT_STARTED: (
        "Not Started",
        "Pending",
        "TODO",
        "To Do",
        "Ready",
        "Planned",
        "Queued",
        "Backlog",
        "Not Begun",
    ),
    IN_PROGRESS: (
        "In Progress",
        "WIP",
        "Doing",
        "Active",
        "Started",
        "Ongoing",
        "Working",
        "Running",
        "Underway",
    ),
    BLOCKED: ("Blocked", "Stuck", "On Hold", "Waiting", "Paused"),
    COMPLETED: ("Completed", "Complete", "Done", "Finished"),
    FAILED: ("Failed", "Fail", "Failure", "Error", "Errored"),
}

# A cell holding nothing but one of these reads as the status.
EMOJI: Mapping[str, str] = {
    "⬜": NOT_STARTED,
    "🔲": NOT_STARTED,
    "🔄": IN_PROGRESS,
    "🚧": IN_PROGRESS,
    "⏳": IN_PROGRESS,
    "⛔": BLOCKED,
    "🚫": BLOCKED,
    "✅": COMPLETED,
    "✔": COMPLETED,
    "☑": COMPLETED,
    "❌": FAILED,
    "✖": FAILED,
}

_MARKUP = str.maketrans({"*": " ", "`": " ", "~": " ", "_": " ", "-": " "})


def _key(text: str) -> str:
    """``text`` without markup and surrounding symbols, words single-spaced, case folded."""
    words = text.translate(_MARKUP)
    start, end = 0, len(words)
    while start < end and not words[start].isalnum():
        start += 1
    while end > start and not words[end - 1].isalnum():
        end -= 1
    return " ".join(words[start:end].split()).casefold()


_BY_KEY = {_key(word): status for status, words in SYNONYMS.items() for word in words}


@functools.lru_cache(maxsize=8192)  # pure, and asked again for every unchanged row
def canonical_status(raw: str) -> str | None:
    """The lifecycle status a Status cell names, or None when it names none."""
    key = _key(raw)
    if key:
        return _BY_KEY.get(key)
    symbols = raw.strip().replace("\ufe0f", "")
    return EMOJI.get(symbols) if symbols else None


def accepted_spellings() -> str:
    """The accepted spellings, for an error message."""
    synonyms = ", ".join(w for words in SYNONYMS.values() for w in words[1:])
    return (
        f"one of {', '.join(STATUSES)}, or a synonym ({synonyms}); case, markup and a "
        "leading emoji do not matter"
    )


def spellings(cells: Iterable[str]) -> dict[str, str]:
    """How a plan writes each status: for each of the five, its most frequent spelling among
    ``cells`` (raw Status cells in file order; on a tie the first). A status the plan never
    writes is absent, and Baton writes it as the template does."""
    counts: dict[str, dict[str, int]] = {}
    for raw in cells:
        status = canonical_status(raw)
        if status is None:
            continue
        seen = counts.get(status)
        if seen is None:
            counts[status] = {raw: 1}
        else:
            seen[raw] = seen.get(raw, 0) + 1
    # max() keeps the first of equals, and dicts keep first-seen order.
    return {status: max(seen, key=seen.__getitem__) for status, seen in counts.items()}


__all__ = ["EMOJI", "SYNONYMS", "accepted_spellings", "canonical_status", "spellings"]
