"""The agent interface: one coroutine per running task, with an inbox (docs/contract.md sec. 6).

Agents see the daemon only through :class:`AgentContext`, which the daemon implements: every
status, message and blocker goes through it into the files, so the markdown stays the truth
whatever the backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from protocol import Message


@dataclass(frozen=True)
class TaskBrief:
    """What an agent is told about its task when it starts."""

    task_id: str
    agent_id: str
    attempt: int
    role: str
    description: str
    skills: tuple[str, ...]
    branch: str
    worktree: Path
    dependencies: tuple[str, ...]
    model: str | None = None

    def render(self) -> str:
        """The brief as text (stdin of a command agent, first user turn of a model)."""
        lines = [
            f"Task {self.task_id}: {self.description}",
            f"Role: {self.role}",
            f"Agent id: {self.agent_id}",
            f"Branch: {self.branch} (worktree {self.worktree})",
        ]
        if self.skills:
            lines.append(f"Skills: {', '.join(self.skills)}")
        if self.dependencies:
            lines.append(f"Depends on: {', '.join(self.dependencies)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Blocker:
    """A blocker as the template's Notes and Blockers section records it."""

    severity: str
    kind: str  # Dependency / Decision / Technical / Resource
    description: str
    resolution: str
    escalate: bool
    escalation_note: str = ""


class AgentContext(Protocol):
    """What a running agent may do; implemented by the daemon."""

    brief: TaskBrief

    async def next_message(self) -> Message:
        """Wait for the next inbox message (handoffs, directives, answers).

        Callers that want a time limit wrap the call in ``anyio.move_on_after``.
        """
        ...

    def pending_messages(self) -> Sequence[Message]:
        """Inbox messages already delivered and not yet taken, without waiting."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    async def write_file(self, relative: str, content: str) -> Path:
        """Write a file inside the worktree (the path is confined to it)."""
        ...

    async def commit(self, message: str) -> str | None:
        """Commit everything in the worktree; the commit id, or None when nothing changed."""
        ...

    async def send_message(
        self,
        to: str,
        type: str,
        text: str,
        *,
        body: str = "",
        priority: str | None = None,
        deadline: str | None = None,
    ) -> None: ...

    async def sent_messages(self) -> Sequence[Message]:
        """The messages this agent sent for its task during this attempt, as the log holds
        them. An agent resumed after a restart looks here so as not to send one twice."""
        ...

    async def report_blocker(self, blocker: Blocker) -> None:
        """Record a blocker entry in the plan and set the task Blocked."""
        ...

    async def complete(self, summary: str) -> None:
        """Commit what is uncommitted and set the task Completed."""
        ...

    async def fail(self, reason: str) -> None:
        """Set the task Failed with the reason in the execution log."""
        ...

    async def record_usage(self, model: str, tokens: Mapping[str, int], usd: float) -> None:
        """Journal one model call's tokens and cost against the task and the run."""
        ...

    def budget_left(self) -> float | None:
        """Dollars left in the run's budget, or None when there is no budget."""
        ...


class Agent(Protocol):
    """A backend's agent for one task attempt."""

    async def run(self, ctx: AgentContext) -> None:
        """Do the task; return after calling complete() or fail(), or when cancelled."""
        ...
