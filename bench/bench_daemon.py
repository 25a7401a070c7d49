"""Daemon targets (docs/contract.md sec. 10): status edit on disk → downstream In Progress on disk,
and the daemon's memory with 50 scripted agents running.

Latency uses a chain plan (each task depends on the one before), the manual backend and a
stand-in for git worktrees, since docs/contract.md excludes worktree creation from this target.
Each flip saves the file by rename, as an editor does, and the clock stops when the next task's
Status cell reads In Progress. The targets are for a save that comes while the daemon is idle,
as a person's does; a burst of saves, each at once after the last start, is shown too. Each
latency is shown also as a multiple of the detection floor (``bench/floor.py``), measured in
the same run.
"""

from __future__ import annotations

import functools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

from bench.floor import as_multiples, detection_floor_ms
from orchestrator.adapters.merge_inputs import Input
from orchestrator.adapters.worktrees import BranchSummary, EnsureResult
from orchestrator.config import load_config
from orchestrator.daemon import Daemon
from protocol import parse_plan, set_cell

FLIPS = 60


class NoWorktrees:
    """Stands in for git worktrees: a plain folder, created at once."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent

    async def ensure(
        self, folder: str, branch: str, inputs: Sequence[Input] = (), *, merge: bool = True
    ) -> EnsureResult:
        path = self.parent / folder
        path.mkdir(parents=True, exist_ok=True)
        return EnsureResult(path, True, branch)

    async def commit_all(self, folder: str, message: str) -> str | None:
        return None

    async def changes(self, folder: str) -> BranchSummary:
        """An empty branch, so a Handoff takes the path it takes with git, not the error path."""
        return BranchSummary(folder, "main", 0, (), (), 0, 0)


def plan_text(n: int, *, chain: bool, ready: int = 1) -> str:
    """A plan in the template's shape: a chain (T(i+1) needs Ti), or ``ready`` tasks in
    group A followed by the rest in group B, each depending on one of group A."""
    rows = []
    for i in range(1, n + 1):
        if chain:
            group, deps = "A", (f"T{i - 1}" if i > 1 else "-")
        else:
            group, deps = ("A", "-") if i <= ready else ("B", f"T{(i - 1) % ready + 1}")
        rows.append(
            f"| T{i} | Task {i} of the benchmark | Builder / `builder-skill` | `../t{i}` |"
            f" `bench/t{i}` | {group} | Not Started | {deps} | 1h |"
        )
    log = [f"| T{i} | builder-{i:04d} | - | - | - | Not Started | - |" for i in range(1, n + 1)]
    return "\n".join(
        [
            "# Multi-Agent Orchestration Plan",
            "",
            "**Project:** bench",
            "**Status:** Planning",
            "",
            "## 3. Task Assignment Matrix",
            "",
            "| Task ID | Description | Agent/Skills | Worktree | Branch | Parallel Group | Status"
            " | Dependencies | Estimate |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "## 8. Notes and Blockers",
            "",
            "### Actual Execution Log",
            "",
            "| Task ID | Agent ID | Started | Completed | Actual Duration | Status | Notes |",
            "|---|---|---|---|---|---|---|",
            *log,
            "",
        ]
    )


def _git_repo(root: Path, plan: str) -> Path:
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "MULTI_AGENT_PLAN.md").write_text(plan, encoding="utf-8")
    return repo


def _status(path: Path, task_id: str) -> str | None:
    try:
        task = parse_plan(path.read_text(encoding="utf-8")).task(task_id)
    except OSError:
        return None
    return task.status if task else None


class _Started:
    """One event per task from the daemon's progress: task_started comes only after the
    fsynced write is on disk."""

    EVENT = "task_started"

    def __init__(self) -> None:
        self.seen: dict[str, anyio.Event] = {}

    def event(self, task_id: str) -> anyio.Event:
        return self.seen.setdefault(task_id, anyio.Event())

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        if event == self.EVENT:
            self.event(fields["task_id"]).set()


async def _latency(n: int, *, idle: float = 0.0, flips: int = FLIPS) -> dict[str, Any]:
    """Edit → In Progress over ``flips`` saves. With ``idle``, each save comes that many
    seconds after the last start, at a random moment of the watcher's step, as a person's
    does; without, each save follows the last start at once (a burst: every save then also
    waits for the daemon's work on the one before)."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = _git_repo(Path(tmp), plan_text(n, chain=True))
        (repo / "baton.toml").write_text("max_agents = 4\nreconcile_seconds = 3600\n")
        config = load_config(repo, environ={}, agents_override="manual")
        floor_dir = Path(tmp) / "floor"
        floor_dir.mkdir()
        floor = await detection_floor_ms(floor_dir, config.debounce_ms)
        started = _Started()
        daemon = Daemon(
            config,
            progress=started,  # type: ignore[arg-type]
            worktrees=NoWorktrees(Path(tmp) / "wt"),  # type: ignore[arg-type]
        )
        path = config.plan_path
        samples: list[float] = []
        plan = None
        async with anyio.create_task_group() as tg:
            await tg.start(daemon.run)
            with anyio.fail_after(60):
                await started.event("T1").wait()
            for i in range(1, min(flips, n - 1) + 1):
                if idle:
                    await anyio.sleep(idle + random.uniform(0, config.debounce_ms) / 1000)
                text = path.read_text(encoding="utf-8")
                plan = parse_plan(text, previous=plan)
                new = set_cell(text, plan, f"T{i}", "Status", "Completed")
                tmp_path = path.with_name(".flip.tmp")
                tmp_path.write_text(new, encoding="utf-8")
                t0 = time.perf_counter()
                os.replace(tmp_path, path)
                with anyio.fail_after(30):
                    await started.event(f"T{i + 1}").wait()
                samples.append((time.perf_counter() - t0) * 1000)
            daemon.stop()
    samples.sort()
    row = {
        "bench": "edit_to_downstream_in_progress" + ("" if idle else "_burst"),
        "tasks": n,
        "flips": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
    }
    if idle:
        row["target"] = "p50<=10 p99<=30 (100 tasks), p99<=150 (1000), p99<=500 (5000)"
    return as_multiples(row, floor)


RSS_SCRIPT = """
max_agents = 50
reconcile_seconds = 3600
[agents]
default = "scripted"
[scripts.default]
steps = [{ wait = 3600 }]
"""


def _rss() -> dict[str, Any]:
    """Run `baton run` on a 100-task plan whose first 50 tasks are ready; read its VmRSS."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = _git_repo(Path(tmp), plan_text(100, chain=False, ready=50))
        subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "-c",
                "user.name=b",
                "-c",
                "user.email=b@b",
                "commit",
                "-qm",
                "plan",
            ],
            check=True,
        )
        (repo / "baton.toml").write_text(RSS_SCRIPT)
        baton = Path(sys.executable).with_name("baton")
        proc = subprocess.Popen(
            [str(baton), "run", "--dir", str(repo), "--log-format", "json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                text = (repo / "MULTI_AGENT_PLAN.md").read_text(encoding="utf-8")
                running = sum(1 for t in parse_plan(text).tasks if t.status == "In Progress")
                if running >= 50:
                    break
                time.sleep(0.2)
            time.sleep(2)  # let the agents settle into their waits: this is the idle number
            status = Path(f"/proc/{proc.pid}/status").read_text()
            rss_kb = int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "bench": "daemon_rss_50_agents",
        "tasks": 100,
        "agents_running": running,
        "rss_mb": round(rss_kb / 1024, 1),
        "target": "<=60 MB",
    }


def run() -> list[dict[str, Any]]:
    rows = [
        anyio.run(functools.partial(_latency, 10, idle=0.1)),
        anyio.run(functools.partial(_latency, 100, idle=0.15)),
        anyio.run(functools.partial(_latency, 1000, idle=0.6, flips=30)),
        anyio.run(_latency, 100),
        anyio.run(_latency, 1000),
    ]
    rows.append(_rss())
    return rows
