"""The state journal in ``.baton/journal.sqlite3`` (SQLite, WAL, ``synchronous=FULL``).

Every side effect is written here as an *intent* before it happens and marked *done* after,
in the same transaction that moves the task's remembered state: after ``kill -9`` the
daemon replays the pending intents (each is harmless to repeat) before deciding anything
new, so no task is started twice for one attempt and nothing half-done is forgotten.

The file is checked when it is opened (``PRAGMA quick_check`` and the schema version in
``PRAGMA user_version``): a journal that is garbage, cut short, empty or from a newer Baton
raises :class:`JournalBroken` instead of being used or silently started afresh. A new
journal is built beside its path and renamed in, so an empty file is never a journal.

The methods of :class:`Journal` are synchronous and thread-safe; the daemon uses them
through :class:`AsyncJournal` (``orchestrator/adapters/async_journal.py``), which runs them
off the event loop. A write the disk refuses (full, read-only, an I/O error) is rolled
back and raises :class:`JournalWriteFailed`, which names this file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.adapters.filestore import WriteFailed, _fsync_dir
from orchestrator.decisions.scheduler import TaskState

JOURNAL_FILE = "journal.sqlite3"
SCHEMA_VERSION = 1  # PRAGMA user_version; 0 is a journal written before versions were kept
_SIDE_FILES = ("-wal", "-shm")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    attempt INTEGER NOT NULL DEFAULT 0,
    started INTEGER NOT NULL DEFAULT 0,
    finished TEXT,
    started_at TEXT,
    external INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS intents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    task_id TEXT,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS marks (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS costs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT,
    model TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    usd REAL NOT NULL
);
"""


