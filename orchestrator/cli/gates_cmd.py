"""``baton gates [--task T]``: run the quality gates of a task (or of every task whose
worktree exists) now, on its worktree, and print the table (docs/user-guide.md, "Quality
gates"). Nothing is journaled and no status changes: it is a look, not a verdict."""

from __future__ import annotations

import argparse
import sys

import anyio

from orchestrator.cli.inputs import Inputs
from orchestrator.config import Config
from orchestrator.gates import plan_thresholds
from orchestrator.gates.run import GateOutcome, run_gate
from protocol.prose import read_prose

__all__ = ["gates"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def gates(args: argparse.Namespace, inputs: Inputs, config: Config) -> int:
    plan = inputs.plan
    tasks = plan.tasks
    if args.task is not None:
        task = plan.task(args.task)
        if task is None:
            print(f"baton: no task {args.task} in {inputs.plan_path}", file=sys.stderr)
            return EXIT_USAGE
        tasks = (task,)
    thresholds, unread = plan_thresholds(read_prose(plan).gate_thresholds.text)
    rows: list[tuple[str, GateOutcome | str]] = []

    async def run_all() -> None:
        for task in tasks:
            specs = config.gates.for_task(task.id, task.role, task.group or "")
            worktree = config.worktrees_dir / task.worktree
            if not specs:
                if args.task is not None:
                    rows.append((task.id, "no gate applies"))
                continue
            if not worktree.is_dir():
                rows.append((task.id, f"no worktree at {worktree}"))
                continue
            out = config.state_dir / "gates" / task.id / "now"
            for spec in specs:
                rows.append((task.id, await run_gate(spec, worktree, out, 1, thresholds)))

    anyio.run(run_all)
    print(f"{'TASK':<8} {'GATE':<12} {'RESULT':<8} {'NUMBERS':<28} DETAIL")
    failed = False
    for task_id, row in rows:
        if isinstance(row, str):
            print(f"{task_id:<8} {'-':<12} {'-':<8} {'-':<28} {row}")
            continue
        result = "pass" if row.passed else ("FAIL" if row.mandatory else "fail")
        failed |= not row.passed and row.mandatory
        detail = "; ".join(row.failed) or row.log
        print(f"{task_id:<8} {row.name:<12} {result:<8} {row.summary:<28} {detail}")
    if unread:
        print(f"Left to people (the plan's thresholds Baton cannot read): {'; '.join(unread)}")
    return EXIT_FAILED if failed else EXIT_OK
