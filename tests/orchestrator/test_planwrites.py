"""The daemon's plan edits: statuses in the plan's spelling, and no cell rewritten in vain."""

from __future__ import annotations

from pathlib import Path

from orchestrator.decisions.verdicts import ACTIVE
from orchestrator.runtime import plan_edits as pw
from protocol import parse_plan

PEOPLE = Path(__file__).parent.parent / "fixtures" / "plans" / "people"
TEXT = (PEOPLE / "emoji_statuses.md").read_text(encoding="utf-8")


def apply(text: str, *edits: pw.PlanEdit) -> str:
    return pw.run_batch(text, edits, file="MULTI_AGENT_PLAN.md", worktree_parent="/wt")


def test_start_and_finish_write_the_plan_s_spelling() -> None:
    """Starting T2 writes In Progress (the plan never spells it); finishing it writes the
    plan's ✅ Completed in the matrix and the log."""
    started = apply(TEXT, pw.start("T2", "10:00"), pw.start_log("T2", "b-1", "10:00"))
    plan = parse_plan(started)
    assert plan.task("T2").cells["Status"].raw == "In Progress"  # type: ignore[union-attr]
    assert plan.log_row("T2").cells["Status"].raw == "In Progress"  # type: ignore[union-attr]
    done = apply(
        started,
        pw.status("T2", "Completed", ACTIVE),
        pw.finish("T2", "Completed", "11:00", "1h"),
    )
    plan = parse_plan(done)
    assert plan.task("T2").cells["Status"].raw == "✅ Completed"  # type: ignore[union-attr]
    assert plan.log_row("T2").cells["Status"].raw == "✅ Completed"  # type: ignore[union-attr]


def test_a_log_status_that_already_says_so_is_left_in_its_words() -> None:
    """A finished row whose log already reads Done (with its times) is left byte for byte,
    not rewritten to the matrix's ✅ Completed."""
    text = TEXT.replace("| 45m | ✅ Completed | schema frozen |", "| 45m | Done | schema frozen |")
    assert apply(text, pw.finish("T1", "Completed", "12:00", "2h")) == text
