"""What the one-shot commands print: summaries, graphs and the static status view."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.adapters.clock import parse_iso
from orchestrator.cli.inputs import Inputs
from orchestrator.gates.run import summarize
from protocol import BlockerEntry, Message, ProtocolError, critical_path, ready_tasks, waves
from protocol._model import STATUSES, Plan
from protocol.blockers import entry_key
from protocol.integration import go_no_go
from protocol.plan import agent_id

# Mermaid classes per status; the critical path gets a thick outline on top.
_STATUS_STYLE = {
    "Not Started": "fill:#f4f4f4,stroke:#999",
    "In Progress": "fill:#dbeafe,stroke:#2563eb",
    "Blocked": "fill:#fef3c7,stroke:#d97706",
    "Completed": "fill:#dcfce7,stroke:#16a34a",
    "Failed": "fill:#fee2e2,stroke:#dc2626",
}


def summary(inputs: Inputs) -> str:
    plan = inputs.plan
    path, hours = critical_path(plan.tasks)
    lines = [
        f"{inputs.plan_path}: {len(plan.tasks)} tasks in {len(waves(plan.tasks))} waves, "
        f"critical path {' -> '.join(path)} ({hours:g}h)",
    ]
    if inputs.messages_path.exists():
        lines.append(f"{inputs.messages_path}: {len(inputs.messages)} messages")
    return "\n".join(lines)


def graph(plan: Plan) -> str:
    """The graph as text: one line per wave, then each task's dependencies."""
    path, hours = critical_path(plan.tasks)
    on_path = set(path)
    out = []
    for n, wave in enumerate(waves(plan.tasks), 1):
        out.append(f"Wave {n}: {', '.join(wave)}")
    out.append("")
    for task in plan.tasks:
        mark = "*" if task.id in on_path else " "
        deps = ", ".join(task.dependencies) or "-"
        out.append(f"{mark} {task.id:<8} [{task.status}] <- {deps}")
    out.append("")
    out.append(f"Critical path ({hours:g}h, marked *): {' -> '.join(path)}")
    return "\n".join(out)


def _node(task_id: str) -> str:
    return "t_" + re.sub(r"[^A-Za-z0-9_]", "_", task_id)


def _label(text: str) -> str:
    text = text if len(text) <= 40 else text[:39] + "…"
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(plan: Plan) -> str:
    """A mermaid flowchart coloured by status, with the critical path outlined."""
    path, _ = critical_path(plan.tasks)
    on_path = set(path)
    known = {t.id for t in plan.tasks}
    out = ["flowchart TD"]
    for task in plan.tasks:
        out.append(f'    {_node(task.id)}["{_label(task.id + ": " + task.description)}"]')
    edges = 0
    critical_edges = []
    for task in plan.tasks:
        for dep in task.dependencies:
            if dep not in known:
                continue
            out.append(f"    {_node(dep)} --> {_node(task.id)}")
            if dep in on_path and task.id in on_path and path.index(task.id) == path.index(dep) + 1:
                critical_edges.append(edges)
            edges += 1
    for status, style in _STATUS_STYLE.items():
        out.append(f"    classDef {_class(status)} {style}")
    out.append("    classDef critical stroke-width:3px,stroke:#b91c1c")
    for status in STATUSES:
        members = [_node(t.id) for t in plan.tasks if t.status == status]
        if members:
            out.append(f"    class {','.join(members)} {_class(status)}")
    if path:
        out.append(f"    class {','.join(_node(t) for t in path)} critical")
    for edge in critical_edges:
        out.append(f"    linkStyle {edge} stroke:#b91c1c,stroke-width:3px")
    return "\n".join(out)


def _class(status: str) -> str:
    return status.replace(" ", "").casefold()


def warning_line(warning: ProtocolError) -> str:
    """``MULTI_AGENT_PLAN.md:12: warning: column 'Dependancies' is not read: …``."""
    where = f"{warning.file}:{warning.line}" if warning.line else warning.file
    return f"{where}: warning: {warning.reason}"


def _problems(errors: Sequence[ProtocolError]) -> list[dict[str, Any]]:
    return [{"file": e.file, "line": e.line, "reason": e.reason} for e in errors]


