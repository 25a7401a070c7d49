"""The state journal in ``.baton/journal.sqlite3`` (SQLite, WAL, ``synchronous=FULL``).

Every side effect is written here as an *intent* before it happens and marked *done* after,
in the same transaction that moves the task's remembered state: after ``kill -9`` the
daemon replays the pending intents (each is harmless to repeat) before deciding anything
new, so no task is started twice for one attempt and nothing half-done is forgotten.

The methods are synchronous and thread-safe; the daemon calls them off the event loop. A
write the disk refuses (full, read-only, an I/O error) is rolled back and raises
:class:`JournalWriteFailed`, which names this file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.filestore import WriteFailed
from orchestrator.scheduler import TaskState

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


HANDOFF = "Handoff"  # the kind of a handoff owed to the downstream agents of a finished task


class Journal:
    """One SQLite database per plan directory."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

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
        with self._tx() as db:
            if db.execute("SELECT 1 FROM intents WHERE key = ?", (key,)).fetchone():
                return False
            for intent in (Intent(key, kind, payload), *also):
                db.execute(
                    "INSERT OR IGNORE INTO intents (key, kind, payload) VALUES (?, ?, ?)",
                    (intent.key, intent.kind, json.dumps(intent.payload, sort_keys=True)),
                )
            if task is not None and task_id is not None:
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
            return True

    def done(self, key: str, state: str = "done") -> None:
        with self._tx() as db:
            db.execute("UPDATE intents SET state = ? WHERE key = ?", (state, key))

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
