"""The Handoff Baton writes: addressed downstream, in the template's four sections, its
Validation boxes from gate results where there are some, else from the agent's word."""

from __future__ import annotations

from pathlib import Path

from agents import HandoffReport, Validation
from orchestrator.decisions import triage
from orchestrator.decisions.handoff import Changes, GateResult, handoff_message
from protocol import Plan, Task, parse_plan

TEMPLATE = (Path(__file__).parents[2] / "fixtures" / "plans" / "template.md").read_text()


def t1() -> tuple[Plan, Task]:
    plan = parse_plan(TEMPLATE)
    task = plan.task("T1")
    assert task is not None
    return plan, task


def test_a_handoff_names_the_branch_and_the_changes() -> None:
    """A completed task's handoff goes to the agents waiting for it, with its changes."""
    plan, task = t1()
    send = handoff_message(plan, task, [], Changes(3, 10, 2, ["a.py"]))
    assert send.to == ", ".join(triage.downstream(plan, "T1"))
    assert "- Commits: 3 commits, 12 lines changed (+10/-2)" in send.body
    assert "- Files Modified: a.py" in send.body
    for section in ("Deliverables", "Validation", "Notes for Downstream", "Context References"):
        assert f"**{section}:**" in send.body


def test_gate_results_tick_the_validation_boxes_over_the_agents_word() -> None:
    """A gate that ran decides its box; the boxes without a gate keep the agent's word."""
    plan, task = t1()
    stated = HandoffReport(validation=Validation(12, 12, 3, True, None))
    gates = [
        GateResult("pytest", "tests", passed=False, detail="10/12 tests"),
        GateResult("ruff", "lint", passed=True, detail="0 errors"),
    ]
    body = handoff_message(plan, task, [], None, stated, gates=gates).body
    assert "- [ ] Tests passing (gate pytest: 10/12 tests)" in body
    assert "- [x] Linting clean (gate ruff: 0 errors)" in body
    assert "- [x] Documentation updated (as the agent stated)" in body
    assert "- [ ] Self-review completed (not stated)" in body
