"""The Task Assignment Matrix as people write it: columns found by meaning, rows read by
meaning, and one matrix however many tables it is split into (docs/user-guide.md).

A header cell names a column when it is one of the column's aliases (case, markup and
punctuation ignored, a plural ``s`` too). A header that is close to an alias but is none
(``Dependancies``) is a warning naming the column it probably meant, so nothing a person
wrote is dropped without a word.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from protocol._cells import (
    clean_id,
    plain,
    split_agent_skills,
    split_ids,
    split_skills,
    worktree_folder,
)
from protocol._errors import PlanSyntaxError, PlanWarning, ProtocolError
from protocol._model import Cell, Table, Task
from protocol._prior import Prior
from protocol._status import canonical_status
from protocol.dag import parse_estimate

TASK_ID = "Task ID"
DESCRIPTION = "Description"
AGENT = "Agent/Skills"
SKILLS = "Skills"
WORKTREE = "Worktree"
BRANCH = "Branch"
GROUP = "Parallel Group"
STATUS = "Status"
DEPENDENCIES = "Dependencies"
ESTIMATE = "Estimate"

# Each column and the header names that mean it, the template's own name first.
ALIASES: Mapping[str, tuple[str, ...]] = {
    TASK_ID: (TASK_ID, "ID", "Task #", "Task No", "Task Number", "TaskID", "#"),
    DESCRIPTION: (
        DESCRIPTION,
        "Task Description",
        "Title",
        "Task Title",
        "Summary",
        "Name",
        "Task Name",
        "Details",
        "Desc",
    ),
    AGENT: (
        AGENT,
        "Agent",
        "Agent Role",
        "Agent Role / Skills",
        "Role",
        "Role / Skills",
        "Owner",
        "Assignee",
        "Assigned To",
        "Assigned Agent",
        "Agent Type",
    ),
    SKILLS: (SKILLS, "Skill", "Required Skills"),
    WORKTREE: (
        WORKTREE,
        "Worktree Path",
        "Worktree Folder",
        "Worktree Dir",
        "Work Tree",
        "Path",
        "Folder",
        "Directory",
    ),
    BRANCH: (BRANCH, "Branch Name", "Git Branch", "Feature Branch"),
    GROUP: (
        GROUP,
        "Group",
        "Wave",
        "Phase",
        "Stage",
        "Batch",
        "Parallel Wave",
        "Execution Group",
        "Execution Wave",
        "Round",
    ),
    STATUS: (STATUS, "State", "Task Status", "Current Status"),
    DEPENDENCIES: (
        DEPENDENCIES,
        "Dependency",
        "Deps",
        "Depends On",
        "Depends",
        "Dependent On",
        "Blocked By",
        "Requires",
        "Prerequisites",
        "Prereqs",
        "Needs",
        "Waits For",
        "After",
        "Predecessors",
    ),
    ESTIMATE: (
        ESTIMATE,
        "Est",
        "Estimated",
        "Estimated Time",
        "Estimated Hours",
        "Estimated Effort",
        "Time Estimate",
        "Effort",
        "Hours",
        "Duration",
        "Time",
    ),
}
MATRIX_COLUMNS = tuple(ALIASES)
# "Task" alone is the id column when there is no other, else the description.
WEAK_TASK = "Task"

_PUNCTUATION = re.compile(r"[^\w#&]+")


def header_key(name: str) -> str:
    """A header cell as it is compared: no markup or punctuation, single-spaced, folded."""
    return " ".join(_PUNCTUATION.sub(" ", plain(name).replace("_", " ")).split()).casefold()


_BY_KEY = {header_key(a): column for column, names in ALIASES.items() for a in names}
_CLOSE_KEYS = [k for k in _BY_KEY if len(k) >= 5]


def _meaning(key: str) -> str | None:
    column = _BY_KEY.get(key)
    if column is None and key.endswith("s"):
        column = _BY_KEY.get(key[:-1])
    return column


@dataclass(frozen=True, slots=True)
class Columns:
    """What a table's header says: the index of each column it has, the name each cell is
    kept under in ``Task.cells`` (the column's name, or the header as written for a column
    Baton does not read), and headers that look like a column but are none."""

    index: Mapping[str, int]
    names: tuple[str, ...]
    near: tuple[tuple[int, str, str], ...] = ()  # (position, header as written, meant)

    @property
    def is_matrix(self) -> bool:
        return TASK_ID in self.index and STATUS in self.index


@functools.lru_cache(maxsize=256)
def columns(header: tuple[str, ...]) -> Columns:
    """Find each column of a table by its header's meaning; the first of two alike wins."""
    index: dict[str, int] = {}
    weak: int | None = None
    unknown: list[int] = []
    for i, name in enumerate(header):
        key = header_key(name)
        column = _meaning(key)
        if column is not None:
            index.setdefault(column, i)
        elif key in ("task", "tasks"):
            weak = i if weak is None else weak
        else:
            unknown.append(i)
    if weak is not None:
        index.setdefault(TASK_ID if TASK_ID not in index else DESCRIPTION, weak)
    near = []
    for i in unknown:
        guess = difflib.get_close_matches(header_key(header[i]), _CLOSE_KEYS, n=1, cutoff=0.8)
        if guess and _BY_KEY[guess[0]] not in index:
            near.append((i, header[i], _BY_KEY[guess[0]]))
    by_position = {i: c for c, i in index.items()}
    names = tuple(by_position.get(i, name) for i, name in enumerate(header))
    return Columns(MappingProxyType(index), names, tuple(near))


