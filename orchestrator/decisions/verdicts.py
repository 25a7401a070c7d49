"""What an agent's end means for its task: the events an agent run produces, and the
actions they lead to. With the scheduler's start and the triage's Blocked and In Progress,
these are all the ways Baton changes a task's Status; the executor's ``SetTaskStatus`` case
is the one place that writes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.decisions.actions import Action, RecordBlocker, SetTaskStatus, TickChecklist
from protocol import BLOCKED, COMPLETED, FAILED, IN_PROGRESS, ChecklistItem

ACTIVE = (IN_PROGRESS, BLOCKED)  # the statuses of a task whose agent is at work


@dataclass(frozen=True)
class Completed:
    task_id: str
    summary: str
    ticks: tuple[ChecklistItem, ...] = ()  # phase criteria its gates proved, with the others'


@dataclass(frozen=True)
class Failed:
    task_id: str
    reason: str


@dataclass(frozen=True)
class BlockerReported:
    task_id: str
    agent_id: str
    timestamp: str  # ``YYYY-MM-DD HH:MM``
    fields: Mapping[str, str]


@dataclass(frozen=True)
class WorktreeFailed:
    task_id: str
    reason: str


@dataclass(frozen=True)
class Crashed:
    task_id: str
    error: str


@dataclass(frozen=True)
class EndedWithoutVerdict:
    task_id: str


@dataclass(frozen=True)
class GateRefused:
    """A quality gate failed the completion; a fix round is left (the task stays)."""

    task_id: str
    directive: str


AgentEvent = (
    Completed
    | Failed
    | BlockerReported
    | WorktreeFailed
    | Crashed
    | EndedWithoutVerdict
    | GateRefused
)


def on_agent_event(event: AgentEvent) -> list[Action]:
    """The actions an agent's event leads to (each status change only from the statuses an
    agent at work can be in: a person's edit in the meantime wins)."""
    match event:
        case Completed(task_id, summary, ticks):
            done: list[Action] = [SetTaskStatus(task_id, COMPLETED, ACTIVE, summary)]
            return done + ([TickChecklist(ticks)] if ticks else [])
        case Failed(task_id, reason) | WorktreeFailed(task_id, reason):
            return [SetTaskStatus(task_id, FAILED, ACTIVE, reason)]
        case BlockerReported(task_id, agent_id, timestamp, fields):
            return [
                RecordBlocker(task_id, agent_id, timestamp, fields),
                SetTaskStatus(task_id, BLOCKED, ACTIVE),
            ]
        case Crashed(task_id, error):
            return [SetTaskStatus(task_id, FAILED, ACTIVE, f"agent crashed: {error}")]
        case GateRefused():
            return []  # the agent was told; it stays In Progress for its fix round
        case EndedWithoutVerdict(task_id):
            note = "agent ended without completing the task"
            return [SetTaskStatus(task_id, FAILED, (IN_PROGRESS,), note)]
