"""The daemon end to end: real git repo, real files, the real watcher (docs/contract.md sec. 3)."""

from __future__ import annotations

import gc
import os
import socket
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from orchestrator.adapters.systemd_notify import SystemdNotifier
from orchestrator.daemon import Daemon
from protocol import check_plan, parse_plan, set_cell
from tests.orchestrator.conftest import (
    FAST_SCRIPT,
    Recorder,
    git,
    make_config,
    running_daemon,
)

PLAN = "MULTI_AGENT_PLAN.md"


def read_plan(repo: Path) -> str:
    return (repo / PLAN).read_text(encoding="utf-8")


def flip(text: str, task_id: str, status: str) -> str:
    return set_cell(text, parse_plan(text), task_id, "Status", status)


async def test_template_runs_to_the_end_in_waves(plan_repo: Path) -> None:
    """Scripted agents run A → B (T2-T4 together) → C → D; every log row is filled."""
    rec = Recorder()
    config = make_config(plan_repo, FAST_SCRIPT, agents="scripted")
    daemon = Daemon(config, progress=rec, exit_when_done=True)
    with anyio.fail_after(60):
        assert await daemon.run() == 0
    plan = parse_plan(read_plan(plan_repo))
    assert [t.status for t in plan.tasks] == ["Completed"] * 7
    assert plan.header["Status"].value == "Integration"
    for row in plan.log:
        assert (row.status, bool(row.started), bool(row.completed), bool(row.duration)) == (
            "Completed",
            True,
            True,
            True,
        ), row
    started, completed = rec.order("task_started"), rec.order("task_completed")
    assert sorted(started) == sorted(completed) == [f"T{i}" for i in range(1, 8)]
    events = [(e, f["task_id"]) for e, f in rec.events if e in ("task_started", "task_completed")]
    index = {(e[5], t): i for i, (e, t) in enumerate(events)}  # ('s'|'c', task) -> order
    for later, earlier in [
        ("T2", "T1"),
        ("T3", "T1"),
        ("T4", "T1"),
        ("T5", "T4"),
        ("T6", "T2"),
        ("T7", "T5"),
        ("T7", "T6"),
    ]:
        assert index[("s", later)] > index[("c", earlier)], (later, earlier)
    # The three builders run side by side: all start before any of them completes.
    assert max(index[("s", t)] for t in ("T2", "T3", "T4")) < min(
        index[("c", t)] for t in ("T2", "T3", "T4")
    )
    branch_log = git(plan_repo, "log", "--oneline", "feature/auth-jwt")
    assert "T3: work" in branch_log


async def _flip_and_expect_wave_b(repo: Path, save: str) -> None:
    rec = Recorder()
    config = make_config(repo, agents="manual")
    async with running_daemon(config, rec) as daemon:
        await rec.wait_for(lambda: rec.seen("worktree_ready", task_id="T1"))
        new = flip(read_plan(repo), "T1", "Completed")
        path = repo / PLAN
        if save == "rename":  # as vim saves: write a new file, rename it over the old one
            tmp = repo / ".MULTI_AGENT_PLAN.md.swp"
            tmp.write_text(new, encoding="utf-8")
            os.replace(tmp, path)
        else:  # truncate, then write in place
            with path.open("r+", encoding="utf-8", newline="") as f:
                f.truncate(0)
                f.flush()
                f.write(new)
        await rec.wait_for(
            lambda: all(rec.seen("worktree_ready", task_id=t) for t in ("T2", "T3", "T4"))
        )
        plan = parse_plan(read_plan(repo))
        assert [t.status for t in plan.tasks[:5]] == [
            "Completed",
            "In Progress",
            "In Progress",
            "In Progress",
            "Not Started",
        ]
        for folder in ("oauth", "jwt", "session"):
            assert (daemon.parent / folder / ".git").exists()
        assert sorted(daemon.running) == ["T2", "T3", "T4"]


async def test_manual_flip_by_rename_starts_wave_b(plan_repo: Path) -> None:
    """A person saving T1 Completed by rename starts T2-T4 in their worktrees."""
    await _flip_and_expect_wave_b(plan_repo, "rename")


