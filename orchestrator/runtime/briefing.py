"""Gathering what an attempt's brief is rendered from, and where it is kept
(docs/user-guide.md, "Briefs and handoffs").

The pure :func:`orchestrator.decisions.brief.render_brief` gets the plan, the task, the
Handoffs of its dependencies (from the message log, or the one Baton is about to send when
the log does not hold it yet), the budget left, the slots, the backend's way of reporting
and the previous attempt's failure. The text is scrubbed of anything shaped like a secret
and of absolute paths outside the plan directory, the worktree parent and ``.baton/``,
then written to ``.baton/briefs/<task>.md``, which ``task_started`` and ``baton status``
name.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import anyio
import structlog

from agents import Agent, HandoffReport, TaskBrief
from orchestrator.adapters.clock import iso
from orchestrator.adapters.logs import redact_text
from orchestrator.config import Config
from orchestrator.decisions.actions import SendMessage
from orchestrator.decisions.brief import (
    BriefInputs,
    PastAttempt,
    Received,
    received,
    render_brief,
    reporting,
)
from orchestrator.decisions.handoff import Changes, GateResult, handoff_message
from orchestrator.gates import plan_thresholds
from orchestrator.gates.reports import METRICS
from orchestrator.gates.run import applicable, summarize
from orchestrator.gates.spec import GateSpec
from orchestrator.runtime.agent_context import failure_key, recorded_inputs, report_key
from orchestrator.runtime.gating import gate_results
from orchestrator.runtime.services import Services
from protocol import Message, Plan, Task
from protocol.prose import read_prose

log = structlog.get_logger()

_ABSOLUTE = re.compile(r"(?<![\w.~/-])(?:~|/[A-Za-z0-9_.@+-]+)(?:/[A-Za-z0-9_.@+-]+)*/?")
OUTSIDE = "[path outside the plan]"


def brief_path(state_dir: Path, task_id: str) -> Path:
    """Where an attempt's brief is kept: ``.baton/briefs/<task>.md``."""
    return state_dir / "briefs" / f"{task_id}.md"


async def gather_handoff(
    s: Services, plan: Plan, task: Task, attempt: int, known: Sequence[Message]
) -> SendMessage:
    """The Handoff of ``task``'s completed ``attempt``: git's view of its branch and what its
    agent stated when it completed."""
    changes: Changes | None
    try:
        c = await s.worktrees.changes(task.worktree)
    except Exception as exc:  # no worktree (a person did it by hand), or git failed
        log.info("handoff_without_git", task_id=task.id, reason=str(exc))
        changes = None
    else:
        changes = Changes(c.commit_count, c.lines_added, c.lines_removed, c.files)
    key = report_key(task.id, attempt)
    fields = json.loads((await s.journal.marks(key)).get(key) or "{}")
    gates: Sequence[GateResult] = [
        GateResult(str(r["name"]), str(r["check"]), bool(r["passed"]), _detail(r))
        for r in await gate_results(s, task.id, attempt)
    ]
    _, unmerged = await recorded_inputs(s, task.id)
    return handoff_message(
        plan,
        task,
        known,
        changes,
        HandoffReport.from_fields(fields),
        summary=str(fields.get("summary") or ""),
        gates=gates,
        unmerged=[u.describe() for u in unmerged],
    )


def _gate_lines(plan: Plan, task: Task, config: Config) -> list[str]:
    """The gates that will run on the task's branch when it reports Completed."""
    specs = config.gates.for_task(task.id, task.role, task.group or "")
    thresholds, _ = plan_thresholds(read_prose(plan).gate_thresholds.text)
    out = []
    for spec in specs:
        bounds = ", ".join(str(t) for t in applicable(spec, thresholds, _reported(spec)))
        kind = "mandatory" if spec.mandatory else "minor"
        out.append(f"{spec.name} ({kind}): `{' '.join(spec.argv)}`, {spec.report}; {bounds}")
    if out:
        out.append(
            f"A failing gate comes back to you as a Directive; after {config.gates.retries} "
            "fix rounds the task is Blocked."
        )
    return out


def _reported(spec: GateSpec) -> dict[str, float]:
    known = METRICS.get(spec.report, ())
    return dict.fromkeys(known or [t.metric for t in spec.thresholds], 0.0)


