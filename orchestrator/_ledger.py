"""Baton's own transitions, kept so that a save from a stale editor buffer cannot undo them.

An editor that loaded the plan before Baton wrote, and saves later, puts old cells back.
Every write batch Baton makes is remembered as ``{cell: (before, after)}``, so the daemon
can rebuild the cells of each version it wrote. When a file appears, the version it was
most likely based on is the one that differs from it in the fewest cells Baton touched
(ties go to the newest). Against that base it is a three-way merge, cell by cell: where
the file still shows the base value and Baton has written something newer, Baton's value
comes back; where the person changed a cell, their value stays.

So a stale save gets Baton's transitions back, while a deliberate change of one cell (a
Completed task set back to Not Started) leaves the file closest to Baton's newest version,
and nothing is restored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from protocol import EditConflictError, Plan, set_cell, set_header_field, set_log_cells

CellKey = tuple[str, str, str]  # ("task" | "log" | "header", task id or "", column)
Change = tuple[str, str]  # (before, after), each the cell's raw text


def cells(plan: Plan) -> dict[CellKey, str]:
    """Every cell Baton may write, by key, with its raw text."""
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


def diff(before: Plan, after: Plan) -> dict[CellKey, Change]:
    old, new = cells(before), cells(after)
    return {k: (old.get(k, ""), v) for k, v in new.items() if old.get(k, "") != v}


class Ledger:
    def __init__(self, size: int = 500) -> None:
        self._batches: deque[dict[CellKey, Change]] = deque(maxlen=size)

    def record(self, changes: Mapping[CellKey, Change]) -> None:
        if changes:
            self._batches.append(dict(changes))

    def stale_cells(self, plan: Plan) -> dict[CellKey, Change]:
        """Cells to give back: ``{key: (what the file shows, Baton's latest value)}``."""
        if not self._batches:
            return {}
        shown = cells(plan)
        version = {k: after for batch in self._batches for k, (_, after) in batch.items()}
        latest = dict(version)

        # Distance of each version from the file, kept up to date one cell at a time.
        d = sum(1 for k, v in version.items() if shown.get(k, "") != v)
        best, best_at = d, len(self._batches)
        # Walk back through the versions Baton wrote, newest first.
        for at in range(len(self._batches) - 1, -1, -1):
            for k, (before, _) in self._batches[at].items():
                file_value = shown.get(k, "")
                d += (file_value != before) - (file_value != version[k])
                version[k] = before
            if d < best:
                best, best_at = d, at
        if best_at == len(self._batches):
            return {}
        base = dict(latest)
        for batch in list(self._batches)[best_at:][::-1]:
            for k, (before, _) in batch.items():
                base[k] = before
        return {
            k: (shown.get(k, ""), latest[k])
            for k in base
            if shown.get(k, "") == base[k] != latest[k]
        }


def restore(text: str, plan: Plan, key: CellKey, shown: str, value: str) -> str:
    """Set one cell back to Baton's ``value`` if it still shows ``shown``.

    Raises EditConflictError when the cell moved on (someone wrote it since), so the batch
    runner counts the restore as not applied.
    """
    kind, task_id, column = key
    if kind == "header":
        field = plan.header.get(column)
        if field is None or field.value != shown:
            raise EditConflictError(f"header {column} moved on")
        return set_header_field(text, plan, column, value)
    task = plan.task(task_id) if kind == "task" else None
    row = plan.log_row(task_id) if kind == "log" else None
    holder = task.cells if task is not None else row.cells if row is not None else {}
    cell = holder.get(column)
    if cell is None or cell.raw != shown:
        raise EditConflictError(f"{kind} {task_id} {column} moved on")
    if kind == "task":
        return set_cell(text, plan, task_id, column, value)
    return set_log_cells(text, plan, task_id, {column: value})
