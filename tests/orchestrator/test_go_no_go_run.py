"""The daemon decides Go/No-Go at Integration and decides again when the plan changes
(docs/user-guide.md, "From Integration to Completed"): real git repo, real watcher."""

from __future__ import annotations

from pathlib import Path

import anyio

from orchestrator.daemon import Daemon
from protocol import parse_plan
from protocol.integration import go_no_go
from tests.orchestrator.conftest import FAST_SCRIPT, Recorder, git, make_config, running_daemon

PLAN = "MULTI_AGENT_PLAN.md"
PLACEHOLDER = "**Decision:** [OAuth 2.0 / JWT / Session-based]"


async def test_no_recommendation_is_no_go_until_a_person_decides(plan_repo: Path) -> None:
    rec = Recorder()
    config = make_config(plan_repo, FAST_SCRIPT, agents="scripted")
    with anyio.fail_after(60):
        assert await Daemon(config, progress=rec, exit_when_done=True).run() == 0
    path = plan_repo / PLAN
    plan = parse_plan(path.read_text(encoding="utf-8"))
    line = go_no_go(plan)
    assert line is not None
    assert line.startswith("NO-GO — no recommendation")
    assert "not ticked: Code review approved" in line
    decided = [f for e, f in rec.events if e == "go_no_go_decided"]
    assert len(decided) == 1
    assert decided[0]["outcome"] == "NO-GO"

    # A person writes the Decision and ticks the boxes: the running daemon says GO.
    rec = Recorder()
    async with running_daemon(config, rec):
        text = path.read_text(encoding="utf-8")
        text = text.replace(PLACEHOLDER, "**Decision:** JWT").replace("- [ ] ", "- [x] ")
        path.write_text(text, encoding="utf-8")
        await rec.wait_for(lambda: rec.seen("go_no_go_decided", outcome="GO"))
        await rec.wait_for(lambda: rec.seen("integrated"))
    plan = parse_plan(path.read_text(encoding="utf-8"))
    assert go_no_go(plan) == "GO"
    assert plan.header["Status"].value == "Completed"
    # The base holds T1's, T3's and T5-T7's work, none of T2's or T4's; the checkout too.
    on_main = set(git(plan_repo, "ls-tree", "-r", "--name-only", "main").splitlines())
    work = {f for f in on_main if f.startswith("work/")}
    assert work == {f"work/{t}.md" for t in ("T1", "T3", "T5", "T6", "T7")}
    assert (plan_repo / "work" / "T7.md").exists()
    assert not (plan_repo / "work" / "T2.md").exists()
    tags = git(plan_repo, "tag", "--list", "baton/archive/*").splitlines()
    assert tags == ["baton/archive/feature/auth-oauth", "baton/archive/feature/auth-session"]
    assert "not selected (T3 was)" in git(plan_repo, "tag", "-n1", tags[0])
    ticked = {c.text for c in plan.checklists if c.checked}
    assert {
        "Selected implementation merged to main",
        "Alternative implementations archived",
    } <= ticked
    report = (plan_repo / "INTEGRATION_REPORT.md").read_text(encoding="utf-8")
    assert "- Go/No-Go: GO" in report
    assert "baton/archive/feature/auth-oauth" in report
    assert not (plan_repo / ".git" / "CHERRY_PICK_HEAD").exists()
