"""``baton integrate --dry-run`` and ``baton approve`` (docs/user-guide.md, "From
Integration to Completed"): the Go/No-Go with its reasons and what a GO would merge and
archive, read only; and a person's approval of a GO WITH CAUTION, ticked in the plan."""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio

from orchestrator.adapters.integrate import own_commits
from orchestrator.adapters.worktrees import WorktreeError, Worktrees
from orchestrator.cli.inputs import Inputs
from orchestrator.config import Config
from orchestrator.decisions.go_no_go import decide_go_no_go
from orchestrator.runtime.gating import last_rounds
from orchestrator.runtime.integration import integration_plan
from protocol import EditConflictError, parse_plan, set_checkbox
from protocol.integration import APPROVAL_TEXT, merge_strategy

__all__ = ["approve", "integrate_dry_run"]

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2


def _gates(config: Config) -> dict[str, list[dict[str, Any]]]:
    """Each task's last gate round, from the journal opened read-only."""
    path = config.state_dir / "journal.sqlite3"
    if not path.exists():
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT key, value FROM marks WHERE key LIKE 'gate_result:%'")
            marks = dict(rows.fetchall())
            rows = db.execute("SELECT key, value FROM marks WHERE key LIKE 'gate_integration:%'")
            at_integration = dict(rows.fetchall())
        finally:
            db.close()
    except sqlite3.Error:
        return {}
    out = {t: json.loads(v) for t, v in last_rounds(marks).items()}
    for key, value in sorted(at_integration.items()):  # the integration gates' results
        out.setdefault(key.split(":")[1], []).append(json.loads(value))
    return out


def _base(config: Config) -> str:
    """The base branch, or "" when the repository has none checked out (nothing to show)."""
    try:
        return Worktrees(config.plan_dir, config.plan_dir, config.base_branch).base_branch()
    except WorktreeError:
        return ""


def integrate_dry_run(args: argparse.Namespace, inputs: Inputs, config: Config) -> int:
    if not args.dry_run:
        print(
            "baton: the daemon integrates on GO; --dry-run shows what it would do", file=sys.stderr
        )
        return EXIT_USAGE
    plan = inputs.plan
    verdict = decide_go_no_go(plan, _gates(config))
    print(f"Go/No-Go: {verdict.line}")
    for reason in verdict.reasons:
        print(f"  - {reason}")
    if verdict.selected is None:
        return EXIT_NOTHING
    base = _base(config)
    strategy = merge_strategy(plan, config.merge_strategy)
    print(f"Would {strategy} into {base or '?'}, in this order:")
    for work in integration_plan(plan, verdict.alternatives):
        try:
            commits = own_commits(config.plan_dir, base, work)
        except subprocess.CalledProcessError:
            commits = []
        print(f"  {work.task_id} ({work.branch}): {len(commits)} commit(s)")
        for c in commits:
            print(f"    {c[:10]}")
    by_id = {t.id: t for t in plan.tasks}
    for task_id in verdict.alternatives:
        branch = by_id[task_id].branch
        print(f"Would archive {task_id} as baton/archive/{branch}")
    return EXIT_OK if verdict.go else EXIT_NOTHING


def approve(args: argparse.Namespace, inputs: Inputs, config: Config) -> int:
    from orchestrator.adapters.filestore import FileStore

    note = f" — {args.note.strip()}" if args.note else ""
    found = False

    def edit(text: str) -> str:
        nonlocal found
        plan = parse_plan(text, file=str(inputs.plan_path))
        for item in plan.checklists:
            if item.text.strip().casefold().startswith(APPROVAL_TEXT.casefold()):
                found = True
                if item.checked:
                    return text
                out = set_checkbox(text, item, True)
                if note:
                    line_end = out.find("\n", item.box.start)
                    line_end = len(out) if line_end < 0 else line_end
                    if out[line_end - 1 : line_end] == "\r":
                        line_end -= 1
                    out = out[:line_end] + note + out[line_end:]
                return out
        return text

    path: Path = inputs.plan_path
    try:
        anyio.run(FileStore().update, path, edit)
    except (EditConflictError, OSError) as exc:
        print(f"baton: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not found:
        print(f"baton: nothing in {path} waits for approval", file=sys.stderr)
        return EXIT_NOTHING
    print(f"approved in {path}")
    return EXIT_OK
