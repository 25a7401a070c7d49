"""Faults of the daemon's surroundings, each said once when it starts and once when it ends.

- The plan file deleted, emptied, or its directory renamed: a warning (``plan_missing``)
  once it has lasted a moment (an editor may be between deleting and writing), then
  ``plan_found``; the daemon keeps the last good plan meanwhile.
- The base branch missing: task worktrees cannot be made, so nothing more starts and the
  tasks already starting wait for it (``base_branch_missing``, then ``base_branch_found``)
  instead of failing. It is checked only once a worktree creation ran into it, so a healthy
  run pays nothing for this.
- The lock or the journal deleted under the running daemon (``rm -r .baton``): put back,
  and said.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio
import structlog

from orchestrator._lock import AlreadyRunning
from orchestrator.config import Config
from orchestrator.scheduler import StartTask
from orchestrator.worktrees import BaseBranchMissing, EnsureResult
from protocol import Task

if TYPE_CHECKING:
    from orchestrator.daemon import Daemon

log = structlog.get_logger()

_SETTLE_SECONDS = 0.15  # how long the plan must stay gone before it is said
_BASE_POLL_SECONDS = 1.0  # how often a task waiting for the base branch looks again


# -- the plan --------------------------------------------------------------------------------


async def plan_unreadable(d: Daemon) -> None:
    """The plan could not be read: once it stays so for a moment, say why (once)."""
    if d.plan_gone:
        return
    await anyio.sleep(_SETTLE_SECONDS)
    reason = await anyio.to_thread.run_sync(_plan_problem, d.config)
    if reason is None or d.plan_gone:
        return
    d.plan_gone = True
    log.warning("plan_missing", file=str(d.config.plan_path), reason=reason)
    d.report("plan_missing", reason=reason)


def plan_readable(d: Daemon) -> None:
    if d.plan_gone:
        d.plan_gone = False
        log.info("plan_found", file=str(d.config.plan_path))
        d.report("plan_found")


def _plan_problem(config: Config) -> str | None:
    if not config.plan_dir.is_dir():
        return f"the plan directory is gone (renamed or removed): {config.plan_dir}"
    try:
        size = config.plan_path.stat().st_size
    except FileNotFoundError:
        return "the plan file is gone (deleted or renamed); the last good plan stays in force"
    return "the plan file is empty; the last good plan stays in force" if size == 0 else None


# -- the base branch -------------------------------------------------------------------------


async def worktree_for(d: Daemon, task: Task) -> EnsureResult:
    """The task's worktree; while the base branch is missing, wait for it to exist again."""
    while True:
        try:
            return await d.worktrees.ensure(task.worktree, task.branch)
        except BaseBranchMissing as exc:
            _base_missing(d, exc.branch, task.id)
        # Polled: nothing tells us when a person creates the branch again.
        while await d.worktrees.missing_base() is not None:  # noqa: ASYNC110
            await anyio.sleep(_BASE_POLL_SECONDS)
        _base_found(d)


async def hold_starts(d: Daemon, actions: Sequence[object]) -> Sequence[object]:
    """``actions`` without its starts while the base branch is known to be missing."""
    if d.base_missing is None or not any(isinstance(a, StartTask) for a in actions):
        return actions
    if await d.worktrees.missing_base() is None:
        _base_found(d)
        return actions
    return [a for a in actions if not isinstance(a, StartTask)]


def _base_missing(d: Daemon, branch: str, task_id: str) -> None:
    if d.base_missing is None:
        reason = "no task starts until it exists again; none is failed for it"
        log.error("base_branch_missing", branch=branch, task_id=task_id, reason=reason)
        d.report("base_branch_missing", branch=branch, task_id=task_id)
    d.base_missing = branch


def _base_found(d: Daemon) -> None:
    if d.base_missing is not None:
        log.info("base_branch_found", branch=d.base_missing)
        d.report("base_branch_found", branch=d.base_missing)
        d.base_missing = None
        d.reconsider()  # the starts held back meanwhile


# -- .baton/ ---------------------------------------------------------------------------------


async def check_state_dir(d: Daemon) -> None:
    """The lock and the journal are files a person can delete under the daemon: say so and
    put them back (the open database still holds every row). Nothing is made while the
    plan directory itself is gone: that would create a new directory at the old name."""
    if not await anyio.to_thread.run_sync(d.config.plan_dir.is_dir):
        return
    if await anyio.to_thread.run_sync(d.lock.lost):
        try:
            await anyio.to_thread.run_sync(d.lock.retake)
        except AlreadyRunning as exc:
            log.error("lock_lost", file=str(d.lock.path), reason=str(exc))
            d.stop(1)  # two daemons on one directory would start every task twice
            return
        log.warning("lock_missing", file=str(d.lock.path), action="taken again")
    assert d.journal is not None
    if await anyio.to_thread.run_sync(d.journal.restore_if_missing):
        path = str(d.journal.path)
        log.error("journal_missing", file=path, action="written back from the open database")
        d.report("journal_missing", file=path)
