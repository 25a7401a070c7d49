"""Plan parsing cost at 10, 100 and 1,000 tasks: a full read, and a re-read after one cell
edit with the previous plan (what the daemon does after each of its own writes)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.bench_daemon import plan_text
from protocol import parse_plan, set_cell


def _time(fn: Any, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def run() -> list[dict[str, Any]]:
    rows = []
    for n in (10, 100, 1000):
        text = plan_text(n, chain=False, ready=max(1, n // 4))
        repeat = 200 if n < 1000 else 40
        p50, p99 = _time(lambda text=text: parse_plan(text), repeat)
        rows.append(
            {
                "bench": "plan_parse_full",
                "tasks": n,
                "p50_ms": round(p50, 3),
                "p99_ms": round(p99, 3),
            }
        )
        plan = parse_plan(text)
        edited = set_cell(text, plan, "T1", "Status", "In Progress")
        p50, p99 = _time(lambda e=edited, p=plan: parse_plan(e, previous=p), repeat)
        rows.append(
            {
                "bench": "plan_parse_after_cell_edit",
                "tasks": n,
                "p50_ms": round(p50, 3),
                "p99_ms": round(p99, 3),
            }
        )
    return rows
