"""The Handoff Baton writes when a task is Completed, in the template's four sections
(docs/user-guide.md, "Briefs and handoffs"): Deliverables from git, Validation ticked from
gate results where Baton has them and otherwise as the agent stated, then the agent's Notes
for Downstream and Context References."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agents import HandoffReport, Validation
from orchestrator.decisions.actions import SendMessage
from orchestrator.decisions.triage import downstream
from protocol import Message, Plan, Task, agent_id

# The Validation boxes, in the template's order, by the kind of check that ticks each.
CHECKS = ("tests", "lint", "docs", "review")


@dataclass(frozen=True)
class Changes:
    """What git says the task's branch holds beyond its base."""

    commits: int
    lines_added: int
    lines_removed: int
    files: Sequence[str]


@dataclass(frozen=True)
class GateResult:
    """A quality gate's verdict on the branch; ``check`` is one of :data:`CHECKS`."""

    name: str
    check: str
    passed: bool
    detail: str = ""  # e.g. "12/12 tests", "0 errors"


def handoff_message(
    plan: Plan,
    task: Task,
    known: Sequence[Message],
    changes: Changes | None,
    report: HandoffReport | None = None,
    *,
    summary: str = "",
    gates: Sequence[GateResult] = (),
    unmerged: Sequence[str] = (),
) -> SendMessage:
    """The Handoff to the agents downstream of ``task``; ``unmerged`` names, one line each,
    the dependencies' branches its branch does not hold (conflicting, read only)."""
    sender = agent_id(plan, task)
    own = [m for m in known if m.type == "Handoff" and m.sender == sender and m.task == task.id]
    report = report or HandoffReport()
    lines = ["**Deliverables:**", f"- Branch: {task.branch}"]
    if changes is not None:
        lines.append(
            f"- Commits: {changes.commits} commits, "
            f"{changes.lines_added + changes.lines_removed} lines changed "
            f"(+{changes.lines_added}/-{changes.lines_removed})"
        )
        if changes.files:
            more = f" and {len(changes.files) - 20} more" if len(changes.files) > 20 else ""
            lines.append(f"- Files Modified: {', '.join(changes.files[:20])}{more}")
    lines.append(f"- Artifacts: {', '.join(report.artifacts) or 'none stated'}")
    lines += [f"- Not merged into this branch: {u}" for u in unmerged]
    lines += ["", "**Validation:**", *validation_lines(report.validation, gates)]
    notes = [x for x in (summary.strip(), report.notes.strip()) if x]
    if own:
        m = own[-1]
        notes.append(f"See also {m.sender}'s own Handoff of {m.timestamp}.")
    lines += ["", "**Notes for Downstream:**", "\n\n".join(notes) or "None stated."]
    lines += ["", "**Context References:**", *(report.references or ("None stated.",))]
    return SendMessage(
        ", ".join(downstream(plan, task.id)),
        "Handoff",
        f"{task.id} is Completed; its work is on {task.branch}.",
        task=task.id,
        body="\n".join(lines),
    )


def validation_lines(stated: Validation, gates: Sequence[GateResult]) -> list[str]:
    """The four Validation boxes: a gate's verdict where one ran for the check, else the
    agent's statement, else an empty box saying nothing was stated."""
    by_check: dict[str, list[GateResult]] = {}
    for gate in gates:
        by_check.setdefault(gate.check, []).append(gate)
    out = []
    for check in CHECKS:
        ran = by_check.get(check)
        if ran:
            passed = all(g.passed for g in ran)
            detail = "; ".join(
                f"{g.name}: {g.detail or ('passed' if g.passed else 'failed')}" for g in ran
            )
            out.append(f"- [{'x' if passed else ' '}] {_LABEL[check]} (gate {detail})")
            continue
        ticked, what = _stated(check, stated)
        box = "x" if ticked else " "
        out.append(f"- [{box}] {_LABEL[check]} ({what})")
    return out


_LABEL = {
    "tests": "Tests passing",
    "lint": "Linting clean",
    "docs": "Documentation updated",
    "review": "Self-review completed",
}


def _stated(check: str, v: Validation) -> tuple[bool, str]:
    """Whether the agent's statement ticks the box, and the words saying so."""
    if check == "tests":
        if v.tests_passed is None or v.tests_total is None:
            return False, "not stated"
        ok = v.tests_total > 0 and v.tests_passed == v.tests_total
        return ok, f"{v.tests_passed}/{v.tests_total} tests, as the agent stated"
    if check == "lint":
        if v.lint_errors is None:
            return False, "not stated"
        return v.lint_errors == 0, f"{v.lint_errors} errors, as the agent stated"
    flag = v.docs_updated if check == "docs" else v.self_review
    if flag is None:
        return False, "not stated"
    return flag, "as the agent stated"


__all__ = ["CHECKS", "Changes", "GateResult", "handoff_message", "validation_lines"]