@dataclass
class Matrix:
    """The tasks of every matrix table, and what could not be read."""

    tables: list[Table] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    problems: list[ProtocolError] = field(default_factory=list)
    warnings: list[ProtocolError] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)  # ids of rows that could not be read


def read_matrix(tables: Iterable[Table], file: str, prior: Prior | None = None) -> Matrix:
    """Read the matrix from ``tables`` (those that are neither the log nor the model table):
    the first table with Task ID and Status columns, and every later one with the same
    columns, in file order. With ``prior``, a row whose line did not change keeps its task."""
    out = Matrix()
    first: Columns | None = None
    for table in tables:
        cols = columns(table.header)
        if not cols.is_matrix:
            continue
        if first is None:
            first = cols
        elif set(cols.index) != set(first.index):
            out.warnings.append(_different_table(table, cols, first, out.tables[0], file))
            continue
        out.tables.append(table)
        for _, written, meant in cols.near:
            out.warnings.append(
                PlanWarning(
                    f"column {written!r} is not read: did you mean {meant!r}?",
                    line=table.header_line,
                    file=file,
                )
            )
        _read_rows(table, cols, out, file, prior)
    if first is not None and GROUP in first.index:
        out.warnings.extend(_ungrouped(out.tasks, file))
    return out


def _different_table(
    table: Table, cols: Columns, first: Columns, at: Table, file: str
) -> PlanWarning:
    lacks = [c for c in first.index if c not in cols.index]
    adds = [c for c in cols.index if c not in first.index]
    diff = "; ".join(
        part
        for part in (
            f"it lacks {', '.join(lacks)}" if lacks else "",
            f"it adds {', '.join(adds)}" if adds else "",
        )
        if part
    )
    return PlanWarning(
        f"this table has Task ID and Status columns but not the columns of the Task "
        f"Assignment Matrix at line {at.header_line} ({diff}): its rows are not read as tasks",
        line=table.header_line,
        file=file,
    )


def _read_rows(table: Table, cols: Columns, out: Matrix, file: str, prior: Prior | None) -> None:
    at = cols.index.get
    i_id, i_status = cols.index[TASK_ID], cols.index[STATUS]
    i_desc, i_agent, i_skills = at(DESCRIPTION), at(AGENT), at(SKILLS)
    i_tree, i_branch, i_group = at(WORKTREE), at(BRANCH), at(GROUP)
    i_deps, i_est = at(DEPENDENCIES), at(ESTIMATE)
    width = len(table.header)
    names = cols.names
    for row in table.rows:
        same = prior.task(row, names) if prior is not None else None
        if same is not None:
            out.tasks.append(same)
            continue
        cells = row.cells
        if len(cells) != width and (len(cells) < width or any(c.raw for c in cells[width:])):
            out.problems.append(_cell_count(row.line, len(cells), width, file))
            if i_id < len(cells):
                out.unread.add(clean_id(cells[i_id].raw))
            continue
        task_id = clean_id(cells[i_id].raw)
        if not task_id:
            out.problems.append(
                PlanSyntaxError("task row has no Task ID", line=row.line, file=file)
            )
            continue
        role, skills = split_agent_skills(cells[i_agent].value) if i_agent is not None else ("", ())
        if i_skills is not None:
            more = split_skills(cells[i_skills].value)
            skills = (*skills, *(s for s in more if s not in skills))
        worktree_raw = cells[i_tree].value if i_tree is not None else ""
        branch = plain(cells[i_branch].value) if i_branch is not None else ""
        status = cells[i_status]
        estimate = cells[i_est].value if i_est is not None else ""
        out.tasks.append(
            Task(
                id=task_id,
                description=cells[i_desc].value if i_desc is not None else "",
                role=role,
                skills=skills,
                worktree=worktree_folder(worktree_raw) if worktree_raw else task_id.lower(),
                worktree_raw=worktree_raw,
                branch=branch or f"baton/{task_id}",
                group=plain(cells[i_group].raw) if i_group is not None else "",
                status=canonical_status(status.raw) or status.value,
                dependencies=split_ids(cells[i_deps].raw) if i_deps is not None else (),
                estimate=estimate,
                estimate_hours=parse_estimate(estimate),
                row=row,
                cells=MappingProxyType(dict(zip(names, cells, strict=False))),
            )
        )


def _cell_count(line: int, found: int, width: int, file: str) -> PlanSyntaxError:
    if found < width:
        hint = "a cell is missing (an empty one is still written, as | - |)"
    else:
        hint = "a cell has an unescaped | (write it as \\|)"
    return PlanSyntaxError(
        f"this row has {found} cells but the header has {width}: {hint}", line=line, file=file
    )


def _ungrouped(tasks: Sequence[Task], file: str) -> list[ProtocolError]:
    """Tasks that neither name a group nor depend on anything, in a matrix that groups the
    others: they start at once, which is worth a word."""
    if not any(t.group for t in tasks):
        return []
    return [
        PlanWarning(
            f"task {t.id} has no parallel group and no dependencies: it starts at once",
            line=t.line,
            file=file,
        )
        for t in tasks
        if not t.group and not t.dependencies
    ]


def status_cells(tasks: Iterable[Task]) -> Iterable[str]:
    """The raw Status cells of ``tasks``, for :func:`protocol._status.spellings`."""
    for task in tasks:
        cell: Cell | None = task.cells.get(STATUS)
        if cell is not None:
            yield cell.raw


__all__ = [
    "ALIASES",
    "MATRIX_COLUMNS",
    "Columns",
    "Matrix",
    "columns",
    "header_key",
    "read_matrix",
    "status_cells",
]
