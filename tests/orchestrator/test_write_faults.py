"""The daemon while its writes fail (a full disk, an I/O error, a full journal disk): it waits
with backoff, says so once, and once the disk takes writes again everything it decided
meanwhile happens exactly once (docs/operations.md)."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from orchestrator.adapters.clock import ManualClock
from orchestrator.adapters.filestore import FileStore
from orchestrator.adapters.probes import Probes
from protocol import parse_messages, parse_plan, set_cell
from protocol.messages import NEW_MESSAGES_FILE
from tests.orchestrator.conftest import Recorder, make_config, running_daemon, watching
from tests.orchestrator.helpers.faults import Disk, fill, temp_files, tmpfs

PLAN, MESSAGES = "MULTI_AGENT_PLAN.md", "INTER_AGENT_MESSAGES.md"
WAVE_B = ("T2", "T3", "T4")


def complete(repo: Path, task_id: str) -> None:
    """A person saves ``task_id`` Completed (their editor's write, not Baton's)."""
    path = repo / PLAN
    text = path.read_text(encoding="utf-8")
    path.write_text(set_cell(text, parse_plan(text), task_id, "Status", "Completed"), "utf-8")


def handoffs(repo: Path) -> list[str]:
    """The task of every Handoff the Orchestrator sent, in log order."""
    text = (repo / MESSAGES).read_text(encoding="utf-8")
    return [
        m.task or ""
        for m in parse_messages(text).messages
        if m.type == "Handoff" and m.sender == "Orchestrator"
    ]


def attempts(repo: Path) -> dict[str, int]:
    db = sqlite3.connect(repo / ".baton" / "journal.sqlite3")
    try:
        return dict(db.execute("SELECT task_id, attempt FROM tasks"))
    finally:
        db.close()


def events(logs: list[dict[str, object]], name: str) -> list[dict[str, object]]:
    return [e for e in logs if e["event"] == name]


def count(rec: Recorder, event: str) -> int:
    return sum(1 for e, _ in rec.events if e == event)


async def pass_backoffs(
    clock: ManualClock, rec: Recorder, done: Callable[[], bool], failure: str = "write_failed"
) -> None:
    """Move the injected clock past every backoff pause, and past the pause of each attempt
    that fails after that, until ``done()``. A failed attempt is reported before its pause
    begins, so a move made after the report always ends that pause."""
    with anyio.fail_after(20):
        while not done():
            failed = count(rec, failure)
            clock.advance(60)
            await rec.wait_for(lambda seen=failed: done() or count(rec, failure) > seen)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
async def test_decisions_made_while_the_plan_cannot_be_written_happen_once(
    plan_repo: Path, code: int
) -> None:
    """T1 Completed on a full disk: no reset, no temp files, one error; once the disk takes
    writes, T1's log row is filled, its Handoff sent once and T2-T4 start as attempt 1."""
    (plan_repo / MESSAGES).write_text(NEW_MESSAGES_FILE, encoding="utf-8")
    disk, clock, rec = Disk(fail=code), ManualClock(), Recorder()
    config = make_config(plan_repo, agents="manual")
    with capture_logs() as logs:
        async with (
            running_daemon(config, rec, clock=clock, store=FileStore(writer=disk)),
            watching(plan_repo, rec),
        ):
            await rec.wait_for(lambda: rec.seen("worktree_ready", task_id="T1"))
            disk.full = True
            complete(plan_repo, "T1")
            for n in range(1, 6):  # five attempts, each after a backoff pause
                await rec.wait_for(lambda n=n: count(rec, "write_failed") >= n)
                if n < 5:
                    clock.advance(60)
            failed = events(logs, "plan_write_failed")
            assert [(e["file"], e["reason"]) for e in failed] == [
                (str(plan_repo / PLAN), os.strerror(code))
            ]
            assert temp_files(plan_repo) == []
            assert parse_plan((plan_repo / PLAN).read_text("utf-8")).log_row("T1").completed == ""
            disk.full = False
            await pass_backoffs(
                clock, rec, lambda: all(rec.seen("task_started", task_id=t) for t in WAVE_B)
            )
            await rec.wait_for(lambda: handoffs(plan_repo) == ["T1"])
    row = parse_plan((plan_repo / PLAN).read_text("utf-8")).log_row("T1")
    assert (row.status, bool(row.completed), bool(row.duration)) == ("Completed", True, True)
    assert handoffs(plan_repo) == ["T1"]
    assert not rec.seen("task_reset")
    assert attempts(plan_repo) == {t: 1 for t in ("T1", *WAVE_B)}
    assert temp_files(plan_repo) == []
    assert len(events(logs, "plan_write_failed")) == 1
    assert [e["file"] for e in events(logs, "write_recovered")] == [str(plan_repo / PLAN)]
    assert events(logs, "reconcile_failed") == []


async def test_a_full_journal_disk_waits_and_loses_nothing(plan_repo: Path) -> None:
    """.baton on a real full tmpfs: one journal_write_failed names the journal; freed, T1's
    finish and T2-T4's starts happen once, with their Handoff."""
    (plan_repo / MESSAGES).write_text(NEW_MESSAGES_FILE, encoding="utf-8")
    clock, rec = ManualClock(), Recorder()
    config = make_config(plan_repo, agents="manual")
    journal = plan_repo / ".baton" / "journal.sqlite3"
    with tmpfs(plan_repo / ".baton", "2m") as state, capture_logs() as logs:
        async with running_daemon(config, rec, clock=clock), watching(plan_repo, rec):
            await rec.wait_for(lambda: rec.seen("worktree_ready", task_id="T1"))
            filler = fill(state)
            complete(plan_repo, "T1")
            await rec.wait_for(lambda: rec.seen("write_failed", file=str(journal)))
            failed = events(logs, "journal_write_failed")
            assert [(e["file"], e["reason"]) for e in failed] == [
                (str(journal), "database or disk is full")
            ]
            filler.unlink()
            await pass_backoffs(
                clock, rec, lambda: all(rec.seen("task_started", task_id=t) for t in WAVE_B)
            )
            await rec.wait_for(lambda: handoffs(plan_repo) == ["T1"])
        assert attempts(plan_repo) == {t: 1 for t in ("T1", *WAVE_B)}
    assert not rec.seen("task_reset")
    assert len(events(logs, "journal_write_failed")) == 1
    assert [e["file"] for e in events(logs, "write_recovered")] == [str(journal)]
    assert events(logs, "reconcile_failed") == []


async def test_a_failing_pass_is_logged_once_and_retried_with_backoff(plan_repo: Path) -> None:
    """A pass that keeps failing logs reconcile_failed once, then once that it recovered."""
    failures = 0

    def git_changes(repo: Path) -> list[str]:
        nonlocal failures
        if failures < 4:
            failures += 1
            raise RuntimeError("git is broken")
        return []

    clock, rec = ManualClock(), Recorder()
    probes = Probes(git_changes=git_changes)
    config = make_config(plan_repo, agents="manual")
    with capture_logs() as logs:
        async with running_daemon(config, rec, clock=clock, probes=probes):
            await pass_backoffs(
                clock, rec, lambda: rec.seen("reconcile_recovered"), "reconcile_failed"
            )
            await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
    assert failures == 4
    failed = events(logs, "reconcile_failed")
    assert [e["error"] for e in failed] == ["git is broken"]
    assert len(events(logs, "reconcile_recovered")) == 1