async def test_manual_flip_by_truncate_and_write_starts_wave_b(plan_repo: Path) -> None:
    """A person saving T1 Completed by truncate-and-write starts T2-T4 in their worktrees."""
    await _flip_and_expect_wave_b(plan_repo, "truncate")


async def test_invalid_plan_is_reported_untouched_and_resumed(plan_repo: Path) -> None:
    """An invalid plan is logged with its line, left byte for byte, and the run resumes on fix."""
    good = read_plan(plan_repo)
    bad = good.replace("| T3 | Implement JWT", "| T2 | Implement JWT", 1)
    (plan_repo / PLAN).write_text(bad, encoding="utf-8")
    rec = Recorder()
    with capture_logs() as logs:
        async with running_daemon(make_config(plan_repo, agents="manual"), rec) as daemon:
            await rec.wait_for(lambda: rec.seen("plan_invalid"))
            # Nothing is written into the invalid file, even after a reconcile pass.
            await daemon.reconcile()
            assert read_plan(plan_repo) == bad
            (plan_repo / PLAN).write_text(good, encoding="utf-8")
            await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
    invalid = [e for e in logs if e["event"] == "plan_invalid"]
    assert invalid[0]["line"] == 88
    assert "duplicate task id T2" in invalid[0]["reason"]
    assert any(e["event"] == "plan_valid" for e in logs)


