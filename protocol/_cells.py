"""Reading the text of one table cell as a person means it: ids, id lists, agents, folders.

Cells are written by people and by agents, with markdown in them (``**T1**``, `` `T1` ``,
``[T1](#t1)``) and in many list styles (``T1, T2``, ``T1 and T2``, ``T2-T4``); each
reader here takes the cell's raw text and never raises.
"""

from __future__ import annotations

import functools
import re

_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = str.maketrans("", "", "*`")
_NOTE_RE = re.compile(r"\([^()]*\)")
_LIST_SEPARATORS = re.compile(r"\s*(?:[,;&+]|\band\b|\n)\s*", re.IGNORECASE)
_ID_LIKE = re.compile(r"^[A-Za-z]*[-_.]?\d+[A-Za-z]?(?:\.\d+)*$")
_RANGE_RE = re.compile(
    r"^(?P<prefix>[A-Za-z_]*)(?P<a>\d+)\s*(?:[-\u2013\u2014]|\.\.)\s*(?P=prefix)?(?P<b>\d+)$"
)
_NONE = frozenset(("", "-", "\u2013", "\u2014", "none", "n/a", "na", "nothing"))

# The readers are pure and asked again for every unchanged row on each re-read, a few
# distinct cells per task: an LRU smaller than one pass over the plan would hit nothing
# (at 5,000 tasks an 8,192-entry cache missed on every call). Sized for tens of thousands
# of tasks; a cache only holds the cells it has seen.
ROW_CACHE = 1 << 16


@functools.lru_cache(maxsize=ROW_CACHE)
def plain(text: str) -> str:
    """``text`` without bold, italic and code marks (``*``, `` ` ``) and link targets,
    single-spaced. Underscores stay: they are part of many ids and folder names."""
    return " ".join(_LINK_RE.sub(r"\1", text).translate(_EMPHASIS).split())


@functools.lru_cache(maxsize=ROW_CACHE)
def clean_id(cell: str) -> str:
    """A Task ID cell's id: ``**T1**`` and `` `T1` `` are T1; ``-`` is no id."""
    value = plain(cell)
    return "" if value.casefold() in _NONE else value


@functools.lru_cache(maxsize=ROW_CACHE)
def split_ids(cell: str) -> tuple[str, ...]:
    """The task ids of a Dependencies (or Task) cell.

    Items are separated by ``,`` ``;`` ``&`` ``+`` or ``and``; ranges such as ``T2-T4`` (a
    hyphen, an en or an em dash, or ``..``) are expanded; a note in parentheses
    (``T1 (schema)``) is dropped; ``-``, ``None`` and ``N/A`` mean no dependency. Items that
    are all id-shaped words (``T1 T2``) are split at spaces; anything else stays one item,
    for the checker to name.
    """
    text = _NOTE_RE.sub(" ", plain(cell))
    ids: list[str] = []
    for part in _LIST_SEPARATORS.split(text):
        item = part.strip()
        if item.casefold() in _NONE:
            continue
        words = item.split()
        if len(words) > 1 and all(_ID_LIKE.match(w) for w in words):
            for word in words:
                ids.extend(expand_range(word))
            continue
        ids.extend(expand_range(item))
    return tuple(dict.fromkeys(ids))  # once each, in the order written


def expand_range(item: str) -> tuple[str, ...]:
    """``T2-T4`` → (T2, T3, T4); anything that is not a small ascending range stays as is."""
    m = _RANGE_RE.match(item.replace(" ", ""))
    if m:
        a, b = int(m["a"]), int(m["b"])
        if a <= b <= a + 1000:
            return tuple(f"{m['prefix']}{n}" for n in range(a, b + 1))
    return (item,)


@functools.lru_cache(maxsize=ROW_CACHE)
def split_agent_skills(cell: str) -> tuple[str, tuple[str, ...]]:
    """``Architect / `architecture-skill`, `api-design-skill` `` → role and skills."""
    role, sep, rest = cell.partition("/")
    return plain(role), split_skills(rest) if sep else ()


@functools.lru_cache(maxsize=ROW_CACHE)
def split_skills(cell: str) -> tuple[str, ...]:
    """A comma list of skill names, backticks optional."""
    return tuple(s for s in (plain(p) for p in re.split(r"[,;]", cell)) if s)


@functools.lru_cache(maxsize=ROW_CACHE)
def worktree_folder(cell: str) -> str:
    """The folder a Worktree cell names: its last path component (``../arch`` → ``arch``)."""
    path = plain(cell)
    while len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path.rsplit("/", 1)[-1] if path != "/" else ""


__all__ = [
    "clean_id",
    "expand_range",
    "plain",
    "split_agent_skills",
    "split_ids",
    "split_skills",
    "worktree_folder",
]
