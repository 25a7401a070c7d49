"""Plan parsing cost at 10, 100 and 1,000 tasks: a full read, and a re-read with the previous
plan after one cell edit that keeps its length and after one that does not (what the daemon
does on every save and after each of its own writes); and the
time validate, status and graph need on random 100-task tables (ids, group names and
dependency strings drawn at random, cycles and all)."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from bench.bench_daemon import plan_text
from orchestrator.cli import status_view as _views
from protocol import check_plan, parse_plan, ready_tasks, set_cell


def _time(fn: Any, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def _hostile_table(rng: random.Random, n: int) -> str:
    """A matrix of ``n`` rows of random ids, group names, statuses and dependency strings."""
    ids = [f"T{i}" for i in range(1, n // 2)] + ["**T1**", "`T2`", "X", "10", "t3"]
    words = ["Pre", "Build", "A", "B", "Wave 2", "Wave 10", "3", "", "é?", "Ship it"]
    seps = [", ", " and ", "; ", " & ", " "]
    statuses = ["Not Started", "✅ Completed", "WIP", "Done", "⬜ Not Started", "??"]
    rows = []
    for _ in range(n):
        deps = rng.choice(seps).join(rng.sample(ids, rng.randint(0, 3))) or "-"
        if rng.random() < 0.1:
            deps = f"T{rng.randint(1, n)}-T{rng.randint(1, n)}"
        rows.append(
            f"| {rng.choice(ids)} | task | Dev | - | - | {rng.choice(words)} |"
            f" {rng.choice(statuses)} | {deps} | {rng.choice(['1h', '2-3h', '', '30m'])} |"
        )
    return (
        "| Task ID | Description | Agent | Worktree | Branch | Parallel Group | Status"
        " | Dependencies | Estimate |\n|-|-|-|-|-|-|-|-|-|\n" + "\n".join(rows) + "\n"
    )


def _answer(text: str) -> None:
    """What validate, status and graph compute: the check, and on a valid plan the views."""
    plan = parse_plan(text)
    if not check_plan(plan):
        _views.graph(plan)
        _views.mermaid(plan)
        ready_tasks(plan.tasks)


def hostile_tables(count: int = 200, n: int = 100) -> dict[str, Any]:
    """Random 100-task tables: the slowest answer must stay far below a second."""
    rng = random.Random(10)
    texts = [_hostile_table(rng, n) for _ in range(count)]
    samples = []
    for text in texts:
        t0 = time.perf_counter()
        _answer(text)
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "bench": "plan_hostile_tables",
        "tasks": n,
        "p50_ms": round(statistics.median(samples), 3),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
        "max_ms": round(samples[-1], 3),
        "target": "max < 1000 ms",
    }


def run() -> list[dict[str, Any]]:
    rows = []
    for n in (10, 100, 1000):
        text = plan_text(n, chain=False, ready=max(1, n // 4))
        repeat = 200 if n < 1000 else 40
        plan = parse_plan(text)
        # A cell edit that keeps its length, and one that does not (Not Started → Completed),
        # as most edits do: then every row below it moves.
        same = set_cell(text, plan, "T1", "Status", "In Progress")
        shifted = set_cell(text, plan, "T1", "Status", "Completed")
        cases = {
            "plan_parse_full": lambda text=text: parse_plan(text),
            "plan_parse_after_cell_edit": lambda e=same, p=plan: parse_plan(e, previous=p),
            "plan_parse_after_status_edit": lambda e=shifted, p=plan: parse_plan(e, previous=p),
        }
        for name, parse in cases.items():
            p50, p99 = _time(parse, repeat)
            rows.append(
                {"bench": name, "tasks": n, "p50_ms": round(p50, 3), "p99_ms": round(p99, 3)}
            )
    rows.append(hostile_tables())
    return rows
