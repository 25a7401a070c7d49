"""What the parts of a run share, handed to each as one frozen bundle instead of the daemon.

Nothing here reaches back into its owner: a router, an agent pool or the executor is built
from a :class:`Services` (and the few callables it needs), so a test can build it alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.adapters.async_journal import AsyncJournal
from orchestrator.adapters.clock import Clock
from orchestrator.adapters.filestore import Store
from orchestrator.adapters.worktrees import Worktrees
from orchestrator.config import Config
from orchestrator.decisions.scheduler import run_budget
from orchestrator.runtime.plan_writer import PlanWriter
from orchestrator.runtime.reporter import Reporter
from protocol import Plan


@dataclass(frozen=True)
class Services:
    config: Callable[[], Config]  # the config in force (SIGHUP replaces it)
    plan: Callable[[], Plan | None]  # the last plan that checked out
    clock: Clock
    store: Store  # retrying: a write the disk refuses is tried again until it lands
    journal: AsyncJournal  # also the money spent: ``journal.spent_usd``
    writer: PlanWriter
    report: Reporter
    worktrees: Worktrees
    parent: Path  # where the worktrees live

    def budget(self) -> float | None:
        """The run's budget in dollars: baton.toml's, else the plan's Constraints."""
        return run_budget(self.config().budget_usd, self.plan())
