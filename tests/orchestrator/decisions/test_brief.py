"""The brief renderer on the template's plan, against golden files reviewed by eye
(tests/fixtures/briefs/). Set BATON_UPDATE_GOLDEN=1 to rewrite them after a deliberate
change, then review the diff."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agents import HandoffReport, Validation
from orchestrator.decisions.brief import (
    BriefInputs,
    PastAttempt,
    received,
    render_brief,
    reporting,
)
from orchestrator.decisions.handoff import Changes, handoff_message
from protocol import Message, Plan, parse_messages, parse_plan, render_message

FIXTURES = Path(__file__).parents[2] / "fixtures"
TEMPLATE = (FIXTURES / "plans" / "template.md").read_text(encoding="utf-8")
GATES = (
    "tests: `pytest -q`, JUnit XML; every test passes",
    "coverage: coverage.py JSON; >= 80% statements, >= 75% branches",
)


def handoffs(plan: Plan, *task_ids: str) -> list[Message]:
    """The Handoffs Baton writes for ``task_ids``, as read back from a message log."""
    blocks = []
    for n, task_id in enumerate(task_ids):
        task = plan.task(task_id)
        assert task is not None
        send = handoff_message(
            plan,
            task,
            [],
            Changes(2 + n, 120, 8, [f"src/{task.worktree}/api.py", "tests/test_api.py"]),
            HandoffReport(
                notes=f"{task.worktree} follows docs/api.md; tokens expire after 15 minutes.",
                artifacts=(f"docs/{task.worktree}.md",),
                references=(f"@src/{task.worktree}/api.py:42",),
                validation=Validation(12, 12, 0, True, True),
            ),
            summary=f"{task.description} done",
        )
        blocks.append(
            render_message(
                sender="Orchestrator",
                to=send.to,
                type="Handoff",
                timestamp=f"2025-12-13T1{n}:00:00Z",
                task=send.task,
                text=send.text,
                body=send.body,
            )
        )
    return list(parse_messages("# Messages\n\n" + "".join(blocks)).messages)


def brief(task_id: str, messages: Sequence[Message] = (), **more: Any) -> str:
    plan = parse_plan(TEMPLATE)
    task = plan.task(task_id)
    assert task is not None
    inputs = BriefInputs(
        plan,
        task,
        1,
        handoffs=[received(m, "INTER_AGENT_MESSAGES.md") for m in messages],
        budget_left=4.25,
        slots=4,
        reporting=reporting("claude", task_id, "agent"),
        **more,
    )
    return render_brief(inputs).text


def golden(name: str, text: str) -> None:
    path = FIXTURES / "briefs" / name
    if os.environ.get("BATON_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_the_brief_of_t1_matches_its_golden_file() -> None:
    """T1's brief: the objective, its row, Phase 1's criteria, the thresholds, no inputs."""
    golden("T1.md", brief("T1"))


def test_the_brief_of_t3_carries_t1s_handoff() -> None:
    """T3's brief holds T1's Handoff in full and names T5 and T6 as its consumers."""
    plan = parse_plan(TEMPLATE)
    golden("T3.md", brief("T3", handoffs(plan, "T1")))


def test_the_brief_of_t5_carries_three_handoffs_and_the_gates() -> None:
    """T5's brief holds the Handoffs of T2, T3 and T4 and the gates of its branch."""
    plan = parse_plan(TEMPLATE)
    golden("T5.md", brief("T5", handoffs(plan, "T2", "T3", "T4"), gates=GATES))


def test_the_stable_part_is_the_same_across_attempts() -> None:
    """A later attempt changes only the end of the brief, so a prompt cache holds."""
    plan = parse_plan(TEMPLATE)
    task = plan.task("T3")
    assert task is not None
    first = render_brief(BriefInputs(plan, task, 1, budget_left=5.0, slots=4))
    again = render_brief(
        BriefInputs(
            plan, task, 2, budget_left=1.0, slots=4, previous=PastAttempt(1, "tests failed", "E1")
        )
    )
    assert first.stable == again.stable
    assert first.variable != again.variable
    assert again.text.startswith(first.stable)


def test_a_retry_is_told_why_the_last_attempt_failed() -> None:
    """The previous attempt's reason and the end of its failing output are in the brief."""
    text = brief("T3", previous=PastAttempt(1, "command exited 1: 2 tests failed", "FAILED a"))
    assert "## Previous attempt (1)\n\nIt ended: command exited 1: 2 tests failed" in text
    assert "FAILED a" in text


@pytest.mark.parametrize("limit", [4096, 8192])
def test_the_brief_stays_within_its_limit_with_pointers(limit: int) -> None:
    """A brief over its limit is cut, longest parts first, each cut naming where it is."""
    plan = parse_plan(TEMPLATE)
    long = handoffs(plan, "T2", "T3", "T4")
    padded = [replace(m, body=m.body * 20) for m in long]
    text = brief("T5", padded, limit=limit)
    assert len(text.encode("utf-8")) <= limit
    assert "… (cut; in full: INTER_AGENT_MESSAGES.md:" in text
    assert text.startswith("# Brief: T5")
