"""`python -m bench`: run every bench/bench_*.py, write bench/results/latest.json, print a table.

Each module exposes ``run() -> list[dict]``. A module that fails is reported and makes the
exit code 1; the others still run.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from orchestrator.adapters import logs

HERE = Path(__file__).parent
NUMBERS = ("p50_us", "p99_us", "p50_ms", "p99_ms", "max_ms", "rss_mb", "floor_ms", "p50_x", "p99_x")


def main(argv: list[str]) -> int:
    logs.configure("json", stream=open(os.devnull, "w"), level=logging.ERROR)  # noqa: SIM115
    wanted = set(argv)
    rows: list[dict[str, Any]] = []
    failed = False
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem
        if wanted and name not in wanted:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            for row in module.run():
                rows.append({"module": name, **row})
                print(f"  {_line(row)}", file=sys.stderr, flush=True)
        except Exception:
            failed = True
            rows.append({"module": name, "bench": "FAILED", "error": traceback.format_exc(limit=3)})
            print(f"  FAILED:\n{traceback.format_exc(limit=3)}", file=sys.stderr, flush=True)
        print(f"  ({time.perf_counter() - t0:.1f}s)", file=sys.stderr, flush=True)
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "rows": rows,
    }
    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\n{'bench':<34} {'parameters':<28} result")
    for row in rows:
        print(_line(row))
    print(f"\nwritten to {out}")
    return 1 if failed else 0


def _line(row: dict[str, Any]) -> str:
    params = ", ".join(
        f"{k}={v}"
        for k, v in row.items()
        if k not in (*NUMBERS, "bench", "module", "target", "error")
    )
    numbers = "  ".join(f"{k}={row[k]}" for k in NUMBERS if k in row)
    target = f"  (target {row['target']})" if "target" in row else ""
    return f"{row.get('bench', '?'):<34} {params:<28} {numbers}{target}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
