"""The daemon decides Go/No-Go at Integration and decides again when the plan changes
(docs/user-guide.md, "From Integration to Completed"): real git repo, real watcher."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from orchestrator.cli import main
from orchestrator.daemon import Daemon
from protocol import add_blocker_entry, parse_plan
from protocol.integration import go_no_go
from tests.orchestrator.conftest import (
    FAST_SCRIPT,
    Recorder,
    decide_jwt,
    git,
    make_config,
    running_daemon,
)

PLAN = "MULTI_AGENT_PLAN.md"


async def test_no_recommendation_is_no_go_until_a_person_decides(
    plan_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
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
        text = decide_jwt(text)
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
    assert main(["status", "--dir", str(plan_repo)]) == 0
    shown = capsys.readouterr().out
    assert "plan status: Completed" in shown
    assert "Go/No-Go: GO" in shown


def with_blocker(text: str, severity: str) -> str:
    fields = {
        "Severity": severity,
        "Blocker Type": "Technical",
        "Description": "The token library leaks memory under load.",
        "Required Resolution": "Decide whether to ship",
        "Escalation": "No",
    }
    return add_blocker_entry(
        text,
        parse_plan(text),
        task_id="T3",
        agent_id="builder-jwt-001",
        timestamp="2025-12-13 15:45",
        fields=fields,
    )


async def test_critical_blocks_caution_waits_for_baton_approve(
    plan_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(plan_repo, FAST_SCRIPT, agents="scripted")
    with anyio.fail_after(60):
        assert await Daemon(config, progress=Recorder(), exit_when_done=True).run() == 0
    path = plan_repo / PLAN
    before = git(plan_repo, "rev-parse", "main")
    text = path.read_text(encoding="utf-8")
    text = decide_jwt(text)
    rec = Recorder()
    async with running_daemon(config, rec):
        path.write_text(with_blocker(text, "Critical"), "utf-8")
        await rec.wait_for(lambda: rec.seen("go_no_go_decided", outcome="NO-GO"))
        decided = [f for e, f in rec.events if e == "go_no_go_decided"][-1]
        assert decided["reasons"] == ["open Critical blocker of T3"]
        assert git(plan_repo, "rev-parse", "main") == before  # nothing merged

        text = path.read_text(encoding="utf-8").replace(
            "**Severity:** Critical", "**Severity:** Medium"
        )
        path.write_text(text, "utf-8")
        await rec.wait_for(lambda: rec.seen("go_no_go_decided", outcome="GO WITH CAUTION"))
        line = go_no_go(parse_plan(path.read_text(encoding="utf-8")))
        assert line == "GO WITH CAUTION — open Medium blocker of T3; waiting for approval"
        assert git(plan_repo, "rev-parse", "main") == before  # waits for a person

        code = await anyio.to_thread.run_sync(
            main, ["integrate", "--dry-run", "--dir", str(plan_repo)]
        )
        out = capsys.readouterr().out
        assert code == 1
        assert "Go/No-Go: GO WITH CAUTION" in out
        assert "T3 (feature/auth-jwt): 1 commit(s)" in out
        assert "Would archive T2 as baton/archive/feature/auth-oauth" in out

        assert (
            await anyio.to_thread.run_sync(
                main, ["approve", "--dir", str(plan_repo), "--note", "ok by me"]
            )
            == 0
        )
        await rec.wait_for(lambda: rec.seen("integrated"))
    plan = parse_plan(path.read_text(encoding="utf-8"))
    assert go_no_go(plan) == "GO WITH CAUTION — open Medium blocker of T3; approved"
    assert plan.header["Status"].value == "Completed"
    assert "- [x] Approve integration with caution — ok by me" in path.read_text(encoding="utf-8")
    assert git(plan_repo, "rev-parse", "main") != before
    assert "work/T3.md" in git(plan_repo, "ls-tree", "-r", "--name-only", "main")


async def test_a_conflict_stops_with_a_blocker_entry_and_the_base_untouched(
    plan_repo: Path,
) -> None:
    config = make_config(plan_repo, FAST_SCRIPT, agents="scripted")
    with anyio.fail_after(60):
        assert await Daemon(config, progress=Recorder(), exit_when_done=True).run() == 0
    # Someone put their own work/T3.md on main meanwhile: T3's commit conflicts with it.
    (plan_repo / "work").mkdir()
    (plan_repo / "work" / "T3.md").write_text("someone else's\n", encoding="utf-8")
    git(plan_repo, "add", "work/T3.md")
    git(plan_repo, "commit", "-q", "-m", "main: T3 notes")
    before = git(plan_repo, "rev-parse", "main")
    path = plan_repo / PLAN
    text = path.read_text(encoding="utf-8")
    text = decide_jwt(text)
    rec = Recorder()
    async with running_daemon(config, rec):
        path.write_text(text, "utf-8")
        await rec.wait_for(lambda: rec.seen("integration_stopped"))
        await rec.wait_for(lambda: rec.seen("go_no_go_decided", outcome="NO-GO"))
    stopped = next(f for e, f in rec.events if e == "integration_stopped")
    assert (stopped["reason"], stopped["files"]) == ("conflict", ["work/T3.md"])
    assert git(plan_repo, "rev-parse", "main") == before
    status = git(plan_repo, "status", "--porcelain", "--untracked-files=no")
    assert status.strip() == "M MULTI_AGENT_PLAN.md"  # only Baton's plan; no pick half done
    plan = parse_plan(path.read_text(encoding="utf-8"))
    entry = next(b for b in plan.blockers if b.fields.get("Blocker Type") == "Integration")
    assert entry.escalate
    assert "work/T3.md" in entry.fields["Description"]
    assert plan.header["Status"].value == "Integration"
    assert go_no_go(plan) == "NO-GO — open High blocker of T3"
    assert not git(plan_repo, "tag", "--list", "baton/archive/*")
