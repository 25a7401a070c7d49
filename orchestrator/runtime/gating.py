"""Done means gated (docs/user-guide.md, "Quality gates"): when an agent reports its task
Completed, the gates that apply to it run on its worktree, in the agent's own slot, while
the task stays In Progress. All mandatory ones pass: Completed, with a one-line summary in
the log row's Notes. One fails: the agent is told, as a Directive with the gate, its
numbers and the end of its output, and tries again; after ``gates.retries`` fix rounds the
task is Blocked with a Technical blocker (Escalation: Yes).

Each round is journaled: its start (so a restart re-runs a round a crash interrupted, not
a new one) and its results (recorded once, with the ``gate_passed``/``gate_failed`` events).
Outputs are kept in ``.baton/gates/<task>/<attempt>/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from agents import TaskBrief
from agents.base import GATE_BLOCKED
from orchestrator.gates import plan_thresholds
from orchestrator.gates.run import GateOutcome, run_gate
from orchestrator.runtime.services import Services
from protocol.prose import read_prose

log = structlog.get_logger()

__all__ = [
    "GateVerdict",
    "gate_completion",
    "gate_results",
    "last_rounds",
    "pass_rate",
    "passed_checks",
    "run_task_gates",
]


@dataclass(frozen=True)
class GateVerdict:
    passed: bool
    summary: str  # "tests 42/42 · cov 83%"
    round: int
    directive: str = ""  # what the agent is told when it did not pass
    blocked: bool = False  # no fix round is left
    outcomes: tuple[GateOutcome, ...] = ()

    @property
    def failed(self) -> list[GateOutcome]:
        return [o for o in self.outcomes if not o.passed and o.mandatory]


def _key(kind: str, task_id: str, attempt: int, round_: int | None = None) -> str:
    tail = "" if round_ is None else f"{round_:03d}"
    return f"gate_{kind}:{task_id}:{attempt}:{tail}"


async def run_task_gates(
    s: Services, brief: TaskBrief, round_: int, when: str = "done"
) -> list[GateOutcome] | None:
    """Run the gates of ``brief``'s task in its worktree; None when none applies."""
    plan, config = s.plan(), s.config()
    task = plan.task(brief.task_id) if plan is not None else None
    if plan is None or task is None:
        return None
    specs = config.gates.for_task(task.id, task.role, task.group or "", when)
    if not specs:
        return None
    thresholds, _ = plan_thresholds(read_prose(plan).gate_thresholds.text)
    out = config.state_dir / "gates" / task.id / str(brief.attempt)
    env = {"BATON_TASK_ID": task.id, "BATON_WORKTREE": str(brief.worktree)}
    outcomes = []
    for spec in specs:
        log.info("gate_running", gate=spec.name, round=round_)
        outcomes.append(await run_gate(spec, brief.worktree, out, round_, thresholds, env))
    return outcomes


async def gate_completion(s: Services, brief: TaskBrief) -> GateVerdict | None:
    """Gate the completion the agent of ``brief`` reports; None when no gate applies."""
    task_id, attempt = brief.task_id, brief.attempt
    round_ = await _this_round(s, task_id, attempt)
    outcomes = await run_task_gates(s, brief, round_)
    if outcomes is None:
        return None
    value = json.dumps([o.to_json() for o in outcomes])
    if await s.journal.mark(_key("result", task_id, attempt, round_), value):
        rows = []
        for o in outcomes:
            event = "gate_passed" if o.passed else "gate_failed"
            fields = {
                "gate": o.name,
                "attempt": attempt,
                "round": round_,
                "numbers": dict(o.numbers),
            }
            if not o.passed:
                fields |= {"failed": list(o.failed), "log": o.log}
            rows.append((event, task_id, fields))
            s.report(event, level="info" if o.passed else "warning", task_id=task_id, **fields)
        await s.journal.events(rows)
    summary = " · ".join(o.summary for o in outcomes)
    failed = [o for o in outcomes if not o.passed and o.mandatory]
    if not failed:
        return GateVerdict(True, summary, round_, outcomes=tuple(outcomes))
    retries = s.config().gates.retries
    # Every retries + 1 rounds Blocked: once a person resolved it, the fix rounds start over.
    blocked = round_ % (retries + 1) == 0
    return GateVerdict(
        False, summary, round_, _directive(failed, round_, retries), blocked, tuple(outcomes)
    )


