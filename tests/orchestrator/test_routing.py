"""Messages and blockers end to end (docs/contract.md sec. 4 and 5): real files, the real watcher,
the
daemon's own clock injected so SLA and deadline tests take milliseconds."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from orchestrator.adapters.clock import ManualClock, iso
from protocol import parse_messages, parse_plan, render_message, set_cell
from protocol.messages import NEW_MESSAGES_FILE
from tests.orchestrator.conftest import Recorder, make_config, running_daemon, watching

PLAN, MESSAGES = "MULTI_AGENT_PLAN.md", "INTER_AGENT_MESSAGES.md"


def save(path: Path, text: str, *, style: str) -> None:
    """Save as an editor does: by renaming a new file over the old, or in place."""
    if style == "rename":
        tmp = path.with_name(f".{path.name}.swp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    else:
        with path.open("r+", encoding="utf-8") as f:
            f.truncate(0)
            f.write(text)


def append(repo: Path, style: str = "rename", **fields: str) -> None:
    path = repo / MESSAGES
    current = path.read_text(encoding="utf-8") if path.exists() else NEW_MESSAGES_FILE
    fields.setdefault("timestamp", "2026-01-01T09:00:00Z")
    block = render_message(**fields)  # type: ignore[arg-type]
    save(path, current + "\n" + block, style=style)


def statuses(repo: Path) -> dict[str, str]:
    """MESSAGE text → STATUS of every message in the log."""
    text = (repo / MESSAGES).read_text(encoding="utf-8")
    return {m.text or "": m.status for m in parse_messages(text).messages}


def messages_of(repo: Path, type: str) -> list[str]:
    text = (repo / MESSAGES).read_text(encoding="utf-8")
    return [f"{m.to}: {m.text}" for m in parse_messages(text).messages if m.type == type]


def plan(repo: Path) -> str:
    return (repo / PLAN).read_text(encoding="utf-8")


def add_escalated_blocker(repo: Path) -> None:
    """An entry for T1 that only a person can decide (Escalation: Yes)."""
    text = plan(repo).replace(
        "\n## Execution Timeline",
        "\n### T1 - architect-001 - 2026-01-01 09:00\n**Severity:** High\n"
        "**Blocker Type:** Decision\n**Description:** Which cloud?\n"
        "**Required Resolution:** A person picks one\n**Escalation:** Yes\n\n"
        "## Execution Timeline",
        1,
    )
    (repo / PLAN).write_text(text, encoding="utf-8")


def start_t1(repo: Path) -> None:
    """No script needed: manual agents just hold their task, T1 starts on its own."""
    (repo / MESSAGES).write_text(NEW_MESSAGES_FILE, encoding="utf-8")


@pytest.mark.parametrize("style", ["rename", "truncate"])
async def test_message_to_running_agent_is_acknowledged(plan_repo: Path, style: str) -> None:
    """A person appends a message for T1's running agent: it is delivered and Acknowledged."""
    start_t1(plan_repo)
    rec = Recorder()
    async with (
        running_daemon(make_config(plan_repo, agents="manual"), rec),
        watching(plan_repo, rec),
    ):
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
        append(plan_repo, style, sender="person", to="architect-001", type="Update", text="hi")
        await rec.wait_for(lambda: statuses(plan_repo).get("hi") == "Acknowledged", seconds=1)
    assert rec.seen("message_delivered", task_id="T1", type="Update")


async def test_held_message_is_delivered_when_its_agent_starts(plan_repo: Path) -> None:
    """A message for T2's agent waits until T2 starts; so does a broadcast to All."""
    start_t1(plan_repo)
    append(plan_repo, sender="person", to="builder-oauth-001", type="Update", text="for T2")
    append(plan_repo, sender="person", to="All", type="Update", text="for all")
    rec = Recorder()
    async with (
        running_daemon(make_config(plan_repo, agents="manual"), rec),
        watching(plan_repo, rec),
    ):
        await rec.wait_for(lambda: rec.seen("message_delivered", task_id="T1"))
        assert statuses(plan_repo)["for T2"] == "Sent"  # T2 has not started
        text = plan(plan_repo)
        save(
            plan_repo / PLAN,
            set_cell(text, parse_plan(text), "T1", "Status", "Completed"),
            style="rename",
        )

        def delivered() -> list[str]:
            return [f["task_id"] for e, f in rec.events if e == "message_delivered"]

        # T1's handoff comes in the background: wait for every delivery asserted on.
        await rec.wait_for(
            lambda: (
                statuses(plan_repo).get("for T2") == "Acknowledged"
                and delivered().count("T2") >= 3
                and "T3" in delivered()
            )
        )
    assert delivered().count("T2") == 3  # for T2, for all, T1's handoff
    assert "T3" in delivered()  # the broadcast reached later agents too


