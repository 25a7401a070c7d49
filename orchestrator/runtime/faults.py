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

from collections.abc import Callable, Sequence

import anyio
import structlog

from orchestrator.adapters.merge_inputs import Input
from orchestrator.adapters.run_lock import AlreadyRunning, RunLock
from orchestrator.adapters.worktrees import BaseBranchMissing, EnsureResult
from orchestrator.config import Config
from orchestrator.decisions.actions import Action, StartTask
from orchestrator.runtime.services import Services
from protocol import Task

log = structlog.get_logger()

_SETTLE_SECONDS = 0.15  # how long the plan must stay gone before it is said
_BASE_POLL_SECONDS = 1.0  # how often a task waiting for the base branch looks again


class Faults:
    """What is wrong around the run now, and saying it once. ``reconsider`` asks for a new
    decision on an unchanged plan; ``stop`` ends the run with an exit code."""

    def __init__(
        self,
        services: Services,
        lock: RunLock,
        *,
        reconsider: Callable[[], None],
        stop: Callable[[int], None],
    ) -> None:
        self._s = services
        self._lock = lock
        self._reconsider = reconsider
        self._stop = stop
        self.plan_gone = False  # the plan file or its directory is gone, and that was said
        self.base_missing: str | None = None  # the base branch, while it is known missing

    # -- the plan ----------------------------------------------------------------------------

    async def plan_unreadable(self) -> None:
        """The plan could not be read: once it stays so for a moment, say why (once)."""
        if self.plan_gone:
            return
        await anyio.sleep(_SETTLE_SECONDS)
        config = self._s.config()
        reason = await anyio.to_thread.run_sync(_plan_problem, config)
        if reason is None or self.plan_gone:
            return
        self.plan_gone = True
        self._s.report("plan_missing", level="warning", file=str(config.plan_path), reason=reason)

    def plan_readable(self) -> None:
        if self.plan_gone:
            self.plan_gone = False
            self._s.report("plan_found", file=str(self._s.config().plan_path))

    # -- the base branch ---------------------------------------------------------------------

    async def worktree_for(self, task: Task) -> EnsureResult:
        """The task's worktree; while the base branch is missing, wait for it to exist again."""
        worktrees = self._s.worktrees
        inputs = task_inputs(self._s, task)
        merge = self._s.config().inputs_for(task.id, task.role) == "merge"
        while True:
            try:
                return await worktrees.ensure(task.worktree, task.branch, inputs, merge=merge)
            except BaseBranchMissing as exc:
                self._base_missing(exc.branch, task.id)
            # Polled: nothing tells us when a person creates the branch again.
            while await worktrees.missing_base() is not None:  # noqa: ASYNC110
                await anyio.sleep(_BASE_POLL_SECONDS)
            self._base_found()

    async def hold_starts(self, actions: Sequence[Action]) -> Sequence[Action]:
        """``actions`` without its starts while the base branch is known to be missing."""
        if self.base_missing is None or not any(isinstance(a, StartTask) for a in actions):
            return actions
        if await self._s.worktrees.missing_base() is None:
            self._base_found()
            return actions
        return [a for a in actions if not isinstance(a, StartTask)]

    def _base_missing(self, branch: str, task_id: str) -> None:
        if self.base_missing is None:
            reason = "no task starts until it exists again; none is failed for it"
            self._s.report(
                "base_branch_missing", level="error", branch=branch, task_id=task_id, reason=reason
            )
        self.base_missing = branch

    def _base_found(self) -> None:
        if self.base_missing is not None:
            self._s.report("base_branch_found", branch=self.base_missing)
            self.base_missing = None
            self._reconsider()  # the starts held back meanwhile

    # -- .baton/ -----------------------------------------------------------------------------

    async def check_state_dir(self) -> None:
        """The lock and the journal are files a person can delete under the daemon: say so
        and put them back (the open database still holds every row). Nothing is made while
        the plan directory itself is gone: that would create a new directory at the old
        name."""
        if not await anyio.to_thread.run_sync(self._s.config().plan_dir.is_dir):
            return
        lock = self._lock
        if await anyio.to_thread.run_sync(lock.lost):
            try:
                await anyio.to_thread.run_sync(lock.retake)
            except AlreadyRunning as exc:
                log.error("lock_lost", file=str(lock.path), reason=str(exc))
                self._stop(1)  # two daemons on one directory would start every task twice
                return
            log.warning("lock_missing", file=str(lock.path), action="taken again")
        journal = self._s.journal
        if await journal.restore_if_missing():
            path = str(journal.path)
            action = "written back from the open database"
            self._s.report("journal_missing", level="error", file=path, action=action)


def task_inputs(s: Services, task: Task) -> list[Input]:
    """The task's dependencies' work, in the plan's order of its dependencies: what a new
    branch of the task starts from (docs/user-guide.md, "Inputs along the edges")."""
    plan = s.plan()
    out: list[Input] = []
    for dep_id in task.dependencies:
        dep = plan.task(dep_id) if plan is not None else None
        if dep is not None and dep.branch and dep.worktree:
            out.append(Input(dep.id, dep.branch, s.parent / dep.worktree))
    return out


def _plan_problem(config: Config) -> str | None:
    if not config.plan_dir.is_dir():
        return f"the plan directory is gone (renamed or removed): {config.plan_dir}"
    try:
        size = config.plan_path.stat().st_size
    except FileNotFoundError:
        return "the plan file is gone (deleted or renamed); the last good plan stays in force"
    return "the plan file is empty; the last good plan stays in force" if size == 0 else None
