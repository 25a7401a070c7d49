"""The Notes and Blockers section: where it ends (new entries go there) and its blocker
entries (``### T3 - agent-id - timestamp`` with bold fields), outside code fences."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import MappingProxyType

from protocol._errors import BlockerEntryError, ProtocolError
from protocol._model import BlockerEntry
from protocol._table import Blocks, visible_lines
from protocol._text import Lines

BLOCKER_FIELDS = (
    "Severity",
    "Blocker Type",
    "Description",
    "Required Resolution",
    "Escalation",
    "Triage",
    "Resolution",
)
REQUIRED_BLOCKER_FIELDS = BLOCKER_FIELDS[:5]

_FIELD_RE = re.compile(r"^\s*\*\*(?P<name>[A-Za-z ]+):\*\*[ \t]*(?P<value>.*?)[ \t]*$")
_ENTRY_RE = re.compile(r"^###\s+(?P<title>.*?)\s*#*\s*$")
_TASK_ID_RE = re.compile(r"^[A-Za-z][\w.]*$")
_RULE_RE = re.compile(r"^ {0,3}([-*_])[ \t]*(?:\1[ \t]*){2,}$")


def read_notes(
    lines: Lines, blocks: Blocks, file: str
) -> tuple[int | None, str, tuple[BlockerEntry, ...]]:
    """Where a new entry goes (see ``Plan.notes_end``), the line it follows, and the entries."""
    section = _section_range(blocks, "notes and blockers", len(lines))
    end, tail = _notes_end(lines, section)
    return end, tail, tuple(_read_blockers(lines, blocks, section, file))


def _section_range(blocks: Blocks, title: str, total: int) -> tuple[int, int] | None:
    for i, h in enumerate(blocks.headings):
        if title in h.title.casefold():
            end = next((g.line - 1 for g in blocks.headings[i + 1 :] if g.level <= h.level), total)
            return h.line, end
    return None


def _notes_end(lines: Lines, section: tuple[int, int] | None) -> tuple[int | None, str]:
    if section is None:
        return None, ""
    last = section[0]
    for n in range(section[0], section[1] + 1):
        content = lines.content(n)
        if content.strip() and not _RULE_RE.match(content):
            last = n
    end = lines.next_start(last)
    return end, lines.text[lines.start(last) : end]


def _read_blockers(
    lines: Lines, blocks: Blocks, section: tuple[int, int] | None, file: str
) -> Iterator[BlockerEntry]:
    if section is None:
        return
    visible = list(visible_lines(lines, blocks, section[0] + 1, section[1]))
    starts = [i for i, n in enumerate(visible) if lines.content(n).startswith("#")]
    for k, i in enumerate(starts):
        n = visible[i]
        m = _ENTRY_RE.match(lines.content(n))
        if m is None:
            continue
        parts = [p.strip() for p in re.split(r"\s+[-\u2013\u2014]\s+", m["title"], maxsplit=2)]
        if not _TASK_ID_RE.match(parts[0]):
            continue  # a heading of prose, such as "Example Blocker Entry:"
        body = visible[i + 1 : starts[k + 1] if k + 1 < len(starts) else len(visible)]
        yield _read_entry(lines, n, parts, body, file)


def _read_entry(lines: Lines, n: int, parts: list[str], body: list[int], file: str) -> BlockerEntry:
    fields: dict[str, str] = {}
    triage: list[str] = []
    problem: ProtocolError | None = None
    last = n
    for b in body:
        content = lines.content(b)
        if _RULE_RE.match(content):
            break  # a thematic break closes the entry: what follows is the next section
        if content.strip():
            last = b
        m = _FIELD_RE.match(content)
        if m is None:
            continue
        name = _canonical_field(m["name"])
        if name is None:
            continue
        fields[name] = m["value"]
        if name == "Triage":
            triage.append(m["value"])
    if len(parts) < 3 or not all(parts):
        problem = BlockerEntryError(
            "blocker heading must read '### <task> - <agent> - <timestamp>'", line=n, file=file
        )
    else:
        missing = [f for f in REQUIRED_BLOCKER_FIELDS if f not in fields]
        if missing:
            problem = BlockerEntryError(
                f"blocker entry for {parts[0]} lacks " + ", ".join(f"**{f}:**" for f in missing),
                line=n,
                file=file,
            )
    padded = [*parts, "", ""][:3]
    heading = lines.span(n, 0, lines.end(n) - lines.start(n))
    end = lines.next_start(last)
    return BlockerEntry(
        task_id=padded[0],
        agent_id=padded[1],
        timestamp=padded[2],
        fields=MappingProxyType(fields),
        heading=heading,
        heading_text=heading.slice(lines.text),
        last_line=last,
        end=end,
        tail=lines.text[lines.start(last) : end],
        triage_lines=tuple(triage),
        problem=problem,
    )


_FIELD_BY_KEY = {f.casefold(): f for f in BLOCKER_FIELDS}


def _canonical_field(name: str) -> str | None:
    return _FIELD_BY_KEY.get(" ".join(name.split()).casefold())


__all__ = ["BLOCKER_FIELDS", "REQUIRED_BLOCKER_FIELDS", "read_notes"]