async def test_question_without_a_model_is_escalated_and_notified(plan_repo: Path) -> None:
    """No orchestrator answer configured: a person is told, through notify_command."""
    start_t1(plan_repo)
    notes = plan_repo.parent / "notes"
    notes.mkdir()
    out = notes / "notified.json"
    # Written whole, then renamed into place: the wait below sees all of it or nothing.
    hook = (
        f"import os, sys; open({str(out)!r} + '.tmp', 'w').write(sys.stdin.read() + sys.argv[1]);"
        f" os.replace({str(out)!r} + '.tmp', {str(out)!r})"
    )
    toml = f'notify_command = [{json.dumps(sys.executable)}, "-c", {json.dumps(hook)}]\n'
    summary = "Question from architect-001: REST or gRPC?"
    rec = Recorder()

    def notified() -> bool:
        # Wait on the content that is asserted on, not on the file existing.
        return out.exists() and out.read_text(encoding="utf-8").endswith(summary)

    async with (
        running_daemon(make_config(plan_repo, toml, agents="manual"), rec),
        watching(plan_repo, rec),
        watching(notes, rec),  # the hook writes outside the plan directory
    ):
        append(
            plan_repo,
            sender="architect-001",
            to="Orchestrator",
            type="Question",
            task="T1",
            text="REST or gRPC?",
        )
        await rec.wait_for(lambda: rec.seen("escalated", reason="question"))
        await rec.wait_for(notified)
    assert statuses(plan_repo)["REST or gRPC?"] == "Acknowledged"
    assert '"event": "escalated"' in out.read_text(encoding="utf-8")


async def test_question_is_answered_by_the_orchestrator(plan_repo: Path) -> None:
    start_t1(plan_repo)
    rec = Recorder()
    config = make_config(plan_repo, '[orchestrator]\nanswer = "gRPC"\n', agents="manual")
    async with running_daemon(config, rec), watching(plan_repo, rec):
        append(
            plan_repo,
            sender="architect-001",
            to="Orchestrator",
            type="Question",
            task="T1",
            text="REST or gRPC?",
        )
        await rec.wait_for(lambda: statuses(plan_repo).get("gRPC") == "Acknowledged")
    assert statuses(plan_repo)["REST or gRPC?"] == "Resolved"
    assert messages_of(plan_repo, "Directive") == ["('architect-001',): gRPC"]


async def test_blocker_message_is_entered_triaged_resolved_and_sent_back(plan_repo: Path) -> None:
    """A Blocker message to the Orchestrator: entry in the plan, task Blocked, triaged by the
    recommended option, Resolution sent back as a Directive, task In Progress again."""
    start_t1(plan_repo)
    rec = Recorder()
    async with (
        running_daemon(make_config(plan_repo, agents="manual"), rec),
        watching(plan_repo, rec),
    ):
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
        append(
            plan_repo,
            sender="architect-001",
            to="Orchestrator",
            type="Blocker",
            task="T1",
            priority="High",
            timestamp="2026-01-01T09:05:00Z",
            text="ES256 is broken. Options: (1) workaround, (2) RS256 (recommended)",
        )
        await rec.wait_for(lambda: rec.seen("blocker_resolved", task_id="T1"))
        await rec.wait_for(lambda: parse_plan(plan(plan_repo)).task("T1").status == "In Progress")  # type: ignore[union-attr]
    entry = parse_plan(plan(plan_repo)).blockers[-1]
    assert (entry.task_id, entry.agent_id, entry.timestamp) == (
        "T1",
        "architect-001",
        "2026-01-01 09:05",
    )
    assert entry.fields["Severity"] == "High"
    assert entry.triage is not None
    assert "(2) RS256" in entry.triage
    assert entry.resolution is not None
    assert "(2) RS256" in entry.resolution
    assert messages_of(plan_repo, "Directive") == [
        "('architect-001',): Orchestrator approved (2) RS256."
    ]


