"""`baton demo` (the README's first command) runs the template to the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.adapters.clock import format_duration, parse_iso
from orchestrator.cli import main
from protocol import parse_plan
from protocol.retro import metric_rows


def test_demo_completes_every_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo exits 0 with all seven tasks Completed and says where it left things."""
    assert main(["demo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "7/7 tasks Completed." in out
    assert "T3 started (builder-jwt-001)" in out
    plan = parse_plan((tmp_path / "auth-feature" / "MULTI_AGENT_PLAN.md").read_text("utf-8"))
    assert [t.status for t in plan.tasks] == ["Completed"] * 7
    # T7 named JWT: GO, T1's, T3's and T5-T7's work on main, T2 and T4 archived.
    assert plan.header["Status"].value == "Completed"
    assert "Go/No-Go: GO" in out
    assert "archived baton/archive/feature/auth-oauth, baton/archive/feature/auth-session" in out
    assert "demo:" not in out  # every promise of the end holds
    report = (tmp_path / "auth-feature" / "INTEGRATION_REPORT.md").read_text("utf-8")
    assert "- Selected: T3; alternatives archived: T2, T4" in report
    assert "- Cost: $0.00 (" in report  # scripted agents cost nothing
    assert "- T3 `feature/auth-jwt` bench (integration): passed; " in report
    assert "- T2 `feature/auth-oauth` tests (done): passed; " in report
    duration = next(x for x in report.splitlines() if x.startswith("- Duration: "))
    assert duration.split()[2].endswith("s")  # seconds, e.g. "6s"
    # The question, the blocker and its triage happened, as the demo promises.
    assert "T3 blocker triaged: (2) Switch to RS256" in out
    assert "question answered by the orchestrator" in out
    # The builders' branches pass a real pytest gate; T2 needs one fix round.
    assert "T2 gate tests FAILED (failed 1, needs == 0): sent back to fix" in out
    assert "T2 gate tests passed (round 2)" in out
    assert "T3 gate tests passed (round 1)" in out
    # The integration gates give each approach its numbers, written into the tables.
    assert "T3 integration gate bench passed: p50 12, p95 35, p99 60" in out
    text = (tmp_path / "auth-feature" / "MULTI_AGENT_PLAN.md").read_text("utf-8")
    assert "| JWT | 12 | 35 | - | - |" in text
    assert "| Session | 0 | 0 | 1 | 1 | - |" in text
    worktrees = tmp_path / "auth-feature-worktrees"
    assert (worktrees / "jwt" / "test_contract.py").exists()  # T1's work, merged in
    assert not (worktrees / "oauth").exists()  # a rejected alternative's clean worktree
    assert (worktrees / "bench" / "session.py").exists()  # T4's, merged into T5's branch
    entry = next(b for b in plan.blockers if b.task_id == "T3")
    assert entry.resolution is not None
    assert "RS256" in entry.resolution
    # The Retrospective Metrics match the execution log.
    starts = [parse_iso(r.started) for r in plan.log]
    ends = [parse_iso(r.completed) for r in plan.log]
    total = (max(ends) - min(starts)).total_seconds()  # type: ignore[type-var,operator]
    sequential = sum((e - s).total_seconds() for s, e in zip(starts, ends, strict=True))  # type: ignore[operator]
    rows = metric_rows(plan)
    actual = {name: row.cells[2].value for name, row in rows.items()}
    assert actual["Total Duration"] == format_duration(total)
    assert actual["Total Cost"] == "$0.00"
    saved = f"{1 - total / sequential:.0%}" if sequential else ""  # "-": not measurable
    assert actual["Time Savings vs Sequential"] == saved
    # Four runs of the builders' gate (T2 twice), three passed.
    assert actual["Quality Gate Pass Rate"] == "75%"
