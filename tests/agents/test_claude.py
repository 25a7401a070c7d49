"""The claude backend against the scripted Messages API: the real ``anthropic`` client, the
real daemon, a real git repository. T1 (Opus 4 in the template) is the task that runs."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.cli import main
from protocol import parse_plan
from tests.helpers.messages_api import MessagesAPI, Reply, error, message, text, tool
from tests.orchestrator.conftest import Recorder, git, make_config, running_daemon, watching

KEY = "sk-ant-test-SECRETKEY-0123456789abcdef"
SKILLS = {"architecture-skill": "v1.2.0", "api-design-skill": "v1.0.0"}


@pytest.fixture
def claude_repo(
    plan_repo: Path, messages_api: MessagesAPI, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The plan repo with T1's skills at their pinned versions and the API pointed at the
    scripted server."""
    for name, version in SKILLS.items():
        folder = plan_repo / "skills" / name
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text(
            f"---\nname: {name}\ndescription: how to do {name}\nversion: {version}\n---\n"
            f"Use {name} well.\n",
            encoding="utf-8",
        )
    git(plan_repo, "add", "-A")
    git(plan_repo, "commit", "-q", "-m", "skills")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", messages_api.base_url)
    return plan_repo


def status(repo: Path, task_id: str = "T1") -> str:
    task = parse_plan((repo / "MULTI_AGENT_PLAN.md").read_text(encoding="utf-8")).task(task_id)
    assert task is not None
    return task.status


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    last = request["messages"][-1]
    return [b for b in last["content"] if b.get("type") == "tool_result"]


async def run_until(repo: Path, event: str, toml: str = "", **match: Any) -> Recorder:
    """Run until ``event``; forced past the checklist, since only T1's skills exist here."""
    rec = Recorder()
    config = make_config(repo, "max_agents = 1\n" + toml, agents="claude")
    async with running_daemon(config, rec, force=True):
        await rec.wait_for(lambda: rec.seen(event, **match), seconds=30)
    return rec


