"""The Go/No-Go decision over the plan, the gates' last results and the open blockers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestrator.decisions.actions import (
    Integrate,
    Notify,
    Report,
    WriteComparison,
    WriteGoNoGo,
)
from orchestrator.decisions.go_no_go import (
    CAUTION,
    GO,
    NO_GO,
    comparison_values,
    decide_go_no_go,
    go_no_go_actions,
    select,
)
from protocol import Plan, add_blocker_entry, parse_plan
from protocol.comparison import set_comparison
from protocol.integration import APPROVAL_TEXT, set_go_no_go

TEMPLATE = (Path(__file__).parents[2] / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)
PLACEHOLDER = "**Decision:** [OAuth 2.0 / JWT / Session-based]"


def ready(decision: str = "JWT") -> str:
    """The template with every task Completed, every box ticked and ``decision`` written."""
    text = TEMPLATE.replace("| Not Started |", "| Completed |").replace("- [ ] ", "- [x] ")
    return text.replace(PLACEHOLDER, f"**Decision:** {decision}")


def gate(name: str, passed: bool, **extra: Any) -> dict[str, Any]:
    return {"name": name, "check": "tests", "mandatory": True, "passed": passed, **extra}


def blocked(text: str, severity: str, resolution: str | None = None) -> Plan:
    fields = {"Severity": severity, "Description": "stuck", "Escalation": "No"}
    if resolution:
        fields["Resolution"] = resolution
    plan = parse_plan(text)
    out = add_blocker_entry(
        text,
        plan,
        task_id="T3",
        agent_id="builder-jwt-001",
        timestamp="2025-12-13 15:45",
        fields=fields,
    )
    return parse_plan(out)


def test_everything_met_is_go() -> None:
    verdict = decide_go_no_go(parse_plan(ready()), {"T3": [gate("pytest", True)]})
    assert (verdict.outcome, verdict.reasons, verdict.line) == (GO, (), "GO")
    assert verdict.selected == "T3"
    assert verdict.alternatives == ("T2", "T4")
    assert verdict.go


@pytest.mark.parametrize(
    ("decision", "selected"),
    [("JWT", "T3"), ("OAuth 2.0", "T2"), ("Session-based", "T4"), ("T4", "T4"), ("**JWT**", "T3")],
)
def test_the_decision_names_a_task(decision: str, selected: str) -> None:
    task, why = select(parse_plan(ready(decision)))
    assert why is None
    assert task is not None
    assert task.id == selected


@pytest.mark.parametrize(
    ("decision", "why"),
    [
        ("[OAuth 2.0 / JWT / Session-based]", "the Decision is empty"),
        ("", "the Decision is empty"),
        ("Kerberos", "names no task"),
        ("approach", "ambiguous: T2, T3, T4"),
    ],
)
def test_no_clear_decision_is_no_go(decision: str, why: str) -> None:
    verdict = decide_go_no_go(parse_plan(ready(decision)), {})
    assert verdict.outcome == NO_GO
    assert any(why in r and r.startswith("no recommendation") for r in verdict.reasons)
    assert not verdict.go


def test_an_open_critical_blocker_is_no_go_and_a_resolved_one_is_not() -> None:
    verdict = decide_go_no_go(blocked(ready(), "Critical"), {})
    assert verdict.outcome == NO_GO
    assert verdict.reasons == ("open Critical blocker of T3",)
    resolved = blocked(ready(), "Critical", "2025-12-13 16:00 - fixed")
    assert decide_go_no_go(resolved, {}).outcome == GO


def test_a_medium_blocker_is_caution_until_approved() -> None:
    plan = blocked(ready(), "Medium")
    verdict = decide_go_no_go(plan, {})
    assert verdict.outcome == CAUTION
    assert not verdict.go
    assert verdict.line == "GO WITH CAUTION — open Medium blocker of T3; waiting for approval"
    text = set_go_no_go(plan.source[0].text, plan, verdict.line, approval_box=True)  # type: ignore[index]
    text = text.replace(f"- [ ] {APPROVAL_TEXT}", f"- [x] {APPROVAL_TEXT}")
    approved = decide_go_no_go(parse_plan(text), {})
    assert approved.go
    assert approved.line.endswith("; approved")


def test_a_task_not_completed_is_no_go() -> None:
    text = ready().replace(
        "| `feature/auth-session` | B | Completed |", "| `feature/auth-session` | B | Failed |"
    )
    verdict = decide_go_no_go(parse_plan(text), {})
    assert verdict.outcome == NO_GO
    assert "T4 is Failed, not Completed" in verdict.reasons


def test_an_unticked_review_or_phase_criterion_is_no_go() -> None:
    text = ready().replace("- [x] Code review approved", "- [ ] Code review approved")
    text = text.replace("- [x] No ambiguities remaining", "- [ ] No ambiguities remaining")
    verdict = decide_go_no_go(parse_plan(text), {})
    assert verdict.reasons == (
        "not ticked: Code review approved",
        "not ticked: No ambiguities remaining",
    )


def test_gates_decide_by_how_far_they_missed() -> None:
    plan = parse_plan(ready())
    near = gate("cov", False, check="coverage", failed=["statements 78, needs >= 80"])
    verdict = decide_go_no_go(plan, {"T3": [near]})
    assert (
        verdict.line
        == "GO WITH CAUTION — T3: statements 78 < 80 (within 10%); waiting for approval"
    )
    far = gate("cov", False, check="coverage", failed=["statements 50, needs >= 80"])
    assert decide_go_no_go(plan, {"T3": [far]}).outcome == NO_GO
    optional = gate("lint", False, mandatory=False, failed=["errors 3, needs == 0"])
    assert decide_go_no_go(plan, {"T1": [optional]}).reasons == ("T1: optional gate lint missed",)
    # A rejected alternative's failing gate does not hold the selected one back.
    assert decide_go_no_go(plan, {"T2": [far]}).outcome == GO


def test_high_security_findings_are_no_go() -> None:
    sec = gate("audit", True, check="security", numbers={"critical": 0, "high": 2})
    verdict = decide_go_no_go(parse_plan(ready()), {"T6": [sec]})
    assert verdict.outcome == NO_GO
    assert verdict.reasons == ("T6: 2 high/critical security findings (audit)",)


def test_the_actions_write_the_line_once() -> None:
    text = blocked(ready(), "Low").source[0].text  # type: ignore[index]
    plan = parse_plan(text)
    actions = go_no_go_actions(plan, {})
    write, report, notify = actions
    assert isinstance(write, WriteGoNoGo)
    assert write.approval_box
    assert isinstance(report, Report)
    assert report.event == "go_no_go_decided"
    assert report.fields["outcome"] == CAUTION
    assert report.fields["reasons"] == ["open Low blocker of T3"]
    assert isinstance(notify, Notify)
    after = set_go_no_go(text, plan, write.value, approval_box=True)
    assert go_no_go_actions(parse_plan(after), {}) == []
    # A person's change re-decides: resolving the blocker gives GO, with no notice.
    head, tail = after.rsplit("**Escalation:** No", 1)
    resolved = head + "**Escalation:** No\n**Resolution:** done" + tail
    again = go_no_go_actions(parse_plan(resolved), {})
    assert [type(a) for a in again] == [WriteGoNoGo, Report, Integrate]
    assert again[0].value == "GO"  # type: ignore[union-attr]
    assert again[2] == Integrate("T3", ("T2", "T4"), "cherry-pick", "GO")


def test_on_go_the_comparison_tables_get_each_approachs_numbers() -> None:
    bench = gate("bench", True, check="other", numbers={"p95": 42.0, "throughput": 1200.0})
    sec = gate("audit", True, check="security", numbers={"critical": 0, "high": 0, "low": 3})
    plan = parse_plan(ready())
    gates = {"T3": [bench, sec], "T2": [gate("bench", True, numbers={"p95": 80.0})]}
    values = comparison_values(plan, gates)
    assert values == {
        "JWT": {"p95": "42", "throughput": "1200", "critical": "0", "high": "0", "low": "3"},
        "OAuth 2.0": {"p95": "80"},
    }
    actions = go_no_go_actions(plan, gates)
    assert WriteComparison(values) in actions
    text = set_comparison(ready(), plan, values)
    assert "| JWT | - | 42 | 1200 | - |" in text
    assert "| JWT | 0 | 0 | - | 3 | - |" in text
    assert "| OAuth 2.0 | - | 80 | - | - |" in text
