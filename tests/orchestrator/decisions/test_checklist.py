"""The Pre-Execution Checklist's decisions, from measured facts: no disk, no git, no daemon."""

from __future__ import annotations

from pathlib import Path

from orchestrator.decisions import checklist
from orchestrator.decisions.actions import Report, TickChecklist
from orchestrator.decisions.checklist import Facts
from protocol import parse_plan

TEMPLATE = (Path(__file__).parents[2] / "fixtures" / "plans" / "template.md").read_text("utf-8")
PLAN = parse_plan(TEMPLATE)
GOOD = Facts(free_bytes=100 << 30, changed=[], api_key=True, budget_usd=5.0)


def by_kind(facts: Facts) -> dict[str, checklist.Result]:
    return {checklist.kind(r.item): r for r in checklist.judge(PLAN, facts)}


def test_every_verifiable_item_of_the_template_is_recognised() -> None:
    """The template's items are read by their words: skills, disk, git, permissions, budget."""
    kinds = {checklist.kind(item) for item in checklist.items(PLAN)}
    assert {"skills", "disk", "clean", "permissions", "budget"} <= kinds


def test_a_full_disk_fails_its_item_with_the_numbers() -> None:
    """Less free space than the item names fails it, saying how much there is and is needed."""
    result = by_kind(Facts(free_bytes=1 << 30, parent="/w", budget_usd=1.0))["disk"]
    assert result.holds is False
    assert result.reason == "1.0 GB free in /w, 5 GB needed"


def test_a_zero_budget_is_a_budget() -> None:
    """``budget_usd = 0`` is a budget that is set (it stops every start), not a missing one."""
    assert by_kind(Facts(budget_usd=0.0))["budget"].holds is True
    assert by_kind(Facts(budget_usd=None))["budget"].reason == "no budget set"


def test_a_claude_task_without_a_key_fails_permissions() -> None:
    """A claude task that will run without ANTHROPIC_API_KEY fails the permissions item."""
    result = by_kind(Facts(claude=True, api_key=False))["permissions"]
    assert result.holds is False
    assert "ANTHROPIC_API_KEY is not set" in result.reason


def test_preflight_ticks_what_holds_and_refuses_on_a_failure() -> None:
    """What holds is ticked; a failed item stops every start and is reported with its line."""
    results = checklist.judge(PLAN, Facts(free_bytes=0, changed=[], api_key=True, budget_usd=1))
    decision = checklist.preflight(results, named=False, force=False)
    assert not decision.allowed
    ticks = [a for a in decision.actions if isinstance(a, TickChecklist)]
    assert ticks
    assert all(item.text for item in ticks[0].items)
    failed = [
        a for a in decision.actions if isinstance(a, Report) and a.event == "checklist_failed"
    ]
    assert [f.fields["reason"].split(" GB")[0] for f in failed] == ["0.0"]
    assert failed[0].level == "error"


def test_preflight_forced_starts_anyway_and_says_so() -> None:
    """With force a failed item is logged as forced and tasks may start."""
    results = checklist.judge(PLAN, Facts(free_bytes=0, changed=[], api_key=True, budget_usd=1))
    decision = checklist.preflight(results, named=True, force=True)
    assert decision.allowed
    assert any(isinstance(a, Report) and a.event == "checklist_forced" for a in decision.actions)


def test_items_left_to_people_are_named_once() -> None:
    """The items Baton cannot verify are named in the first pass only."""
    results = checklist.judge(PLAN, GOOD)
    first = checklist.preflight(results, named=False, force=False)
    assert first.named
    assert any(
        isinstance(a, Report) and a.event == "checklist_left_to_people" for a in first.actions
    )
    again = checklist.preflight(results, named=True, force=False)
    assert not any(
        isinstance(a, Report) and a.event == "checklist_left_to_people" for a in again.actions
    )
