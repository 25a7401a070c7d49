"""The action table and its executor: every action has its case, every journal kind reads
back, and a journal written before the table existed is recovered."""

from __future__ import annotations

import ast
import json
import sqlite3
import sys
from pathlib import Path
from typing import get_args

import anyio

from agents import ManualAgent
from orchestrator.adapters.async_journal import AsyncJournal
from orchestrator.adapters.clock import ManualClock
from orchestrator.adapters.filestore import FileStore
from orchestrator.adapters.notify_hook import NotifyHook
from orchestrator.adapters.worktrees import Worktrees
from orchestrator.decisions import actions
from orchestrator.decisions.actions import (
    AdoptTask,
    FinishTask,
    Once,
    Report,
    ResetTask,
    SetTaskStatus,
    StartTask,
    SyncLogStatus,
    from_journal,
    kind_of,
    to_payload,
)
from orchestrator.runtime.agent_pool import AgentPool
from orchestrator.runtime.executor import Executor
from orchestrator.runtime.plan_writer import PlanWriter
from orchestrator.runtime.reporter import Reporter
from orchestrator.runtime.services import Services
from protocol import Plan, parse_plan
from tests.orchestrator.conftest import Recorder, make_config, running_daemon, watching
from tests.orchestrator.test_routing import append, start_t1

PLAN = "MULTI_AGENT_PLAN.md"
EXECUTOR = Path(actions.__file__).parent.parent / "runtime" / "executor.py"


def _cases(function: str) -> set[str]:
    tree = ast.parse(EXECUTOR.read_text(encoding="utf-8"))
    fn = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef) and n.name == function
    )
    return {
        p.cls.id
        for m in ast.walk(fn)
        if isinstance(m, ast.match_case)
        for p in ast.walk(m.pattern)
        if isinstance(p, ast.MatchClass) and isinstance(p.cls, ast.Name)
    }


def test_every_action_has_its_case_in_the_executor() -> None:
    """Each action type of the table is matched by the executor, none is left to chance."""
    table = {cls.__name__ for cls in get_args(actions.Action)}
    assert table == _cases("_stage")


def test_every_journaled_action_reads_back_from_its_kind() -> None:
    """What the journal keeps of an action gives back the same action, by kind."""
    for action in (
        StartTask("T1", 1, "a-001", "2026-01-01T00:00:00Z"),
        AdoptTask("T1", 2, "a-001", "2026-01-01T00:00:00Z"),
        FinishTask("T1", 1, "Completed", "2026-01-01T01:00:00Z", None),
        ResetTask("T1", 1),
    ):
        assert from_journal(kind_of(action), json.loads(json.dumps(to_payload(action)))) == action
    assert from_journal(actions.KIND_UNDO, {}) is None


_OLD_SCHEMA = """
CREATE TABLE tasks (task_id TEXT PRIMARY KEY, attempt INTEGER NOT NULL DEFAULT 0,
    started INTEGER NOT NULL DEFAULT 0, finished TEXT, started_at TEXT,
    external INTEGER NOT NULL DEFAULT 0);
CREATE TABLE intents (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending');
"""


async def test_a_journal_written_before_the_action_table_is_recovered(plan_repo: Path) -> None:
    """A start left pending by a daemon of the old layout (kind = class name, payload with
    ``type``) is finished with its recorded time and attempt, not started again, and marked
    done so that no later restart replays it."""
    at = "2026-01-01T08:00:00Z"
    state = plan_repo / ".baton"
    state.mkdir()
    db = sqlite3.connect(state / "journal.sqlite3")
    db.executescript(_OLD_SCHEMA)
    payload = {
        "type": "StartTask",
        "task_id": "T1",
        "attempt": 1,
        "agent_id": "architect-001",
        "at": at,
    }
    db.execute("INSERT INTO tasks VALUES ('T1', 1, 1, NULL, ?, 0)", (at,))
    db.execute(
        "INSERT INTO intents (key, kind, payload) VALUES ('start:T1:1', 'StartTask', ?)",
        (json.dumps(payload),),
    )
    db.execute("INSERT INTO intents (key, kind, payload) VALUES ('undo:start:T0:1', 'undo', '{}')")
    db.commit()
    db.close()
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, agents="manual"), rec) as daemon:
        await rec.wait_for(lambda: "T1" in daemon.running)
        await rec.wait_for(lambda: rec.seen("worktree_ready", task_id="T1"))
    plan = parse_plan((plan_repo / "MULTI_AGENT_PLAN.md").read_text(encoding="utf-8"))
    task, row = plan.task("T1"), plan.log_row("T1")
    assert task is not None
    assert row is not None
    assert (task.status, row.started, row.agent_id) == ("In Progress", at, "architect-001")
    assert not rec.seen("task_started", task_id="T1")  # replayed, not decided again
    db = sqlite3.connect(state / "journal.sqlite3")
    intents = dict(db.execute("SELECT key, state FROM intents").fetchall())
    attempts = db.execute("SELECT attempt FROM tasks WHERE task_id = 'T1'").fetchall()
    db.close()
    assert attempts == [(1,)]  # not started a second time
    assert intents == {"start:T1:1": "done", "undo:start:T0:1": "done"}  # not replayed again


