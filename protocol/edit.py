"""Minimal edits of ``MULTI_AGENT_PLAN.md``: text in, text out.

Each edit is computed against the text the plan was parsed from and first checks that its
target still holds what the parse saw; if not, it raises :class:`EditConflictError` and the
caller re-reads. Only the target's characters change: a person's alignment, spacing, line
endings and everything around the target survive byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from protocol._errors import EditConflictError
from protocol._matrix import columns
from protocol._model import BlockerEntry, Cell, ChecklistItem, Plan, Row, Table
from protocol._table import Blocks
from protocol._text import Lines, replace_span
from protocol.revision import is_marker_line

_FENCE_RE = re.compile(r"^ {0,3}(?P<marks>`{3,}|~{3,})")
_CLOSE_RE = re.compile(r"^ {0,3}(?P<marks>`{3,}|~{3,})[ \t]*$")
_SETEXT_RE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_LABEL_RE = re.compile(r"^ {0,3}\*\*(?P<title>[^*]+)\*\*[ \t]*:?[ \t]*$")
_SECTION_NUMBER_RE = re.compile(r"^\d+(?:\.\d+)*\.?\s+")
_PIPE_RE = re.compile(r"(\\*)\|")
_TRAILING_ESCAPE_RE = re.compile(r"(?<!\\)(?:\\\\)*\\$")


def escape_cell(value: str) -> str:
    r"""A value as a table cell: one line, no edge spaces, empty becomes ``-``, and every pipe
    escaped: one that an odd run of backslashes already escapes stays as it is, any other
    gets one backslash more (``\\|`` is an escaped backslash and a bare pipe in a table)."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"a table cell holds one line, got {value!r}")
    value = _PIPE_RE.sub(_escape_pipe, value.strip())
    return value or "-"


def _escape_pipe(m: re.Match[str]) -> str:
    slashes = m.group(1)
    return slashes + ("" if len(slashes) % 2 else "\\") + "|"


def set_cell(
    text: str,
    plan: Plan,
    task_id: str,
    column: str,
    value: str,
    *,
    expected: str | None = None,
) -> str:
    """Set one cell of ``task_id``'s row in the Task Assignment Matrix, in whichever of the
    matrix's tables that row stands. ``column`` is a column's name (``Status``) or any of its
    header spellings (``State``), or the header of a column Baton does not read.

    ``expected``, when given, is the value the caller believes the cell holds (compared as
    :attr:`Cell.value`); a different value is a conflict, so Baton never overwrites a status a
    person changed in the meantime.
    """
    cell = _task_cell(plan, task_id, column)
    return _replace_cell(text, cell, value, expected, f"{task_id} {column}")


def set_status(
    text: str, plan: Plan, task_id: str, status: str, *, expected: Sequence[str] = ()
) -> str:
    """Set ``task_id``'s Status to one of the five, written as the plan spells it
    (:meth:`Plan.spell`). With ``expected``, the cell must read as one of those statuses
    (in any spelling), else the person's value stands and this is a conflict. A cell that
    already reads as ``status`` is left exactly as it is."""
    task = plan.task(task_id)
    cell = _task_cell(plan, task_id, "Status")
    if task is None or (expected and task.status not in expected):
        found = task.status if task is not None else None
        raise EditConflictError(
            f"{task_id} Status: expected {' or '.join(expected)}, found {found!r}",
            line=cell.span.line,
            file=plan.file,
        )
    if task.status == status:
        replace_span(text, cell.span, cell.raw, cell.raw, what=f"{task_id} Status")
        return text  # already so: the person's spelling stays, but stale text is refused
    return _replace_cell(text, cell, plan.spell(status), None, f"{task_id} Status")


def set_log_cells(text: str, plan: Plan, task_id: str, values: Mapping[str, str]) -> str:
    """Update cells of ``task_id``'s Actual Execution Log row, adding the row when missing.

    Columns the table does not have are skipped; a new row fills them with ``-``.
    """
    table = plan.log_table
    if table is None:
        raise EditConflictError("the plan has no Actual Execution Log table", file=plan.file)
    row = plan.log_row(task_id)
    if row is None:
        return _append_log_row(text, plan, table, {"Task ID": task_id, **values})
    # Right to left, so each replacement leaves the offsets of the ones still to come intact.
    targets: list[tuple[Cell, str, str]] = []
    for column, value in values.items():
        i = table.column(column)
        if i is not None and i < len(row.row.cells):
            targets.append((row.row.cells[i], value, column))
    _check_row(text, row.row, plan.file)
    for cell, value, column in sorted(targets, key=lambda t: t[0].span.start, reverse=True):
        text = _replace_cell(text, cell, value, None, f"log {task_id} {column}")
    return text


def set_checkbox(text: str, item: ChecklistItem, checked: bool) -> str:
    """Tick or untick one checkbox; a box already in that state leaves the text as is."""
    current = item.box.slice(text)
    if current not in (" ", "x", "X") or (current != " ") != item.checked:
        raise EditConflictError(
            f"checkbox {item.text!r} changed since it was read (found {current!r})",
            line=item.line,
        )
    if item.checked == checked:
        return text
    return replace_span(text, item.box, current, "x" if checked else " ", what="checkbox")