async def test_task_writes_runs_and_completes_with_its_cost_journaled(
    claude_repo: Path, messages_api: MessagesAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    messages_api.push(
        message(tool("write_file", path="src/auth.md", content="# Auth design\n")),
        message(tool("run_command", command="cat src/auth.md && echo ran > ran.txt")),
        message(text("Done."), tool("complete_task", summary="auth design written")),
    )
    await run_until(claude_repo, "task_completed", task_id="T1")
    assert status(claude_repo) == "Completed"
    assert "# Auth design" in tool_results(messages_api.requests[2])[0]["content"]
    files = git(claude_repo, "show", "--name-only", "--format=", "feature/auth-arch").split()
    assert sorted(files) == ["ran.txt", "src/auth.md"]
    first = messages_api.requests[0]
    assert first["model"] == "claude-opus-4-1"
    system = first["system"]
    assert system[0]["cache_control"] == system[-1]["cache_control"] == {"type": "ephemeral"}
    assert any("Use architecture-skill well." in block["text"] for block in system[1:-1])
    db = sqlite3.connect(claude_repo / ".baton" / "journal.sqlite3")
    rows = db.execute("SELECT task_id, input_tokens, output_tokens, usd FROM costs").fetchall()
    assert len(rows) == 3
    assert all(r[:3] == ("T1", 100, 50) for r in rows)
    assert sum(r[3] for r in rows) == pytest.approx(3 * (100 * 15 + 50 * 75) / 1e6)
    capsys.readouterr()
    assert main(["status", "--dir", str(claude_repo), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cost_usd"]["total"] == pytest.approx(0.01575)
    assert data["cost_usd"]["by_task"] == {"T1": pytest.approx(0.01575)}


async def test_the_brief_is_the_cached_system_prompt(
    claude_repo: Path, messages_api: MessagesAPI
) -> None:
    """The Messages API receives the brief written to .baton/briefs/: its stable part as the
    first cached system block, the skills after it, the attempt's constraints last."""
    messages_api.push(message(tool("complete_task", summary="done")))
    await run_until(claude_repo, "task_completed", task_id="T1")
    brief = (claude_repo / ".baton" / "briefs" / "T1.md").read_text(encoding="utf-8")
    system = messages_api.requests[0]["system"]
    assert system[0]["cache_control"] == {"type": "ephemeral"}
    assert system[0]["text"] + system[-1]["text"] == brief
    assert system[0]["text"].startswith("# Brief: T1 - Design auth architecture & API contracts")
    assert "## Constraints" in system[-1]["text"]
    assert KEY not in brief


async def test_paths_out_of_the_worktree_are_refused_and_the_key_stays_secret(
    claude_repo: Path, messages_api: MessagesAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    worktrees = claude_repo.parent / "repo-worktrees"
    outside = claude_repo.parent / "outside.txt"
    outside.write_text("secret outside\n")
    messages_api.push(
        message(tool("run_command", command=f"ln -s {outside.parent} out && env")),
        message(
            tool("read_file", path="../../etc/passwd"),
            tool("read_file", path="/etc/passwd"),
            tool("read_file", path="out/outside.txt"),
            tool("write_file", path=".git/config", content="x"),
            tool("write_file", path="out/planted.txt", content="x"),
            tool("edit_file", path="../repo/MULTI_AGENT_PLAN.md", old_text="T1", new_text="X"),
        ),
        message(tool("complete_task", summary="tried")),
    )
    await run_until(claude_repo, "task_completed", task_id="T1")
    env_output = tool_results(messages_api.requests[1])[0]["content"]
    assert "ANTHROPIC" not in env_output
    assert KEY not in env_output
    refused = tool_results(messages_api.requests[2])
    assert [r["is_error"] for r in refused] == [True] * 6
    assert "outside the worktree" in refused[0]["content"]
    assert "inside .git" in refused[3]["content"]
    assert not (outside.parent / "planted.txt").exists()
    assert outside.read_text() == "secret outside\n"
    transcript = (claude_repo / ".baton" / "transcripts" / "T1.jsonl").read_text()
    logs = capsys.readouterr()
    for where in (transcript, logs.out, logs.err):
        assert KEY not in where
    assert (worktrees / "arch" / "out").is_symlink()


async def test_a_call_that_could_pass_the_budget_is_never_sent(
    claude_repo: Path, messages_api: MessagesAPI
) -> None:
    messages_api.push(message(tool("complete_task", summary="too expensive")))
    await run_until(claude_repo, "blocker_triaged", "budget_usd = 0.01\n", task_id="T1")
    assert messages_api.requests == []
    plan = parse_plan((claude_repo / "MULTI_AGENT_PLAN.md").read_text(encoding="utf-8"))
    entry = plan.blockers[-1]
    assert (entry.task_id, entry.fields["Blocker Type"], entry.escalate) == ("T1", "Resource", True)
    assert plan.task("T1").status == "Blocked"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "faults",
    [
        [error(429, "rate_limit_error", retry_after=0.01)],
        [error(529, "overloaded_error", retry_after=0.01)] * 3,
        [Reply(body='{"id": "msg_1", "content": [')],  # cut short: unreadable
    ],
    ids=["429-once", "529-three-times", "broken-json"],
)
async def test_transient_faults_end_in_completion(
    claude_repo: Path, messages_api: MessagesAPI, faults: list[Reply]
) -> None:
    messages_api.push(*faults, message(tool("complete_task", summary="made it")))
    await run_until(claude_repo, "task_completed", task_id="T1")
    assert len(messages_api.requests) == len(faults) + 1


async def test_server_errors_forever_fail_the_task_not_the_daemon(
    claude_repo: Path, messages_api: MessagesAPI
) -> None:
    messages_api.default = error(500, retry_after=0.01)
    rec = await run_until(claude_repo, "task_failed", task_id="T1")
    assert status(claude_repo) == "Failed"
    row = parse_plan((claude_repo / "MULTI_AGENT_PLAN.md").read_text("utf-8")).log_row("T1")
    assert row is not None
    assert "model API error 500" in row.notes
    assert len(messages_api.requests) == 5  # the first try and four retries
    assert not rec.seen("daemon_crashed")


async def test_restart_resumes_the_conversation(
    claude_repo: Path, messages_api: MessagesAPI
) -> None:
    """Stopped after the first turn, the restarted agent sends the earlier turns again."""
    messages_api.push(message(tool("write_file", path="a.txt", content="a\n")))
    messages_api.default = Reply(delay=30, body={})  # the second call hangs: stop the daemon
    rec = Recorder()
    config = make_config(claude_repo, "max_agents = 1\n", agents="claude")
    async with running_daemon(config, rec, force=True):
        await anyio.to_thread.run_sync(messages_api.wait_for_requests, 2)
    messages_api.default = error(500)
    messages_api.push(message(tool("complete_task", summary="resumed")))
    await run_until(claude_repo, "task_completed", task_id="T1")
    resumed = messages_api.requests[-1]["messages"]
    assert [m["role"] for m in resumed] == ["user", "assistant", "user"]
    assert resumed[1]["content"][0]["name"] == "write_file"


@pytest.mark.parametrize(
    ("skill", "content", "reason"),
    [
        ("api-design-skill", None, "skill api-design-skill is missing"),
        ("architecture-skill", "v9.9.9", "is version v9.9.9 but the plan pins v1.2.0"),
    ],
    ids=["missing", "wrong-version"],
)
async def test_skill_problems_stop_the_task_with_a_blocker(
    claude_repo: Path, messages_api: MessagesAPI, skill: str, content: str | None, reason: str
) -> None:
    path = claude_repo / "skills" / skill / "SKILL.md"
    if content is None:
        path.unlink()
    else:
        path.write_text(f"---\nname: {skill}\ndescription: d\nversion: {content}\n---\n")
    await run_until(claude_repo, "blocker_triaged", task_id="T1")
    assert messages_api.requests == []
    entry = parse_plan((claude_repo / "MULTI_AGENT_PLAN.md").read_text("utf-8")).blockers[-1]
    assert reason in entry.fields["Description"]
    assert status(claude_repo) == "Blocked"


async def test_orchestrator_model_answers_a_question_within_the_budget(
    claude_repo: Path, messages_api: MessagesAPI
) -> None:
    """With a key and no fixed answer, the plan header's model answers; its cost is journaled."""
    from tests.orchestrator.test_routing import append, messages_of, statuses

    messages_api.push(message(text("Use gRPC."), stop_reason="end_turn"))
    rec = Recorder()
    config = make_config(claude_repo, "max_agents = 1\n", agents="manual")
    async with running_daemon(config, rec, force=True), watching(claude_repo, rec):
        append(
            claude_repo,
            sender="architect-001",
            to="Orchestrator",
            type="Question",
            task="T1",
            text="REST or gRPC?",
        )
        await rec.wait_for(lambda: statuses(claude_repo).get("REST or gRPC?") == "Resolved")
    assert messages_api.requests[0]["model"] == "claude-opus-4-1"  # **Model:** Claude Opus 4
    assert "REST or gRPC?" in messages_api.requests[0]["messages"][0]["content"]
    assert messages_of(claude_repo, "Directive") == ["('architect-001',): Use gRPC."]
    assert statuses(claude_repo)["REST or gRPC?"] == "Resolved"
    db = sqlite3.connect(claude_repo / ".baton" / "journal.sqlite3")
    assert db.execute("SELECT task_id, usd FROM costs").fetchall() == [
        ("orchestrator", pytest.approx((100 * 15 + 50 * 75) / 1e6))
    ]


def test_sigkill_mid_task_then_restart_resumes_the_conversation(
    claude_repo: Path, messages_api: MessagesAPI
) -> None:
    """`baton run` killed with SIGKILL while its agent waits for the model; the restarted
    daemon's agent sends the turns it had before the kill."""
    import os
    import signal
    import subprocess
    import sys

    messages_api.push(message(tool("write_file", path="a.txt", content="a\n")))
    messages_api.default = Reply(delay=30, body={})  # the second call hangs until the kill
    (claude_repo / "baton.toml").write_text("max_agents = 1\n")
    baton = Path(sys.executable).with_name("baton")
    argv = [str(baton), "run", "--dir", str(claude_repo), "--agents", "claude", "--force"]
    env = dict(os.environ)
    first = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        messages_api.wait_for_requests(2)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    messages_api.default = error(500)
    messages_api.push(message(tool("complete_task", summary="resumed after a kill")))
    second = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        messages_api.wait_for_requests(3)
        resumed = messages_api.requests[2]["messages"]
        assert [m["role"] for m in resumed] == ["user", "assistant", "user"]
        assert resumed[1]["content"][0]["name"] == "write_file"
        assert resumed[2]["content"][0]["type"] == "tool_result"
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0


async def test_a_dependencys_worktree_is_readable_but_not_writable(
    claude_repo: Path, messages_api: MessagesAPI
) -> None:
    """T1 (scripted) writes the contracts; T2 (claude) reads and lists ../arch, but its
    writes there are refused; its own branch holds T1's files (merged)."""
    for name, version in {"builder-skill": "v2.1.0", "oauth-skill": "v1.0.0"}.items():
        folder = claude_repo / "skills" / name
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text(
            f"---\nname: {name}\ndescription: {name}\nversion: {version}\n---\nUse it.\n"
        )
    folder = claude_repo / "skills" / "validator-skill"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: validator-skill\ndescription: v\nversion: v2.0.0\n---\nUse it.\n"
    )
    git(claude_repo, "add", "-A")
    git(claude_repo, "commit", "-q", "-m", "builder skills")
    messages_api.push(
        message(
            tool("read_file", path="../arch/docs/api.md"),
            tool("list_files", path="../arch"),
            tool("write_file", path="../arch/docs/api.md", content="changed\n"),
            tool("read_file", path="../arch/.git"),
        ),
        message(tool("complete_task", summary="read the contracts")),
    )
    toml = (
        'max_agents = 1\n[agents]\ndefault = "manual"\n[agents.tasks]\nT1 = "scripted"\n'
        'T2 = "claude"\n[scripts.T1]\nsteps = [{ write = "docs/api.md", content = "contract\\n" }'
        ', { complete = "contracts" }]\n'
    )
    rec = Recorder()
    async with running_daemon(make_config(claude_repo, toml), rec, force=True):
        await rec.wait_for(lambda: rec.seen("task_completed", task_id="T2"), seconds=30)
    results = tool_results(messages_api.requests[1])
    assert results[0]["content"] == "contract\n"
    assert not results[0].get("is_error")
    assert "../arch/docs/api.md" in results[1]["content"].splitlines()
    assert results[2]["is_error"]
    assert "outside the worktree" in results[2]["content"]
    assert results[3]["is_error"]
    assert "inside .git" in results[3]["content"]
    arch = claude_repo.parent / "repo-worktrees" / "arch"
    assert (arch / "docs/api.md").read_text() == "contract\n"
    assert git(claude_repo, "show", "feature/auth-oauth:docs/api.md").strip() == "contract"


async def test_a_failing_gate_is_answered_by_the_model_and_fixed(
    claude_repo: Path, messages_api: MessagesAPI
) -> None:
    """complete_task with a failing pytest gate comes back as an error naming the gate;
    the model fixes the code and completes again, and the task is Completed."""
    test = "from calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n"
    messages_api.push(
        message(
            tool("write_file", path=".gitignore", content="junit.xml\n__pycache__/\n"),
            tool("write_file", path="test_calc.py", content=test),
            tool("write_file", path="calc.py", content="def add(a, b):\n    return a - b\n"),
        ),
        message(tool("complete_task", summary="calc")),
        message(tool("write_file", path="calc.py", content="def add(a, b):\n    return a + b\n")),
        message(tool("complete_task", summary="calc, fixed")),
    )
    python = json.dumps(sys.executable)
    gate = (
        f'[gates.tests]\nargv = [{python}, "-m", "pytest", "-q", "-p", "no:cacheprovider", '
        '"--junitxml=junit.xml"]\nreport = "junit"\nfile = "junit.xml"\ntasks = ["T1"]\n'
    )
    await run_until(claude_repo, "task_completed", gate, task_id="T1")
    assert status(claude_repo) == "Completed"
    [refused] = tool_results(messages_api.requests[2])
    assert refused["is_error"]
    assert "not completed: Gate tests failed: failed 1, needs == 0" in refused["content"]
    assert "a + b" in git(claude_repo, "show", "feature/auth-arch:calc.py")
