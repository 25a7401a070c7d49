"""The daemon on plans as people write them: emoji statuses, stray bytes, unread columns."""

from __future__ import annotations

from pathlib import Path

import anyio
from structlog.testing import capture_logs

from orchestrator.daemon import Daemon
from protocol import parse_plan, read_revision
from protocol._model import Plan
from tests.orchestrator.conftest import (
    FAST_SCRIPT,
    Recorder,
    commit_plan,
    make_config,
    running_daemon,
)

PLAN = "MULTI_AGENT_PLAN.md"
PEOPLE = Path(__file__).parent.parent / "fixtures" / "plans" / "people"


def assert_only_cells_changed(before: str, after: str, columns: set[str]) -> None:
    """``after`` is ``before`` with only the given matrix columns, log rows, the header's
    Status and Baton's revision marker changed."""
    old, new = parse_plan(before), parse_plan(after)
    touched = {t.line for t in new.tasks} | {r.line for r in new.log}
    if "Status" in new.header:
        touched.add(new.header["Status"].span.line)
    if read_revision(after) is not None:  # Baton's marker: a blank line and itself, at the end
        after = after[: after.rindex("\n<!-- baton:rev ")]
    old_lines, new_lines = before.splitlines(), after.splitlines()
    assert len(old_lines) == len(new_lines)
    for n, (a, b) in enumerate(zip(old_lines, new_lines, strict=True), 1):
        assert a == b or n in touched, (n, a, b)
    for t_old, t_new in zip(old.tasks, new.tasks, strict=True):
        for name, cell in t_old.cells.items():
            assert cell.raw == t_new.cells[name].raw or name in columns, (t_old.id, name)


def statuses(plan: Plan) -> list[str]:
    return [t.cells["Status"].raw for t in plan.tasks]


async def test_emoji_plan_starts_the_next_wave_in_its_spelling(tmp_path: Path) -> None:
    """On a plan that writes ✅ Completed and ⬜ Not Started, T1 done starts T2 and T3;
    In Progress, which the plan never writes, is written as the template does, and T4
    keeps its ⬜ cell byte for byte."""
    text = (PEOPLE / "emoji_statuses.md").read_text(encoding="utf-8")
    repo = commit_plan(tmp_path, text.encode("utf-8"))
    rec = Recorder()
    async with running_daemon(make_config(repo, agents="manual"), rec):
        await rec.wait_for(lambda: all(rec.seen("worktree_ready", task_id=t) for t in ("T2", "T3")))
        after = (repo / PLAN).read_text(encoding="utf-8")
    plan = parse_plan(after)
    assert statuses(plan) == ["✅ Completed", "In Progress", "In Progress", "⬜ Not Started"]
    assert [r.cells["Status"].raw for r in plan.log] == [
        "✅ Completed",
        "In Progress",
        "In Progress",
        "⬜ Not Started",
    ]
    assert_only_cells_changed(text, after, {"Status"})


async def test_emoji_plan_runs_to_the_end_writing_its_own_completed(tmp_path: Path) -> None:
    """Scripted agents finish every task: each Status, in the matrix and in the log, is
    written as the plan writes Completed (✅ Completed); nothing else in the rows moves."""
    text = (PEOPLE / "emoji_statuses.md").read_text(encoding="utf-8")
    repo = commit_plan(tmp_path, text.encode("utf-8"))
    config = make_config(repo, FAST_SCRIPT, agents="scripted")
    with anyio.fail_after(60):
        assert await Daemon(config, progress=Recorder(), exit_when_done=True).run() == 0
    after = (repo / PLAN).read_text(encoding="utf-8")
    plan = parse_plan(after)
    assert statuses(plan) == ["✅ Completed"] * 4
    assert [r.cells["Status"].raw for r in plan.log] == ["✅ Completed"] * 4
    assert plan.log[0].cells["Completed"].raw == "2026-02-03 11:05"  # a person's value stays
    assert plan.header["Status"].value == "Integration"
    assert_only_cells_changed(text, after, {"Status"})


async def test_stray_bytes_are_reported_and_never_repaired(tmp_path: Path) -> None:
    """A plan with two bytes that are not UTF-8 is plan_invalid at their line and stays
    byte for byte; saved as UTF-8, the run starts."""
    good = (PEOPLE / "no_group_column.md").read_bytes()
    bad = good.replace(b"Config loader", b"Config \xff\xfeloader")
    repo = commit_plan(tmp_path, bad)
    rec = Recorder()
    async with running_daemon(make_config(repo, agents="manual"), rec) as daemon:
        await rec.wait_for(lambda: rec.seen("plan_invalid"))
        await daemon.reconcile()
        assert (repo / PLAN).read_bytes() == bad
        (repo / PLAN).write_bytes(good)
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
    [reported] = [f for e, f in rec.events if e == "plan_invalid"]
    assert reported["line"] == 11
    assert reported["reason"].startswith("bytes ff fe are not UTF-8")


async def test_an_unread_column_is_a_plan_warning_once(tmp_path: Path) -> None:
    """A misspelled Dependencies header is logged as plan_warning with file, line and the
    column it probably means, once however often the plan is read."""
    repo = commit_plan(tmp_path, (PEOPLE / "misspelled_header.md").read_bytes())
    rec = Recorder()
    with capture_logs() as logs:
        async with running_daemon(make_config(repo, agents="manual"), rec) as daemon:
            await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
            await daemon.reconcile()
    warnings = [e for e in logs if e["event"] == "plan_warning"]
    expected = [(PLAN, 8, "column 'Dependancies' is not read: did you mean 'Dependencies'?")]
    assert [(w["file"], w["line"], w["reason"]) for w in warnings] == expected
    reported = [f for e, f in rec.events if e == "plan_warning"]
    assert [(f["file"], f["line"], f["reason"]) for f in reported] == expected