def set_header_field(text: str, plan: Plan, name: str, value: str) -> str:
    """Set a ``**Name:** value`` header field such as ``**Status:**``."""
    field = plan.header.get(name)
    if field is None:
        raise EditConflictError(f"the plan header has no **{name}:** line", file=plan.file)
    if "\n" in value or "\r" in value:
        raise ValueError(f"a header field holds one line, got {value!r}")
    if field.value == value:
        return text
    return replace_span(text, field.span, field.value, value, what=f"**{name}:**")


def append_blocker_line(text: str, entry: BlockerEntry, line: str, *more: str) -> str:
    """Append ``line`` (e.g. ``**Triage:** … - …``), and ``more`` lines after it, right
    after the entry's last line."""
    for one in (line, *more):
        if "\n" in one or "\r" in one:
            raise ValueError(f"append whole lines, each without a line break, got {one!r}")
    if entry.heading.slice(text) != entry.heading_text or (
        text[entry.end - len(entry.tail) : entry.end] != entry.tail
    ):
        raise EditConflictError(
            f"blocker entry {entry.heading_text!r} changed since it was read", line=entry.line
        )
    eol = Lines(text).eol
    prefix = "" if entry.tail.endswith("\n") else eol
    return text[: entry.end] + prefix + eol.join((line, *more)) + eol + text[entry.end :]


def add_blocker_entry(
    text: str,
    plan: Plan,
    *,
    task_id: str,
    agent_id: str,
    timestamp: str,
    fields: Mapping[str, str],
) -> str:
    """Add a blocker entry (the template's Blocker Reporting Format) at the end of Notes and
    Blockers."""
    if plan.notes_end is None:
        raise EditConflictError("the plan has no Notes and Blockers section", file=plan.file)
    at = plan.notes_end
    if text[at - len(plan.notes_tail) : at] != plan.notes_tail:
        raise EditConflictError("Notes and Blockers changed since it was read", file=plan.file)
    eol = Lines(text).eol
    body = [f"### {task_id} - {agent_id} - {timestamp}"]
    for name, value in fields.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"blocker field {name} must be one line, got {value!r}")
        body.append(f"**{name}:** {value}")
    prefix = ("" if plan.notes_tail.endswith("\n") else eol) + eol
    return text[:at] + prefix + eol.join(body) + eol + text[at:]


def set_mermaid_block(text: str, plan: Plan, heading: str, block: str) -> str:
    """Put ``block`` (mermaid source, without fences) in a mermaid fence under ``heading``.

    The anchor is the first heading titled ``heading`` (any level, a section number such as
    ``3.`` allowed), else the first bold label line ``**heading:**`` outside code. A mermaid
    fence directly under it (blank lines between allowed) gets ``block`` as its content, its
    fence lines kept as written; without one, a new fence goes right under the anchor, ahead
    of whatever was there. Without an anchor, a ``## heading`` section holding the fence goes
    before the Execution Timeline heading, else at the end (above Baton's revision marker,
    which stays the last line). ``plan`` must have been read from
    ``text``; writing the same block twice changes nothing the second time.
    """
    if "\n" in heading or "\r" in heading:
        raise ValueError(f"a heading is one line, got {heading!r}")
    lines, blocks = _source(text, plan)
    eol = lines.eol
    body = "".join(line + eol for line in _block_lines(block))
    fence = f"```mermaid{eol}{body}```{eol}"
    anchor = _anchor(lines, blocks, heading)
    if anchor is None:
        section = f"## {heading}{eol}{eol}{fence}"
        timeline = next(
            (h.line for h in blocks.headings if "execution timeline" in _title_key(h.title)),
            None,
        )
        last = len(lines)
        while last > 1 and not lines.content(last).strip():
            last -= 1
        if timeline is None and text and is_marker_line(lines.content(last)):
            timeline = last  # Baton's revision marker stays the last line
        if timeline is not None:
            at = lines.start(timeline)
            above = lines.content(timeline - 1).strip() if timeline > 1 else ""
            return text[:at] + (eol if above else "") + section + eol + text[at:]
        if not text:
            return section
        prefix = "" if text.endswith("\n") else eol
        return text + prefix + eol + section
    content = _mermaid_content(lines, blocks, anchor)
    if content is not None:
        start, end = content
        return text[:start] + body + text[end:]
    at = lines.next_start(anchor)
    prefix = "" if text[:at].endswith("\n") else eol
    # One blank line on each side of the new fence, as a person would leave it.
    blank_below = at == len(text) or not lines.content(anchor + 1).strip()
    return text[:at] + prefix + eol + fence + ("" if blank_below else eol) + text[at:]


# -- helpers -----------------------------------------------------------------------------


def _source(text: str, plan: Plan) -> tuple[Lines, Blocks]:
    source = plan.source
    if (
        isinstance(source, tuple)
        and len(source) == 2
        and isinstance(source[0], Lines)
        and isinstance(source[1], Blocks)
        and source[0].text == text
    ):
        return source[0], source[1]
    raise EditConflictError("the plan changed since it was read", file=plan.file)


