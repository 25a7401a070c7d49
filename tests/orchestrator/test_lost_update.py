"""Zero lost edits: a person's saves and the daemon's transitions all survive
(docs/contract.md sec. 10)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from orchestrator.daemon import Daemon
from protocol import parse_plan
from tests.orchestrator.conftest import Recorder, make_config, watching

WRITER = "tests.orchestrator.helpers.writer"
SAVES = os.environ.get("BATON_WRITER_SAVES", "300")  # `make soak` raises it
SEED = os.environ.get("BATON_WRITER_SEED", "7")
SLOW_SCRIPT = """
[scripts.default]
steps = [
  { wait = 0.15 },
  { write = "work/{task_id}.md", content = "{task_id}\\n" },
  { commit = "{task_id}: work" },
  { wait = 0.15 },
  { complete = "{task_id} done" },
]
"""


@pytest.mark.timeout(max(120, int(SAVES) // 5))  # `make soak`'s 2,000 saves take minutes
async def test_writer_and_daemon_lose_nothing(plan_repo: Path) -> None:
    """Hundreds of saves (rename, truncate, stale) race the daemon; every edit survives."""
    rec = Recorder()
    config = make_config(plan_repo, SLOW_SCRIPT, agents="scripted")
    plan_path = plan_repo / "MULTI_AGENT_PLAN.md"
    daemon = Daemon(config, progress=rec)
    model: dict[str, str] = {}

    def finished() -> bool:
        plan = parse_plan(plan_path.read_text(encoding="utf-8"))
        return all(t.status == "Completed" for t in plan.tasks) and all(
            r.completed and r.status == "Completed" for r in plan.log
        )

    async with anyio.create_task_group() as tg:
        await tg.start(daemon.run)
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
        writer = await anyio.run_process(
            [sys.executable, "-m", WRITER, str(plan_path), SAVES, SEED],
            cwd=Path(__file__).parent.parent.parent,
            check=True,
        )
        model.update(json.loads(writer.stdout))
        # The writer's last saves may come from stale buffers: the daemon must restore its
        # transitions and still finish the run.
        # The last restore may land with no progress event: re-check on every change too.
        async with watching(plan_repo, rec):
            await rec.wait_for(finished, seconds=90)
        daemon.stop()
    text = plan_path.read_text(encoding="utf-8")
    plan = parse_plan(text)
    assert [t.status for t in plan.tasks] == ["Completed"] * 7
    for row in plan.log:
        assert (row.status, bool(row.started), bool(row.completed)) == ("Completed", True, True)
    for key, value in model.items():
        kind, task_id = key.split(":")
        if kind == "desc":
            assert plan.task(task_id).description == value  # type: ignore[union-attr]
        else:
            assert plan.log_row(task_id).notes == value  # type: ignore[union-attr]
    assert len(model) >= 10
    # The writer never touched a status: no stale save may pass for a person's reset.
    assert sorted(rec.order("task_started")) == [f"T{i}" for i in range(1, 8)]
    assert not rec.seen("task_adopted")
    assert not rec.seen("task_reset")
