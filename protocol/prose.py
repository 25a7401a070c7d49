"""The plan's prose that an agent's brief quotes: the Feature Objective, the Success
Criteria (the project's and each phase's) and the Quality Gate Thresholds
(docs/user-guide.md, "Briefs and handoffs").

Read from the text and block structure a parsed :class:`Plan` keeps, so nothing is read
twice. HTML comments and fenced code are left out; a section that is missing reads as
empty, never as an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocol._model import Plan, Task
from protocol._table import Blocks
from protocol._text import Lines

_GROUP_RE = re.compile(r"\(\s*(?:group|wave)\s+(?P<group>[A-Za-z0-9]+)\s*\)", re.IGNORECASE)
_LABEL_RE = re.compile(r"^\*\*(?:example|note)s?:?\*\*:?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Section:
    """A section's visible text (comments and fences removed) and its first line."""

    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Prose:
    objective: Section
    success_criteria: tuple[str, ...]
    gate_thresholds: Section


def read_prose(plan: Plan) -> Prose:
    """The parts of the plan's prose a brief quotes; empty when ``plan`` kept no text."""
    source = plan.source
    if not (isinstance(source, tuple) and len(source) == 2):
        return Prose(Section("", 0), (), Section("", 0))
    lines, blocks = source
    assert isinstance(lines, Lines)
    assert isinstance(blocks, Blocks)
    objective = _section(lines, blocks, "feature objective")
    criteria = tuple(c.text for c in plan.checklists if c.section.casefold() == "success criteria")
    return Prose(
        objective=Section(_unquote(objective.text), objective.line),
        success_criteria=criteria,
        gate_thresholds=_section(lines, blocks, "quality gate thresholds"),
    )


def phase_criteria(plan: Plan, task: Task) -> tuple[str, tuple[str, ...]]:
    """The Success Criteria Per Phase of ``task``'s parallel group: the phase's title and
    its checklist items, or ``("", ())`` when the plan names no phase for the group."""
    if not task.group:
        return "", ()
    title, items = "", []
    for item in plan.checklists:
        m = _GROUP_RE.search(item.section)
        if m is None or m["group"].casefold() != task.group.casefold():
            continue
        title = title or item.section
        if item.section == title:
            items.append(item.text)
    return title, tuple(items)


def section_span(lines: Lines, blocks: Blocks, title: str) -> tuple[int, int] | None:
    """The first and last line of the first section headed ``title`` (casefolded): from its
    heading to the line before the next heading of its level or higher."""
    headings = blocks.headings
    for i, heading in enumerate(headings):
        if heading.title.strip().strip("#").strip().casefold() != title:
            continue
        end = len(lines)
        for later in headings[i + 1 :]:
            if later.level <= heading.level:
                end = later.line - 1
                break
        return heading.line, end
    return None


def _section(lines: Lines, blocks: Blocks, title: str) -> Section:
    span = section_span(lines, blocks, title)
    if span is None:
        return Section("", 0)
    first, end = span
    kept = [
        lines.content(n)
        for n in range(first + 1, end + 1)
        if not blocks.is_opaque(n) and not _rule(lines.content(n))
    ]
    return Section(_drop_comments("\n".join(kept)).strip(), first)


def _drop_comments(text: str) -> str:
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    return re.sub(r"\n{3,}", "\n\n", text)


def _rule(line: str) -> bool:
    return line.strip() in ("---", "***", "___")


def _unquote(text: str) -> str:
    """The objective without the template's ``**Example:**`` label and quote markers."""
    out = []
    for line in text.splitlines():
        if _LABEL_RE.match(line.strip()):
            continue
        out.append(re.sub(r"^\s*>\s?", "", line))
    return "\n".join(out).strip()


__all__ = ["Prose", "Section", "phase_criteria", "read_prose"]