async def test_escalated_blocker_breaches_its_sla_once_then_reminds(plan_repo: Path) -> None:
    """Escalation: Yes → a person is asked; no Resolution within the SLA → sla_breached,
    then a reminder per interval — on an injected clock."""
    start_t1(plan_repo)
    add_escalated_blocker(plan_repo)
    clock = ManualClock()
    rec = Recorder()
    toml = "triage_sla_minutes = 10\ntriage_reminder_minutes = 30\n"
    async with running_daemon(make_config(plan_repo, toml, agents="manual"), rec, clock=clock):
        await rec.wait_for(lambda: rec.seen("escalated", reason="blocker"))
        assert "**Triage:**" in plan(plan_repo)
        assert "Escalated to a person" in plan(plan_repo)
        clock.advance(9 * 60)
        clock.advance(2 * 60)
        await rec.wait_for(lambda: rec.seen("sla_breached", task_id="T1"))
        clock.advance(10 * 60)  # within the reminder interval: quiet
        clock.advance(21 * 60)
        await rec.wait_for(lambda: rec.seen("sla_breached", reminder=True))
    assert [f["reminder"] for e, f in rec.events if e == "sla_breached"] == [False, True]


async def test_passed_deadline_is_escalated_with_an_update_to_the_sender(plan_repo: Path) -> None:
    start_t1(plan_repo)
    clock = ManualClock()
    deadline = iso(clock.now() + timedelta(minutes=5))
    rec = Recorder()
    async with (
        running_daemon(make_config(plan_repo, agents="manual"), rec, clock=clock),
        watching(plan_repo, rec),
    ):
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
        append(
            plan_repo,
            sender="architect-001",
            to="builder-oauth-001",
            type="Question",
            text="ready?",
            deadline=deadline,
        )
        await rec.wait_for(lambda: rec.seen("message_routed", type="Question"))
        clock.advance(6 * 60)
        await rec.wait_for(lambda: rec.seen("escalated", reason="deadline_passed"))
        await rec.wait_for(lambda: bool(messages_of(plan_repo, "Update")))
    assert "passed its deadline" in messages_of(plan_repo, "Update")[0]


async def test_malformed_message_is_reported_and_the_next_one_routed(plan_repo: Path) -> None:
    start_t1(plan_repo)
    rec = Recorder()
    async with (
        running_daemon(make_config(plan_repo, agents="manual"), rec),
        watching(plan_repo, rec),
    ):
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
        path = plan_repo / MESSAGES
        broken = "\n---\nFROM: x\nTYPE: Nonsense\n---\n"
        save(path, path.read_text(encoding="utf-8") + broken, style="rename")
        append(plan_repo, sender="person", to="architect-001", type="Update", text="after")
        await rec.wait_for(lambda: statuses(plan_repo).get("after") == "Acknowledged")
    assert broken in path.read_text(encoding="utf-8")  # left exactly as it was


async def test_restart_delivers_once_and_keeps_the_triage_timer(plan_repo: Path) -> None:
    """Stop the daemon mid-run; a message Sent meanwhile reaches the resumed agent exactly
    once, and the blocker's SLA still counts from its first sighting before the restart."""
    start_t1(plan_repo)
    add_escalated_blocker(plan_repo)
    clock = ManualClock()
    config = make_config(plan_repo, "triage_sla_minutes = 10\n", agents="manual")
    first = Recorder()
    async with running_daemon(config, first, clock=clock):
        await first.wait_for(lambda: first.seen("escalated", reason="blocker"))
        clock.advance(6 * 60)
    append(plan_repo, sender="person", to="architect-001", type="Update", text="while down")
    again = Recorder()
    async with running_daemon(config, again, clock=clock), watching(plan_repo, again):
        await again.wait_for(lambda: statuses(plan_repo).get("while down") == "Acknowledged")
        clock.advance(5 * 60)  # 11 minutes after the first sighting, 5 after the restart
        await again.wait_for(lambda: again.seen("sla_breached", task_id="T1"))
    assert [f["task_id"] for e, f in again.events if e == "message_delivered"] == ["T1"]
    assert not again.seen("escalated", reason="blocker")  # triaged once, before the restart


