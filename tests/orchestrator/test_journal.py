"""A broken journal is refused in one line, rebuilt on request from the plan and the message
log, and a journal deleted under a running daemon is noticed (docs/operations.md)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from orchestrator.adapters.journal import Journal, JournalBroken
from orchestrator.cli import main
from orchestrator.daemon import Daemon
from protocol import parse_messages, parse_plan, set_cell
from tests.orchestrator.conftest import Recorder, make_config, running_daemon, watching

PLAN, MESSAGES = "MULTI_AGENT_PLAN.md", "INTER_AGENT_MESSAGES.md"


def journal_path(repo: Path) -> Path:
    return repo / ".baton" / "journal.sqlite3"


def handoffs(repo: Path, task: str) -> list[str]:
    path = repo / MESSAGES
    if not path.exists():
        return []
    return [
        m.timestamp
        for m in parse_messages(path.read_text(encoding="utf-8")).messages
        if m.type == "Handoff" and m.sender == "Orchestrator" and m.task == task
    ]


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 100)


def empty(path: Path) -> None:
    path.write_bytes(b"")


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


def smashed(path: Path) -> None:
    """Page headers overwritten, as a bad disk or a stray write leaves them."""
    data = bytearray(path.read_bytes())
    for page in range(2, len(data) // 4096):
        data[page * 4096 : page * 4096 + 12] = b"\xab" * 12
    path.write_bytes(bytes(data))


def newer(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()


def a_journal(repo: Path) -> Path:
    """A real journal with a few rows, checkpointed into its main file."""
    path = journal_path(repo)
    journal = Journal(path)
    for n in range(200):
        journal.mark(f"filler:{n}", "x" * 200)
    journal.close()
    return path


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (garbage, "unreadable (file is not a database)"),
        (empty, "empty"),
        (truncated, "unreadable (database disk image is malformed)"),
        (smashed, "malformed"),
        (newer, "newer"),
    ],
    ids=["garbage", "empty", "truncated", "smashed", "newer-schema"],
)
def test_a_broken_journal_is_refused_in_one_line(
    plan_repo: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path], None],
    reason: str,
) -> None:
    """baton run refuses a garbage, empty, cut or newer journal with one line naming the
    file and the way out, and touches neither the plan nor the journal."""
    path = a_journal(plan_repo)
    damage(path)
    before = (path.read_bytes(), (plan_repo / PLAN).read_bytes())
    assert main(["run", "--dir", str(plan_repo), "--agents", "manual"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"baton: {path}: ")
    assert reason in err
    assert "baton run --rebuild-journal" in err
    assert (path.read_bytes(), (plan_repo / PLAN).read_bytes()) == before


async def _run_until_wave_b(repo: Path) -> None:
    """T1 Completed by a person, its Handoff in the log, T2-T4 In Progress (manual agents)."""
    rec = Recorder()
    async with watching(repo, rec), running_daemon(make_config(repo, agents="manual"), rec):
        await rec.wait_for(lambda: rec.seen("worktree_ready", task_id="T1"))
        text = (repo / PLAN).read_text(encoding="utf-8")
        (repo / PLAN).write_text(set_cell(text, parse_plan(text), "T1", "Status", "Completed"))
        await rec.wait_for(
            lambda: (
                all(rec.seen("worktree_ready", task_id=t) for t in ("T2", "T3", "T4"))
                and len(handoffs(repo, "T1")) == 1
            )
        )


async def test_rebuild_resends_nothing_the_log_holds(plan_repo: Path) -> None:
    """--rebuild-journal after garbage: the finished task is not finished again (no second
    Handoff), the running ones resume, and the broken file is kept beside the new one."""
    await _run_until_wave_b(plan_repo)
    path = journal_path(plan_repo)
    garbage(path)
    config = make_config(plan_repo, agents="manual")
    with pytest.raises(JournalBroken):
        await Daemon(config).run()
    rec = Recorder()
    with capture_logs() as logs:
        async with running_daemon(config, rec, rebuild_journal=True) as daemon:
            await rec.wait_for(
                lambda: all(rec.seen("worktree_ready", task_id=t) for t in ("T2", "T3", "T4"))
            )
            await daemon.reconcile()
    assert not rec.seen("task_completed")
    assert not rec.seen("task_started")
    assert len(handoffs(plan_repo, "T1")) == 1
    [rebuilt] = [e for e in logs if e["event"] == "journal_rebuilt"]
    kept = Path(rebuilt["broken"])
    assert kept.parent == path.parent
    assert kept.read_bytes().startswith(b"this is not")
    states = Journal(path).task_states()
    assert (states["T1"].attempt, states["T1"].finished) == (1, "Completed")
    assert all(states[t].started and states[t].finished is None for t in ("T2", "T3", "T4"))


async def test_rebuild_sends_the_handoff_the_log_lacks(plan_repo: Path) -> None:
    """A Completed task whose Handoff never reached the log gets it, once, after a rebuild."""
    await _run_until_wave_b(plan_repo)
    log = plan_repo / MESSAGES
    text = log.read_text(encoding="utf-8")
    [handoff] = [m for m in parse_messages(text).messages if m.type == "Handoff"]
    log.write_text(text[: handoff.span.start] + text[handoff.span.end :], encoding="utf-8")
    journal_path(plan_repo).unlink()
    rec = Recorder()
    config = make_config(plan_repo, agents="manual")
    async with watching(plan_repo, rec), running_daemon(config, rec, rebuild_journal=True):
        await rec.wait_for(lambda: len(handoffs(plan_repo, "T1")) == 1)
    assert rec.order("task_completed") == ["T1"]


async def test_a_healthy_journal_is_kept(plan_repo: Path) -> None:
    """--rebuild-journal on a healthy journal keeps it as it is, with a warning."""
    path = a_journal(plan_repo)
    marks = Journal(path).marks("filler:")
    rec = Recorder()
    with capture_logs() as logs:
        async with running_daemon(
            make_config(plan_repo, agents="manual"), rec, rebuild_journal=True
        ):
            await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
    assert [e["event"] for e in logs if e["event"].startswith("journal_")] == ["journal_kept"]
    assert Journal(path).marks("filler:") == marks


@pytest.mark.parametrize("what", ["file", "directory"])
async def test_a_journal_deleted_mid_run_is_noticed_and_restored(
    plan_repo: Path, what: str
) -> None:
    """Deleting the journal (or all of .baton/) under a running daemon is logged as an error
    and the journal is written back from the open database, nothing lost."""
    rec = Recorder()
    config = make_config(plan_repo, "reconcile_seconds = 0.05\n", agents="manual")
    path = journal_path(plan_repo)
    with capture_logs() as logs:
        async with running_daemon(config, rec) as daemon:
            await rec.wait_for(lambda: rec.seen("worktree_ready", task_id="T1"))
            if what == "file":
                path.unlink()
            else:
                shutil.rmtree(path.parent)
            await rec.wait_for(lambda: rec.seen("journal_missing"))
            assert not daemon.lock.lost()
    [missing] = [e for e in logs if e["event"] == "journal_missing"]
    assert (missing["log_level"], missing["file"]) == ("error", str(path))
    states = Journal(path).task_states()
    assert states["T1"].started
    assert states["T1"].attempt == 1


def test_run_help_offers_the_rebuild(capsys: pytest.CaptureFixture[str]) -> None:
    """`baton run --help` documents --rebuild-journal."""
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--rebuild-journal" in capsys.readouterr().out


def test_status_reads_a_broken_journal_without_failing(plan_repo: Path) -> None:
    """The read-only commands never trip over a broken journal."""
    path = journal_path(plan_repo)
    path.parent.mkdir()
    garbage(path)
    assert main(["status", "--dir", str(plan_repo)]) == 0
