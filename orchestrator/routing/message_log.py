"""Reading and appending to ``INTER_AGENT_MESSAGES.md``.

The log is read incrementally: only what follows the last complete block is parsed, so a new
message costs the same in a 10-message log and a 100,000-message one. The point where the
last read stopped is found again by the bytes just before it (STATUS edits earlier in the
file move it a little); when it cannot be found, the whole log is read again and messages
already handled are recognised by their id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import structlog

from orchestrator.adapters.filestore import FileNotReady, Store, StoreConflict
from protocol import Message, MessageError, append_message, parse_messages
from protocol._text import Span
from protocol.messages import NEW_MESSAGES_FILE, block_start_before

log = structlog.get_logger()

_ANCHOR = 64  # bytes before the resume point that must match to resume there
_WINDOW = 1 << 16  # how far the resume point may have moved by edits before it
_RETRY_SECONDS = 0.5  # pause before appending again while an editor is mid-save


async def append_to_log(store: Store, path: Path, block: str, *, before_open: bool = False) -> None:
    """Append one rendered message to the log, creating the log when it is missing; an
    editor mid-save is waited out, never taken for an empty log.

    A log that ends in a block with no closing ``---`` raises UnterminatedBlockError, or
    with ``before_open`` gets the message just before that block (the daemon's way: its
    messages must not wait for a person to finish theirs).
    """
    await store.create(path, NEW_MESSAGES_FILE)
    while True:
        try:
            await store.update(
                path, lambda current: append_message(current, block, before_open=before_open)
            )
            return
        except (FileNotReady, StoreConflict) as exc:
            log.warning("message_delayed", file=path.name, reason=str(exc))
            await anyio.sleep(_RETRY_SECONDS)


class MessageLog:
    """Where the last read of the message log stopped, and how to resume after it."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.end = 0
        self.end_line = 1
        self.anchor = ""
        self.byte_end = 0  # ``end`` in bytes of the file, for reading only its tail
        self.unclosed: Span | None = None  # the block left open at the end of the last read
        self._reported: set[tuple[int, str]] = set()

    def read_file(
        self, path: Path, read: Callable[[Path], tuple[str, bytes]]
    ) -> tuple[Sequence[Message], Sequence[MessageError]]:
        """Blocking: read only the file's tail when the resume point is still in place,
        else the whole file through ``read`` (which raises FileNotReady)."""
        anchor = self.anchor.encode("utf-8")
        if self.byte_end and anchor:
            try:
                with path.open("rb") as f:
                    f.seek(self.byte_end - len(anchor))
                    data = f.read()
            except OSError:
                data = b""
            if data[: len(anchor)] == anchor:
                tail = data[len(anchor) :].decode("utf-8", errors="replace")
                batch = parse_messages(tail, offset=self.end, line=self.end_line, file=self.file)
                consumed = tail[: batch.end - self.end]
                self.byte_end += len(consumed.encode("utf-8"))
                self.end, self.end_line = batch.end, batch.end_line
                self.anchor = (self.anchor + consumed)[-_ANCHOR:]
                self.unclosed = batch.unclosed
                return batch.messages, self._fresh(batch.errors)
        text, _ = read(path)
        result = self.read(text)
        self.byte_end = len(text[: self.end].encode("utf-8"))
        return result

    def read(self, text: str) -> tuple[Sequence[Message], Sequence[MessageError]]:
        """The complete blocks after the resume point (the whole log when it moved away)."""
        start = self._resume(text)
        if start is None:
            self.end, self.end_line = 0, 1
            start = 0
        batch = parse_messages(text[start:], offset=start, line=self.end_line, file=self.file)
        self.end, self.end_line = batch.end, batch.end_line
        self.anchor = text[max(0, self.end - _ANCHOR) : self.end]
        self.unclosed = batch.unclosed
        return batch.messages, self._fresh(batch.errors)

    def _fresh(self, errors: Sequence[MessageError]) -> list[MessageError]:
        """Errors not reported before: a malformed block is logged once, not on every read."""
        fresh = []
        for error in errors:
            key = (error.line or 0, error.reason)
            if key not in self._reported:
                self._reported.add(key)
                fresh.append(error)
        return fresh

    def moved(self, end: int, written: str) -> None:
        """Baton wrote ``written``; the resume point is now at ``end`` in it."""
        self.end = end
        self.anchor = written[max(0, end - _ANCHOR) : end]
        self.byte_end = len(written[:end].encode("utf-8"))

    def _resume(self, text: str) -> int | None:
        if not self.anchor:
            return 0 if self.end == 0 else None
        n = len(self.anchor)
        if text[self.end - n : self.end] == self.anchor:
            return self.end
        lo, hi = max(0, self.end - n - _WINDOW), self.end + _WINDOW
        at = text.rfind(self.anchor, lo, hi)
        if at != -1 and text.find(self.anchor, lo, hi) == at:
            return at + n
        # Changed near the end (a STATUS edited, a stale save): re-read from the start of a
        # block a window back; messages read before are known by id and not routed again.
        block = block_start_before(text, min(len(text), self.end) - _WINDOW)
        if block is None:
            return None  # a short log: read it all
        self.end_line = text.count("\n", 0, block) + 1
        return block
