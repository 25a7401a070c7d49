"""What a re-read can take from the plan it re-reads: the tasks and log rows whose lines did
not change.

A row whose text is what it was (only moved, when a cell above it grew) means what it
meant: its task or log row is the old one with the row's new spans, and none of its cells
is read again. Only when the block structure was reused (the headers, and so the meaning of
each column, are unchanged: see ``protocol._table.scan_blocks``).
"""

from __future__ import annotations

from types import MappingProxyType

from protocol._model import LogRow, Row, Task
from protocol._text import Lines


class Prior:
    """The rows of an earlier parse, by line, and both texts to tell whether a row's line
    still reads the same."""

    def __init__(
        self, lines: Lines, old_lines: Lines, tasks: tuple[Task, ...], log: tuple[LogRow, ...]
    ) -> None:
        self._text = lines.text
        self._old = old_lines.text
        self._tasks = {t.row.line: t for t in tasks}
        self._log = {r.row.line: r for r in log}

    def _same(self, old: Row, row: Row) -> bool:
        if old is row:
            return True
        a, b = old.span, row.span
        return a.line == b.line and self._old[a.start : a.end] == self._text[b.start : b.end]

    def task(self, row: Row, names: tuple[str, ...]) -> Task | None:
        """The task ``row`` reads as, if its line did not change."""
        old = self._tasks.get(row.line)
        if old is None or not self._same(old.row, row):
            return None
        if old.row is row:
            return old
        cells = MappingProxyType(dict(zip(names, row.cells, strict=False)))
        return Task(
            old.id,
            old.description,
            old.role,
            old.skills,
            old.worktree,
            old.worktree_raw,
            old.branch,
            old.group,
            old.status,
            old.dependencies,
            old.estimate,
            old.estimate_hours,
            row,
            cells,
        )

    def log_row(self, row: Row, header: tuple[str, ...]) -> LogRow | None:
        """The execution-log row ``row`` reads as, if its line did not change."""
        old = self._log.get(row.line)
        if old is None or not self._same(old.row, row):
            return None
        if old.row is row:
            return old
        cells = {name: cell for name, cell in zip(header, row.cells, strict=False)}
        return LogRow(
            old.task_id,
            old.agent_id,
            old.started,
            old.completed,
            old.duration,
            old.status,
            old.notes,
            row,
            MappingProxyType(cells),
        )


__all__ = ["Prior"]
