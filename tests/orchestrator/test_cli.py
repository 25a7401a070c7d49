"""The read-only commands: validate, graph, status, --version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.cli import main
from protocol import parse_messages
from tests.orchestrator.helpers.faults import read_only

FIXTURES = Path(__file__).parent.parent / "fixtures"
TEMPLATE = FIXTURES / "plans" / "template.md"
MESSAGES = FIXTURES / "messages" / "example.md"


@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    shutil.copy(TEMPLATE, tmp_path / "MULTI_AGENT_PLAN.md")
    shutil.copy(MESSAGES, tmp_path / "INTER_AGENT_MESSAGES.md")
    return tmp_path


def test_validate_template(plan_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate accepts the template and its example messages and summarises them."""
    assert main(["validate", "--dir", str(plan_dir)]) == 0
    out = capsys.readouterr().out
    assert "7 tasks in 4 waves" in out
    assert "4 messages" in out


def test_validate_reports_every_error_with_line(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate prints one file:line: reason per error and exits 1."""
    plan = plan_dir / "MULTI_AGENT_PLAN.md"
    text = plan.read_text(encoding="utf-8")
    text = text.replace("| Not Started | T5, T6 |", "| Not Started | T5, T9 |")
    text = text.replace(
        "| T3 | Implement JWT approach | Builder-2", "| T2 | Implement JWT approach | Builder-2"
    )
    plan.write_text(text, encoding="utf-8")
    assert main(["validate", "--dir", str(plan_dir)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{plan}:88: duplicate task id T2 (first at line 87)",
        f"{plan}:90: dependency T3 of T5 is not a task",
        f"{plan}:91: dependency T3 of T6 is not a task",
        f"{plan}:92: dependency T9 of T7 is not a task",
        "baton: 4 error(s)",
    ]


def test_validate_missing_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory without a plan is a one-line error and exit 1."""
    assert main(["validate", "--dir", str(tmp_path)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("baton: ")
    assert "no plan here" in line


def test_graph_text(plan_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """graph prints the waves and the critical path of the template."""
    assert main(["graph", "--dir", str(plan_dir)]) == 0
    out = capsys.readouterr().out
    assert "Wave 1: T1" in out
    assert "Wave 2: T2, T3, T4" in out
    assert "Wave 4: T7" in out
    assert "Critical path (7.5h" in out


def test_graph_mermaid(plan_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """graph --format mermaid emits a flowchart with status classes and the critical path."""
    plan = plan_dir / "MULTI_AGENT_PLAN.md"
    text = plan.read_text(encoding="utf-8").replace(
        "| A | Not Started | - | 1h |", "| A | Completed | - | 1h |"
    )
    plan.write_text(text, encoding="utf-8")
    assert main(["graph", "--dir", str(plan_dir), "--format", "mermaid"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD")
    assert "t_T1 --> t_T2" in out
    assert "class t_T1 completed" in out
    assert "critical" in out.split("class t_T1 completed")[1]


def test_status_json(plan_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """status --json gives tasks, waves, ready tasks, pending messages and the budget."""
    assert main(["status", "--dir", str(plan_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in data["tasks"]] == [f"T{i}" for i in range(1, 8)]
    assert data["ready"] == ["T1"]
    assert data["tasks"][1]["wave"] == 2
    assert data["tasks"][0]["agent_id"] == "architect-001"
    assert data["budget_usd"] == 5.0
    assert [m["type"] for m in data["pending_messages"]] == ["Blocker"]


def test_status_text(plan_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """status prints a task table and the pending blocker message."""
    assert main(["status", "--dir", str(plan_dir)]) == 0
    out = capsys.readouterr().out
    assert "T1" in out
    assert "architect-001" in out
    assert "Pending messages: 1" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No command or a bad flag is a usage error: exit 2."""
    assert main([]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["graph", "--format", "png"])
    assert exc.value.code == 2


def test_console_script_version() -> None:
    """The installed `baton` script answers --version."""
    exe = Path(sys.executable).with_name("baton")
    result = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("baton ")


def test_run_refuses_claude_without_a_key(
    plan_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`baton run --agents claude` without ANTHROPIC_API_KEY says so at once, in one line."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["run", "--dir", str(plan_dir), "--agents", "claude"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("baton: the claude backend needs ANTHROPIC_API_KEY")
    assert err.count("\n") == 1


def test_send_appends_a_message_that_reads_back(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """send appends one well-formed Sent message and leaves the rest of the log as it was."""
    log = plan_dir / "INTER_AGENT_MESSAGES.md"
    before = log.read_text(encoding="utf-8")
    argv = ["send", "--dir", str(plan_dir), "--from", "person", "--to", "builder-jwt-001, All"]
    argv += ["--type", "Directive", "--task", "T3", "--priority", "High"]
    argv += ["--deadline", "2026-12-01T09:00:00Z", "Use RS256."]
    assert main(argv) == 0
    after = log.read_text(encoding="utf-8")
    assert after.startswith(before)
    last = parse_messages(after).messages[-1]
    assert (last.sender, last.to, last.type, last.status) == (
        "person",
        ("builder-jwt-001", "All"),
        "Directive",
        "Sent",
    )
    assert (last.task, last.priority, last.deadline, last.text) == (
        "T3",
        "High",
        "2026-12-01T09:00:00Z",
        "Use RS256.",
    )


def send_refused(plan_dir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run send with ``args``; check it exits 1 and leaves the log as it was; its stderr."""
    log = plan_dir / "INTER_AGENT_MESSAGES.md"
    before = log.read_bytes()
    argv = ["send", "--dir", str(plan_dir), "--from", "a", "--to", "b", "--type", "Update"]
    assert main([*argv, *args]) == 1
    assert log.read_bytes() == before
    return capsys.readouterr().err


def test_send_refuses_a_bad_deadline_in_one_line(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deadline that is not ISO 8601 is a one-line error; nothing is written."""
    assert send_refused(plan_dir, capsys, "--deadline", "tomorrow", "x") == (
        "baton: DEADLINE must be an ISO 8601 date-time, got 'tomorrow'\n"
    )


def test_send_into_a_read_only_directory_fails_in_one_line(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """send cannot write the log: one line naming the file and why, exit 1, log as it was."""
    log = plan_dir / "INTER_AGENT_MESSAGES.md"
    before = log.read_text(encoding="utf-8")
    argv = ["send", "--dir", str(plan_dir), "--from", "a", "--to", "b", "--type", "Update", "x"]
    with read_only(plan_dir):
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert err in (
        f"baton: {log}: Permission denied\n",
        f"baton: {log}: Read-only file system\n",
    )
    assert log.read_text(encoding="utf-8") == before


def test_status_shows_sla_left_and_what_waits_for_a_person(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An escalated blocker first seen by the daemon 4 minutes ago: 6 of 10 minutes left."""
    from datetime import UTC, datetime, timedelta

    from orchestrator.adapters.clock import iso
    from orchestrator.adapters.journal import Journal

    plan = plan_dir / "MULTI_AGENT_PLAN.md"
    entry = (
        "\n### T1 - architect-001 - 2026-01-01 09:00\n**Severity:** High\n"
        "**Blocker Type:** Decision\n**Description:** Which cloud?\n"
        "**Required Resolution:** A person picks\n**Escalation:** Yes\n"
        "**Triage:** 2026-01-01 09:00 - Escalated to a person: a decision is needed.\n\n"
    )
    text = plan.read_text(encoding="utf-8").replace(
        "\n## Execution Timeline", entry + "## Execution Timeline", 1
    )
    plan.write_text(text, encoding="utf-8")
    journal = Journal(plan_dir / ".baton" / "journal.sqlite3")
    seen = iso(datetime.now(UTC) - timedelta(minutes=4))
    journal.mark("blocker_seen:T1|architect-001|2026-01-01 09:00", seen)
    journal.close()
    assert main(["status", "--dir", str(plan_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    blocker = next(b for b in data["blockers"] if b["task_id"] == "T1")
    assert 5.5 <= blocker["sla_left_minutes"] <= 6.0
    assert any(e.startswith("blocker T1") for e in data["escalations"])
    assert main(["status", "--dir", str(plan_dir)]) == 0
    assert "min left" in capsys.readouterr().out


OPEN_BLOCK = (
    "---\nFROM: person\nTO: builder-jwt-001\nTYPE: Update\nTIMESTAMP: 2026-01-01T09:00:00Z\n"
)


def test_send_refuses_a_log_that_ends_in_an_open_block(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """send does not report success for a message that would land inside a person's open
    block: it names the open block's line, exits 1 and leaves the log as it was."""
    log = plan_dir / "INTER_AGENT_MESSAGES.md"
    text = log.read_text(encoding="utf-8") + "\n" + OPEN_BLOCK
    log.write_text(text, encoding="utf-8")
    line = text.count("\n") - OPEN_BLOCK.count("\n") + 1
    assert send_refused(plan_dir, capsys, "x") == (
        f"baton: {log}:{line}: message block has no closing '---': it is not delivered, "
        "and nothing can be appended after it until it is closed\n"
    )


def test_validate_reports_an_open_block_with_its_line(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """validate reports a block with no closing '---' at its line and exits 1."""
    log = plan_dir / "INTER_AGENT_MESSAGES.md"
    text = log.read_text(encoding="utf-8") + "\n" + OPEN_BLOCK.rstrip("\n")
    log.write_text(text, encoding="utf-8")
    assert main(["validate", "--dir", str(plan_dir)]) == 1
    line = text.count("\n") - OPEN_BLOCK.count("\n") + 2
    assert capsys.readouterr().err.splitlines() == [
        f"{log}:{line}: message block has no closing '---': it is not delivered, "
        "and nothing can be appended after it until it is closed",
        "baton: 1 error(s)",
    ]


def test_send_refuses_an_argument_that_is_not_utf8(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A non-UTF-8 argument (as a shell passes raw bytes) is a one-line error, not a
    traceback, and nothing is written."""
    assert send_refused(plan_dir, capsys, os.fsdecode(b"caf\xe9 au lait")) == (
        "baton: TEXT is not UTF-8 (byte 0xe9 at position 3); the message log is UTF-8\n"
    )


def test_validate_refuses_a_plan_over_the_size_limit(
    plan_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plan over 5 MB is refused in one line, unread; max_plan_mb in baton.toml sets the
    limit."""
    plan = plan_dir / "MULTI_AGENT_PLAN.md"
    good = plan.read_text(encoding="utf-8")
    plan.write_text(good + "\n<!-- " + "x" * 5_100_000 + " -->\n", encoding="utf-8")
    size = plan.stat().st_size / 1_000_000
    assert main(["validate", "--dir", str(plan_dir)]) == 1
    assert capsys.readouterr().err == (
        f"baton: {plan}: the plan is {size:.3g} MB, over the 5 MB limit "
        "(max_plan_mb in baton.toml)\n"
    )
    plan.write_text(good, encoding="utf-8")
    (plan_dir / "baton.toml").write_text("max_plan_mb = 0.01\n", encoding="utf-8")
    assert main(["status", "--dir", str(plan_dir)]) == 1
    assert "over the 0.01 MB limit" in capsys.readouterr().err
    (plan_dir / "baton.toml").write_text("max_plan_mb = 1\n", encoding="utf-8")
    assert main(["validate", "--dir", str(plan_dir)]) == 0
