"""Crash safety: SIGKILL at random moments, and in the middle of writes; each restart
finishes the run (docs/contract.md sec. 10).

Each task's worktree is created once per attempt, no log row is duplicated, no task is
started twice, every Handoff is sent, and no Question is asked twice. Every other kill is
aimed at a write: the daemon runs under ``helpers/killing_baton.py``, which kills it right
after it creates its Nth temp file. ``make soak`` runs the same test with many more kills.
"""

from __future__ import annotations

import contextlib
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

from protocol import agent_id, parse_messages, parse_plan
from tests.orchestrator.conftest import Recorder, make_config, new_plan_repo, running_daemon

KILLS = int(os.environ.get("BATON_CRASH_KILLS", "20"))
KILLER = Path(__file__).parent / "helpers" / "killing_baton.py"
SCRIPT = """
[orchestrator]
answer = "Use JWT."

[scripts.default]
steps = [
  { wait = 0.02 },
  { write = "work/{task_id}.md", content = "{task_id}\\n" },
  { commit = "{task_id}: work" },
  { complete = "{task_id} done" },
]

[scripts.T1]
steps = [
  { send = "Which token format?", to = "Orchestrator", type = "Question", await_reply = true },
  { write = "work/{task_id}.md", content = "{task_id}\\n" },
  { commit = "{task_id}: work" },
  { complete = "{task_id} done" },
]
"""
ASKS = ("T1",)  # the tasks whose script asks the Orchestrator a Question
HANDED_OFF = {f"T{i}" for i in range(1, 7)}  # the tasks with a downstream task (not T7)


def start(
    repo: Path, stdout: int = subprocess.DEVNULL, *, kill_at: int = 0, record: Path | None = None
) -> subprocess.Popen[bytes]:
    """``baton run``; with ``kill_at`` N it kills itself mid-way through its Nth write."""
    args = ["run", "--dir", str(repo), "--agents", "scripted", "--log-format", "json"]
    if kill_at:
        argv = [sys.executable, str(KILLER), str(kill_at), str(record), *args]
    else:
        argv = [str(Path(sys.executable).with_name("baton")), *args]
    return subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL)


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


def handoffs(repo: Path) -> Counter[str | None]:
    """How many Handoffs the Orchestrator sent for each task."""
    path = repo / "INTER_AGENT_MESSAGES.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    messages = parse_messages(text).messages
    return Counter(m.task for m in messages if m.sender == "Orchestrator" and m.type == "Handoff")


def done(plan_path: Path) -> bool:
    """Every task Completed with its log row filled, and every Handoff sent."""
    plan = parse_plan(plan_path.read_text(encoding="utf-8"))
    return (
        bool(plan.tasks)
        and all(t.status == "Completed" for t in plan.tasks)
        and all(r.completed for r in plan.log)
        and set(handoffs(plan_path.parent)) >= HANDED_OFF
    )


def wait_until_done(plan_path: Path, seconds: float) -> None:
    """Block on the watcher (not a sleep loop) until the run is done."""
    if done(plan_path):
        return
    deadline = time.monotonic() + seconds
    for _ in watch(plan_path.parent, rust_timeout=500, yield_on_timeout=True):
        if done(plan_path):
            return
        if time.monotonic() > deadline:
            plan = parse_plan(plan_path.read_text(encoding="utf-8"))
            statuses = {t.id: t.status for t in plan.tasks}
            sent = dict(handoffs(plan_path.parent))
            raise AssertionError(f"not done within {seconds}s: {statuses}, handoffs {sent}")


def kill_once(repo: Path, rng: random.Random, aimed: bool, record: Path) -> None:
    """Start the daemon and SIGKILL it: after a random moment, or (``aimed``) right after it
    creates its Nth temp file, N random; an aimed daemon that never gets there is killed
    after a while all the same."""
    if aimed:
        proc = start(repo, kill_at=rng.randint(1, 12), record=record)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)  # it kills itself at its write, unless the run ends first
    else:
        proc = start(repo)
        time.sleep(rng.uniform(0.3, 0.8))  # the chaos interval itself, not a wait for a result
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def finish_and_check(repo: Path) -> None:
    """Run the daemon once more to the end; then nothing is missing and nothing doubled."""
    plan_path = repo / "MULTI_AGENT_PLAN.md"
    with start(repo, stdout=subprocess.PIPE) as proc:
        try:
            drain = wait_ready(proc)
            wait_until_done(plan_path, 120)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        drain.join(timeout=10)
    plan = parse_plan(plan_path.read_text(encoding="utf-8"))
    assert [t.status for t in plan.tasks] == ["Completed"] * 7
    assert handoffs(repo) == dict.fromkeys(HANDED_OFF, 1)
    messages = parse_messages((repo / "INTER_AGENT_MESSAGES.md").read_text("utf-8")).messages
    asked = Counter(m.sender for m in messages if m.type == "Question")
    assert asked == {agent_id(plan, t): 1 for t in plan.tasks if t.id in ASKS}
    log_ids = [r.task_id for r in plan.log]
    assert sorted(log_ids) == sorted(set(log_ids)) == [f"T{i}" for i in range(1, 8)]
    db = sqlite3.connect(repo / ".baton" / "journal.sqlite3")
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
    parent = repo.parent / f"{repo.name}-worktrees"
    for folder in ("arch", "oauth", "jwt", "session", "bench", "audit", "docs"):
        assert (parent / folder / "work").is_dir(), folder


@pytest.mark.timeout(120 + 10 * KILLS)
def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    """After each of many SIGKILLs, every other one in the middle of a write, a restart
    resumes; each run ends with every Handoff sent and nothing doubled. A run that ends
    before the kills are spent is checked, and the kills go on in a fresh one."""
    rng = random.Random(int(os.environ.get("BATON_CRASH_SEED", "1")))
    record = tmp_path / "mid-write-kills.txt"
    kills = runs = 0
    while kills < KILLS:
        runs += 1
        repo = new_plan_repo(tmp_path / f"run{runs}")
        (repo / "baton.toml").write_text(SCRIPT, encoding="utf-8")
        while kills < KILLS and not done(repo / "MULTI_AGENT_PLAN.md"):
            kill_once(repo, rng, kills % 2 == 0, record)
            kills += 1
        finish_and_check(repo)
    mid_write = len(record.read_text(encoding="utf-8").splitlines()) if record.exists() else 0
    print(f"{kills} kills in {runs} runs, {mid_write} right after a temp file was created")
    assert mid_write >= KILLS // 4


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
