"""The detection floor: how long the daemon's own watcher takes to report a rename.

No daemon can act on a save before its watcher reports it, so a latency is shown also as a
multiple of this floor, measured in the same run with the same watcher settings: numbers
from a busy machine then still compare with numbers from a quiet one (README.md, Benchmarks).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import anyio

from orchestrator.adapters.watcher import DirectoryWatcher

SAMPLES = 30
_NAME = "floor.md"


async def detection_floor_ms(directory: Path, step_ms: int, samples: int = SAMPLES) -> float:
    """Median time from ``os.replace`` of a file in ``directory`` to the watcher's report.

    With inotify (Linux) that is the kernel's event and the event loop's wake; with
    watchfiles' polling, a batch ends after one step with nothing new, so a rename is reported
    one to two of the watcher's ``step_ms`` after it lands, plus the hop from its thread.
    Each rename lands at a random moment of a step, as a person's save does, and the new file
    is written outside the watched folder, so the rename is the only change the watcher sees.
    """
    watched = directory / "watched"
    watched.mkdir()
    watcher = DirectoryWatcher(watched, {_NAME}, step_ms=step_ms)
    target = watched / _NAME
    seen: list[float] = []
    arrived = anyio.Event()

    def on_change(names: frozenset[str]) -> None:
        seen.append(time.perf_counter())
        arrived.set()

    times: list[float] = []
    async with anyio.create_task_group() as tg:
        await tg.start(watcher.run, on_change)
        for i in range(samples):
            tmp = directory / f".{_NAME}.tmp"
            tmp.write_text(f"sample {i}\n", encoding="utf-8")
            arrived = anyio.Event()
            seen.clear()
            await anyio.sleep(random.uniform(0, step_ms) / 1000)  # a random phase of the step
            t0 = time.perf_counter()
            os.replace(tmp, target)
            with anyio.fail_after(10):
                await arrived.wait()
            times.append((seen[0] - t0) * 1000)
        tg.cancel_scope.cancel()
    target.unlink(missing_ok=True)
    return statistics.median(times)


def as_multiples(row: dict[str, Any], floor_ms: float) -> dict[str, Any]:
    """``row`` with the floor and each ``p50_ms``/``p99_ms`` also as a multiple of it."""
    out = {**row, "floor_ms": round(floor_ms, 2)}
    for key in ("p50_ms", "p99_ms"):
        if key in row and floor_ms > 0:
            out[key.replace("_ms", "_x")] = round(row[key] / floor_ms, 1)
    return out
