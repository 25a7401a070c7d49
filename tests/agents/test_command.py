"""The ``command`` backend through the real daemon, on a real git repository
(docs/contract.md sec. 6)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from agents.base import Agent
from agents.command import MAX_LINE_CHARS, CommandAgent
from orchestrator.config import Config
from protocol import Task, parse_plan
from tests.orchestrator.conftest import (
    Recorder,
    git,
    make_config,
    running_daemon,
    watching,
)

PLAN = "MULTI_AGENT_PLAN.md"
BRANCH = "feature/auth-arch"  # T1's branch in the template
SECRET = "sk-test-not-a-real-key"

# Checks what a coding-agent CLI would rely on, then leaves work in the worktree uncommitted.
WRITES_REPORT = """
import json, os, pathlib, sys
brief = sys.stdin.read()
assert brief.startswith("# Brief: T1 - "), brief
assert os.environ["BATON_TASK_ID"] == "T1", os.environ
assert os.environ["BATON_PLAN_DIR"] == sys.argv[1], os.environ
worktree = pathlib.Path(os.environ["BATON_WORKTREE"])
assert worktree.resolve() == pathlib.Path.cwd().resolve(), (worktree, os.getcwd())
out = pathlib.Path("docs/report.md")
out.parent.mkdir()
out.write_text("# Report\\n\\n" + brief, encoding="utf-8")
pathlib.Path("env.json").write_text(json.dumps(dict(os.environ)), encoding="utf-8")
print("wrote report")
print("x" * 10000)
sys.stdout.write("no newline at the end")
"""

EXITS_3 = """
import sys
sys.stderr.write("starting\\nboom: disk full\\n\\n")
sys.exit(3)
"""

# Writes its pid (by rename, so a reader never sees half of it), then sleeps.
SLEEPS = """
import os, pathlib, signal, subprocess, sys, time
if sys.argv[2] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
pids = [os.getpid()]
if sys.argv[2] == "with-child":
    pids.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]).pid)
target = pathlib.Path(sys.argv[1])
tmp = target.with_suffix(".tmp")
tmp.write_text(" ".join(map(str, pids)))
os.replace(tmp, target)
time.sleep(60)
"""


def config_for(repo: Path) -> Config:
    return make_config(repo, "max_agents = 1\n", agents="manual")


def factory(
    argv: Sequence[str], *, environ: Mapping[str, str] | None = None, grace: float = 10.0
) -> Any:
    """An agent factory that runs ``argv`` for every task."""

    def make(task: Task, cfg: Config) -> Agent:
        return CommandAgent(argv, plan_dir=cfg.plan_dir, grace_seconds=grace, environ=environ)

    return make


def python(script: str, *args: str) -> list[str]:
    return [sys.executable, "-c", script, *args]


async def run_t1(repo: Path, agent_factory: Any) -> tuple[Recorder, list[dict[str, Any]]]:
    """Run the daemon until T1 completes or fails; its progress events and logs."""
    rec = Recorder()
    with capture_logs() as logs:
        async with running_daemon(config_for(repo), rec, agent_factory=agent_factory):
            await rec.wait_for(
                lambda: (
                    rec.seen("task_completed", task_id="T1")
                    or rec.seen("task_failed", task_id="T1")
                )
            )
    return rec, logs


def t1(repo: Path) -> tuple[str, str]:
    """T1's Status cell and its execution log row's Notes."""
    plan = parse_plan((repo / PLAN).read_text(encoding="utf-8"))
    task, row = plan.task("T1"), plan.log_row("T1")
    assert task is not None
    assert row is not None
    return task.status, row.notes


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie that someone else has to reap counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_exit_0_completes_and_commits_the_work(plan_repo: Path) -> None:
    """Exit 0 sets T1 Completed and commits what the command wrote on T1's branch; its
    stdin was the brief kept in .baton/briefs/."""
    environ = {"PATH": os.environ["PATH"], "ANTHROPIC_API_KEY": SECRET, "DATABASE_URL": "x"}
    argv = python(WRITES_REPORT, str(plan_repo.resolve()))
    _, logs = await run_t1(plan_repo, factory(argv, environ=environ))
    status, notes = t1(plan_repo)
    assert (status, notes) == ("Completed", "command exited 0"), logs
    assert "T1: work of architect-001" in git(plan_repo, "log", "--format=%s", BRANCH)
    report = git(plan_repo, "show", f"{BRANCH}:docs/report.md")
    brief = (plan_repo / ".baton" / "briefs" / "T1.md").read_text(encoding="utf-8")
    assert report == "# Report\n\n" + brief
    assert "Exit 0 when the task is done" in brief
    env = json.loads(git(plan_repo, "show", f"{BRANCH}:env.json"))
    worktree = plan_repo.parent / "repo-worktrees" / "arch"
    assert {k: v for k, v in env.items() if k.startswith("BATON_")} == {
        "BATON_TASK_ID": "T1",
        "BATON_AGENT_ID": "architect-001",
        "BATON_PLAN_DIR": str(plan_repo.resolve()),
        "BATON_WORKTREE": str(worktree.resolve()),
        "BATON_ATTEMPT": "1",
        "BATON_INPUTS": "",  # T1 depends on no task
    }
    assert env["ANTHROPIC_API_KEY"] == SECRET
    assert "DATABASE_URL" not in env  # only the listed variables are passed on
    output = [(e["stream"], e["line"]) for e in logs if e["event"] == "agent_output"]
    assert output == [
        ("stdout", "wrote report"),
        ("stdout", "x" * MAX_LINE_CHARS),
        ("stdout", "no newline at the end"),
    ]
    assert not any(SECRET in repr(e) for e in logs)


async def test_nonzero_exit_fails_with_the_last_stderr_line(plan_repo: Path) -> None:
    """Exit 3 sets T1 Failed; the log row's Notes give the status and the last stderr line."""
    _, logs = await run_t1(plan_repo, factory(python(EXITS_3)))
    assert t1(plan_repo) == ("Failed", "command exited 3: boom: disk full")
    stderr = [e["line"] for e in logs if e["event"] == "agent_output" and e["stream"] == "stderr"]
    assert stderr == ["starting", "boom: disk full", ""]


