"""The Integration Summary's lines Baton reads and writes (docs/user-guide.md, "From
Integration to Completed"): the ``### Selected Approach`` section's ``**Decision:**`` and the
``**Go/No-Go:**`` line with, when a person must approve, its approval checkbox. Pure; no I/O.
"""

from __future__ import annotations

import re

from protocol._errors import EditConflictError
from protocol._model import Plan
from protocol._table import Blocks
from protocol._text import Lines, replace_span
from protocol.prose import section_span

__all__ = [
    "APPROVAL_TEXT",
    "approval",
    "decision_text",
    "go_no_go",
    "has_summary",
    "is_placeholder",
    "merge_strategy",
    "set_go_no_go",
    "set_plan_line",
]

APPROVAL_TEXT = "Approve integration with caution"
_DECISION = re.compile(r"^\*\*Decision:?\*\*:?[ \t]*(?P<value>.*?)[ \t]*$")
_GO = re.compile(r"^\*\*Go/No-Go:?\*\*:?[ \t]*(?P<value>.*?)[ \t]*$")
_SELECTED = re.compile(r"^\*\*Selected:?\*\*:?[ \t]*(?P<value>.*?)[ \t]*$")
_PLACEHOLDERS = {"", "-", "tbd", "todo", "pending", "none", "n/a"}


def _source(plan: Plan) -> tuple[Lines, Blocks] | None:
    source = plan.source
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], Blocks):
        lines = source[0]
        assert isinstance(lines, Lines)
        return lines, source[1]
    return None


def _find(plan: Plan, title: str, pattern: re.Pattern[str]) -> tuple[Lines, int, re.Match[str]]:
    """The first visible line of section ``title`` that ``pattern`` matches."""
    src = _source(plan)
    if src is None:
        raise LookupError(title)
    lines, blocks = src
    where = section_span(lines, blocks, title)
    if where is None:
        raise LookupError(title)
    for n in range(where[0] + 1, where[1] + 1):
        if blocks.is_opaque(n):
            continue
        m = pattern.match(lines.content(n))
        if m is not None:
            return lines, n, m
    raise LookupError(title)


def decision_text(plan: Plan) -> str | None:
    """What ``### Selected Approach`` → ``**Decision:**`` says, or None without that line."""
    try:
        _, _, m = _find(plan, "selected approach", _DECISION)
    except LookupError:
        return None
    return m["value"]


def is_placeholder(value: str) -> bool:
    """An empty Decision, a dash, ``TBD`` or the template's ``[OAuth 2.0 / JWT / ...]``."""
    v = value.strip().strip("*_").strip()
    return v.casefold() in _PLACEHOLDERS or (v.startswith("[") and v.endswith("]"))


def has_summary(plan: Plan) -> bool:
    """Whether the plan has an Integration Summary section to write the verdict into."""
    src = _source(plan)
    return src is not None and section_span(src[0], src[1], "integration summary") is not None


def go_no_go(plan: Plan) -> str | None:
    """The Integration Summary's ``**Go/No-Go:**`` value, or None without that line."""
    try:
        _, _, m = _find(plan, "integration summary", _GO)
    except LookupError:
        return None
    return m["value"]


def approval(plan: Plan) -> bool | None:
    """Whether the approval box of the Integration Summary is ticked; None without one."""
    for item in plan.checklists:
        if item.text.strip().casefold().startswith(APPROVAL_TEXT.casefold()):
            return item.checked
    return None


def set_go_no_go(text: str, plan: Plan, value: str, *, approval_box: bool = False) -> str:
    """Write ``**Go/No-Go:** value`` into the Integration Summary: the line's value when it
    is there, else a new line (and, with ``approval_box``, an unticked approval checkbox
    under it) just below the section's heading and comments. Raises
    :class:`EditConflictError` when the plan has no Integration Summary."""
    src = _source(plan)
    if src is None or section_span(src[0], src[1], "integration summary") is None:
        raise EditConflictError("the plan has no Integration Summary", file=plan.file)
    lines, blocks = src
    eol = lines.eol
    box = f"{eol}- [ ] {APPROVAL_TEXT}" if approval_box and approval(plan) is None else ""
    try:
        _, n, m = _find(plan, "integration summary", _GO)
    except LookupError:
        first, last = section_span(lines, blocks, "integration summary")  # type: ignore[misc]
        at = first
        for k in range(first + 1, last + 1):
            content = lines.content(k).strip()
            if content and not blocks.is_opaque(k) and not content.startswith("<!--"):
                break
            at = k
        new = f"**Go/No-Go:** {value}{eol}{box}{eol}"
        if at == first:
            new = eol + new
        pos = lines.next_start(at)
        if pos == len(text) and not text.endswith("\n"):
            new = eol + new.rstrip("\r\n")
        return text[:pos] + new + text[pos:]
    span = lines.span(n, m.start("value"), m.end("value"))
    out = replace_span(text, span, m["value"], value, what="Go/No-Go line")
    if box:
        end = span.start + len(value) + (lines.end(n) - span.end)
        out = out[:end] + box + out[end:]
    return out


def merge_strategy(plan: Plan, default: str = "cherry-pick") -> str:
    """``cherry-pick`` (the template's), ``squash`` or ``merge``, from the Merge Strategy
    section's ``**Selected:**`` line; ``default`` (``merge_strategy`` in ``baton.toml``)
    when it names none of them."""
    try:
        _, _, m = _find(plan, "merge strategy", _SELECTED)
    except LookupError:
        return default
    words = m["value"].casefold()
    if "cherry" in words:
        return "cherry-pick"
    if "squash" in words:
        return "squash"
    return "merge" if "merge" in words else default


def set_plan_line(text: str, plan: Plan, prefix: str, line: str) -> str:
    """Replace the first visible line that starts with ``prefix`` (leading spaces ignored)
    by ``line``: an agent's ``**Decision:** JWT`` or ``- [x] Code review approved``.
    Raises :class:`EditConflictError` when no line starts so."""
    src = _source(plan)
    if src is None:
        raise EditConflictError("the plan kept no text", file=plan.file)
    lines, blocks = src
    for n in range(1, len(lines) + 1):
        content = lines.content(n)
        if blocks.is_opaque(n) or not content.lstrip().startswith(prefix):
            continue
        if "\n" in line or "\r" in line:
            raise EditConflictError("a plan line is one line", file=plan.file)
        span = lines.span(n, 0, len(content))
        return replace_span(text, span, content, line, what="plan line")
    raise EditConflictError(f"no line starts with {prefix!r}", file=plan.file)