async def test_a_reload_runs_the_new_notify_command(plan_repo: Path) -> None:
    """After SIGHUP changes notify_command, an escalation runs the new command, not the old."""
    start_t1(plan_repo)
    old, new = plan_repo.parent / "old.txt", plan_repo.parent / "new.txt"

    def toml(out: Path) -> str:
        hook = f"import sys; open({str(out)!r}, 'w').write(sys.argv[1])"
        return f'notify_command = [{json.dumps(sys.executable)}, "-c", {json.dumps(hook)}]\n'

    rec = Recorder()
    summary = "Question from architect-001: REST or gRPC?"
    async with (
        running_daemon(make_config(plan_repo, toml(old), agents="manual"), rec) as daemon,
        watching(plan_repo.parent, rec),
    ):
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
        daemon.reload(make_config(plan_repo, toml(new), agents="manual"))
        append(
            plan_repo,
            sender="architect-001",
            to="Orchestrator",
            type="Question",
            task="T1",
            text="REST or gRPC?",
        )
        await rec.wait_for(lambda: new.exists() and new.read_text(encoding="utf-8") == summary)
    assert not old.exists()


async def test_the_executor_runs_alone_on_real_parts(plan_repo: Path) -> None:
    """Built from services (no daemon): a Once runs its actions only the first time, every
    edit of a decision lands in one write, and a report reaches the observer after it."""
    config = make_config(plan_repo, agents="manual")
    rec = Recorder()
    journal = await AsyncJournal.open(config.state_dir / "journal.sqlite3")
    store = FileStore()
    parent = plan_repo.parent / "worktrees"
    current: list[Plan] = [parse_plan((plan_repo / PLAN).read_text(encoding="utf-8"))]
    writer = PlanWriter(store, lambda: config, lambda: current[0], parent, lambda: None, _nothing)
    writer.valid.set()
    services = Services(
        config=lambda: config,
        plan=lambda: current[0],
        clock=ManualClock(),
        store=store,
        journal=journal,
        writer=writer,
        report=Reporter(rec),
        worktrees=Worktrees(plan_repo, parent),
        parent=parent,
    )
    async with anyio.create_task_group() as tg:
        agents = AgentPool(
            services,
            lambda task, cfg: ManualAgent(),
            tg,
            ensure=lambda task: services.worktrees.ensure(task.worktree, task.branch),
            started=_nothing,
            events=_nothing,
            ended=lambda: None,
        )
        hook = NotifyHook(lambda: (), tg)
        executor = Executor(services, agents, hook, handoff=_nothing2, background=tg.start_soon)
        once = Once(
            "test:once",
            (
                SetTaskStatus("T1", "In Progress", ("Not Started",)),
                SyncLogStatus("T1", "In Progress"),
                Report("marked", {"task_id": "T1"}),
            ),
        )
        written = await executor.apply([once])
        assert written is not None
        assert await executor.apply([once]) is None  # recorded: nothing to do again
        tg.cancel_scope.cancel()
    await journal.close()
    plan = parse_plan((plan_repo / PLAN).read_text(encoding="utf-8"))
    task, row = plan.task("T1"), plan.log_row("T1")
    assert task is not None
    assert row is not None
    assert (task.status, row.status) == ("In Progress", "In Progress")
    assert [e for e, _ in rec.events] == ["marked"]


async def _nothing(*_: object) -> None:
    return None


async def _nothing2(task_id: str, attempt: int) -> None:
    return None
