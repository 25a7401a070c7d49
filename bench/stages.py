"""Where the time of one save goes: ``python -m bench.stages [TASKS] [FLIPS]``.

Runs ``bench_daemon``'s idle-daemon flips (a save, then the downstream task In Progress) with
the daemon's stages wrapped in timers, and prints, per stage, the median time it spent
between the save and the start (the critical path) and the time it spent in the daemon's
work after the start. The stages nest (``reconcile`` holds ``parse``, ``apply`` holds the
journal and the write); the rows are not meant to add up. Not a benchmark of its own: the
wrappers cost a little, so the latency it prints is a bit above ``make bench``'s.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import anyio

from bench import bench_daemon
from orchestrator import daemon
from orchestrator.adapters import async_journal, filestore, logs
from orchestrator.runtime import executor, reconciler

_spans: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)


def _timed(owner: Any, name: str, label: str) -> None:
    fn: Callable[..., Any] = getattr(owner, name)
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def timed_async(*args: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await fn(*args, **kw)
            finally:
                _spans[label].append((t0, time.perf_counter()))

        setattr(owner, name, timed_async)
        return

    @functools.wraps(fn)
    def timed(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            _spans[label].append((t0, time.perf_counter()))

    setattr(owner, name, timed)


STAGES = [
    (daemon.Daemon, "_on_change", "detect (watcher reports)"),
    (reconciler.Reconciler, "reconcile", "reconcile (one pass)"),
    (filestore.FileStore, "read", "  read"),
    (reconciler, "parse_plan", "  parse"),
    (reconciler, "check_plan", "  check"),
    (reconciler, "decide", "  decide"),
    (executor.Executor, "apply", "  apply (journal, write, start)"),
    (async_journal.AsyncJournal, "begin_all", "    journal: intents"),
    (filestore.FileStore, "_update", "    write (in its thread)"),
    (filestore.FileStore, "_temp", "      temp file + fsync"),
    (filestore, "_fsync_dir", "      directory fsync"),
    (async_journal.AsyncJournal, "done_all", "journal: done marks"),
    (async_journal.AsyncJournal, "events", "journal: events"),
]


def main(argv: list[str]) -> int:
    tasks = int(argv[0]) if argv else 100
    flips = int(argv[1]) if len(argv) > 1 else 40
    logs.configure("json", stream=open(os.devnull, "w"), level=logging.ERROR)  # noqa: SIM115
    for owner, name, label in STAGES:
        _timed(owner, name, label)
    saves: list[float] = []
    replace = bench_daemon.os.replace

    def timed_replace(src: Any, dst: Any) -> None:
        if str(src).endswith(".flip.tmp"):
            saves.append(time.perf_counter())
        replace(src, dst)

    bench_daemon.os.replace = timed_replace  # type: ignore[assignment]
    starts: list[float] = []
    seen = bench_daemon._Started

    class Started(seen):  # type: ignore[misc,valid-type]
        def __call__(self, event: str, fields: dict[str, Any]) -> None:
            if event == "task_started":
                starts.append(time.perf_counter())
            super().__call__(event, fields)

    bench_daemon._Started = Started  # type: ignore[misc]
    idle = 0.1 + tasks / 2000
    row = anyio.run(functools.partial(bench_daemon._latency, tasks, idle=idle, flips=flips))
    print(f"{tasks} tasks, {row['flips']} saves: p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms")
    print(f"{'stage':<36} {'save -> start':>14} {'after start':>12}   (medians, ms)")
    ends = [*saves[1:], float("inf")]
    for label in [label for _, _, label in STAGES]:
        critical, after = [], []
        for save, nxt in zip(saves, ends, strict=True):
            start = next((s for s in starts if s > save), None)
            if start is None:
                continue
            spans = _spans[label]
            critical.append(
                sum(min(e, start) - max(s, save) for s, e in spans if e > save and s < start)
            )
            after.append(
                sum(min(e, nxt) - max(s, start) for s, e in spans if e > start and s < nxt)
            )
        if label.startswith("detect"):  # an instant: the time from the save to the report
            critical = [
                next((s for s, _ in _spans[label] if s > save), save) - save for save in saves
            ]
        print(
            f"{label:<36} {statistics.median(critical) * 1000:>14.2f}"
            f" {statistics.median(after) * 1000:>12.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
