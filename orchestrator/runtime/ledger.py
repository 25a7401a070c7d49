"""Baton's own versions of the plan, kept so that a save from a stale editor buffer cannot
undo them.

An editor that loaded the plan before Baton wrote, and saves later, puts old cells back.
Every write Baton makes carries a revision marker (:mod:`protocol.revision`) and is
remembered here as the cells it changed since Baton's previous version. A saved file says
which revision its buffer was loaded from; that version is the base of a three-way merge,
cell by cell: where the file still shows the base value and Baton's newest version differs,
Baton's value comes back; where the person changed a cell, their value stays.

A save from an up-to-date buffer carries the newest revision, so a deliberate change (a
Completed task set back to Not Started) is never mistaken for a stale one.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Mapping

from orchestrator.runtime.plan_edits import PlanEdit
from protocol import EditConflictError, Plan, set_cell, set_header_field, set_log_cells

CellKey = tuple[str, str, str]  # ("task" | "log" | "header", task id or "", column)
Change = tuple[str, str]  # (what the file shows, Baton's value), each the cell's raw text
Group = tuple[str, str]  # ("task" | "log" | "header", task id or "")


def cells(plan: Plan) -> dict[CellKey, str]:
    """Every cell Baton keeps track of, by key, with its raw text."""
    out: dict[CellKey, str] = {}
    for task in plan.tasks:
        for column, cell in task.cells.items():
            out[("task", task.id, column)] = cell.raw
    for row in plan.log:
        for column, cell in row.cells.items():
            out[("log", row.task_id, column)] = cell.raw
    for name, field in plan.header.items():
        out[("header", "", name)] = field.value
    return out


class Ledger:
    def __init__(self, size: int = 500) -> None:
        # (revision, {cell: value before that revision}) for Baton's recent writes
        self._batches: deque[tuple[int, dict[CellKey, str]]] = deque(maxlen=size)
        self._latest: dict[CellKey, str] | None = None  # cells of Baton's newest version

    def record(self, revision: int, before: Plan, after: Plan) -> None:
        """Baton wrote ``after`` (carrying ``revision``), computed from ``before``."""
        if self._latest is None:
            self._latest = cells(before)
        new = cells(after)
        old = self._latest
        self._batches.append(
            (revision, {k: old.get(k, "") for k, v in new.items() if old.get(k, "") != v})
        )
        self._latest = new

    def is_current(self, revision: int | None) -> bool:
        """Whether a file carrying ``revision`` has seen all of Baton's recorded writes."""
        if not self._batches:
            return True
        return revision is not None and revision >= self._batches[-1][0]

    def stale_cells(self, plan: Plan, revision: int | None) -> dict[CellKey, Change]:
        """Cells to give back to a file based on ``revision`` (None: on a version older
        than any Baton wrote): ``{key: (what the file shows, Baton's newest value)}``."""
        if self._latest is None or self.is_current(revision):
            return {}
        base: dict[CellKey, str] = {}
        for written, before in reversed(self._batches):
            if revision is not None and written <= revision:
                break
            base.update(before)
        shown = cells(plan)
        latest = self._latest
        return {
            k: (shown.get(k, ""), latest[k])
            for k, value in base.items()
            if k in latest and shown.get(k, "") == value != latest[k]
        }


def restore_edits(stale: Mapping[CellKey, Change]) -> list[PlanEdit]:
    """One plan edit per row (or the header) that a stale save took back."""
    return [
        PlanEdit(functools.partial(restore, group=g, changes=c), f"restore {g}")
        for g, c in grouped(stale).items()
    ]


def grouped(stale: Mapping[CellKey, Change]) -> dict[Group, dict[str, Change]]:
    """Stale cells by the row (or header) they belong to."""
    out: dict[Group, dict[str, Change]] = {}
    for (kind, task_id, column), change in stale.items():
        out.setdefault((kind, task_id), {})[column] = change
    return out


def restore(text: str, plan: Plan, group: Group, changes: dict[str, Change]) -> str:
    """Give one row (or the header) Baton's values back, in the cells that still show what
    the stale save put there. A log row the save dropped is added back whole.

    Raises EditConflictError when no cell qualifies (someone wrote them all since), so the
    batch runner counts the restore as not applied.
    """
    kind, task_id = group
    if kind == "header":
        fields = [
            (field, value)
            for name, (shown, value) in changes.items()
            if (field := plan.header.get(name)) is not None and field.value == shown
        ]
        if not fields:
            raise EditConflictError("header moved on")
        for field, value in sorted(fields, key=lambda f: -f[0].span.start):  # bottom-up
            text = set_header_field(text, plan, field.name, value)
        return text
    if kind == "log" and plan.log_row(task_id) is None:
        if any(shown for shown, _ in changes.values()):
            raise EditConflictError(f"log row {task_id} moved on")
        return set_log_cells(text, plan, task_id, {c: v for c, (_, v) in changes.items()})
    task = plan.task(task_id) if kind == "task" else None
    row = plan.log_row(task_id) if kind == "log" else None
    holder = task.cells if task is not None else row.cells if row is not None else {}
    todo = {
        column: value
        for column, (shown, value) in changes.items()
        if (cell := holder.get(column)) is not None and cell.raw == shown
    }
    if not todo:
        raise EditConflictError(f"{kind} {task_id} moved on")
    if kind == "log":
        return set_log_cells(text, plan, task_id, todo)
    # Right to left within the row, so each edit leaves the next one's offsets intact.
    for column in sorted(todo, key=lambda c: -holder[c].span.start):
        text = set_cell(text, plan, task_id, column, todo[column])
    return text
