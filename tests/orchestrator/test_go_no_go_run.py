"""The daemon decides Go/No-Go at Integration and decides again when the plan changes
(docs/user-guide.md, "From Integration to Completed"): real git repo, real watcher."""

from __future__ import annotations

from pathlib import Path

import anyio

from orchestrator.daemon import Daemon
from protocol import parse_plan
from protocol.integration import go_no_go
from tests.orchestrator.conftest import FAST_SCRIPT, Recorder, make_config, running_daemon

PLAN = "MULTI_AGENT_PLAN.md"
PLACEHOLDER = "**Decision:** [OAuth 2.0 / JWT / Session-based]"


async def test_no_recommendation_is_no_go_until_a_person_decides(plan_repo: Path) -> None:
    rec = Recorder()
    config = make_config(plan_repo, FAST_SCRIPT, agents="scripted")
    with anyio.fail_after(60):
        assert await Daemon(config, progress=rec, exit_when_done=True).run() == 0
    path = plan_repo / PLAN
    plan = parse_plan(path.read_text(encoding="utf-8"))
    line = go_no_go(plan)
    assert line is not None
    assert line.startswith("NO-GO — no recommendation")
    assert "not ticked: Code review approved" in line
    decided = [f for e, f in rec.events if e == "go_no_go_decided"]
    assert len(decided) == 1
    assert decided[0]["outcome"] == "NO-GO"

    # A person writes the Decision and ticks the boxes: the running daemon says GO.
    rec = Recorder()
    async with running_daemon(config, rec):
        text = path.read_text(encoding="utf-8")
        text = text.replace(PLACEHOLDER, "**Decision:** JWT").replace("- [ ] ", "- [x] ")
        path.write_text(text, encoding="utf-8")
        await rec.wait_for(lambda: rec.seen("go_no_go_decided", outcome="GO"))
    plan = parse_plan(path.read_text(encoding="utf-8"))
    assert go_no_go(plan) == "GO"