async def test_missing_executable_fails_with_a_clear_reason(
    plan_repo: Path, tmp_path: Path
) -> None:
    """A command that cannot start sets T1 Failed and says which program and why."""
    program = str(tmp_path / "no-such-agent")
    await run_t1(plan_repo, factory([program]))
    assert t1(plan_repo) == ("Failed", f"could not start {program}: No such file or directory")


async def _stop_while_sleeping(
    plan_repo: Path, tmp_path: Path, mode: str, grace: float
) -> tuple[list[int], float, list[dict[str, Any]]]:
    """Start T1's sleeping command, stop the daemon; the pids, the stop's duration, logs."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pid_file = run_dir / "pid"
    rec = Recorder()
    agent_factory = factory(python(SLEEPS, str(pid_file), mode), grace=grace)
    with capture_logs() as logs:
        async with (
            watching(run_dir, rec),
            running_daemon(config_for(plan_repo), rec, agent_factory=agent_factory) as daemon,
        ):
            await rec.wait_for(pid_file.exists)
            pids = [int(p) for p in pid_file.read_text().split()]
            assert alive(pids[0])
            started = time.monotonic()
            daemon.stop()
        elapsed = time.monotonic() - started
    return pids, elapsed, logs


async def test_stop_terminates_the_command_and_reaps_it(plan_repo: Path, tmp_path: Path) -> None:
    """Stopping the daemon sends SIGTERM; the command is gone (not a zombie) well within grace."""
    (pid,), elapsed, logs = await _stop_while_sleeping(plan_repo, tmp_path, "plain", 30.0)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert elapsed < 10
    assert not any(e["event"] == "agent_command_killed" for e in logs)


async def test_stop_kills_a_command_that_ignores_sigterm(plan_repo: Path, tmp_path: Path) -> None:
    """A command that ignores SIGTERM gets SIGKILL after the grace period and is reaped."""
    (pid,), elapsed, logs = await _stop_while_sleeping(plan_repo, tmp_path, "ignore-term", 0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert 0.5 <= elapsed < 10
    assert any(e["event"] == "agent_command_killed" for e in logs)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfds")
async def test_stop_reaches_the_programs_the_command_started(
    plan_repo: Path, tmp_path: Path
) -> None:
    """SIGTERM goes to the command's process group, so its own children stop too."""
    (pid, child), _, _ = await _stop_while_sleeping(plan_repo, tmp_path, "with-child", 30.0)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    # The child is reparented when the command dies, so we cannot wait() for it; a pidfd
    # turns readable when it exits (signal delivery is asynchronous: it may take a moment).
    try:
        pidfd = os.pidfd_open(child)
    except ProcessLookupError:
        return
    try:
        with anyio.fail_after(5):
            await anyio.wait_readable(pidfd)
    finally:
        os.close(pidfd)


def test_an_empty_command_line_is_refused(tmp_path: Path) -> None:
    """A command line without a program is a configuration error, found at construction."""
    with pytest.raises(ValueError, match="expected a command line with a program"):
        CommandAgent([], plan_dir=tmp_path)
