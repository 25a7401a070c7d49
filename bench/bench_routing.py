"""Message routing target (docs/contract.md sec. 10): a message appended to the log → in a running
agent's inbox, p50/p99, with a 10-message and a 100,000-message log.

The daemon runs the template plan with manual agents (T1 running) and a stand-in for git
worktrees. Each sample appends one message for T1's agent by rename, as an editor saves,
and the clock stops when the daemon reports it delivered. The log of 100,000 messages is
about 25 MB: each append rewrites it, which is part of the person's save, not the route;
the save runs in a thread, as an editor is another process, and the clock starts at its
rename.
Each latency is shown also as a multiple of the detection floor (``bench/floor.py``), measured
in the same run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from bench.bench_daemon import NoWorktrees
from bench.bench_messages import _log
from bench.floor import as_multiples, detection_floor_ms
from orchestrator.config import load_config
from orchestrator.daemon import Daemon
from protocol import render_message

SAMPLES = 50
TEMPLATE = Path(__file__).parent.parent / "orchestrator" / "templates" / "MULTI_AGENT_PLAN.md"


class _Delivered:
    def __init__(self) -> None:
        self.events: dict[str, anyio.Event] = {}
        self.at: dict[str, float] = {}  # when each sample was reported delivered
        self.started = anyio.Event()
        self.acked = anyio.Event()
        self.history_read = anyio.Event()

    def event(self, text: str) -> anyio.Event:
        return self.events.setdefault(text, anyio.Event())

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        if event == "task_started":
            self.started.set()
        elif event == "messages_acknowledged":
            self.acked.set()
        elif event == "messages_read" and fields.get("count"):
            self.history_read.set()
        elif event == "message_delivered" and fields.get("type") == "Update":
            for text, e in self.events.items():
                if not e.is_set():
                    self.at[text] = time.perf_counter()
                    e.set()
                    break


def _write_save(log_path: Path, tmp_path: Path, block: str) -> None:
    """The editor's part of a save, before its rename: the old text and the new block
    written to a file beside the log and flushed to disk, as vim does. It runs in a thread,
    as an editor is another process: the daemon's event loop is not frozen while 25 MB are
    read and written, and the flush of the new file is not left to the rename (ext4 would
    flush it there, inside the save's rename, before the watcher can see anything)."""
    text = log_path.read_text(encoding="utf-8") + "\n" + block
    with tmp_path.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _rename(tmp_path: Path, log_path: Path) -> float:
    """The rename that makes the save visible; returns when it began (the clock's start)."""
    t0 = time.perf_counter()
    tmp_path.replace(log_path)
    return t0


async def _latency(size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)  # noqa: ASYNC221
        (repo / "MULTI_AGENT_PLAN.md").write_text(TEMPLATE.read_text("utf-8"), "utf-8")
        log_path = repo / "INTER_AGENT_MESSAGES.md"
        # A long history: every earlier message already Resolved, as in a run's later days.
        history = _log(size).replace("STATUS: Sent", "STATUS: Resolved")
        log_path.write_text(history, encoding="utf-8")
        (repo / "baton.toml").write_text("reconcile_seconds = 3600\n")
        config = load_config(repo, environ={}, agents_override="manual")
        floor_dir = Path(tmp) / "floor"
        floor_dir.mkdir()
        floor = await detection_floor_ms(floor_dir, config.debounce_ms)
        seen = _Delivered()
        daemon = Daemon(
            config,
            progress=seen,  # type: ignore[arg-type]
            worktrees=NoWorktrees(Path(tmp) / "wt"),  # type: ignore[arg-type]
        )
        samples: list[float] = []
        async with anyio.create_task_group() as tg:
            await tg.start(daemon.run)
            with anyio.fail_after(120):
                await seen.started.wait()
                await seen.history_read.wait()  # the first read of the whole log is done
            for i in range(SAMPLES):
                block = render_message(
                    sender="person",
                    to="architect-001",
                    type="Update",
                    timestamp="2026-01-01T09:00:00Z",
                    text=f"sample {i}",
                )
                tmp_path = log_path.with_name(".append.tmp")
                await anyio.to_thread.run_sync(_write_save, log_path, tmp_path, block)
                done = seen.event(f"sample {i}")
                seen.acked = anyio.Event()
                t0 = await anyio.to_thread.run_sync(_rename, tmp_path, log_path)
                with anyio.fail_after(30):
                    await done.wait()
                # Stopped when the daemon reported it, not when this task next ran: the
                # rename's thread may still be freeing the old 25 MB file in the kernel.
                samples.append((seen.at[f"sample {i}"] - t0) * 1000)
                with anyio.fail_after(30):  # a person's editor reloads before the next save
                    await seen.acked.wait()
            daemon.stop()
    samples.sort()
    row = {
        "bench": "append_to_inbox",
        "log_messages": size,
        "samples": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
        "target": "p50<=3, p99<=10",
    }
    return as_multiples(row, floor)


def run() -> list[dict[str, Any]]:
    return [anyio.run(_latency, n) for n in (10, 100_000)]
