"""Read ``MULTI_AGENT_PLAN.md`` into frozen values (docs/user-guide.md, "What Baton reads").

The matrix is read in ``protocol._matrix``, the Notes and Blockers section in
``protocol._notes``; this module puts the plan together. Reading is lenient: placeholders
such as ``[YYYY-MM-DD HH:MM]`` and the template's examples parse, and anything that cannot
be read becomes an entry of ``Plan.problems`` with its line rather than an exception. The
graph rules (cycles, unknown dependencies …) are checked by :func:`protocol.check_plan`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from types import MappingProxyType

from protocol._cells import clean_id, split_ids
from protocol._errors import PLAN_FILE, PlanSyntaxError, ProtocolError
from protocol._matrix import (
    AGENT,
    DEPENDENCIES,
    DESCRIPTION,
    STATUS,
    TASK_ID,
    columns,
    read_matrix,
    status_cells,
)
from protocol._model import (
    Cell,
    ChecklistItem,
    Constraints,
    HeaderField,
    LogRow,
    ModelAssignment,
    Plan,
    Row,
    Table,
    Task,
)
from protocol._notes import read_notes
from protocol._prior import Prior
from protocol._status import canonical_status, spellings
from protocol._table import Blocks, scan_blocks, visible_lines
from protocol._text import Lines, invalid_utf8

HEADER_FIELDS = ("Project", "Created", "Orchestrator", "Model", "Status")
LOG_COLUMNS = ("Task ID", "Agent ID", "Started", "Completed", "Actual Duration", "Status", "Notes")

_HEADER_RE = re.compile(r"^\s*\*\*(?P<name>[A-Za-z ]+):\*\*[ \t]*(?P<value>.*?)[ \t]*$")
_CHECK_RE = re.compile(r"^\s*[-*+]\s+\[(?P<box>[ xX])\]\s*(?P<text>.*?)\s*$")
_PIN_RE = re.compile(
    r"""^\s+(?P<name>[A-Za-z0-9_.-]+)\s*:\s*(?P<q>["']?)(?P<version>[^"'#\s]*)(?P=q)\s*(#.*)?$"""
)
_MONEY_RE = re.compile(r"\$\s*(?P<amount>\d+(?:,\d{3})*(?:\.\d+)?)")
_SLOTS_RE = re.compile(r"(?P<n>\d+)\s+(?:concurrent\s+)?(?:agent\s+)?slots?", re.IGNORECASE)

_NOT_UTF8 = re.compile("[\udc80-\udcff]")

NO_MATRIX = (
    "no Task Assignment Matrix: Baton needs a table with one row per task and a header "
    "with a Task ID (or ID) column and a Status column; `baton init` writes a plan that has one"
)


def parse_plan(text: str, *, file: str = PLAN_FILE, previous: Plan | None = None) -> Plan:
    """Read a plan. Never raises for any input text; problems are collected in the result.

    ``previous``, a plan read from an earlier version of the same file, lets a text that
    differs from it only in table cells (every edit Baton makes) skip the block scan.
    Bytes that were not UTF-8 (kept as lone surrogates, see ``protocol._text.decode_text``)
    are a problem at their line: such a plan is read, but never written.
    """
    problems: list[ProtocolError] = []
    if not text.isascii() and _NOT_UTF8.search(text) is not None:
        problems.extend(_not_utf8(text, file))
        text = _NOT_UTF8.sub("\ufffd", text)  # one character each: every offset holds
        previous = None
    lines = Lines(text)
    source = previous.source if previous is not None else None
    blocks = scan_blocks(lines, source if isinstance(source, tuple) else None)
    prior = None
    if previous is not None and isinstance(source, tuple) and blocks.headings is source[1].headings:
        # The structure was reused: every header reads as before (see protocol/_prior.py).
        prior = Prior(lines, source[0], previous.tasks, previous.log)

    log_table, model_table, others = _find_tables(blocks)
    matrix = read_matrix(others, file, prior)
    if not matrix.tables:
        problems.append(_no_matrix(others, file))
    problems.extend(matrix.problems)
    log = _read_log(log_table, prior)
    notes_end, notes_tail, blockers = read_notes(lines, blocks, file)
    spelled = spellings(status_cells(matrix.tasks))
    for status, spelling in spellings(_log_status_cells(log_table)).items():
        spelled.setdefault(status, spelling)  # the matrix's spelling first
    return Plan(
        header=_read_header(lines, blocks),
        tasks=tuple(matrix.tasks),
        task_table=matrix.tables[0] if matrix.tables else None,
        models=_read_models(model_table),
        constraints=_read_constraints(lines, blocks),
        skill_pins=_read_pins(lines, blocks),
        checklists=tuple(_read_checklists(lines, blocks)),
        blockers=blockers,
        log=log,
        log_table=log_table,
        problems=tuple(problems),
        warnings=tuple(matrix.warnings),
        task_tables=tuple(matrix.tables),
        spellings=MappingProxyType(spelled),
        unread_ids=frozenset(matrix.unread),
        eol=lines.eol,
        file=file,
        notes_end=notes_end,
        notes_tail=notes_tail,
        source=(lines, blocks),
    )


def _not_utf8(text: str, file: str) -> list[ProtocolError]:
    return [
        PlanSyntaxError(
            f"bytes {raw[:8].hex(' ')} are not UTF-8: save the file as UTF-8 "
            "(Baton writes nothing into it until then)",
            line=line,
            file=file,
        )
        for line, raw in invalid_utf8(text)
    ]


def _no_matrix(tables: Sequence[Table], file: str) -> PlanSyntaxError:
    """Why no table is the matrix: at a table that looks like it, else at line 1."""
    for table in tables:
        index = columns(table.header).index
        if TASK_ID in index and {DESCRIPTION, AGENT, DEPENDENCIES} & set(index):
            return PlanSyntaxError(
                "this table looks like the Task Assignment Matrix but has no Status column: "
                "add one (Not Started for a task that has not begun)",
                line=table.header_line,
                file=file,
            )
    return PlanSyntaxError(NO_MATRIX, line=1, file=file)


# -- tables ------------------------------------------------------------------------------


def _find_tables(blocks: Blocks) -> tuple[Table | None, Table | None, list[Table]]:
    """The execution log, the model table, and every other table (the matrix is among them)."""
    log = models = None
    rest: list[Table] = []
    for table in blocks.tables:
        index = columns(table.header).index
        if log is None and TASK_ID in index and table.column("Started") is not None:
            log = table
        elif (
            models is None
            and table.column("Task") is not None
            and (table.column("Model") is not None and STATUS not in index)
        ):
            models = table
        else:
            rest.append(table)
    return log, models, rest


def _cells_by_name(table: Table, row: Row) -> dict[str, Cell]:
    by_name: dict[str, Cell] = {}
    for i, name in enumerate(table.header):
        if i < len(row.cells):
            by_name[name] = row.cells[i]
    return by_name


def _get(table: Table, row: Row, column: str) -> str:
    i = table.column(column)
    if i is None or i >= len(row.cells):
        return ""
    return row.cells[i].value


def agent_id(plan: Plan, task: Task) -> str:
    """The task's agent id: its execution-log row's Agent ID, else ``<role>-<task id>``."""
    row = plan.log_row(task.id)
    if row is not None and row.agent_id:
        return row.agent_id
    role = re.sub(r"[^a-z0-9]+", "-", task.role.casefold()).strip("-") or "agent"
    return f"{role}-{task.id.casefold()}"


def _read_models(table: Table | None) -> tuple[ModelAssignment, ...]:
    if table is None:
        return ()
    out: list[ModelAssignment] = []
    for row in table.rows:
        ids = split_ids(_get(table, row, "Task"))
        if not ids:
            continue
        out.append(
            ModelAssignment(
                task_ids=ids,
                agent=_get(table, row, "Agent"),
                model=_get(table, row, "Model"),
                rationale=_get(table, row, "Rationale"),
                line=row.line,
            )
        )
    return tuple(out)


def _log_status_cells(table: Table | None) -> Iterator[str]:
    i = table.column("Status") if table is not None else None
    if table is None or i is None:
        return
    for row in table.rows:
        if i < len(row.cells):
            yield row.cells[i].raw


def _read_log(table: Table | None, prior: Prior | None = None) -> tuple[LogRow, ...]:
    if table is None:
        return ()
    out: list[LogRow] = []
    index = [table.column(c) for c in LOG_COLUMNS]
    index[0] = columns(table.header).index.get(TASK_ID)
    for row in table.rows:
        same = prior.log_row(row, table.header) if prior is not None else None
        if same is not None:
            out.append(same)
            continue
        cells = row.cells
        raw_id, agent, started, completed, duration, status, notes = (
            cells[i].value if i is not None and i < len(cells) else "" for i in index
        )
        task_id = clean_id(raw_id)
        if not task_id:
            continue
        out.append(
            LogRow(
                task_id=task_id,
                agent_id=agent,
                started=started,
                completed=completed,
                duration=duration,
                status=canonical_status(status) or status,
                notes=notes,
                row=row,
                cells=MappingProxyType(_cells_by_name(table, row)),
            )
        )
    return tuple(out)


# -- header, constraints, pins, checklists -----------------------------------------------


def _read_header(lines: Lines, blocks: Blocks) -> MappingProxyType[str, HeaderField]:
    # The header is what stands before the first second-level heading.
    stop = next((h.line - 1 for h in blocks.headings if h.level == 2), len(lines))
    found: dict[str, HeaderField] = {}
    for n in visible_lines(lines, blocks, 1, stop):
        m = _HEADER_RE.match(lines.content(n))
        if not m:
            continue
        name = m["name"].strip().title()
        if name in HEADER_FIELDS and name not in found:
            found[name] = HeaderField(
                name, m["value"], lines.span(n, m.start("value"), m.end("value"))
            )
    return MappingProxyType(found)


def _read_constraints(lines: Lines, blocks: Blocks) -> Constraints:
    budget: float | None = None
    slots: int | None = None
    deadline: str | None = None
    lines_of = {"budget": 0, "slots": 0, "deadline": 0}
    in_block = False
    for n in visible_lines(lines, blocks, 1, len(lines)):
        content = lines.content(n).strip()
        if content.startswith("**Constraints:**"):
            in_block = True
            continue
        if not in_block:
            continue
        if content.startswith("#") or (content.startswith("**") and not content.startswith("- ")):
            in_block = False
            continue
        if not content.startswith(("-", "*", "+")):
            continue
        key, _, value = content.lstrip("-*+ ").partition(":")
        key = key.strip().casefold()
        if key == "budget" and budget is None and (m := _MONEY_RE.search(value)):
            budget = float(m["amount"].replace(",", ""))
            lines_of["budget"] = n
        elif key == "resources" and slots is None and (m := _SLOTS_RE.search(value)):
            slots = int(m["n"])
            lines_of["slots"] = n
        elif key == "deadline" and deadline is None:
            deadline = value.strip()
            lines_of["deadline"] = n
    return Constraints(
        budget, slots, deadline, lines_of["budget"], lines_of["slots"], lines_of["deadline"]
    )


def _read_pins(lines: Lines, blocks: Blocks) -> MappingProxyType[str, str]:
    """The ``skills:`` mapping of a fenced yaml block, read line by line (no YAML loader:
    the file is written by anyone, and two levels of ``name: "version"`` is all we need)."""
    pins: dict[str, str] = {}
    for info, first, last in blocks.fences:
        if info.split()[:1] not in (["yaml"], ["yml"]):
            continue
        inside = False
        for n in range(first, last + 1):
            content = lines.content(n)
            if content.strip().startswith("#") or not content.strip():
                continue
            if not content[0].isspace():
                inside = content.split("#", 1)[0].strip() == "skills:"
                continue
            if inside and (m := _PIN_RE.match(content)) and m["version"]:
                pins[m["name"]] = m["version"]
        if pins:
            break
    return MappingProxyType(pins)


def _read_checklists(lines: Lines, blocks: Blocks) -> Iterator[ChecklistItem]:
    section = ""
    headings = {h.line: h.title for h in blocks.headings}
    for n in visible_lines(lines, blocks, 1, len(lines)):
        if n in headings:
            section = headings[n]
            continue
        content = lines.content(n)
        m = _CHECK_RE.match(content)
        if m is None:
            if content.startswith("**") and content.rstrip().endswith(":**"):
                section = content.strip().strip("*:").strip()
            continue
        box = lines.span(n, m.start("box"), m.end("box"))
        yield ChecklistItem(section, m["text"], m["box"] != " ", box)


__all__ = [
    "HEADER_FIELDS",
    "LOG_COLUMNS",
    "agent_id",
    "parse_plan",
]
