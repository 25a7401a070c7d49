"""Frozen values of a parsed plan. Each remembers where it stands so it can be edited in place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from protocol._errors import ProtocolError
from protocol._text import Span

STATUSES = ("Not Started", "In Progress", "Blocked", "Completed", "Failed")
NOT_STARTED, IN_PROGRESS, BLOCKED, COMPLETED, FAILED = STATUSES

_EMPTY: Mapping[str, str] = MappingProxyType({})


class Cell(NamedTuple):
    """One table cell. ``raw`` is the cell's text between the pipes, trimmed of spaces;
    ``span`` covers exactly ``raw`` (zero-width in the middle of an empty cell)."""

    raw: str
    span: Span

    @property
    def value(self) -> str:
        """The cell's text with surrounding backticks removed and `-` meaning empty."""
        v = self.raw.strip()
        if len(v) >= 2 and v[0] == "`" and v[-1] == "`":
            v = v[1:-1].strip()
        return "" if v in ("-", "—") else v


class Row(NamedTuple):
    """A table body row: its cells in column order, and the span of the whole line."""

    cells: tuple[Cell, ...]
    span: Span  # the line's content, without line ending

    @property
    def line(self) -> int:
        return self.span.line


@dataclass(frozen=True, slots=True)
class Table:
    """A pipe table. ``column(name)`` finds a column by its header name."""

    header: tuple[str, ...]
    rows: tuple[Row, ...]
    header_line: int
    last_line: int  # line of the last row (or of the delimiter row when empty)
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for i, h in enumerate(self.header):
            self._index.setdefault(_norm(h), i)

    def column(self, name: str) -> int | None:
        """Index of the column whose header is ``name`` (case and spaces ignored)."""
        i = self._index.get(name)
        if i is None:
            # Callers ask by the same few names over and over, present or not (-1).
            i = self._index.setdefault(name, self._index.get(_norm(name), -1))
        return i if i >= 0 else None


def _norm(s: str) -> str:
    return " ".join(s.replace("`", "").replace("*", "").split()).casefold()


@dataclass(frozen=True, slots=True)
class HeaderField:
    """A ``**Name:** value`` line of the plan header."""

    name: str
    value: str
    span: Span  # covers ``value`` only


@dataclass(frozen=True, slots=True)
class Task:
    """One row of the Task Assignment Matrix."""

    id: str
    description: str
    role: str
    skills: tuple[str, ...]
    worktree: str  # the folder name under the worktree parent (default: id in lower case)
    worktree_raw: str  # the cell as written, for error messages
    branch: str  # default ``baton/<id>``
    group: str
    status: str  # canonical status when recognised, else the raw cell text
    dependencies: tuple[str, ...]
    estimate: str
    estimate_hours: float
    row: Row
    cells: Mapping[str, Cell] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def line(self) -> int:
        return self.row.line


@dataclass(frozen=True, slots=True)
class ModelAssignment:
    """A row of the Agent Distribution and Model Selection table (ranges expanded)."""

    task_ids: tuple[str, ...]
    agent: str
    model: str
    rationale: str
    line: int


@dataclass(frozen=True, slots=True)
class Constraints:
    budget_usd: float | None = None
    agent_slots: int | None = None
    deadline: str | None = None
    budget_line: int = 0
    slots_line: int = 0
    deadline_line: int = 0


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """A ``- [ ]`` / ``- [x]`` line; ``box`` spans the single character between the brackets."""

    section: str
    text: str
    checked: bool
    box: Span

    @property
    def line(self) -> int:
        return self.box.line


@dataclass(frozen=True, slots=True)
class BlockerEntry:
    """A ``### T3 - agent-id - timestamp`` entry under Notes and Blockers.

    ``fields`` maps the bold field names (Severity, Blocker Type, Description, Required
    Resolution, Escalation, Triage, Resolution) to their values; when a field repeats (several
    Triage lines), the last one wins and ``triage_lines`` keeps them all.
    ``end`` is the offset just past the entry's last non-blank line (including its line
    ending), where an appended line goes.
    """

    task_id: str
    agent_id: str
    timestamp: str
    fields: Mapping[str, str]
    heading: Span
    heading_text: str
    last_line: int
    end: int
    tail: str  # the text of the entry's last line, with its line ending: checked before appending
    triage_lines: tuple[str, ...] = ()
    problem: ProtocolError | None = None

    @property
    def line(self) -> int:
        return self.heading.line

    @property
    def escalate(self) -> bool:
        """True when the Escalation field starts with Yes."""
        return self.fields.get("Escalation", "").strip().casefold().startswith("yes")

    @property
    def resolution(self) -> str | None:
        return self.fields.get("Resolution")

    @property
    def triage(self) -> str | None:
        return self.fields.get("Triage")


@dataclass(frozen=True, slots=True)
class LogRow:
    """A row of the Actual Execution Log table."""

    task_id: str
    agent_id: str
    started: str
    completed: str
    duration: str
    status: str
    notes: str
    row: Row
    cells: Mapping[str, Cell] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def line(self) -> int:
        return self.row.line


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything Baton reads from ``MULTI_AGENT_PLAN.md``.

    ``problems`` are the errors found while reading (a broken table, a bad cell); the full
    check, including the graph rules, is :func:`protocol.check_plan`. ``warnings`` are what
    a person should know but Baton can run with. ``task_table`` is the first table of the
    matrix, ``task_tables`` all of them; ``spellings`` is how the plan writes each status.
    """

    header: Mapping[str, HeaderField]
    tasks: tuple[Task, ...]
    task_table: Table | None
    models: tuple[ModelAssignment, ...]
    constraints: Constraints
    skill_pins: Mapping[str, str]
    checklists: tuple[ChecklistItem, ...]
    blockers: tuple[BlockerEntry, ...]
    log: tuple[LogRow, ...]
    log_table: Table | None
    problems: tuple[ProtocolError, ...] = ()
    warnings: tuple[ProtocolError, ...] = ()
    task_tables: tuple[Table, ...] = ()
    spellings: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    unread_ids: frozenset[str] = frozenset()  # ids of matrix rows that could not be read
    eol: str = "\n"
    file: str = "MULTI_AGENT_PLAN.md"
    # Where a new blocker entry goes: past the last line of the Notes and Blockers section
    # that is neither blank nor a thematic break; ``notes_tail`` is that line, for the
    # stale-text check. None when the plan has no such section.
    notes_end: int | None = None
    notes_tail: str = ""
    # The split lines and block structure this plan was read from, so that the next parse of
    # a text that differs only in table cells can skip markdown-it (see ``parse_plan``).
    source: object = field(default=None, repr=False, compare=False)
    # Lookups by task id, built on first use (the scheduler asks for every task).
    _by_id: dict[str, Task] = field(default_factory=dict, repr=False, compare=False)
    _log_by_id: dict[str, LogRow] = field(default_factory=dict, repr=False, compare=False)

    def task(self, task_id: str) -> Task | None:
        if not self._by_id and self.tasks:
            for t in reversed(self.tasks):  # the first of duplicate ids wins
                self._by_id[t.id] = t
        return self._by_id.get(task_id)

    def log_row(self, task_id: str) -> LogRow | None:
        if not self._log_by_id and self.log:
            for r in reversed(self.log):
                self._log_by_id[r.task_id] = r
        return self._log_by_id.get(task_id)

    def spell(self, status: str) -> str:
        """``status`` as this plan writes it (``✅ Completed``), else as the template does."""
        return self.spellings.get(status, status)

    def model_for(self, task_id: str) -> ModelAssignment | None:
        for m in self.models:
            if task_id in m.task_ids:
                return m
        return None
