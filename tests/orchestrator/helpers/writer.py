"""A person at an editor, as a separate process: edits Description and Notes cells many
times, saving by rename (vim) and by truncate-and-write, sometimes from a stale buffer.

Usage: python -m tests.orchestrator.helpers.writer PLAN_PATH EDITS SEED
Prints its final intended cell values as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

from protocol import EditConflictError, parse_plan, set_cell, set_log_cells


def main() -> None:
    path, edits, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    model: dict[str, str] = {}  # "desc:T1" / "notes:T1" -> value
    snapshots: list[str] = []
    saved = 0
    last = None
    while saved < edits:
        current = path.read_text(encoding="utf-8")
        if not current or not parse_plan(current, previous=last).tasks:
            continue  # caught the daemon between truncate and write? it renames; retry
        snapshots.append(current)
        del snapshots[:-20]
        base = rng.choice(snapshots) if rng.random() < 0.2 else current  # a stale buffer
        plan = parse_plan(base, previous=last)
        last = plan
        task = rng.choice(plan.tasks)
        kind = rng.choice(["desc", "notes"])
        model[f"{kind}:{task.id}"] = f"{kind} {task.id} edit {saved}"
        text = base
        p = plan
        try:
            for key, value in sorted(model.items()):
                k, tid = key.split(":")
                p = parse_plan(text, previous=p)
                if k == "desc":
                    text = set_cell(text, p, tid, "Description", value)
                elif p.log_row(tid) is not None:
                    text = set_log_cells(text, p, tid, {"Notes": value})
        except EditConflictError:
            continue
        if rng.random() < 0.5:
            tmp = path.with_name(f".{path.name}.writer{saved}")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        else:
            with path.open("r+", encoding="utf-8", newline="") as f:
                f.truncate(0)
                f.write(text)
        saved += 1
        time.sleep(rng.random() * 0.004)  # typing speed: a person saves now and then
    print(json.dumps(model))


if __name__ == "__main__":
    main()