class JournalBroken(Exception):
    """The journal cannot be used as it is; ``reason`` says why, in one line."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# SQLite's primary result codes that mean the disk, not the statement, is at fault.
_DISK_FAULTS = {
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PERM,
}


class JournalWriteFailed(WriteFailed):
    """A journal transaction the disk refused; it was rolled back, so nothing changed."""

    event = "journal_write_failed"


@dataclass(frozen=True)
class Intent:
    key: str
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Begin:
    """One intent to record, with the task state it leads to and the intents owed with it."""

    intent: Intent
    task: TaskState | None
    task_id: str | None = None
    also: tuple[Intent, ...] = ()


HANDOFF = "Handoff"  # the kind of a handoff owed to the downstream agents of a finished task


class Journal:
    """One SQLite database per plan directory."""

    def __init__(self, path: Path) -> None:
        """Open the journal at ``path`` (created when missing); :class:`JournalBroken` when
        the file there is not a journal this Baton can use."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        if not path.exists():
            _create(path)
        self._db = _open(path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def restore_if_missing(self) -> bool:
        """When the file was deleted under the open database, write the open database back
        to its path (True). Nothing is lost: the connection still holds every row.

        Does nothing when the plan directory itself is gone (renamed or removed): writing
        there would make a new directory at the old name.
        """
        with self._lock:
            if self.path.exists() or not self.path.parent.parent.is_dir():
                return False
            self.path.parent.mkdir(exist_ok=True)
            tmp = _fresh_temp(self.path)
            copy = sqlite3.connect(tmp, isolation_level=None)
            try:
                self._db.backup(copy)
                copy.execute("PRAGMA journal_mode=WAL")
            finally:
                copy.close()
            self._db.close()  # its WAL and shared-memory files belong to the deleted file
            for suffix in _SIDE_FILES:
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
            self._db = _open(self.path)
            return True

    def seed(self, tasks: Mapping[str, TaskState], marks: Mapping[str, str]) -> None:
        """Write rebuilt task states and once-only marks, in one transaction."""
        with self._tx() as db:
            for task_id, task in tasks.items():
                _put_task(db, task_id, task)
            db.executemany(
                "INSERT OR IGNORE INTO marks (key, value) VALUES (?, ?)", list(marks.items())
            )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._rollback()
                    raise
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if (exc.sqlite_errorcode & 0xFF) not in _DISK_FAULTS:
                    raise
                self._rollback()
                raise JournalWriteFailed(self.path, str(exc)) from exc

    def _rollback(self) -> None:
        # SQLite may have rolled back already (it does on SQLITE_FULL): then there is none.
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- task state ------------------------------------------------------------------------

    def task_states(self) -> dict[str, TaskState]:
        rows = self._query(
            "SELECT task_id, attempt, started, finished, started_at, external FROM tasks"
        )
        return {
            r[0]: TaskState(
                attempt=r[1],
                started=bool(r[2]),
                finished=r[3],
                started_at=r[4],
                external=bool(r[5]),
            )
            for r in rows
        }

    def begin(
        self,
        key: str,
        kind: str,
        payload: dict[str, Any],
        task: TaskState | None,
        task_id: str | None = None,
        also: Sequence[Intent] = (),
    ) -> bool:
        """Record an intent and, in the same transaction, the task state it leads to and the
        intents ``also`` owed with it (a finish owes its handoff).

        Returns False (and changes nothing) when an intent with this key already exists:
        the action was decided before and is either done or pending replay.
        """
        return self.begin_all([Begin(Intent(key, kind, payload), task, task_id, tuple(also))])[0]

    def begin_all(self, entries: Sequence[Begin]) -> list[bool]:
        """:meth:`begin` for each of ``entries``, all in one transaction: the intents of one
        decision cost one commit (one fsync) between the decision and its plan write."""
        fresh: list[bool] = []
        with self._tx() as db:
            for e in entries:
                if db.execute("SELECT 1 FROM intents WHERE key = ?", (e.intent.key,)).fetchone():
                    fresh.append(False)
                    continue
                for intent in (e.intent, *e.also):
                    db.execute(
                        "INSERT OR IGNORE INTO intents (key, kind, payload) VALUES (?, ?, ?)",
                        (intent.key, intent.kind, json.dumps(intent.payload, sort_keys=True)),
                    )
                if e.task is not None and e.task_id is not None:
                    _put_task(db, e.task_id, e.task)
                fresh.append(True)
        return fresh

    def done(self, key: str, state: str = "done") -> None:
        self.done_all([key], state)

    def done_all(self, keys: Sequence[str], state: str = "done") -> None:
        """Mark each of ``keys`` ``state``, in one transaction."""
        with self._tx() as db:
            db.executemany("UPDATE intents SET state = ? WHERE key = ?", [(state, k) for k in keys])

    def pending(self) -> list[Intent]:
        rows = self._query(
            "SELECT key, kind, payload FROM intents WHERE state = 'pending' ORDER BY seq"
        )
        return [Intent(k, kind, json.loads(p)) for k, kind, p in rows]

    # -- events: an audit trail (the crash test counts worktree creations in it) --

    def event(self, kind: str, task_id: str | None = None, **payload: Any) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO events (kind, task_id, payload) VALUES (?, ?, ?)",
                (kind, task_id, json.dumps(payload, sort_keys=True)),
            )

    # -- marks: timers and once-only deeds of routing and triage, by key -----------------

    def mark(self, key: str, value: str) -> bool:
        """Record ``key`` once; False (and nothing changed) when it was recorded before."""
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO marks (key, value) VALUES (?, ?)", (key, value))
            return cur.rowcount == 1

    def set_mark(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO marks (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def marks(self, prefix: str) -> dict[str, str]:
        rows = self._query(
            "SELECT key, value FROM marks WHERE key >= ? AND key < ?", (prefix, prefix + "\uffff")
        )
        return {k: v for k, v in rows}

    # -- money -----------------------------------------------------------------------------

    def add_cost(self, task_id: str, model: str, tokens: Mapping[str, int], usd: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO costs (task_id, model, input_tokens, output_tokens,"
                " cache_write_tokens, cache_read_tokens, usd) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    task_id,
                    model,
                    tokens.get("input", 0),
                    tokens.get("output", 0),
                    tokens.get("cache_write", 0),
                    tokens.get("cache_read", 0),
                    usd,
                ),
            )

    def spent_usd(self) -> float:
        return float(self._query("SELECT COALESCE(SUM(usd), 0) FROM costs")[0][0])


def _put_task(db: sqlite3.Connection, task_id: str, task: TaskState) -> None:
    db.execute(
        "INSERT INTO tasks (task_id, attempt, started, finished, started_at, external)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_id) DO UPDATE SET"
        " attempt = excluded.attempt, started = excluded.started,"
        " finished = excluded.finished, started_at = excluded.started_at,"
        " external = excluded.external",
        (
            task_id,
            task.attempt,
            int(task.started),
            task.finished,
            task.started_at,
            int(task.external),
        ),
    )


# -- opening ---------------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _fresh_temp(path: Path) -> Path:
    """A path beside ``path`` with nothing at it (a crash may have left one behind)."""
    tmp = path.with_name(path.name + ".new")
    for suffix in ("", *_SIDE_FILES):
        tmp.with_name(tmp.name + suffix).unlink(missing_ok=True)
    return tmp


def _create(path: Path) -> None:
    """A new, empty journal, built beside ``path`` and renamed in once complete."""
    tmp = _fresh_temp(path)
    db = sqlite3.connect(tmp, isolation_level=None)
    try:
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()
    # With no main file, a WAL beside it belongs to a deleted journal: left there, SQLite
    # would replay it into this new one.
    for suffix in _SIDE_FILES:
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _open(path: Path) -> sqlite3.Connection:
    """Open and check the journal at ``path``; :class:`JournalBroken` when it is unusable."""
    if path.stat().st_size == 0:
        raise JournalBroken(path, "the journal is empty (0 bytes)")
    db = _connect(path)
    try:
        _check(path, db)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise JournalBroken(path, f"unreadable ({exc})") from None
    except JournalBroken:
        db.close()
        raise
    return db


def _check(path: Path, db: sqlite3.Connection) -> None:
    problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        more = f" and {len(problems) - 1} more problems" if len(problems) > 1 else ""
        raise JournalBroken(path, f"the journal is damaged ({problems[0]}{more})")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise JournalBroken(
            path,
            f"written by a newer Baton (schema {version}; this one reads up to "
            f"{SCHEMA_VERSION}): upgrade Baton",
        )
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "tasks" not in tables:
        raise JournalBroken(path, "not a journal (no tasks table)")
