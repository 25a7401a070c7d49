"""``baton run --rebuild-journal``: a new journal from the plan and the message log.

The broken file is moved aside (``journal.sqlite3.broken-<time>``), never deleted. What the
files say is written back as the journal would have held it, so that nothing already in the
message log is sent again:

- a task's attempt is one more than the Handoffs the Orchestrator sent for it (each
  completion sends one), or that count for a Completed task;
- Completed and Failed tasks are finished; a Completed task that has downstream tasks but
  whose Handoff is not in the log is left unfinished, so that it is finished (and its
  Handoff sent) once more; In Progress and Blocked tasks are Baton's and resume;
- a blocker whose Resolution the log already carries as a Directive, and a passed deadline
  whose notice is in the log, are marked done.

What the files cannot tell is lost with the broken journal: what the model calls cost, and
when each open blocker was first seen (its SLA timer starts again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

from orchestrator.adapters.journal import Journal, JournalBroken
from orchestrator.adapters.text_files import InputError, read_bytes
from orchestrator.config import Config
from orchestrator.decisions.scheduler import TaskState
from orchestrator.decisions.triage import ORCHESTRATOR, deadline_notice, resolution_text
from protocol import (
    BLOCKED,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    Message,
    Plan,
    check_plan,
    parse_messages,
    parse_plan,
)
from protocol._text import decode_text
from protocol.blockers import entry_key

log = structlog.get_logger()


@dataclass(frozen=True)
class Rebuilt:
    tasks: dict[str, TaskState]
    marks: dict[str, str]


def rebuilt(plan: Plan, messages: Sequence[Message], now: str) -> Rebuilt:
    """The journal's task states and once-only marks, as the two files tell them."""
    own = [m for m in messages if m.sender == ORCHESTRATOR]
    tasks: dict[str, TaskState] = {}
    marks: dict[str, str] = {}
    for task in plan.tasks:
        sent = sum(1 for m in own if m.type == "Handoff" and m.task == task.id)
        marks.update({f"handoff:{task.id}:{n}": now for n in range(1, sent + 1)})
        row = plan.log_row(task.id)
        started_at = row.started if row is not None and row.started else None
        waits_for_it = any(task.id in t.dependencies for t in plan.tasks)
        if task.status == COMPLETED and (sent or not waits_for_it):
            tasks[task.id] = TaskState(max(sent, 1), True, COMPLETED, started_at)
        elif task.status in (COMPLETED, FAILED, IN_PROGRESS, BLOCKED):
            finished = FAILED if task.status == FAILED else None
            tasks[task.id] = TaskState(sent + 1, True, finished, started_at)
        elif sent:  # Not Started again after a completion: the next start is a new attempt
            tasks[task.id] = TaskState(sent)
    directives = {(m.task, m.text) for m in own if m.type == "Directive"}
    for entry in plan.blockers:
        if entry.resolution is not None and (entry.task_id, resolution_text(entry)) in directives:
            marks[f"resolved:{entry_key(entry)}"] = now
    notices = {m.text for m in own if m.type == "Update"}
    for m in messages:
        if m.deadline and deadline_notice(m) in notices:
            marks[f"deadline:{m.id}"] = now
    return Rebuilt(tasks, marks)


def open_or_rebuild(path: Path, config: Config, worktree_parent: Path) -> Journal:
    """Blocking. The journal at ``path`` if it is healthy (kept, with a warning); else the
    broken file moved aside and a new journal rebuilt from the plan and the message log.

    Raises :class:`JournalBroken` when the plan cannot be read to rebuild from.
    """
    if path.exists():
        try:
            journal = Journal(path)
        except JournalBroken as exc:
            reason = exc.reason
        else:
            log.warning("journal_kept", file=str(path), reason="healthy; nothing to rebuild")
            return journal
    else:
        reason = "missing"
    try:
        plan = parse_plan(decode_text(read_bytes(config.plan_path)), file=config.plan_file)
    except InputError as exc:
        raise JournalBroken(path, f"{reason}, and it cannot be rebuilt: {exc}") from None
    errors = check_plan(plan, worktree_parent=str(worktree_parent))
    if errors:
        raise JournalBroken(path, f"{reason}, and it cannot be rebuilt: {errors[0]}")
    messages: tuple[Message, ...] = ()
    if config.messages_path.exists():
        text = decode_text(read_bytes(config.messages_path))
        messages = parse_messages(text, file=config.messages_file).messages
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kept = _move_aside(path, now) if path.exists() else None
    journal = Journal(path)
    state = rebuilt(plan, messages, now)
    journal.seed(state.tasks, state.marks)
    log.warning(
        "journal_rebuilt",
        file=str(path),
        reason=reason,
        broken=str(kept) if kept else None,
        tasks=len(state.tasks),
        marks=len(state.marks),
    )
    return journal


def _move_aside(path: Path, now: str) -> Path:
    """Rename the broken journal (and its WAL and shared-memory files) out of the way."""
    stamp = now.replace("-", "").replace(":", "")
    kept = path.with_name(f"{path.name}.broken-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(kept.with_name(kept.name + suffix))
    return kept
