"""Carrying out a GO (docs/user-guide.md, "From Integration to Completed"): integrate the
selected work into the base branch, archive the rejected alternatives, write
``INTEGRATION_REPORT.md`` and finish the plan. Journaled: the intent is recorded before git
is touched and the outcome after, so a restart after ``kill -9`` integrates once (the
adapter leaves out what the base already holds) and finishes what is left.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import structlog

from orchestrator.adapters.clock import format_duration, iso, parse_iso
from orchestrator.adapters.integrate import (
    Integrated,
    Stopped,
    Work,
    archive,
    head_of,
    integrate,
)
from orchestrator.adapters.worktrees import WorktreeError
from orchestrator.decisions.actions import (
    Action,
    Integrate,
    Notify,
    Once,
    RecordBlocker,
    Report,
    SetPlanStatus,
    TickChecklist,
)
from orchestrator.runtime.gating import gate_results
from orchestrator.runtime.integration_gates import integration_gate_results
from orchestrator.runtime.services import Services
from protocol import Plan, topological_order

log = structlog.get_logger()

__all__ = ["REPORT_FILE", "integration_plan", "run_integration"]

REPORT_FILE = "INTEGRATION_REPORT.md"
_DONE_KEY = "integration:done"
_INTENT_KEY = "integration:intent"
_MOVE_KEY = "integration:move"  # the base's old and new head, journaled just before it moves
_DELIVERED = ("selected implementation merged", "alternative implementations archived")


def integration_plan(plan: Plan, alternatives: tuple[str, ...]) -> list[Work]:
    """The works to integrate, in dependency order: every task but the rejected ones, each
    with the branches of everything it (transitively) depends on as its inputs."""
    by_id = {t.id: t for t in plan.tasks}

    def upstream(task_id: str, seen: set[str]) -> set[str]:
        for dep in by_id[task_id].dependencies:
            if dep in by_id and dep not in seen:
                seen.add(dep)
                upstream(dep, seen)
        return seen

    out = []
    for task_id in topological_order(plan.tasks):
        if task_id in alternatives:
            continue
        inputs = tuple(sorted(by_id[d].branch for d in upstream(task_id, set())))
        out.append(Work(task_id, by_id[task_id].branch, inputs))
    return out


async def run_integration(s: Services, plan: Plan, a: Integrate) -> list[Action]:
    """Integrate, archive and finish; the actions that record the outcome in the plan."""
    if await s.journal.marks(_DONE_KEY):
        return []
    repo = s.config().plan_dir
    try:
        base = await anyio.to_thread.run_sync(s.worktrees.base_branch)
    except WorktreeError as exc:
        log.warning("integration_waits", reason=exc.reason)  # tried again on the next change
        return []
    works = integration_plan(plan, a.alternatives)
    intent = {"selected": a.selected, "alternatives": list(a.alternatives), "base": base}
    await s.journal.mark(_INTENT_KEY, json.dumps(intent))
    result: Integrated | Stopped | None = await _moved_before(s, repo, base)

    def journal_move(move: Integrated) -> None:
        value = json.dumps({"old": move.old, "new": move.new, "commits": list(move.commits)})
        anyio.from_thread.run(s.journal.set_mark, _MOVE_KEY, value)

    if result is None:
        result = await anyio.to_thread.run_sync(
            lambda: integrate(
                repo, base, works, a.strategy, f"Integrate {a.selected}", journal_move
            )
        )
    now = iso(s.clock.now())
    if isinstance(result, Stopped):
        return _stopped(a, result, now)
    if result.checkout:
        s.report("base_checkout_not_updated", level="warning", reason=result.checkout)
    gates = await _gates(s, plan)  # read before the alternatives' worktrees go
    by_id = {t.id: t for t in plan.tasks}
    tags = []
    for task_id in a.alternatives:
        task = by_id[task_id]
        why = f"plan {plan.file}, task {task_id}: not selected ({a.selected} was)"
        tag = await anyio.to_thread.run_sync(archive, repo, task.branch, why)
        if tag is not None:
            tags.append(tag)
        try:
            await s.worktrees.remove(task.worktree)
        except WorktreeError as error:
            s.report("worktree_kept", level="warning", task_id=task_id, reason=str(error))
    report = _report(plan, a, base, result, tags, now, s.journal.spent_usd)
    report += _gates_section(plan, gates)
    await s.store.create(repo / REPORT_FILE, report)
    await s.journal.set_mark(_DONE_KEY, result.new)
    items = tuple(
        c for c in plan.checklists if not c.checked and c.text.casefold().startswith(_DELIVERED)
    )
    fields = {"base": base, "commits": len(result.commits), "archived": tags, "head": result.new}
    return [
        TickChecklist(items),
        SetPlanStatus("Completed"),
        Report("integrated", fields),
        Notify("integrated", f"{a.selected} integrated into {base}", fields),
    ]


async def _moved_before(s: Services, repo: Path, base: str) -> Integrated | None:
    """The move a crash interrupted after the base branch moved, when it did."""
    marks = await s.journal.marks(_MOVE_KEY)
    if not marks:
        return None
    move = json.loads(marks[_MOVE_KEY])
    head = await anyio.to_thread.run_sync(head_of, repo, base)
    if head != move["new"]:
        return None  # it did not move (or moved on since): integrate again
    return Integrated(move["old"], move["new"], tuple(move["commits"]))


def _stopped(a: Integrate, r: Stopped, now: str) -> list[Action]:
    files = ", ".join(r.files) or "-"
    commits = ", ".join(c[:10] for c in r.commits) or "-"
    what = {"conflict": "conflicts", "dirty": "has local changes", "moved": "moved meanwhile"}
    description = {
        "conflict": f"Integrating {a.selected} conflicts in {files} (commit {commits}).",
        "dirty": f"The base checkout has local changes the integration would overwrite: {files}.",
        "moved": "The base branch moved while integrating; nothing was changed.",
    }[r.reason]
    fields = {
        "Severity": "High",
        "Blocker Type": "Integration",
        "Description": description,
        "Required Resolution": f"Resolve ({what[r.reason]}), then resolve this entry.",
        "Escalation": "Yes - the base branch was not changed",
    }
    key = f"integration:stopped:{r.reason}:{files}:{commits}"
    info = {"reason": r.reason, "files": list(r.files), "commits": list(r.commits)}
    return [
        Once(
            key,
            (
                RecordBlocker(a.selected, "orchestrator", now[:16].replace("T", " "), fields),
                Report("integration_stopped", info, level="warning"),
                Notify("integration_stopped", description, info),
            ),
        )
    ]


async def _gates(s: Services, plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """Per task, its last done-gate round and its integration gates (journaled: none runs)."""
    out = {t.id: list(await gate_results(s, t.id)) for t in plan.tasks}
    for task_id, results in (await integration_gate_results(s, plan)).items():
        out[task_id] = [*out.get(task_id, ()), *results]
    return {k: v for k, v in out.items() if v}


def _gates_section(plan: Plan, gates: dict[str, list[dict[str, Any]]]) -> str:
    lines = ["", "## Gates per branch", ""]
    for t in plan.tasks:
        for g in gates.get(t.id, ()):
            numbers = ", ".join(f"{k} {float(v):g}" for k, v in (g.get("numbers") or {}).items())
            verdict = "passed" if g.get("passed") else "FAILED"
            when = g.get("when", "done")
            lines.append(f"- {t.id} `{t.branch}` {g.get('name')} ({when}): {verdict}; {numbers}")
    return "\n".join([*lines, ""]) + "\n" if len(lines) > 3 else ""


def _duration(plan: Plan, now: str) -> str:
    """From the first task's start in the execution log to ``now``; ``-`` when unknown."""
    starts = [t for r in plan.log if (t := parse_iso(r.started)) is not None]
    end = parse_iso(now)
    if not starts or end is None:
        return "-"
    return format_duration((end - min(starts)).total_seconds())


def _report(
    plan: Plan, a: Integrate, base: str, r: Integrated, tags: list[str], now: str, usd: float
) -> str:
    lines = [
        "# Integration Report",
        "",
        f"- Plan: {plan.file}",
        f"- Finished: {now}",
        f"- Duration: {_duration(plan, now)} (first task started to integrated)",
        f"- Cost: ${usd:.2f} (every model call of the run, as journaled)",
        f"- Go/No-Go: {a.line}",
        f"- Selected: {a.selected}; alternatives archived: {', '.join(a.alternatives) or '-'}",
        f"- Strategy: {a.strategy}, into `{base}` ({r.old[:10]} -> {r.new[:10]})",
        "",
        "## Commits integrated",
        "",
        *[f"- {c}" for c in r.commits],
        "",
        "## Archive tags",
        "",
        *[f"- {t}" for t in tags],
        "",
    ]
    return "\n".join(lines)


def report_path(plan_dir: Path) -> Path:
    return plan_dir / REPORT_FILE