async def gate_results(
    s: Services, task_id: str, attempt: int | None = None
) -> list[dict[str, object]]:
    """The results of the task's last gate round (of ``attempt``, else of any), as
    journaled; empty when no gate ran."""
    prefix = f"gate_result:{task_id}:" + ("" if attempt is None else f"{attempt}:")
    marks = await s.journal.marks(prefix)
    if not marks:
        return []

    def order(key: str) -> tuple[int, int]:
        _, _, a, r = key.split(":")
        return int(a), int(r)

    last = max(marks, key=order)
    data = json.loads(marks[last])
    return data if isinstance(data, list) else []


async def pass_rate(s: Services) -> float | None:
    """The share of mandatory gate runs (every round of every task) that passed; None when
    no gate ran."""
    runs = [
        bool(r["passed"])
        for value in (await s.journal.marks("gate_result:")).values()
        for r in json.loads(value)
        if r.get("mandatory", True)
    ]
    return sum(runs) / len(runs) if runs else None


def last_rounds(marks: Mapping[str, str]) -> dict[str, str]:
    """Per task, the journaled ``gate_result:<task>:<attempt>:<round>`` value of its last
    round (of its last attempt)."""
    last: dict[str, tuple[tuple[int, int], str]] = {}
    for key, value in marks.items():
        _, task_id, attempt, round_ = key.split(":")
        order = (int(attempt), int(round_))
        if task_id not in last or order > last[task_id][0]:
            last[task_id] = (order, value)
    return {task_id: value for task_id, (_, value) in last.items()}


async def passed_checks(s: Services) -> dict[str, set[str]]:
    """Per task, the checks whose gates all passed in its last round (of its last attempt)."""
    out: dict[str, set[str]] = {}
    for task_id, value in last_rounds(await s.journal.marks("gate_result:")).items():
        results = json.loads(value)
        checks = {str(r["check"]) for r in results}
        out[task_id] = {c for c in checks if all(r["passed"] for r in results if r["check"] == c)}
    return out


async def _this_round(s: Services, task_id: str, attempt: int) -> int:
    """The round to run now: the one a crash interrupted, else the next; journaled."""
    started = await s.journal.marks(_key("start", task_id, attempt))
    done = await s.journal.marks(_key("result", task_id, attempt))
    rounds = sorted(int(k.rsplit(":", 1)[1]) for k in started)
    if rounds and _key("result", task_id, attempt, rounds[-1]) not in done:
        return rounds[-1]
    round_ = rounds[-1] + 1 if rounds else 1
    await s.journal.mark(_key("start", task_id, attempt, round_), str(round_))
    return round_


def _directive(failed: Sequence[GateOutcome], round_: int, retries: int) -> str:
    lines: list[str] = []
    for o in failed:
        lines.append(f"Gate {o.name} failed: {'; '.join(o.failed)} (output: {o.log}).")
    n = round_ % (retries + 1)
    if n:
        lines.append(f"Fix it and complete the task again (fix round {n} of {retries}).")
    else:
        lines.append(f"No fix round is left ({retries} used): the task is Blocked.")
    tails = [
        f"--- end of {o.name}'s output ---\n{o.tail.strip()[-1500:]}" for o in failed if o.tail
    ]
    prefix = GATE_BLOCKED if not n else ""
    return prefix + "\n".join(lines) + ("\n\n" + "\n\n".join(tails) if tails else "")
