"""Done means gated, in the running daemon with a real pytest gate: a failing gate goes
back to the (scripted) agent, which fixes it on the second try; a gate that fails every
round blocks the task with a Technical blocker (docs/user-guide.md, "Quality gates")."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import anyio
import pytest

from orchestrator.cli import main
from protocol import parse_messages, parse_plan
from tests.orchestrator.conftest import Recorder, make_config, running_daemon, watching
from tests.orchestrator.test_briefs import handoff_of

GATE = f"""
[gates]
retries = 2
[gates.tests]
argv = [{json.dumps(sys.executable)}, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "--junitxml=junit.xml"]
report = "junit"
file = "junit.xml"
tasks = ["T1"]
"""
IGNORE = '{ write = ".gitignore", content = "junit.xml\\n__pycache__/\\n" }'
TEST = (
    '{ write = "test_calc.py", '
    'content = "from calc import add\\n\\ndef test_add():\\n    assert add(2, 2) == 4\\n" }'
)
WRONG = '{ write = "calc.py", content = "def add(a, b):\\n    return a - b\\n" }'
RIGHT = '{ write = "calc.py", content = "def add(a, b):\\n    return a + b\\n" }'


def config(repo: Path, *steps: str) -> str:
    return (
        f'[agents]\ndefault = "manual"\n[agents.tasks]\nT1 = "scripted"\n'
        f"[scripts.T1]\nsteps = [{', '.join(steps)}]\n{GATE}"
    )


def t1(repo: Path) -> tuple[str, str]:
    plan = parse_plan((repo / "MULTI_AGENT_PLAN.md").read_text(encoding="utf-8"))
    task, row = plan.task("T1"), plan.log_row("T1")
    assert task is not None
    return task.status, (row.notes if row is not None else "")


def directives(repo: Path) -> list[str]:
    path = repo / "INTER_AGENT_MESSAGES.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [m.body for m in parse_messages(text).messages if m.type == "Directive"]


async def test_a_failing_gate_is_fixed_in_one_round(
    plan_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = config(plan_repo, IGNORE, TEST, WRONG, '{ complete = "first try" }', RIGHT)
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, toml), rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: handoff_of(plan_repo, "T1") is not None, seconds=60)
    status, notes = t1(plan_repo)
    assert status == "Completed"
    assert "gates: tests 1/1" in notes
    handoff = handoff_of(plan_repo, "T1")
    assert handoff is not None
    assert "- [x] Tests passing (gate tests: tests 1/1)" in handoff.body
    [left] = [f["items"] for e, f in rec.events if e == "gate_thresholds_left_to_people"]
    assert "Code review approved by 1+ reviewers" in left
    assert rec.seen("gate_failed", task_id="T1", gate="tests", round=1)
    assert rec.seen("gate_passed", task_id="T1", gate="tests", round=2)
    [directive] = directives(plan_repo)
    assert "Gate tests failed: failed 1, needs == 0" in directive
    assert "fix round 1 of 2" in directive
    assert "assert 0 == 4" in directive  # the tail of pytest's output
    kept = plan_repo / ".baton" / "gates" / "T1" / "1"
    assert (kept / "tests.1.log").exists()
    assert (kept / "tests.2.log").exists()
    assert (kept / "tests.2.xml").exists()
    capsys.readouterr()
    # baton status shows the last round; baton gates runs them again now.
    assert main(["status", "--dir", str(plan_repo)]) == 0
    out = capsys.readouterr().out
    assert "GATES" in out
    [row] = [line for line in out.splitlines() if line.startswith("T1 ")]
    assert "Completed" in row
    assert "tests 1/1" in row
    argv = ["gates", "--task", "T1", "--dir", str(plan_repo)]
    assert await anyio.to_thread.run_sync(main, argv) == 0  # it runs its own event loop
    table = capsys.readouterr().out
    assert "T1       tests        pass     tests 1/1" in table
    assert "Left to people" in table
    assert "Code review approved" in table


async def test_a_gate_failing_every_round_blocks_the_task(plan_repo: Path) -> None:
    toml = config(plan_repo, IGNORE, TEST, WRONG)
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, toml), rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: t1(plan_repo)[0] == "Blocked", seconds=60)
        # Escalation: Yes, so the triage hands it to a person.
        await rec.wait_for(lambda: rec.seen("blocker_triaged", task_id="T1", decision="escalated"))
    assert [e for e, f in rec.events if e == "gate_failed"] == ["gate_failed"] * 3
    assert not rec.seen("gate_passed")
    text = (plan_repo / "MULTI_AGENT_PLAN.md").read_text(encoding="utf-8")
    assert "Quality gate failed 3 times: tests: failed 1, needs == 0" in text
    assert ".baton/gates/T1/1/tests.3.log" in text
    blocker = text[text.index("Quality gate failed 3 times") - 600 :]
    assert "Technical" in blocker
    assert "Yes" in blocker
    # Rounds 1 and 2 came back as Directives; the third is the blocker, for a person.
    assert [d.count("fix round") for d in directives(plan_repo)] == [1, 1]


async def test_a_phase_criterion_is_ticked_once_every_task_of_it_passed(plan_repo: Path) -> None:
    """The gate runs on group B (T2-T4); "Tests passing for each approach" is ticked only
    when the last of the three passed, the other criteria of the phase stay open."""
    scripts = "".join(
        f'[scripts.{t}]\nsteps = [{IGNORE}, {TEST}, {RIGHT}, {{ complete = "{t} done" }}]\n'
        for t in ("T2", "T3", "T4")
    )
    gate = GATE.replace('tasks = ["T1"]', 'groups = ["B"]')
    toml = (
        '[agents]\ndefault = "manual"\n[agents.tasks]\nT1 = "scripted"\nT2 = "scripted"\n'
        'T3 = "scripted"\nT4 = "scripted"\n' + scripts + gate
    )
    rec = Recorder()
    plan_file = plan_repo / "MULTI_AGENT_PLAN.md"

    def ticked() -> bool:
        return "- [x] Tests passing for each approach" in plan_file.read_text(encoding="utf-8")

    async with running_daemon(make_config(plan_repo, toml), rec), watching(plan_repo, rec):
        await rec.wait_for(ticked, seconds=60)
        # Ticked in the same write as the last of them Completed, not before.
        plan = parse_plan(plan_file.read_text(encoding="utf-8"))
        statuses = {t.id: t.status for t in plan.tasks}
        assert [statuses[t] for t in ("T2", "T3", "T4")] == ["Completed"] * 3
    text = plan_file.read_text(encoding="utf-8")
    assert "- [ ] Code adheres to API contracts" in text
    assert "- [ ] All three implementations complete" in text


FIXER = """
import sys
from pathlib import Path
brief = sys.stdin.read()
Path(".gitignore").write_text("junit.xml\\n__pycache__/\\n")
test = "from calc import add\\n\\ndef test_add():\\n    assert add(2, 2) == 4\\n"
Path("test_calc.py").write_text(test)
sign = "+" if "A quality gate failed" in brief else "-"
Path("calc.py").write_text(f"def add(a, b):\\n    return a {sign} b\\n")
"""


async def test_a_command_agent_is_run_again_with_the_gates_directive(plan_repo: Path) -> None:
    """A command agent exits 0 with a failing test; it runs again with the Directive in its
    brief, fixes it, and the task is Completed."""
    toml = (
        f'command = [{json.dumps(sys.executable)}, "-c", {json.dumps(FIXER)}]\n'
        '[agents]\ndefault = "manual"\n[agents.tasks]\nT1 = "command"\n' + GATE
    )
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, toml), rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: rec.seen("task_completed", task_id="T1"), seconds=60)
    status, notes = t1(plan_repo)
    assert status == "Completed"
    assert "gates: tests 1/1" in notes
    assert rec.seen("gate_failed", task_id="T1", round=1)
    assert rec.seen("gate_passed", task_id="T1", round=2)


async def test_a_gate_round_cut_short_is_run_again_not_counted_twice(
    plan_repo: Path, tmp_path: Path
) -> None:
    """The daemon stops while T1's gate runs; started again, it runs the same round (1)
    again, which passes now, and the journal holds one result."""
    release = tmp_path / "release"
    script = (
        "import pathlib, sys, time\n"
        f"if pathlib.Path({str(release)!r}).exists(): sys.exit(0)\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    toml = (
        '[agents]\ndefault = "manual"\n[agents.tasks]\nT1 = "scripted"\n'
        '[scripts.T1]\nsteps = [{ complete = "done" }]\n'
        f'[gates.slow]\nargv = [{json.dumps(sys.executable)}, "-c", {json.dumps(script)}]\n'
        'tasks = ["T1"]\n'
    )
    log = plan_repo / ".baton" / "gates" / "T1" / "1" / "slow.1.log"
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, toml), rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: log.exists() and "started" in log.read_text(), seconds=30)
    assert t1(plan_repo)[0] == "In Progress"
    release.touch()
    rec = Recorder()
    async with running_daemon(make_config(plan_repo, toml), rec), watching(plan_repo, rec):
        await rec.wait_for(lambda: rec.seen("task_completed", task_id="T1"), seconds=30)
    assert rec.seen("gate_passed", task_id="T1", gate="slow", round=1)
    db = sqlite3.connect(plan_repo / ".baton" / "journal.sqlite3")
    try:
        keys = [k for (k,) in db.execute("SELECT key FROM marks WHERE key LIKE 'gate_%'")]
    finally:
        db.close()
    assert sorted(keys) == ["gate_result:T1:1:001", "gate_start:T1:1:001"]
