"""The agent interface: one coroutine per running task, with an inbox (docs/contract.md sec. 6).

Agents see the daemon only through :class:`AgentContext`, which the daemon implements: every
status, message and blocker goes through it into the files, so the markdown stays the truth
whatever the backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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
    # The dependencies' worktrees (task id, path): read only for the agent.
    inputs: tuple[tuple[str, Path], ...] = ()
    text: str = ""  # the full brief, rendered once per attempt (docs/user-guide.md)
    stable: str = ""  # its part that stays the same across attempts (a prompt-cache prefix)

    def render(self) -> str:
        """The brief as text: the system prompt of a model, stdin of a command agent, the
        brief file of a manual task. A short form when no full brief was rendered."""
        if self.text:
            return self.text
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


# How the refusal of a completion starts when no fix round is left and the task is Blocked.
GATE_BLOCKED = "Blocked: "


@dataclass(frozen=True)
class Blocker:
    """A blocker as the template's Notes and Blockers section records it."""

    severity: str
    kind: str  # Dependency / Decision / Technical / Resource
    description: str
    resolution: str
    escalate: bool
    escalation_note: str = ""


@dataclass(frozen=True)
class Validation:
    """What the agent states about its work's checks; None where it states nothing."""

    tests_passed: int | None = None
    tests_total: int | None = None
    lint_errors: int | None = None
    docs_updated: bool | None = None
    self_review: bool | None = None


@dataclass(frozen=True)
class HandoffReport:
    """The parts of a Handoff only the agent knows (Baton adds branch, commits and files)."""

    notes: str = ""  # Notes for Downstream
    artifacts: tuple[str, ...] = ()
    references: tuple[str, ...] = ()  # Context References, ``@path:line``
    validation: Validation = Validation()

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> HandoffReport:
        """Read a report from loose fields (a tool call's input, a script step, the
        journal's copy); what is missing or of the wrong type is left unstated."""
        checks = fields.get("validation")
        checks = checks if isinstance(checks, Mapping) else fields

        def number(key: str) -> int | None:
            value = checks.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        def flag(key: str) -> bool | None:
            value = checks.get(key)
            return value if isinstance(value, bool) else None

        def strings(key: str) -> tuple[str, ...]:
            value = fields.get(key) or ()
            if isinstance(value, str):
                value = [value]
            return tuple(str(v) for v in value if str(v).strip())

        notes = fields.get("notes_for_downstream", fields.get("notes", ""))
        return cls(
            notes=str(notes or ""),
            artifacts=strings("artifacts"),
            references=strings("context_references") or strings("references"),
            validation=Validation(
                number("tests_passed"),
                number("tests_total"),
                number("lint_errors"),
                flag("docs_updated"),
                flag("self_review"),
            ),
        )


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

    async def complete(self, summary: str, report: HandoffReport | None = None) -> str | None:
        """Commit what is uncommitted and set the task Completed; ``report`` goes into the
        Handoff sent to the tasks downstream. When a quality gate fails, the task is not
        Completed: the return value says why (the gate, its numbers, the end of its output)
        and the agent should fix it and complete again; None when it was accepted."""
        ...

    async def write_plan_line(self, prefix: str, line: str) -> bool:
        """Replace the plan's first line that starts with ``prefix`` by ``line`` (the
        Integration Summary's ``**Decision:**``, a checklist box); False when none does."""
        ...

    async def fail(self, reason: str, *, output: str = "") -> None:
        """Set the task Failed with the reason in the execution log; ``output`` (what
        failed, e.g. a command's last lines) goes into the next attempt's brief."""
        ...

    async def record_usage(self, model: str, tokens: Mapping[str, int], usd: float) -> None:
        """Journal one model call's tokens and cost against the task and the run."""
        ...

    def budget_left(self) -> float | None:
        """Dollars left in the run's budget, or None when there is no budget."""
        ...

    async def remember(self, key: str, value: str) -> None:
        """Journal ``value`` for this attempt (a CLI's session id), to survive a restart."""
        ...

    async def recall(self, key: str) -> str | None:
        """What :meth:`remember` journaled for this attempt under ``key``, if anything."""
        ...


class Agent(Protocol):
    """A backend's agent for one task attempt."""

    async def run(self, ctx: AgentContext) -> None:
        """Do the task; return after calling complete() or fail(), or when cancelled."""
        ...
