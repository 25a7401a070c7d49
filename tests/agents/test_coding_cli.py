"""The ``claude-code`` and ``codex`` backends through the real daemon, with stand-in CLIs
first on PATH printing the documented event streams (docs/coding-agents.md)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
import watchfiles
from structlog.testing import capture_logs

from orchestrator.cli.main import main
from protocol import parse_plan
from tests.agents.standins import calls, install, path_with
from tests.agents.test_command import alive
from tests.orchestrator.conftest import Recorder, git, make_config, running_daemon, watching

PLAN = "MULTI_AGENT_PLAN.md"
BRANCH = "feature/auth-arch"  # T1's branch in the template
SECRET = "sk-ant-test-0123456789abcdef"


def claude_ok(cost: float = 0.012) -> dict[str, Any]:
    return {
        "fresh": [
            {"emit": {"type": "system", "subtype": "init", "session_id": "$SESSION"}},
            {
                "emit": {
                    "type": "assistant",
                    "session_id": "$SESSION",
                    "message": {
                        "content": [
                            {"type": "text", "text": f"Reading the plan; key is {SECRET}"},
                            {"type": "tool_use", "name": "Write", "input": {"file_path": "a.md"}},
                        ]
                    },
                }
            },
            {"emit": {"type": "shiny_new_event", "data": 1}},
            {"emit": {"type": "shiny_new_event", "data": 2}},
            {"write": "a.md"},
            {
                "emit": {
                    "type": "result",
                    "subtype": "success",
                    "is_error": False,
                    "result": "Wrote a.md",
                    "num_turns": 2,
                    "session_id": "$SESSION",
                    "total_cost_usd": cost,
                    "usage": {"input_tokens": 1000, "output_tokens": 200},
                }
            },
        ]
    }


def codex_turn(inp: int, cached: int, out: int) -> dict[str, Any]:
    usage = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out}
    return {"emit": {"type": "turn.completed", "usage": usage}}


def codex_ok() -> dict[str, Any]:
    return {
        "session": "thread-42",
        "fresh": [
            {"emit": {"type": "thread.started", "thread_id": "$SESSION"}},
            {"emit": {"type": "turn.started"}},
            {"emit": {"type": "item.completed", "item": {"type": "agent_message", "text": "ok"}}},
            {
                "emit": {
                    "type": "item.completed",
                    "item": {"type": "command_execution", "command": "pytest", "exit_code": 0},
                }
            },
            {"write": "b.md"},
            {
                "emit": {
                    "type": "item.completed",
                    "item": {"type": "file_change", "changes": [{"path": "b.md", "kind": "add"}]},
                }
            },
            codex_turn(100_000, 20_000, 10_000),
        ],
    }


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    folder = tmp_path / "standin"
    folder.mkdir()
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)

    def setup(scenario: dict[str, Any]) -> Path:
        monkeypatch.setenv("PATH", path_with(install(folder, scenario)))
        return folder

    return setup


def t1(repo: Path) -> tuple[str, str]:
    plan = parse_plan((repo / PLAN).read_text(encoding="utf-8"))
    task, row = plan.task("T1"), plan.log_row("T1")
    assert task is not None
    return task.status, row.notes if row else ""


async def run_until(repo: Path, backend: str, toml: str, status: str) -> list[dict[str, Any]]:
    rec = Recorder()
    with capture_logs() as logs:
        cfg = make_config(repo, "max_agents = 1\n" + toml, agents=backend)
        async with running_daemon(cfg, rec), watching(repo, rec):
            await rec.wait_for(lambda: t1(repo)[0] in (status, "Failed", "Completed", "Blocked"))
    assert t1(repo)[0] == status, (t1(repo), [e for e in logs if "agent" in e["event"]])
    return logs


def costs(repo: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(repo / ".baton" / "journal.sqlite3")
    try:
        return db.execute(
            "SELECT task_id, model, input_tokens, output_tokens, cache_read_tokens, usd FROM costs"
        ).fetchall()
    finally:
        db.close()


async def test_claude_code_completes_with_cost_summaries_and_a_redacted_transcript(
    plan_repo: Path, standin: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = standin(claude_ok())
    logs = await run_until(plan_repo, "claude-code", "", "Completed")
    [call] = calls(folder)
    assert call["argv"][:7] == [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--model",
        "claude-opus-4-1",
        "--permission-mode",
    ]
    assert call["stdin"].startswith("# Brief: T1 - ")
    assert call["key"] == SECRET  # the CLI needs it to reach its model
    assert costs(plan_repo) == [("T1", "claude-opus-4-1", 1000, 200, 0, pytest.approx(0.012))]
    lines = [e["line"] for e in logs if e["event"] == "agent_output"]
    assert "says: Reading the plan; key is [redacted]; tool Write a.md" in lines
    assert "result success after 2 turns" in lines
    assert not any(line.startswith("{") for line in lines)
    assert [e["type"] for e in logs if e["event"] == "agent_event_unknown"] == ["shiny_new_event"]
    transcript = (plan_repo / ".baton" / "transcripts" / "T1.cli.jsonl").read_text()
    assert "shiny_new_event" in transcript
    assert "Wrote a.md" in transcript
    assert SECRET not in transcript
    assert SECRET not in json.dumps(logs, default=str)
    capsys.readouterr()
    assert main(["status", "--dir", str(plan_repo)]) == 0
    out = capsys.readouterr().out
    assert "T1 $0.01" in out
    assert "1,200 tokens" in out


async def test_codex_cost_is_usage_times_the_configured_prices(
    plan_repo: Path, standin: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = standin(codex_ok())
    toml = (
        '[codex]\nmodel = "gpt-5-codex"\ninput_per_mtok = 1.25\noutput_per_mtok = 10.0\n'
        "cache_read_per_mtok = 0.125\n"
    )
    logs = await run_until(plan_repo, "codex", toml, "Completed")
    [call] = calls(folder)
    assert call["argv"][:4] == ["exec", "--json", "--model", "gpt-5-codex"]
    assert call["argv"][-1] == "-"
    assert call["stdin"].startswith("# Brief: T1 - ")
    usd = (80_000 * 1.25 + 20_000 * 0.125 + 10_000 * 10.0) / 1e6
    assert costs(plan_repo) == [("T1", "gpt-5-codex", 80_000, 10_000, 20_000, pytest.approx(usd))]
    lines = [e["line"] for e in logs if e["event"] == "agent_output"]
    assert {"says: ok", "ran pytest (exit 0)", "changed add b.md"} <= set(lines)
    capsys.readouterr()
    assert main(["status", "--dir", str(plan_repo)]) == 0
    out = capsys.readouterr().out
    assert "T1 $0.20" in out
    assert "Tokens: 110,000 tokens (T1 110,000)" in out


async def test_a_spent_budget_stops_a_running_cli_and_blocks_its_task(
    plan_repo: Path, standin: Any
) -> None:
    folder = standin(
        {
            "session": "thread-7",
            "fresh": [
                {"emit": {"type": "thread.started", "thread_id": "$SESSION"}},
                codex_turn(10_000, 0, 5_000),  # $0.525 at the Opus 4 list prices (T1 uses Opus 4)
                {"hang": True},
            ],
        }
    )
    await run_until(plan_repo, "codex", "budget_usd = 0.05\n", "Blocked")
    [call] = calls(folder)
    assert not Path(f"/proc/{call['pid']}").exists()  # stopped and reaped
    plan = (plan_repo / PLAN).read_text()
    assert "Resource" in plan
    assert "budget" in plan


async def test_no_budget_left_means_no_start(plan_repo: Path, standin: Any) -> None:
    folder = standin(claude_ok())
    logs = await run_until(plan_repo, "claude-code", "budget_usd = 0\n", "Blocked")
    assert calls(folder) == []
    assert any(e.get("reason") == "budget_exhausted" for e in logs)
    plan = (plan_repo / PLAN).read_text()
    assert "**Blocker Type:** Resource" in plan
    assert "the task was not started" in plan


async def test_claude_code_at_its_budget_blocks_the_task(plan_repo: Path, standin: Any) -> None:
    folder = standin(
        {
            "fresh": [
                {"emit": {"type": "system", "subtype": "init", "session_id": "$SESSION"}},
                {
                    "emit": {
                        "type": "result",
                        "subtype": "error_max_budget_usd",
                        "is_error": True,
                        "total_cost_usd": 0.02,
                        "session_id": "$SESSION",
                    }
                },
                {"exit": 1},
            ]
        }
    )
    await run_until(plan_repo, "claude-code", "budget_usd = 5\n", "Blocked")
    assert "--max-budget-usd" in calls(folder)[0]["argv"]
    assert "Resource" in (plan_repo / PLAN).read_text()


async def test_a_cli_that_exits_1_fails_the_task_with_its_last_error(
    plan_repo: Path, standin: Any
) -> None:
    standin(
        {
            "fresh": [
                {"emit": {"type": "system", "subtype": "init", "session_id": "$SESSION"}},
                {"stderr": f"Error: overloaded (key {SECRET})"},
                {"exit": 1},
            ]
        }
    )
    await run_until(plan_repo, "claude-code", "", "Failed")
    notes = t1(plan_repo)[1]
    assert "claude exited 1: Error: overloaded" in notes
    assert SECRET not in notes
    db = sqlite3.connect(plan_repo / ".baton" / "journal.sqlite3")
    [(failure,)] = db.execute("SELECT value FROM marks WHERE key LIKE 'failure:T1:%'").fetchall()
    db.close()
    assert "Error: overloaded (key [redacted])" in json.loads(failure)["output"]


async def test_error_max_turns_fails_with_the_reason(plan_repo: Path, standin: Any) -> None:
    standin(
        {
            "fresh": [
                {
                    "emit": {
                        "type": "result",
                        "subtype": "error_max_turns",
                        "is_error": True,
                        "num_turns": 30,
                        "total_cost_usd": 0.3,
                        "session_id": "$SESSION",
                    }
                },
            ]
        }
    )
    await run_until(plan_repo, "claude-code", "", "Failed")
    assert "error_max_turns" in t1(plan_repo)[1]


def wait_for(folder: Path, ready: Any, seconds: float = 30) -> None:
    """Block on the watcher (not a sleep loop) until ``ready()``."""
    deadline = time.monotonic() + seconds
    if ready():
        return
    for _ in watchfiles.watch(folder, rust_timeout=500, yield_on_timeout=True):
        if ready():
            return
        assert time.monotonic() < deadline, "timed out"


@pytest.mark.parametrize(
    ("kind", "refuse"), [("claude", False), ("claude", True), ("codex", False)]
)
def test_kill_9_mid_task_then_restart_resumes_the_same_session(
    plan_repo: Path, tmp_path: Path, kind: str, refuse: bool
) -> None:
    """`baton run` killed with SIGKILL while the CLI works; the restarted daemon runs
    ``claude -p --resume <the same id>`` (``codex exec resume <id>``), or, when the CLI
    refuses it, starts afresh."""
    if kind == "claude":
        init = {"emit": {"type": "system", "subtype": "init", "session_id": "$SESSION"}}
        done = {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": "done",
            "session_id": "$SESSION",
            "total_cost_usd": 0.01,
        }
        finish = [{"write": "c.md"}, {"emit": done}]
    else:
        init = {"emit": {"type": "thread.started", "thread_id": "$SESSION"}}
        finish = [{"write": "c.md"}, codex_turn(1000, 0, 100)]
    folder = tmp_path / "standin"
    folder.mkdir()
    scenario = {
        "session": "sess-resume-me",
        "fresh": [init, {"hang_once": True}, *finish],
        "resume": [{"refuse": True}] if refuse else [init, *finish],
    }
    env = {**os.environ, "PATH": path_with(install(folder, scenario)), "ANTHROPIC_API_KEY": SECRET}
    (plan_repo / "baton.toml").write_text("max_agents = 1\n")
    baton = Path(sys.executable).with_name("baton")
    backend = "claude-code" if kind == "claude" else "codex"
    argv = [str(baton), "run", "--dir", str(plan_repo), "--agents", backend, "--force"]
    out = subprocess.DEVNULL
    first = subprocess.Popen(argv, env=env, stdout=out, stderr=out)
    try:
        # The session id is journaled when seen: wait until the CLI hangs after its init.
        wait_for(folder, lambda: (folder / f"{kind}.pid").exists())
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    orphan = int((folder / f"{kind}.pid").read_text())
    log_path = tmp_path / "second.log"
    with log_path.open("wb") as log_file:
        second = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_for(plan_repo, lambda: t1(plan_repo)[0] == "Completed")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0
    assert not alive(orphan)  # the killed daemon's CLI was stopped before the resume
    mine = [c for c in calls(folder) if c["task"] == "T1"]
    assert mine[1]["resumed"] == "sess-resume-me"
    assert ("--resume" if kind == "claude" else "resume") in mine[1]["argv"]
    assert mine[1]["stdin"].startswith("You were interrupted")
    logged = log_path.read_text()
    if refuse:
        assert mine[2]["resumed"] is None
        assert "agent_cli_resume_refused" in logged
    else:
        assert len(mine) == 2
    assert SECRET not in logged


def results(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_complete_task_over_mcp_completes_the_task(plan_repo: Path, standin: Any) -> None:
    folder = standin(
        {
            "fresh": [
                {"emit": {"type": "system", "subtype": "init", "session_id": "$SESSION"}},
                {"write": "m.md"},
                {"mcp": {"tool": "read_inbox", "args": {}}},
                {"mcp": {"tool": "complete_task", "args": {"summary": "done over MCP"}}},
                {"hang": True},
            ]
        }
    )
    await run_until(plan_repo, "claude-code", "", "Completed")
    # The daemon stops the CLI once its task is settled, maybe before it notes the reply.
    replies = results(folder, "mcp.jsonl")
    assert replies[0] == {"tool": "read_inbox", "is_error": False, "text": "no new messages"}
    assert all(not r["is_error"] for r in replies)
    assert git(plan_repo, "log", "-1", "--format=%s", BRANCH).strip() == "T1: done over MCP"
    config = json.loads((plan_repo / ".baton" / "mcp" / "T1.json").read_text())
    assert config["mcpServers"]["baton"]["env"]["BATON_TASK_ID"] == "T1"
    assert not (plan_repo / ".baton" / "agents" / "T1.json").exists()  # withdrawn at the end


async def test_report_blocker_over_mcp_makes_a_triaged_entry(plan_repo: Path, standin: Any) -> None:
    args = {
        "severity": "High",
        "type": "Decision",
        "description": "REST or gRPC? (1) REST (recommended) (2) gRPC",
        "required_resolution": "Pick one",
    }
    folder = standin(
        {
            "session": "thread-9",
            "fresh": [
                {"emit": {"type": "thread.started", "thread_id": "$SESSION"}},
                {"mcp": {"tool": "report_blocker", "args": args}},
                {"exit": 0},
            ],
        }
    )
    rec = Recorder()
    cfg = make_config(plan_repo, "max_agents = 1\n", agents="codex")
    async with running_daemon(cfg, rec):
        await rec.wait_for(lambda: rec.seen("blocker_triaged", task_id="T1"))
    assert all(not r["is_error"] for r in results(folder, "mcp.jsonl"))
    plan = (plan_repo / PLAN).read_text()
    assert "REST or gRPC?" in plan
    assert t1(plan_repo)[0] != "Completed"  # exit 0 after a blocker decides nothing


async def test_baton_task_fail_as_a_plain_command(plan_repo: Path, standin: Any) -> None:
    folder = standin(
        {
            "fresh": [
                {"emit": {"type": "system", "subtype": "init", "session_id": "$SESSION"}},
                {"run": ["task", "fail", "the schema is missing"]},
                {"hang": True},
            ]
        }
    )
    await run_until(plan_repo, "claude-code", "", "Failed")
    assert all(r["code"] == 0 for r in results(folder, "run.jsonl"))
    assert "the schema is missing" in t1(plan_repo)[1]


async def test_with_no_daemon_the_tools_say_so(plan_repo: Path) -> None:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {"BATON_TASK_ID": "T1", "BATON_ATTEMPT": "1", "BATON_PLAN_DIR": str(plan_repo)}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "orchestrator.cli", "mcp"], env=env
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {
            "send_message",
            "report_blocker",
            "complete_task",
            "fail_task",
            "read_inbox",
            "plan_status",
        }
        done = await session.call_tool("complete_task", {"summary": "x"})
        status = await session.call_tool("plan_status", {})
    assert done.is_error
    assert "no Baton daemon is running task T1" in done.content[0].text  # type: ignore[union-attr]
    assert "T1\tNot Started" in status.content[0].text  # type: ignore[union-attr]
    code = await anyio.run_process(
        [sys.executable, "-m", "orchestrator.cli", "task", "complete", "x"],
        env={**os.environ, **env},
        check=False,
    )
    assert code.returncode == 1
    assert "no Baton daemon is running task T1" in code.stderr.decode()


def test_the_docs_baton_toml_works_as_shown(plan_repo: Path) -> None:
    """The page's baton.toml loads, and gives the agents it says it gives."""
    from agents.claude_code import ClaudeCodeAgent
    from agents.codex import CodexAgent
    from orchestrator.runtime.agent_factory import make_agent

    page = (Path(__file__).parents[2] / "docs" / "coding-agents.md").read_text()
    toml = page.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = make_config(plan_repo, toml)
    plan = parse_plan((plan_repo / PLAN).read_text(encoding="utf-8"))
    agents = {t.id: make_agent(plan, lambda: None, t, cfg) for t in plan.tasks}
    assert cfg.budget_usd == 20.0
    assert isinstance(agents["T1"], ClaudeCodeAgent)
    assert agents["T1"].args == ("--max-turns", "40")
    testers = [t.id for t in plan.tasks if t.role == "Validator"]
    assert testers
    for task_id in testers:
        codex = agents[task_id]
        assert isinstance(codex, CodexAgent)
        assert codex.model == "gpt-5-codex"
        assert codex.price.input_per_mtok == 1.25