async def test_sd_notify_datagrams(plan_repo: Path, tmp_path: Path) -> None:
    """The daemon tells systemd READY=1, a STATUS= line, and STOPPING=1 on stop."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(path)})
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, agents="manual"), rec, notifier=notifier):
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
    received = []
    with anyio.fail_after(5):
        while not any(b"STOPPING=1" in d for d in received):
            await anyio.wait_readable(sock)
            received.append(sock.recv(4096))
    sock.close()
    assert received[0] == b"READY=1"
    assert any(d.startswith(b"STATUS=7 tasks:") for d in received)


INVALID = sorted(
    (Path(__file__).parent.parent / "fixtures" / "plans").glob("invalid_*.md"),
    key=lambda p: p.name,
)


@pytest.mark.parametrize("fixture", INVALID, ids=lambda p: p.stem)
async def test_each_invalid_plan_is_reported_with_its_line(plan_repo: Path, fixture: Path) -> None:
    """Every error kind reaches the log as plan_invalid at its line; the file is untouched."""
    text = fixture.read_text(encoding="utf-8")
    (plan_repo / PLAN).write_text(text, encoding="utf-8")
    expected = check_plan(parse_plan(text), worktree_parent=str(plan_repo.parent / "wt"))
    rec = Recorder()
    config = make_config(plan_repo, 'worktree_parent = "../wt"\n', agents="manual")
    async with running_daemon(config, rec):
        await rec.wait_for(lambda: rec.seen("plan_invalid"))
    reported = [(f["line"], f["reason"]) for e, f in rec.events if e == "plan_invalid"]
    assert reported == [(e.line, e.reason) for e in expected]
    assert read_plan(plan_repo) == text


async def test_a_failing_progress_observer_does_not_stop_the_run(plan_repo: Path) -> None:
    """An observer that raises (a closed pipe under `baton demo | head`) is dropped; the
    run goes on to the end."""

    def broken(event: str, fields: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    config = make_config(plan_repo, FAST_SCRIPT, agents="scripted")
    daemon = Daemon(config, progress=broken, exit_when_done=True)
    with anyio.fail_after(30):
        assert await daemon.run() == 0
    plan = parse_plan((plan_repo / "MULTI_AGENT_PLAN.md").read_text(encoding="utf-8"))
    assert [t.status for t in plan.tasks] == ["Completed"] * 7


async def test_a_missing_base_branch_is_said_once_and_waited_for(plan_repo: Path) -> None:
    """With the base branch deleted, no task fails: Baton says once that it is missing and
    waits; once it exists again, the task gets its worktree and the run goes on."""
    git(plan_repo, "checkout", "-q", "-b", "work")
    git(plan_repo, "branch", "-q", "-D", "main")
    rec = Recorder()
    config = make_config(plan_repo, 'base_branch = "main"\n', agents="manual")
    with capture_logs() as logs:
        async with running_daemon(config, rec) as daemon:
            await rec.wait_for(lambda: rec.seen("base_branch_missing"))
            await daemon.reconcile()  # another pass decides again: still not said twice
            assert not rec.seen("worktree_ready")
            git(plan_repo, "branch", "main", "work")
            await rec.wait_for(lambda: rec.seen("worktree_ready", task_id="T1"))
    missing = [e for e in logs if e["event"] == "base_branch_missing"]
    assert [(e["log_level"], e["branch"]) for e in missing] == [("error", "main")]
    assert any(e["event"] == "base_branch_found" for e in logs)
    assert "Failed" not in {t.status for t in parse_plan(read_plan(plan_repo)).tasks}


@pytest.mark.parametrize("how", ["file deleted", "directory renamed"])
async def test_a_plan_gone_mid_run_is_said_once(plan_repo: Path, how: str) -> None:
    """A plan file deleted, or its directory renamed, while the daemon runs is one warning
    (not silence, not one per pass); when it is back, that is said too."""
    rec = Recorder()
    config = make_config(plan_repo, "reconcile_seconds = 0.05\n", agents="manual")
    text = read_plan(plan_repo)
    moved = plan_repo.with_name("moved")
    with capture_logs() as logs:
        async with running_daemon(config, rec) as daemon:
            await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
            if how == "file deleted":
                (plan_repo / PLAN).unlink()
            else:
                plan_repo.rename(moved)
            await rec.wait_for(lambda: rec.seen("plan_missing"))
            for _ in range(3):
                await daemon.reconcile()  # more passes, nothing more said
            if how == "file deleted":
                (plan_repo / PLAN).write_text(text, encoding="utf-8")
            else:
                moved.rename(plan_repo)
            await rec.wait_for(lambda: rec.seen("plan_found"))
    said = [(e["log_level"], e["reason"]) for e in logs if e["event"] == "plan_missing"]
    reason = "the plan file is gone" if how == "file deleted" else "the plan directory is gone"
    assert len(said) == 1
    assert said[0][0] == "warning"
    assert said[0][1].startswith(reason)
    assert not moved.exists()  # renamed back: nothing was made at the old path meanwhile


async def test_a_plan_over_the_size_limit_is_refused(plan_repo: Path) -> None:
    """A plan over max_plan_mb is reported as plan_invalid without being parsed, nothing is
    written, and the run starts once it is back under the limit."""
    good = read_plan(plan_repo)
    big = good + "\n<!-- " + "x" * 60_000 + " -->\n"
    (plan_repo / PLAN).write_text(big, encoding="utf-8")
    rec = Recorder()
    config = make_config(plan_repo, "max_plan_mb = 0.05\n", agents="manual")
    async with running_daemon(config, rec):
        await rec.wait_for(lambda: rec.seen("plan_invalid"))
        assert read_plan(plan_repo) == big
        (plan_repo / PLAN).write_text(good, encoding="utf-8")
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
    [invalid] = [f for e, f in rec.events if e == "plan_invalid"]
    assert invalid["line"] == 0
    size = len(big.encode("utf-8")) / 1_000_000
    assert invalid["reason"] == (
        f"the plan is {size:.3g} MB, over the 0.05 MB limit (max_plan_mb in baton.toml)"
    )


async def test_the_heap_set_aside_during_a_run_is_given_back(plan_repo: Path) -> None:
    """After each good pass what it left alive is set aside from the collector (so a
    collection in a later decision does not walk the whole plan); when the run ends,
    nothing stays set aside and the collector's threshold is what it was."""
    threshold = gc.get_threshold()
    set_aside: list[int] = []
    config = make_config(plan_repo, FAST_SCRIPT, agents="scripted")
    daemon = Daemon(
        config,
        progress=lambda event, fields: set_aside.append(gc.get_freeze_count()),
        exit_when_done=True,
    )
    with anyio.fail_after(60):
        assert await daemon.run() == 0
    assert max(set_aside) > 0
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold
