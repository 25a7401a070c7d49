"""Briefs and handoffs in a running daemon: the brief file of each attempt, the Handoff in
the template's four sections, a retry told why the last attempt failed
(docs/user-guide.md, "Briefs and handoffs")."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.cli import main
from protocol import Message, parse_messages, parse_plan, set_cell
from tests.orchestrator.conftest import Recorder, make_config, running_daemon, watching

SECRET = "sk-ant-api03-SECRETSECRETSECRET0123456789"
OUTSIDE = "/etc/baton-outside/notes.txt"

COMPLETE = (
    f'{{ complete = "contracts written", notes = "Use RS256. Key {SECRET} is in {OUTSIDE}.", '
    'artifacts = ["docs/api.md"], references = ["@docs/api.md:1"], tests_passed = 12, '
    "tests_total = 12, lint_errors = 0, docs_updated = true, self_review = false }"
)
T1_HANDS_OFF = f"""
[agents]
default = "manual"
[agents.tasks]
T1 = "scripted"
[scripts.T1]
steps = [
  {{ write = "docs/api.md", content = "# API\\n" }},
  {COMPLETE},
]
"""

T1_FAILS = """
[agents]
default = "manual"
[agents.tasks]
T1 = "scripted"
[scripts.T1]
steps = [{ fail = "tests failed", output = "FAILED tests/test_api.py::test_login" }]
"""


def handoff_of(repo: Path, task_id: str) -> Message | None:
    path = repo / "INTER_AGENT_MESSAGES.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    found = [
        m
        for m in parse_messages(text).messages
        if m.type == "Handoff" and m.sender == "Orchestrator" and m.task == task_id
    ]
    return found[-1] if found else None


def brief_of(repo: Path, task_id: str) -> str:
    path = repo / ".baton" / "briefs" / f"{task_id}.md"
    return path.read_text(encoding="utf-8") if path.exists() else ""


async def test_a_manual_tasks_brief_is_a_file_named_in_the_event_and_in_status(
    plan_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manual T1 gets .baton/briefs/T1.md; task_started and baton status name it."""
    rec = Recorder()
    async with (
        running_daemon(make_config(plan_repo, agents="manual"), rec),
        watching(plan_repo, rec),
    ):
        await rec.wait_for(lambda: brief_of(plan_repo, "T1").endswith("- Agent slots: 4\n"))
    assert rec.seen("task_started", task_id="T1", brief=".baton/briefs/T1.md")
    text = brief_of(plan_repo, "T1")
    assert text.startswith("# Brief: T1 - Design auth architecture & API contracts\n")
    assert "set T1's Status to Completed" in text
    capsys.readouterr()
    assert main(["status", "--dir", str(plan_repo)]) == 0
    assert "T1: .baton/briefs/T1.md" in capsys.readouterr().out


async def test_the_handoff_has_four_sections_and_the_next_brief_holds_it(
    plan_repo: Path,
) -> None:
    """After T1's scripted agent completes, its Handoff has Deliverables, Validation (as
    the agent stated), Notes and References; T2's brief holds it, without secret or an
    outside path."""
    rec = Recorder()
    config = make_config(plan_repo, T1_HANDS_OFF)
    async with running_daemon(config, rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: handoff_of(plan_repo, "T1") is not None)
        await rec.wait_for(lambda: "## Constraints" in brief_of(plan_repo, "T2"))
    handoff = handoff_of(plan_repo, "T1")
    assert handoff is not None
    body = handoff.body
    for section in ("**Deliverables:**", "**Validation:**", "**Notes for Downstream:**"):
        assert section in body
    assert "**Context References:**\n@docs/api.md:1" in body
    assert "- Branch: feature/auth-arch" in body
    assert "- Files Modified: docs/api.md" in body
    assert "- Artifacts: docs/api.md" in body
    assert "- [x] Tests passing (12/12 tests, as the agent stated)" in body
    assert "- [x] Linting clean (0 errors, as the agent stated)" in body
    assert "- [x] Documentation updated (as the agent stated)" in body
    assert "- [ ] Self-review completed (as the agent stated)" in body
    brief = brief_of(plan_repo, "T2")
    assert "contracts written" in brief
    assert "Use RS256." in brief
    assert SECRET not in brief
    assert OUTSIDE not in brief
    assert str(Path.home()) not in brief or str(plan_repo).startswith(str(Path.home()))


async def test_a_retry_is_briefed_with_the_failure_of_the_attempt_before(
    plan_repo: Path,
) -> None:
    """T1 fails; set back to Not Started, its attempt 2 brief holds the reason and output."""
    rec = Recorder()
    config = make_config(plan_repo, T1_FAILS)
    plan_file = plan_repo / "MULTI_AGENT_PLAN.md"
    async with running_daemon(config, rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: rec.seen("task_failed", task_id="T1"))
        text = plan_file.read_text(encoding="utf-8")
        plan_file.write_text(
            set_cell(text, parse_plan(text), "T1", "Status", "Not Started"), encoding="utf-8"
        )
        await rec.wait_for(lambda: "- Attempt: 2\n" in brief_of(plan_repo, "T1"))
        await rec.wait_for(lambda: "FAILED tests/test_api.py" in brief_of(plan_repo, "T1"))
    brief = brief_of(plan_repo, "T1")
    assert "## Previous attempt (1)\n\nIt ended: tests failed" in brief
    assert "FAILED tests/test_api.py::test_login" in brief