def _detail(result: Mapping[str, Any]) -> str:
    numbers = result.get("numbers") or {}
    passed = bool(result.get("passed"))
    return summarize(str(result["name"]), str(result["check"]), numbers, passed)


class Briefing:
    """Renders and keeps each attempt's brief. ``known`` is every message read this run."""

    def __init__(self, services: Services, known: Callable[[], Iterable[Message]]) -> None:
        self._s = services
        self._known = known

    async def brief(self, brief: TaskBrief, task: Task, agent: Agent) -> TaskBrief:
        s = self._s
        plan, config = s.plan(), s.config()
        assert plan is not None
        budget = s.budget()
        merged, unmerged = await recorded_inputs(s, task.id)
        inputs = BriefInputs(
            plan,
            task,
            brief.attempt,
            handoffs=await self._handoffs(plan, task),
            budget_left=None if budget is None else budget - s.journal.spent_usd,
            slots=config.max_agents or plan.constraints.agent_slots or 4,
            reporting=reporting(getattr(agent, "backend", "manual"), task.id, brief.agent_id),
            previous=await self._previous(task.id, brief.attempt),
            gates=_gate_lines(plan, task, config),
            merged=merged,
            unmerged=[u.describe() for u in unmerged],
            limit=config.brief_max_bytes,
        )
        rendered = render_brief(inputs)
        roots = (config.plan_dir, s.parent, config.state_dir)
        stable = scrub(rendered.stable, roots)
        text = stable + scrub(rendered.variable, roots)
        path = brief_path(config.state_dir, task.id)
        try:
            await anyio.to_thread.run_sync(_write, path, text)
        except OSError as exc:  # the agent still gets its brief; the file is for people
            log.warning("brief_not_written", path=str(path), reason=exc.strerror or str(exc))
        return replace(brief, text=text, stable=stable)

    async def _handoffs(self, plan: Plan, task: Task) -> list[Received]:
        s, known = self._s, list(self._known())
        messages = s.config().messages_file
        out: list[Received] = []
        for dep_id in task.dependencies:
            logged = sorted(
                (m for m in known if m.type == "Handoff" and m.task == dep_id),
                key=lambda m: m.line,
            )
            out += [received(m, messages) for m in logged]
            dep = plan.task(dep_id)
            baton_sent = any(m.sender == "Orchestrator" for m in logged)
            if dep is None or baton_sent or dep_id not in s.journal.states:
                continue
            # Baton's own Handoff goes out in the background: tell what it will say.
            attempt = s.journal.states[dep_id].attempt
            send = await gather_handoff(s, plan, dep, attempt, known)
            words = f"{send.text}\n\n{send.body}"
            now = iso(s.clock.now())
            out.append(Received(dep_id, "Orchestrator", now, words, "your inbox (a Handoff)"))
        return out

    async def _previous(self, task_id: str, attempt: int) -> PastAttempt | None:
        marks = await self._s.journal.marks(failure_key(task_id, 0)[:-6])
        earlier = [
            json.loads(v) for k, v in sorted(marks.items()) if k < failure_key(task_id, attempt)
        ]
        if not earlier:
            return None
        last = earlier[-1]
        return PastAttempt(int(last["attempt"]), str(last["reason"]), str(last.get("output", "")))


def scrub(text: str, roots: Sequence[Path]) -> str:
    """``text`` without secret-shaped strings, and with each absolute path that is not under
    one of ``roots`` replaced (an absolute-looking word whose first folder does not exist,
    such as an URL path, is left as it is)."""
    allowed = [str(r.resolve()) for r in roots]

    def path(m: re.Match[str]) -> str:
        word = m.group(0)
        if word.startswith("~"):
            return OUTSIDE
        if any(word == a or word.startswith(a.rstrip("/") + "/") for a in allowed):
            return word
        return OUTSIDE if _top_exists(word.split("/")[1]) else word

    return _ABSOLUTE.sub(path, redact_text(text))


@cache
def _top_exists(name: str) -> bool:
    return bool(name) and os.path.exists("/" + name)


def _write(path: Path, text: str) -> None:
    # Only briefs/ is made: a missing .baton/ (its directory moved away) is not re-created
    # at the old path.
    path.parent.mkdir(exist_ok=True)
    temp = path.with_suffix(".md.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)
