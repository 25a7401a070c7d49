"""Running agents through the real daemon: what a start leaves in the log and the journal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from structlog.testing import capture_logs

from tests.orchestrator.conftest import Recorder, make_config, running_daemon


async def test_a_new_worktree_is_logged_and_journaled_once(plan_repo: Path) -> None:
    """Starting T1 logs ``worktree_created`` once and records it once in the journal."""
    rec = Recorder()
    with capture_logs() as logs:
        async with running_daemon(make_config(plan_repo, agents="manual"), rec):
            await rec.wait_for(lambda: rec.seen("worktree_ready", task_id="T1"))
    created = [e for e in logs if e["event"] == "worktree_created"]
    assert len(created) == 1
    assert created[0]["folder"] == "arch"
    db = sqlite3.connect(plan_repo / ".baton" / "journal.sqlite3")
    rows = db.execute("SELECT task_id FROM events WHERE kind = 'worktree_created'").fetchall()
    db.close()
    assert rows == [("T1",)]
