"""Incremental parse cost of one new message, on a short and on a very long message log.

docs/contract.md sec. 10: a long log must cost no more per new message than a short one, because the
daemon parses only what was appended (from the previous batch's ``end``).
"""

from __future__ import annotations

import math
import statistics
import time

from protocol.messages import (
    MESSAGE_TYPES,
    NEW_MESSAGES_FILE,
    append_message,
    parse_messages,
    render_message,
)

SIZES = (10, 100_000)
REPEATS = 200


def _block(i: int) -> str:
    return render_message(
        sender=f"builder-{i % 7:03d}",
        to=["Orchestrator", f"tester-{i % 5:03d}"],
        type=MESSAGE_TYPES[i % len(MESSAGE_TYPES)],
        timestamp=f"2025-12-13T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
        task=f"T{i % 40 + 1}",
        text=f"message number {i}",
        body=f"**Notes:**\n- item {i}\n- see @api/contracts.yaml:{i % 100}",
    )


def _log(size: int) -> str:
    # Joining pre-rendered blocks is what append_message does, minus a copy per message.
    return NEW_MESSAGES_FILE + "".join("\n" + _block(i) for i in range(size))


def _measure(size: int) -> dict[str, object]:
    old = _log(size)
    settled = parse_messages(old)
    assert len(settled.messages) == size, "the benchmark log must parse completely"
    new = append_message(old, _block(size))
    end, line = settled.end, settled.end_line
    samples: list[int] = []
    for _ in range(REPEATS):
        t0 = time.perf_counter_ns()
        batch = parse_messages(new[end:], offset=end, line=line)
        samples.append(time.perf_counter_ns() - t0)
        assert len(batch.messages) == 1
    samples.sort()
    p99 = samples[max(0, math.ceil(0.99 * len(samples)) - 1)]
    return {
        "bench": "message_incremental_parse",
        "log_messages": size,
        "p50_us": round(statistics.median(samples) / 1000, 1),
        "p99_us": round(p99 / 1000, 1),
    }


def run() -> list[dict[str, object]]:
    """One result per log size: median and p99 time to parse the one appended message."""
    return [_measure(size) for size in SIZES]
