"""`baton demo` (the README's first command) runs the template to the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli import main
from protocol import parse_plan


def test_demo_completes_every_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo exits 0 with all seven tasks Completed and says where it left things."""
    assert main(["demo", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "7/7 tasks Completed." in out
    assert "T3 started (builder-jwt-001)" in out
    plan = parse_plan((tmp_path / "auth-feature" / "MULTI_AGENT_PLAN.md").read_text("utf-8"))
    assert [t.status for t in plan.tasks] == ["Completed"] * 7
    assert plan.header["Status"].value == "Integration"
