"""The ``when = "integration"`` gates run once per approach at Integration, journaled, and
their numbers fill the Integration Summary's tables (docs/user-guide.md, "From Integration
to Completed"): real git repo, real daemon, real gate subprocesses."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import anyio
import pytest

from orchestrator.config import ConfigError, load_config
from orchestrator.daemon import Daemon
from protocol import parse_plan
from protocol.integration import go_no_go
from tests.orchestrator.conftest import (
    FAST_SCRIPT,
    Recorder,
    decide_jwt,
    git,
    make_config,
    running_daemon,
)

PLAN = "MULTI_AGENT_PLAN.md"
BENCH = (
    "import json, os; n = int(os.environ['BATON_TASK_ID'][1:]); "
    "open('bench.json', 'w').write(json.dumps({'p50': n * 10, 'p95': n * 20, 'p99': n * 30}))"
)
SARIF = (
    "import json; open('sec.sarif', 'w').write(json.dumps({'version': '2.1.0', 'runs': "
    "[{'tool': {'driver': {'name': 'demo'}}, 'results': [{'ruleId': 'r', 'level': 'note'}]}]}))"
)
# Newest first, as ``git log --first-parent`` shows them.
MERGED = [
    ("T7", "feature/auth-docs"),
    ("T6", "feature/auth-audit"),
    ("T5", "feature/auth-bench"),
    ("T3", "feature/auth-jwt"),
    ("T1", "feature/auth-arch"),
]
GATES = f"""
[gates.bench]
argv = [{json.dumps(sys.executable)}, "-c", {json.dumps(BENCH)}]
report = "json"
file = "bench.json"
when = "integration"
tasks = ["T2", "T3", "T4"]
[gates.audit]
argv = [{json.dumps(sys.executable)}, "-c", {json.dumps(SARIF)}]
report = "sarif"
file = "sec.sarif"
when = "integration"
tasks = ["T2", "T3", "T4"]
"""


def _marks(repo: Path) -> dict[str, str]:
    db = sqlite3.connect(repo / ".baton" / "journal.sqlite3")
    try:
        rows = db.execute("SELECT key, value FROM marks WHERE key LIKE 'gate_integration:%'")
        return dict(rows.fetchall())
    finally:
        db.close()


async def test_integration_gates_fill_the_tables_and_run_once(plan_repo: Path) -> None:
    config = make_config(plan_repo, FAST_SCRIPT + GATES, agents="scripted")
    rec = Recorder()
    with anyio.fail_after(60):
        assert await Daemon(config, progress=rec, exit_when_done=True).run() == 0
    ran = [f for e, f in rec.events if e == "gate_passed" and f.get("when") == "integration"]
    assert sorted(f["task_id"] for f in ran) == sorted(["T2", "T2", "T3", "T3", "T4", "T4"])
    marks = _marks(plan_repo)
    assert len(marks) == 6
    assert (plan_repo / ".baton" / "gates" / "T3" / "integration" / "bench.1.json").exists()

    # A restart does not run them again; the Decision makes it GO with their numbers.
    path = plan_repo / PLAN
    text = path.read_text(encoding="utf-8")
    text = decide_jwt(text)
    rec = Recorder()
    async with running_daemon(config, rec):
        path.write_text(text, "utf-8")
        await rec.wait_for(lambda: rec.seen("integrated"))
    assert not [e for e, _ in rec.events if e in ("gate_passed", "gate_failed")]
    assert _marks(plan_repo) == marks
    plan = parse_plan(path.read_text(encoding="utf-8"))
    assert go_no_go(plan) == "GO"
    text = path.read_text(encoding="utf-8")
    assert "| JWT | 30 | 60 | - | - |" in text
    assert "| OAuth 2.0 | 20 | 40 | - | - |" in text
    assert "| Session | 40 | 80 | - | - |" in text
    assert "| JWT | 0 | 0 | 0 | 1 | - |" in text


async def test_merge_strategy_of_baton_toml_when_the_plan_names_none(plan_repo: Path) -> None:
    """The plan's Merge Strategy line wins; when it names no strategy, ``merge_strategy``
    does: here ``merge``, one merge commit per integrated task."""
    path = plan_repo / PLAN
    text = path.read_text(encoding="utf-8").replace(
        "**Selected:** Cherry-pick integration with comparison", "**Selected:** as configured"
    )
    path.write_text(text, encoding="utf-8")
    git(plan_repo, "commit", "-qam", "plan: strategy from baton.toml")
    config = make_config(plan_repo, 'merge_strategy = "merge"\n' + FAST_SCRIPT, "scripted")
    assert config.merge_strategy == "merge"
    with anyio.fail_after(60):
        assert await Daemon(config, progress=Recorder(), exit_when_done=True).run() == 0
    text = path.read_text(encoding="utf-8")
    text = decide_jwt(text)
    rec = Recorder()
    async with running_daemon(config, rec):
        path.write_text(text, "utf-8")
        await rec.wait_for(lambda: rec.seen("integrated"))
    subjects = git(plan_repo, "log", "--first-parent", "--format=%s", "main").splitlines()
    merges = [s for s in subjects if s.startswith("Merge T")]
    assert merges == [f"Merge {t} ({b})" for t, b in MERGED]
    on_main = set(git(plan_repo, "ls-tree", "-r", "--name-only", "main").splitlines())
    assert {f for f in on_main if f.startswith("work/")} == {
        f"work/{t}.md" for t in ("T1", "T3", "T5", "T6", "T7")
    }
    assert "- Strategy: merge" in (plan_repo / "INTEGRATION_REPORT.md").read_text("utf-8")


def test_merge_strategy_must_be_one_of_three(tmp_path: Path) -> None:
    (tmp_path / "baton.toml").write_text('merge_strategy = "rebase"\n')
    with pytest.raises(ConfigError, match="merge_strategy must be one of cherry-pick, merge"):
        load_config(tmp_path, environ={})


def _failing_on(task_id: str) -> str:
    script = f"import os, sys; sys.exit(os.environ['BATON_TASK_ID'] == {task_id!r})"
    return f"""
[gates.check]
argv = [{json.dumps(sys.executable)}, "-c", {json.dumps(script)}]
when = "integration"
groups = ["B"]
"""


@pytest.mark.parametrize(("failing", "outcome"), [("T2", "GO"), ("T3", "NO-GO")])
async def test_a_failing_integration_gate_stops_only_the_selected_approach(
    plan_repo: Path, failing: str, outcome: str
) -> None:
    path = plan_repo / PLAN
    text = path.read_text(encoding="utf-8")
    text = decide_jwt(text)
    path.write_text(text, encoding="utf-8")
    git(plan_repo, "commit", "-qam", "plan: decided up front")
    config = make_config(plan_repo, FAST_SCRIPT + _failing_on(failing), agents="scripted")
    rec = Recorder()
    with anyio.fail_after(60):
        assert await Daemon(config, progress=rec, exit_when_done=True).run() == 0
    failed = [f["task_id"] for e, f in rec.events if e == "gate_failed"]
    assert failed == [failing]
    decided = [f for e, f in rec.events if e == "go_no_go_decided"][-1]
    assert decided["outcome"] == outcome
    if outcome == "NO-GO":
        assert decided["reasons"] == ["T3: gate check failed (exit_code 1, needs == 0)"]
        assert not rec.seen("integrated")
    else:
        assert rec.seen("integrated")
