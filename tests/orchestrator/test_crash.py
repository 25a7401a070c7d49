"""Crash safety: SIGKILL at random moments; each restart finishes the run (SPEC sec. 10).

Each task's worktree is created once per attempt, no log row is duplicated and no task is
started twice. ``make soak`` runs the same test with many more kills.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from watchfiles import watch

from protocol import parse_messages, parse_plan
from tests.orchestrator.conftest import Recorder, make_config, running_daemon

KILLS = int(os.environ.get("BATON_CRASH_KILLS", "20"))
SCRIPT = """
[scripts.default]
steps = [
  { wait = 0.02 },
  { write = "work/{task_id}.md", content = "{task_id}\\n" },
  { commit = "{task_id}: work" },
  { complete = "{task_id} done" },
]
"""


def start(repo: Path, stdout: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    baton = Path(sys.executable).with_name("baton")
    return subprocess.Popen(
        [str(baton), "run", "--dir", str(repo), "--agents", "scripted", "--log-format", "json"],
        stdout=stdout,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(proc: subprocess.Popen[bytes]) -> threading.Thread:
    """Read the daemon's JSON log until daemon_ready; keep draining it in a thread after."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if b'"daemon_ready"' in line:
            break
    else:
        raise AssertionError("the daemon exited before it was ready")
    drain = threading.Thread(target=proc.stdout.read, daemon=True)
    drain.start()
    return drain


def done(plan_path: Path) -> bool:
    plan = parse_plan(plan_path.read_text(encoding="utf-8"))
    return (
        bool(plan.tasks)
        and all(t.status == "Completed" for t in plan.tasks)
        and all(r.completed for r in plan.log)
    )


def wait_until_done(plan_path: Path, seconds: float) -> None:
    """Block on the watcher (not a sleep loop) until every task is Completed."""
    if done(plan_path):
        return
    deadline = time.monotonic() + seconds
    for _ in watch(plan_path.parent, rust_timeout=500, yield_on_timeout=True):
        if done(plan_path):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"run did not finish within {seconds}s")


@pytest.mark.timeout(300)
def test_sigkill_at_random_moments(plan_repo: Path) -> None:
    """After each of many SIGKILLs a restart resumes; the run ends with nothing doubled."""
    (plan_repo / "baton.toml").write_text(SCRIPT, encoding="utf-8")
    plan_path = plan_repo / "MULTI_AGENT_PLAN.md"
    rng = random.Random(int(os.environ.get("BATON_CRASH_SEED", "1")))
    for _ in range(KILLS):
        proc = start(plan_repo)
        time.sleep(rng.uniform(0.3, 0.8))  # the chaos interval itself, not a wait for a result
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with start(plan_repo, stdout=subprocess.PIPE) as proc:
        try:
            drain = wait_ready(proc)
            wait_until_done(plan_path, 120)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        drain.join(timeout=10)
    plan = parse_plan(plan_path.read_text(encoding="utf-8"))
    assert [t.status for t in plan.tasks] == ["Completed"] * 7
    log_ids = [r.task_id for r in plan.log]
    assert sorted(log_ids) == sorted(set(log_ids)) == [f"T{i}" for i in range(1, 8)]
    db = sqlite3.connect(plan_repo / ".baton" / "journal.sqlite3")
    created = Counter(
        (task, attempt)
        for task, attempt in db.execute(
            "SELECT task_id, json_extract(payload, '$.attempt') FROM events "
            "WHERE kind = 'worktree_created'"
        )
    )
    attempts = dict(db.execute("SELECT task_id, attempt FROM tasks"))
    db.close()
    assert attempts == {f"T{i}": 1 for i in range(1, 8)}
    # A kill inside `git worktree add` can leave a worktree whose creation was not recorded;
    # what must never happen is a second creation for the same attempt.
    assert set(created.values()) <= {1}
    parent = plan_repo.parent / f"{plan_repo.name}-worktrees"
    for folder in ("arch", "oauth", "jwt", "session", "bench", "audit", "docs"):
        assert (parent / folder / "work").is_dir(), folder


ASK = '{ send = "Which token format?", to = "Orchestrator", type = "Question", await_reply = true }'
ASK_THEN = """
[orchestrator]
answer = "Use JWT."

[scripts.T1]
steps = [
  %s,
  %s,
]
"""


async def test_a_resumed_agent_does_not_ask_its_question_again(plan_repo: Path) -> None:
    """T1's agent, stopped after its Question was answered, resumes without asking again,
    takes the answer the log holds, and completes."""
    rec = Recorder()
    config = make_config(plan_repo, ASK_THEN % (ASK, "{ wait = 3600 }"), agents="scripted")
    async with running_daemon(config, rec):
        await rec.wait_for(lambda: rec.seen("message_delivered", task_id="T1", type="Directive"))
    rec = Recorder()
    config = make_config(plan_repo, ASK_THEN % (ASK, '{ complete = "T1 done" }'), agents="scripted")
    async with running_daemon(config, rec):
        await rec.wait_for(lambda: rec.seen("task_completed", task_id="T1"))
    text = (plan_repo / "INTER_AGENT_MESSAGES.md").read_text(encoding="utf-8")
    questions = [m.text for m in parse_messages(text).messages if m.type == "Question"]
    assert questions == ["Which token format?"]