def invalid_data(inputs: Inputs) -> dict[str, Any]:
    """What ``status --json`` says of a plan that cannot be read: every error, where it is."""
    return {
        "valid": False,
        "errors": _problems(inputs.errors),
        "warnings": _problems(inputs.plan.warnings),
    }


def status_data(
    inputs: Inputs,
    *,
    seen: Mapping[str, str] | None = None,
    sla_minutes: float = 10.0,
    now: datetime | None = None,
    costs: Mapping[str, float] | None = None,
    tokens: Mapping[str, int] | None = None,
    worktree_parent: Path | None = None,
    gates: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The run as the files (and, through ``seen``, the journal's triage timers) tell it.
    With ``worktree_parent``, each task's worktree is its folder's path under it; ``gates``
    is each task's last gate round in short (:func:`gate_cells`)."""
    plan = inputs.plan
    now = now or datetime.now(UTC)
    seen = seen or {}

    def sla_left(b: BlockerEntry) -> float | None:
        first = parse_iso(seen.get(f"blocker_seen:{entry_key(b)}", ""))
        if first is None:
            return None
        return round(sla_minutes - (now - first).total_seconds() / 60, 1)

    def overdue(m: Message) -> bool:
        deadline = parse_iso(m.deadline or "")
        return deadline is not None and deadline <= now

    path, hours = critical_path(plan.tasks)
    wave_of = {tid: n for n, wave in enumerate(waves(plan.tasks), 1) for tid in wave}
    counts = {s: sum(1 for t in plan.tasks if t.status == s) for s in STATUSES}
    briefs = inputs.plan_path.parent / ".baton" / "briefs"

    def brief(task_id: str) -> str | None:  # what the task's agent was told, when kept
        path = briefs / f"{task_id}.md"
        return str(path.relative_to(inputs.plan_path.parent)) if path.is_file() else None

    return {
        "valid": True,
        "project": plan.header["Project"].value if "Project" in plan.header else None,
        "status": plan.header["Status"].value if "Status" in plan.header else None,
        "go_no_go": go_no_go(plan),
        "counts": counts,
        "tasks": [
            {
                "id": t.id,
                "description": t.description,
                "status": t.status,
                "wave": wave_of.get(t.id),
                "group": t.group,
                "agent_id": agent_id(plan, t),
                "role": t.role,
                "estimate": t.estimate,
                "dependencies": list(t.dependencies),
                "worktree": str(worktree_parent / t.worktree) if worktree_parent else t.worktree,
                "branch": t.branch,
                "brief": brief(t.id) if t.status in ("In Progress", "Blocked") else None,
                "gates": (gates or {}).get(t.id),
            }
            for t in plan.tasks
        ],
        "warnings": _problems(plan.warnings),
        "ready": [t.id for t in ready_tasks(plan.tasks)],
        "critical_path": {"tasks": list(path), "hours": hours},
        "blockers": [
            {
                "task_id": b.task_id,
                "agent_id": b.agent_id,
                "timestamp": b.timestamp,
                "severity": b.fields.get("Severity"),
                "escalate": b.escalate,
                "triaged": b.triage is not None,
                "sla_left_minutes": sla_left(b),
                "line": b.line,
            }
            for b in plan.blockers
            if b.resolution is None
        ],
        "escalations": [
            *(
                f"blocker {b.task_id} (line {b.line}) waits for a person's Resolution"
                for b in plan.blockers
                if b.resolution is None and "escalated" in (b.triage or "").casefold()
            ),
            *(
                f"{m.type} from {m.sender} (line {m.line}) waits for a person"
                for m in inputs.messages
                if "Orchestrator" in m.to and m.type == "Question" and m.status != "Resolved"
            ),
            *(
                f"{m.type} from {m.sender} (line {m.line}) passed its deadline {m.deadline}"
                for m in inputs.messages
                if m.status != "Resolved" and overdue(m)
            ),
        ],
        "pending_messages": [
            {
                "id": m.id,
                "from": m.sender,
                "to": list(m.to),
                "type": m.type,
                "timestamp": m.timestamp,
                "line": m.line,
            }
            for m in inputs.messages
            if m.status == "Sent"
        ],
        "cost_usd": {"total": sum((costs or {}).values()), "by_task": dict(costs or {})},
        # On flat-rate plans dollars mean little: the tokens each task's agent used.
        "tokens": {"total": sum((tokens or {}).values()), "by_task": dict(tokens or {})},
        "budget_usd": plan.constraints.budget_usd,
        "agent_slots": plan.constraints.agent_slots,
    }


def gate_cells(marks: Mapping[str, str]) -> dict[str, str]:
    """Each task's last gate round (``gate_result:<task>:<attempt>:<round>`` marks) in
    short: ``tests 42/42 · cov 83%``, a failed gate marked ✗."""
    last: dict[str, tuple[tuple[int, int], str]] = {}
    for key, value in marks.items():
        parts = key.split(":")
        if len(parts) != 4 or not parts[2].isdigit() or not parts[3].isdigit():
            continue
        order = (int(parts[2]), int(parts[3]))
        if parts[1] not in last or order > last[parts[1]][0]:
            last[parts[1]] = (order, value)
    out = {}
    for task_id, (_, value) in last.items():
        try:
            results = json.loads(value)
        except ValueError:
            continue
        cells = [
            summarize(str(r["name"]), str(r["check"]), r.get("numbers") or {}, bool(r["passed"]))
            + ("" if r["passed"] else " ✗")
            for r in results
            if isinstance(r, dict)
        ]
        out[task_id] = " · ".join(cells)
    return out


def attention_lines(data: Mapping[str, Any]) -> list[str]:
    """Open blockers with their SLA, pending messages, and what waits for a person."""
    out = [f"Open blockers: {len(data['blockers'])}"]
    for b in data["blockers"]:
        who = "needs a person" if b["escalate"] else "orchestrator decides"
        left = b["sla_left_minutes"]
        sla = "" if left is None else f", SLA {left:g} min left" if left >= 0 else ", SLA breached"
        out.append(f"  {b['task_id']} ({b['severity'] or '?'}) line {b['line']}: {who}{sla}")
    out.append(f"Pending messages: {len(data['pending_messages'])}")
    for m in data["pending_messages"]:
        out.append(f"  {m['type']} {m['from']} -> {', '.join(m['to'])} (line {m['line']})")
    out.append(f"Waiting for a person: {len(data['escalations'])}")
    out.extend(f"  {e}" for e in data["escalations"])
    return out


def status_text(inputs: Inputs, **timers: Any) -> str:
    data = status_data(inputs, **timers)
    out = [f"{data['project'] or inputs.plan_path}  —  plan status: {data['status'] or '?'}"]
    counts = ", ".join(f"{n} {s}" for s, n in data["counts"].items() if n)
    out.append(f"{len(data['tasks'])} tasks: {counts}")
    if data["go_no_go"]:
        out.append(f"Go/No-Go: {data['go_no_go']}")
    out.append("")
    width = max([5, *(len(t["gates"] or "-") for t in data["tasks"])])
    out.append(
        f"{'TASK':<8} {'WAVE':>4}  {'STATUS':<12} {'AGENT':<22} {'EST':>6}  "
        f"{'GATES':<{width}}  DESCRIPTION"
    )
    for t in data["tasks"]:
        out.append(
            f"{t['id']:<8} {t['wave'] or '-':>4}  {t['status']:<12} {t['agent_id']:<22} "
            f"{t['estimate'] or '-':>6}  {t['gates'] or '-':<{width}}  {t['description'][:50]}"
        )
    out.append("")
    cp = data["critical_path"]
    briefs = [f"  {t['id']}: {t['brief']}" for t in data["tasks"] if t["brief"]]
    if briefs:
        out += ["Briefs of the tasks at work:", *briefs]
    out.append(f"Ready: {', '.join(data['ready']) or '-'}")
    out.append(f"Critical path: {' -> '.join(cp['tasks']) or '-'} ({cp['hours']:g}h)")
    out.extend(attention_lines(data))
    budget = data["budget_usd"]
    spent = data["cost_usd"]["total"]
    of = f"${budget:g}" if budget is not None else "no budget"
    per_task = ", ".join(f"{t} ${c:.2f}" for t, c in sorted(data["cost_usd"]["by_task"].items()))
    out.append(f"Cost: ${spent:.2f} of {of}" + (f" ({per_task})" if per_task else ""))
    if data["tokens"]["total"]:
        by_task = ", ".join(f"{t} {n:,}" for t, n in sorted(data["tokens"]["by_task"].items()))
        out.append(f"Tokens: {data['tokens']['total']:,} tokens ({by_task})")
    return "\n".join(out)