def _block_lines(block: str) -> list[str]:
    # Only line breaks split lines: a plan's line is what ends at '\n' (see Lines).
    out = block.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")
    for line in out:
        # A fence line inside would end our fence early and spill the rest into the plan.
        if _FENCE_RE.match(line):
            raise ValueError(f"a mermaid block cannot hold a code fence line, got {line!r}")
    return out


def _title_key(title: str) -> str:
    title = title.replace("*", "").replace("_", "").replace("`", "").strip().rstrip(":").strip()
    return " ".join(_SECTION_NUMBER_RE.sub("", title).split()).casefold()


def _anchor(lines: Lines, blocks: Blocks, heading: str) -> int | None:
    """The last line of the heading (or bold label) titled ``heading``, or None."""
    key = _title_key(heading)
    for h in blocks.headings:
        if _title_key(h.title) == key:
            n = h.line
            # A setext heading is two lines: its title, then the underline.
            if (
                not lines.content(n).lstrip().startswith("#")
                and n < len(lines)
                and _SETEXT_RE.match(lines.content(n + 1))
            ):
                n += 1
            return n
    for n in range(1, len(lines) + 1):
        m = _LABEL_RE.match(lines.content(n))
        if m and _title_key(m["title"]) == key and not blocks.is_opaque(n):
            return n
    return None


def _mermaid_content(lines: Lines, blocks: Blocks, anchor: int) -> tuple[int, int] | None:
    """The span of the content of a closed mermaid fence right under ``anchor``, or None."""
    n = anchor + 1
    while n <= len(lines) and not lines.content(n).strip():
        n += 1
    for info, first, last in blocks.fences:
        if first - 1 != n:
            continue
        if info.split()[:1] not in (["mermaid"], ["Mermaid"]):
            return None
        opening = _FENCE_RE.match(lines.content(n))
        close = last + 1
        closing = _CLOSE_RE.match(lines.content(close)) if n < close <= len(lines) else None
        if (
            opening is None
            or closing is None
            or closing["marks"][0] != opening["marks"][0]
            or len(closing["marks"]) < len(opening["marks"])
        ):
            return None  # an unclosed fence runs to the end of the file: never replace that
        return lines.next_start(n), lines.start(close)
    return None


def _task_cell(plan: Plan, task_id: str, column: str) -> Cell:
    task = plan.task(task_id)
    if task is None:
        raise EditConflictError(f"task {task_id} is not in the plan", file=plan.file)
    cell = task.cells.get(column)
    if cell is None:
        meant = columns((column,)).names[0]  # a header spelling of a column: its name
        cell = task.cells.get(meant)
    if cell is None:
        raise EditConflictError(
            f"the row of {task_id} has no {column!r} column", line=task.line, file=plan.file
        )
    return cell


def _replace_cell(text: str, cell: Cell, value: str, expected: str | None, what: str) -> str:
    new = escape_cell(value)
    if expected is not None and cell.value != expected:
        raise EditConflictError(
            f"{what}: expected {expected!r}, found {cell.value!r}", line=cell.span.line
        )
    if cell.raw == new:
        replace_span(text, cell.span, cell.raw, new, what=what)  # still refuse stale text
        return text
    if not cell.raw:
        # An empty cell: keep one space on each side of the value, as a person would type it.
        if cell.span.start == 0 or text[cell.span.start - 1] in "|":
            new = " " + new
        if cell.span.end >= len(text) or text[cell.span.end] == "|":
            new = new + " "
    elif text[cell.span.end : cell.span.end + 1] == "|" and _TRAILING_ESCAPE_RE.search(new):
        new += " "  # a backslash right before the pipe would escape it and merge two cells
    return replace_span(text, cell.span, cell.raw, new, what=what)


def _check_row(text: str, row: Row, file: str) -> None:
    for cell in row.cells:
        if cell.span.slice(text) != cell.raw:
            raise EditConflictError(
                f"row at line {row.line} changed since it was read", line=row.line, file=file
            )


def _append_log_row(text: str, plan: Plan, table: Table, values: Mapping[str, str]) -> str:
    lines = Lines(text)
    if table.rows:
        _check_row(text, table.rows[-1], plan.file)
    elif table.header_line + 1 > len(lines) or "|" not in lines.content(table.header_line + 1):
        raise EditConflictError("the log table moved since it was read", file=plan.file)
    by_column = {_norm(k): v for k, v in values.items()}
    cells = [escape_cell(by_column.get(_norm(name), "-")) for name in table.header]
    row_text = "| " + " | ".join(cells) + " |"
    at = lines.next_start(table.last_line)
    prefix = "" if at == 0 or text[at - 1] == "\n" else lines.eol
    return text[:at] + prefix + row_text + lines.eol + text[at:]


def _norm(column: str) -> str:
    return " ".join(column.replace("*", "").replace("`", "").split()).casefold()


__all__ = [
    "add_blocker_entry",
    "append_blocker_line",
    "escape_cell",
    "set_cell",
    "set_checkbox",
    "set_header_field",
    "set_log_cells",
    "set_mermaid_block",
    "set_status",
]