def test_log_reader_reads_only_what_is_new_even_after_status_edits(tmp_path: Path) -> None:
    """The reader resumes after the last block, through STATUS edits before it and a stale
    save that undid one; each message comes out once."""
    from orchestrator.adapters.filestore import FileStore
    from orchestrator.routing.message_log import MessageLog
    from protocol import set_message_status

    path = tmp_path / MESSAGES
    blocks = [
        render_message(
            sender="a", to="b", type="Update", timestamp="2026-01-01T09:00:00Z", text=f"m{i} é"
        )
        for i in range(4)
    ]
    path.write_text(NEW_MESSAGES_FILE + "\n" + blocks[0], encoding="utf-8")
    reader, read = MessageLog(MESSAGES), FileStore().read
    first, _ = reader.read_file(path, read)
    text = path.read_text(encoding="utf-8")
    acked = set_message_status(text, first[0], "Acknowledged")
    reader.moved(reader.end + len(acked) - len(text), acked)
    path.write_text(acked + "\n" + blocks[1], encoding="utf-8")
    second, _ = reader.read_file(path, read)
    path.write_text(text + "\n" + blocks[1] + "\n" + blocks[2], encoding="utf-8")  # stale save
    third, _ = reader.read_file(path, read)
    assert [m.text for m in first] == ["m0 é"]
    assert [m.text for m in second] == ["m1 é"]
    assert "m2 é" in [m.text for m in third]  # re-read from before: known ids are skipped


async def test_update_to_the_orchestrator_is_recorded_and_resolved(plan_repo: Path) -> None:
    start_t1(plan_repo)
    rec = Recorder()
    async with (
        running_daemon(make_config(plan_repo, agents="manual"), rec),
        watching(plan_repo, rec),
    ):
        append(
            plan_repo,
            sender="architect-001",
            to="Orchestrator",
            type="Update",
            task="T1",
            text="halfway",
        )
        await rec.wait_for(lambda: statuses(plan_repo).get("halfway") == "Resolved")


async def test_a_persons_resolution_goes_to_the_blocked_agent(plan_repo: Path) -> None:
    """A person writes **Resolution:** under an escalated entry: the agent gets it as a
    Directive and its Blocked task goes back to In Progress."""
    start_t1(plan_repo)
    add_escalated_blocker(plan_repo)
    rec = Recorder()
    async with (
        running_daemon(make_config(plan_repo, agents="manual"), rec),
        watching(plan_repo, rec),
    ):
        await rec.wait_for(lambda: rec.seen("escalated", reason="blocker"))
        text = plan(plan_repo)
        text = set_cell(text, parse_plan(text), "T1", "Status", "Blocked")
        text = text.replace(
            "a decision is needed.\n",
            "a decision is needed.\n**Resolution:** 2026-01-01 09:30 - Use the EU region.\n",
            1,
        )
        save(plan_repo / PLAN, text, style="rename")
        await rec.wait_for(lambda: rec.seen("blocker_resolved", task_id="T1"))
        await rec.wait_for(
            lambda: parse_plan(plan(plan_repo)).task("T1").status == "In Progress"  # type: ignore[union-attr]
        )
    assert messages_of(plan_repo, "Directive") == ["('architect-001',): Use the EU region."]


async def test_an_open_block_is_reported_and_baton_writes_before_it(plan_repo: Path) -> None:
    """A log ending in a block with no closing '---' is reported once with its line; the
    Orchestrator's answer goes in just before it, and the open block stays last, untouched."""
    start_t1(plan_repo)
    question = render_message(
        sender="architect-001",
        to="Orchestrator",
        type="Question",
        timestamp="2026-01-01T09:00:00Z",
        task="T1",
        text="REST or gRPC?",
    )
    opened = (
        "---\nFROM: person\nTO: architect-001\nTYPE: Update\n"
        "TIMESTAMP: 2026-01-01T09:30:00Z\nSTATUS: Sent\n\nhalf a thought\n"
    )
    head = NEW_MESSAGES_FILE + "\n" + question + "\n"
    path = plan_repo / MESSAGES
    rec = Recorder()
    config = make_config(plan_repo, '[orchestrator]\nanswer = "gRPC"\n', agents="manual")
    with capture_logs() as logs:
        async with running_daemon(config, rec), watching(plan_repo, rec):
            await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
            save(path, head + opened, style="rename")
            await rec.wait_for(lambda: statuses(plan_repo).get("gRPC") == "Acknowledged")
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n\n" + opened)
    assert messages_of(plan_repo, "Directive") == ["('architect-001',): gRPC"]
    reported = [e for e in logs if e["event"] == "message_unterminated"]
    assert [(e["line"], e["log_level"]) for e in reported] == [(head.count("\n") + 1, "warning")]
