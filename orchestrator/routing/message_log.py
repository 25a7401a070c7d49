"""Reading and appending to ``INTER_AGENT_MESSAGES.md``.

The log is read incrementally: only what follows the last complete block is parsed, so a new
message costs the same in a 10-message log and a 100,000-message one. The point where the
last read stopped is found again by the bytes just before it (STATUS edits earlier in the
file move it a little); when it cannot be found, the whole log is read again and messages
already handled are recognised by their id.

After each read, what was read before is checked against the file (:meth:`MessageLog.verify`,
``orchestrator/routing/log_check.py``), so an edit of an old message (a person marking it
Resolved, fixing its text, inserting one) is noticed as well: the log is parsed again from
the first stretch that changed. The check runs after the new messages were delivered.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import structlog

from orchestrator.adapters.filestore import FileNotReady, Store, StoreConflict
from orchestrator.routing.log_check import (
    Stretch,
    matching,
    stretch,
    stretches,
    unchanged_suffix,
)
from protocol import Message, MessageBatch, MessageError, append_message, parse_messages
from protocol._text import Span, decode_text, encode_text
from protocol.messages import NEW_MESSAGES_FILE, block_start_before

log = structlog.get_logger()

_ANCHOR = 64  # bytes before the resume point that must match to resume there
_WINDOW = 1 << 16  # how far the resume point may have moved by edits before it
_RETRY_SECONDS = 0.5  # pause before appending again while an editor is mid-save
_TICK_NS = 100_000_000  # file times younger than this may not show a save in place


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


def _identity(st: os.stat_result) -> tuple[int, ...] | None:
    """The file's inode, size and times, to skip the check of a file not changed since; None
    while its times are too recent to tell (they tick coarsely, and a same-size save in
    place within one tick would keep them)."""
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < _TICK_NS:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _contiguous(run: Sequence[Stretch]) -> bool:
    return all(a.byte_end == b.byte for a, b in itertools.pairwise(run))


def _shifted(s: Stretch, char: int) -> Stretch:
    """``s`` cut from a text that began at character ``char`` of the log."""
    return Stretch(s.byte, s.size, s.crc, s.char + char, s.line)


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
        self.checked: list[Stretch] = []  # what was read, from the file's start
        self._stat: tuple[int, ...] | None = None  # the file when it last checked out
        # Where the last check found a change and parsed again, up to where (in the
        # positions of before) the file was found as it was.
        self.reread: tuple[int, int] = (0, 0)
        self._shift: int | None = None  # how far the old stretches moved, when known
        self._resumed: int | None = None  # where the last whole read found the anchor

    def read_file(
        self, path: Path, read: Callable[[Path], tuple[str, bytes]]
    ) -> tuple[Sequence[Message], Sequence[MessageError]]:
        """Blocking: read only the file's tail when the resume point is still in place,
        else the whole file through ``read`` (which raises FileNotReady)."""
        anchor = encode_text(self.anchor)
        if self.byte_end and anchor:
            try:
                with path.open("rb") as f:
                    f.seek(self.byte_end - len(anchor))
                    data = f.read()
            except OSError:
                data = b""
            if data[: len(anchor)] == anchor:
                self._shift = self.byte_end - self._checked_end()
                tail = decode_text(data[len(anchor) :])
                batch = parse_messages(tail, offset=self.end, line=self.end_line, file=self.file)
                consumed = tail[: batch.end - self.end]
                data = encode_text(consumed)
                if data:
                    self.checked.append(stretch(self.byte_end, data, batch.end, batch.end_line))
                self.byte_end += len(data)
                self.end, self.end_line = batch.end, batch.end_line
                self.anchor = (self.anchor + consumed)[-_ANCHOR:]
                self.unclosed = batch.unclosed
                return batch.messages, self._fresh(batch.errors)
        text, _ = read(path)
        self._resumed = None
        result = self.read(text)
        self.byte_end = len(encode_text(text[: self.end]))
        resumed = self._resumed
        if resumed is not None:
            self._shift = len(encode_text(text[:resumed])) - self._checked_end()
        return result

    def _checked_end(self) -> int:
        return self.checked[-1].byte_end if self.checked else 0

    def read(self, text: str) -> tuple[Sequence[Message], Sequence[MessageError]]:
        """The complete blocks after the resume point (the whole log when it moved away)."""
        start = self._resume(text)
        self._shift = None
        if start is None:
            self.end, self.end_line = 0, 1
            start = 0
        batch = parse_messages(text[start:], offset=start, line=self.end_line, file=self.file)
        if start == 0:  # read whole: what the next checks compare with
            ends = [m.span.end for m in batch.messages]
            self.checked = stretches(text, 0, batch.end, byte=0, line=1, ends=ends)
            self._stat = None
        # Otherwise the stretches stay as they were: the next check finds what changed.
        self.end, self.end_line = batch.end, batch.end_line
        self.anchor = text[max(0, self.end - _ANCHOR) : self.end]
        self.unclosed = batch.unclosed
        return batch.messages, self._fresh(batch.errors)

    def verify(self, path: Path) -> tuple[Sequence[Message], Sequence[MessageError]] | None:
        """Blocking: check that what was read before is still in the file. Where it is not
        (an old message was edited), parse again from the first stretch that changed and
        return what that read; None when nothing changed. A file whose inode, size and
        times are as at the last check is not read."""
        try:
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                key = _identity(st)
                if (key is not None and key == self._stat) or not st.st_size:
                    return None  # unchanged, or emptied by an editor mid-save
                good, count = matching(f, self.checked)
                covered = good[-1].byte_end if good else 0
                whole = self.checked[-1].byte_end if self.checked else 0
                if covered == whole == self.byte_end:
                    self.checked, self._stat = good, key
                    return None
                back = min(covered, 4 * _ANCHOR)
                f.seek(covered - back)
                data = f.read()
        except OSError:
            return None  # gone or mid-save: its next change wakes the router again
        found = self._resync(data, back, good, count)
        if found is not None:
            self._stat = key
            return found
        return self._reparse(data, back, good, key)

    def _resync(
        self, data: bytes, back: int, good: list[Stretch], count: int
    ) -> tuple[Sequence[Message], Sequence[MessageError]] | None:
        """Parse again only what changed: from the end of ``good`` to the first of the
        stretches after the changed one that the file still holds (moved by the shift the
        read found), then what follows the old stretches. None when that cannot be shown."""
        old = self.checked[count:]  # the changed stretch and the ones after it
        shift = self._shift
        byte = good[-1].byte_end if good else 0
        if shift is None or len(old) < 2 or not _contiguous(old) or old[0].byte != byte:
            return None
        at = byte - back  # the file position of data[0]
        first = unchanged_suffix(data, at, old[1:], shift)
        if first is None:
            return None
        first += 1
        char, line = (good[-1].char, good[-1].line) if good else (0, 1)
        stop = old[first].byte + shift
        if stop < byte:
            return None
        region = decode_text(data[back : stop - at])
        batch = parse_messages(region, offset=char, line=line, file=self.file)
        if batch.end != char + len(region) or batch.unclosed is not None:
            return None  # the change reaches past where the old bytes resume
        gap, lines = batch.end - old[first - 1].char, batch.end_line - old[first - 1].line
        ends = [m.span.end - char for m in batch.messages]
        redone = [
            _shifted(s, char)
            for s in stretches(region, 0, len(region), byte=byte, line=line, ends=ends)
        ]
        kept = [
            Stretch(s.byte + shift, s.size, s.crc, s.char + gap, s.line + lines)
            for s in old[first:]
        ]
        self.reread = (char, old[first - 1].char)
        self.checked = good + redone
        tail_at, tail_char, tail_line = kept[-1].byte_end, kept[-1].char, kept[-1].line
        self.checked += kept
        tail = decode_text(data[tail_at - at :])
        more = parse_messages(tail, offset=tail_char, line=tail_line, file=self.file)
        consumed = tail[: more.end - tail_char]
        self._settle(
            decode_text(data[max(0, tail_at - at - 4 * _ANCHOR) : tail_at - at]),
            consumed,
            tail_at,
            more,
        )
        return (*batch.messages, *more.messages), self._fresh((*batch.errors, *more.errors))

    def _settle(self, before: str, consumed: str, byte: int, batch: MessageBatch) -> None:
        """The state after a parse from ``byte`` that read ``consumed`` as ``batch``."""
        start = batch.end - len(consumed)
        ends = [m.span.end - start for m in batch.messages]
        line = batch.end_line - consumed.count("\n")
        new = stretches(consumed, 0, len(consumed), byte=byte, line=line, ends=ends)
        self.checked += [_shifted(s, start) for s in new]
        self.end, self.end_line = batch.end, batch.end_line
        self.byte_end = byte + len(encode_text(consumed))
        self.anchor = (before + consumed)[-_ANCHOR:]
        self.unclosed = batch.unclosed
        self._shift = 0

    def _reparse(
        self, data: bytes, back: int, good: list[Stretch], key: tuple[int, ...] | None
    ) -> tuple[Sequence[Message], Sequence[MessageError]]:
        """Parse ``data[back:]`` (the file from the end of ``good``) as the rest of the log."""
        char, line = (good[-1].char, good[-1].line) if good else (0, 1)
        byte = good[-1].byte_end if good else 0
        before, rest = decode_text(data[:back]), decode_text(data[back:])
        batch = parse_messages(rest, offset=char, line=line, file=self.file)
        self.checked = list(good)
        self._settle(before, rest[: batch.end - char], byte, batch)
        self.reread = (char, 1 << 62)
        self._stat = key
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
        self.byte_end = len(encode_text(written[:end]))

    def _resume(self, text: str) -> int | None:
        if not self.anchor:
            return 0 if self.end == 0 else None
        n = len(self.anchor)
        if text[self.end - n : self.end] == self.anchor:
            self._resumed = self.end
            return self.end
        lo, hi = max(0, self.end - n - _WINDOW), self.end + _WINDOW
        at = text.rfind(self.anchor, lo, hi)
        if at != -1 and text.find(self.anchor, lo, hi) == at:
            self._resumed = at + n
            return at + n
        # Changed near the end (a STATUS edited, a stale save): re-read from the start of a
        # block a window back; messages read before are known by id and not routed again.
        block = block_start_before(text, min(len(text), self.end) - _WINDOW)
        if block is None:
            return None  # a short log: read it all
        self.end_line = text.count("\n", 0, block) + 1
        return block
