"""The message log reader notices edits of old messages, not only appends (docs/architecture.md,
"Messages, blockers and timers"): each read is followed by a check of what was read before,
and a changed stretch is parsed again from its start, not the whole log."""

from __future__ import annotations

import os
import random
import zlib
from pathlib import Path

from orchestrator.adapters.filestore import FileStore
from orchestrator.routing.log_check import STRETCH
from orchestrator.routing.message_log import MessageLog
from protocol import parse_messages, render_message, set_message_status
from protocol.messages import NEW_MESSAGES_FILE
from tests.orchestrator.conftest import Recorder, make_config, running_daemon, watching

MESSAGES = "INTER_AGENT_MESSAGES.md"


def block(i: int, *, to: str = "b", status: str = "Sent", text: str | None = None) -> str:
    return render_message(
        sender="a",
        to=to,
        type="Update",
        timestamp="2026-01-01T09:00:00Z",
        status=status,
        text=text or f"message {i:05d} é",
    )


def log_of(n: int) -> str:
    return NEW_MESSAGES_FILE + "".join("\n" + block(i) for i in range(n))


def save(path: Path, text: str) -> None:
    """As an editor saves: a new file renamed over the old."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read(reader: MessageLog, path: Path) -> tuple[list[str], list[str]]:
    """What a poll sees: the texts read, then the texts the check read again."""
    first, _ = reader.read_file(path, FileStore().read)
    again = reader.verify(path)
    return [m.text or "" for m in first], [m.text or "" for m in (again[0] if again else ())]


def assert_in_step(reader: MessageLog, path: Path) -> None:
    """The reader's state is what a parse of the whole file gives, and its stretches tile
    the file's settled part with the right sizes, CRCs and end positions."""
    data = path.read_bytes()
    text = data.decode("utf-8")
    whole = parse_messages(text)
    assert (reader.end, reader.end_line) == (whole.end, whole.end_line)
    assert reader.byte_end == len(text[: whole.end].encode("utf-8"))
    at = 0
    for s in reader.checked:
        assert s.byte == at
        assert zlib.crc32(data[at : at + s.size]) == s.crc
        at += s.size
        assert len(data[:at].decode("utf-8")) == s.char
        assert text.count("\n", 0, s.char) + 1 == s.line
    assert at == reader.byte_end


def test_random_edits_anywhere_are_all_noticed(tmp_path: Path) -> None:
    """Statuses changed, messages inserted, removed and appended anywhere in a long log:
    after each save the reader has seen every message that is new or changed."""
    rng = random.Random(7)
    path = tmp_path / MESSAGES
    text = log_of(1200)
    path.write_text(text, encoding="utf-8")
    reader = MessageLog(MESSAGES)
    read(reader, path)
    for step in range(20):
        before = {(m.id, m.status) for m in parse_messages(text).messages}
        found = parse_messages(text).messages
        m = found[rng.randrange(len(found))]
        kind = step % 4
        if kind == 0:
            text = set_message_status(text, m, rng.choice(["Acknowledged", "Resolved", "Sent"]))
        elif kind == 1:
            new = block(step, text=f"inserted {step}")
            text = text[: m.span.start] + new + "\n" + text[m.span.start :]
        elif kind == 2:
            text = text[: m.span.start] + text[m.span.end :]
        else:
            text = text + "\n" + block(step, text=f"appended {step}")
        save(path, text)
        first, _ = reader.read_file(path, FileStore().read)
        again = reader.verify(path)
        seen = {(x.id, x.status) for x in [*first, *(again[0] if again else ())]}
        changed = {(x.id, x.status) for x in parse_messages(text).messages} - before
        assert changed <= seen, step
        assert_in_step(reader, path)


def test_an_old_status_edit_in_a_long_log_is_read_again_from_its_stretch(tmp_path: Path) -> None:
    path = tmp_path / MESSAGES
    text = log_of(6000)
    assert len(text) > 8 * STRETCH  # the log is many stretches long
    path.write_text(text, encoding="utf-8")
    reader = MessageLog(MESSAGES)
    first, again = read(reader, path)
    assert len(first) == 6000
    assert again == []
    old = parse_messages(text).messages[5000]
    edited = set_message_status(text, old, "Resolved")  # a person marks an old one Resolved
    save(path, edited + "\n" + block(6000))
    first, again = read(reader, path)
    assert first == ["message 06000 é"]  # the new one first, from the tail alone
    reread = {m.text: m for m in parse_messages(edited).messages}
    assert "message 05000 é" in again
    assert 0 < reader.reread[0] <= reread["message 05000 é"].span.start < reader.reread[1]
    assert len(again) < 1000  # the changed stretch and the new message, not the whole log
    assert_in_step(reader, path)
    assert read(reader, path) == ([], [])  # nothing changed since: nothing read again
    assert reader.verify(path) is None


def test_a_same_length_edit_and_an_inserted_message_are_noticed(tmp_path: Path) -> None:
    """Neither moves the bytes before the resume point: only the check can see them."""
    path = tmp_path / MESSAGES
    text = log_of(1500)
    path.write_text(text, encoding="utf-8")
    reader = MessageLog(MESSAGES)
    read(reader, path)
    fixed = text.replace("message 00700 é", "message 00700 ê")
    save(path, fixed)
    assert "message 00700 ê" in read(reader, path)[1]
    at = fixed.index("\n" + block(900))
    save(path, fixed[:at] + "\n" + block(0, text="inserted") + fixed[at:])
    first, again = read(reader, path)
    assert first == []
    assert "inserted" in again


def test_the_readers_own_status_write_is_read_again_cheaply(tmp_path: Path) -> None:
    """Baton's Acknowledged on the newest message changes only the newest stretch."""
    path = tmp_path / MESSAGES
    text = log_of(1500)
    path.write_text(text, encoding="utf-8")
    reader = MessageLog(MESSAGES)
    read(reader, path)
    save(path, text + "\n" + block(1500))
    (new,), _ = reader.read_file(path, FileStore().read)
    assert reader.verify(path) is None
    current = path.read_text(encoding="utf-8")
    acked = set_message_status(current, new, "Acknowledged")
    reader.moved(reader.end + len(acked) - len(current), acked)
    save(path, acked)
    first, again = read(reader, path)
    assert first == []
    assert again == ["message 01500 é"]


async def test_a_message_inserted_mid_log_reaches_the_running_agent(plan_repo: Path) -> None:
    """End to end: a person inserts a message for T1's agent between old ones; it is
    delivered and Acknowledged like an appended one."""
    path = plan_repo / MESSAGES
    history = log_of(1200).replace("STATUS: Sent", "STATUS: Resolved")
    path.write_text(history, encoding="utf-8")
    rec = Recorder()
    async with (
        running_daemon(make_config(plan_repo, agents="manual"), rec),
        watching(plan_repo, rec),
    ):
        await rec.wait_for(lambda: rec.seen("task_started", task_id="T1"))
        await rec.wait_for(lambda: rec.seen("messages_read", count=1200))
        at = history.index("\n" + block(600, status="Resolved"))
        inserted = block(0, to="architect-001", text="inserted")
        save(path, history[:at] + "\n" + inserted + history[at:])

        def status() -> str | None:
            found = [m for m in parse_messages(path.read_text("utf-8")).messages]
            return next((m.status for m in found if m.text == "inserted"), None)

        await rec.wait_for(lambda: status() == "Acknowledged")
    assert rec.seen("message_delivered", task_id="T1", type="Update")
