"""The ``when = "integration"`` gates (docs/user-guide.md, "From Integration to Completed"):
at plan Status Integration they run once on the branch of every task of a parallel group
(the selected approach and its alternatives) and of the selected task, so Go/No-Go and the
Integration Summary's comparison tables have numbers per approach.

Each gate's result is journaled under the task, the gate and the branch's head, with the
``gate_passed``/``gate_failed`` events: a restart does not run a finished gate again, and a
branch that moved on (a person re-opened the task) is gated anew. Outputs are kept in
``.baton/gates/<task>/integration/``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import structlog

from orchestrator.decisions.go_no_go import select
from orchestrator.gates import plan_thresholds
from orchestrator.gates.run import run_gate
from orchestrator.runtime.services import Services
from protocol import Plan, Task
from protocol.prose import read_prose

log = structlog.get_logger()

__all__ = ["PREFIX", "integration_gate_results", "integration_targets"]

PREFIX = "gate_integration:"


def integration_targets(plan: Plan) -> list[Task]:
    """The tasks integration gates run on: every task of a parallel group, and the
    selected task (a Decision may name one of no group)."""
    size: dict[str, int] = {}
    for t in plan.tasks:
        if t.group:
            size[t.group] = size.get(t.group, 0) + 1
    out = [t for t in plan.tasks if t.group and size[t.group] > 1]
    selected, _ = select(plan)
    if selected is not None and selected not in out:
        out.append(selected)
    return out


def _head(repo: Path, branch: str) -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


async def integration_gate_results(s: Services, plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """Per task gated at integration, its integration gates' results (run now when not
    yet journaled for its branch's current head); empty when no such gate applies."""
    config = s.config()
    thresholds, _ = plan_thresholds(read_prose(plan).gate_thresholds.text)
    out: dict[str, list[dict[str, Any]]] = {}
    for task in integration_targets(plan):
        specs = config.gates.for_task(task.id, task.role, task.group or "", "integration")
        worktree = s.parent / task.worktree
        if not specs or not task.branch:
            continue
        head = await anyio.to_thread.run_sync(_head, config.plan_dir, task.branch)
        if head is None:
            continue
        results = []
        for spec in specs:
            key = f"{PREFIX}{task.id}:{head[:12]}:{spec.name}"
            known = await s.journal.marks(key)
            if key in known:
                results.append(json.loads(known[key]))
                continue
            if not await anyio.to_thread.run_sync(worktree.is_dir):
                continue
            log.info("gate_running", gate=spec.name, task_id=task.id, when="integration")
            env = {"BATON_TASK_ID": task.id, "BATON_WORKTREE": str(worktree)}
            kept = config.state_dir / "gates" / task.id / "integration"
            o = await run_gate(spec, worktree, kept, 1, thresholds, env)
            value = o.to_json() | {"when": "integration", "head": head}
            if await s.journal.mark(key, json.dumps(value)):
                _record(s, task.id, value)
                event = "gate_passed" if o.passed else "gate_failed"
                await s.journal.events([(event, task.id, _fields(value))])
            results.append(value)
        if results:
            out[task.id] = results
    return out


def _fields(value: Mapping[str, Any]) -> dict[str, Any]:
    fields = {"gate": value["name"], "when": "integration", "numbers": value["numbers"]}
    if not value["passed"]:
        fields |= {"failed": value["failed"], "log": value["log"]}
    return fields


def _record(s: Services, task_id: str, value: Mapping[str, Any]) -> None:
    event = "gate_passed" if value["passed"] else "gate_failed"
    level = "info" if value["passed"] else "warning"
    s.report(event, level=level, task_id=task_id, **_fields(value))
