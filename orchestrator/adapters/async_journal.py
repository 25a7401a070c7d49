"""The daemon's journal: :class:`~orchestrator.adapters.journal.Journal` run off the event
loop, with what the decisions read kept in memory."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from orchestrator.adapters.journal import Begin, Intent, Journal
from orchestrator.adapters.retry import Retry
from orchestrator.decisions.scheduler import TaskState

T = TypeVar("T")


class AsyncJournal:
    """Each task's :class:`TaskState` and the money spent, kept beside the journal that
    records them.

    It is opened (:meth:`open`) before anything else of a run is built, so every part holds
    a journal that exists; the run closes it last. A write the disk refuses is tried again
    until it lands (``retry``, see ``orchestrator/adapters/retry.py``).
    """

    def __init__(
        self,
        journal: Journal,
        states: dict[str, TaskState],
        spent: float,
        retry: Retry | None = None,
    ) -> None:
        self.sync = journal
        self._retry = retry
        self.states = states  # what the journal remembers of each task, read by the scheduler
        self.spent_usd = spent  # every dollar recorded, the orchestrator's own calls included

    @classmethod
    async def open(
        cls,
        path: Path,
        opener: Callable[[Path], Journal] = Journal,
        retry: Retry | None = None,
    ) -> AsyncJournal:
        """Open (or, with another ``opener``, rebuild) the journal at ``path``."""

        def load() -> AsyncJournal:
            journal = opener(path)
            return cls(journal, journal.task_states(), journal.spent_usd(), retry)

        return await anyio.to_thread.run_sync(load)

    @property
    def path(self) -> Path:
        return self.sync.path

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        if self._retry is None:
            return await anyio.to_thread.run_sync(fn, *args)
        return await self._retry.in_thread(self.sync.path, fn, *args)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.sync.close)

    async def begin(
        self,
        key: str,
        kind: str,
        payload: dict[str, Any],
        state: TaskState,
        task_id: str,
        also: Sequence[Intent] = (),
    ) -> bool:
        """Record an intent, the task state it leads to and the intents ``also`` owed with
        it (see :meth:`Journal.begin`)."""
        fresh = await self._write(self.sync.begin, key, kind, payload, state, task_id, also)
        self.states[task_id] = state
        return fresh

    async def begin_all(self, entries: Sequence[Begin]) -> list[bool]:
        """:meth:`begin` for each of ``entries``, in one transaction."""
        fresh = await self._write(self.sync.begin_all, entries)
        for e in entries:
            if e.task is not None and e.task_id is not None:
                self.states[e.task_id] = e.task
        return fresh

    async def done(self, key: str, state: str = "done") -> None:
        await self._write(self.sync.done, key, state)

    async def done_all(self, keys: Sequence[str]) -> None:
        if keys:
            await self._write(self.sync.done_all, keys)

    async def pending(self) -> list[Intent]:
        return await anyio.to_thread.run_sync(self.sync.pending)

    async def events(self, rows: Sequence[tuple[str, str | None, dict[str, Any]]]) -> None:
        """Append audit events ``(kind, task_id, payload)``."""

        def record() -> None:
            for kind, task_id, payload in rows:
                self.sync.event(kind, task_id, **payload)

        if rows:
            await self._write(record)

    async def mark(self, key: str, value: str) -> bool:
        return await self._write(self.sync.mark, key, value)

    async def set_mark(self, key: str, value: str) -> None:
        await self._write(self.sync.set_mark, key, value)

    async def marks(self, prefix: str) -> dict[str, str]:
        return await anyio.to_thread.run_sync(self.sync.marks, prefix)

    async def add_cost(
        self, task_id: str, model: str, tokens: Mapping[str, int], usd: float
    ) -> None:
        await self._write(self.sync.add_cost, task_id, model, tokens, usd)
        self.spent_usd += usd

    async def restore_if_missing(self) -> bool:
        """Write the journal file back if someone deleted it (see :meth:`Journal`)."""
        return await anyio.to_thread.run_sync(self.sync.restore_if_missing)
