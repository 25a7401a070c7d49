"""``baton init``: a new plan directory from the packaged template (docs/contract.md sec. 1 and 7).

It writes the plan (the template with today's date, status Planning, and its example tasks
and log rows cleared), an empty message log and a ``baton.toml`` that lists every key with
its default, commented out; it adds ``.baton/`` to ``.gitignore``. It never overwrites: when
any of the three files exists, nothing is written at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from importlib.resources import files
from pathlib import Path

from orchestrator.config import CONFIG_FILE
from protocol import NEW_MESSAGES_FILE, parse_plan, set_header_field
from protocol._errors import MESSAGES_FILE, PLAN_FILE
from protocol._model import Table
from protocol._text import Lines

GITIGNORE = ".gitignore"
STATE_DIR_PATTERN = ".baton/"
# One row to fill in: its Worktree and Branch take the defaults (t1, baton/T1).
PLACEHOLDER_ROW = (
    "| T1 | Describe the first task | Role / `skill` | - | - | A | Not Started | - | 1h |"
)

# Every key load_config knows, each with its default (or, where the default is computed, an
# example and the rule). A setting is '#key = value' with no space after the '#', so
# removing that one character turns it on; explanations are '# text'. Top-level keys come
# before the first [table], as TOML requires once they are uncommented.
CONFIG_TEXT = """\
# baton.toml: how Baton runs the plan in this directory (docs/contract.md sec. 9).
#
# Every key is optional; the file may be empty. Each setting below shows its default (or an
# example, where the default is worked out at run time) and is commented out: remove the
# '#' in front of a key, and of its [table] line, to set it. `baton run` reads this file at
# start and again on SIGHUP; an unknown key is an error, not a silent default.
# The API key is never kept here: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a
# gateway or proxy) in the environment of the daemon.

# The plan and the message log, relative to this directory.
#plan_file = "MULTI_AGENT_PLAN.md"
#messages_file = "INTER_AGENT_MESSAGES.md"

# The branch each task's worktree starts from. Default: the branch checked out here.
#base_branch = "main"

# How the selected work is integrated when the plan's Merge Strategy **Selected:** line
# names no strategy: "cherry-pick" (default), "merge" or "squash".
#merge_strategy = "cherry-pick"

# Where the task worktrees go, relative to this directory. Default: ../<repo>-worktrees.
#worktree_parent = "../project-worktrees"

# Agents running at once. Default: the plan's "Resources: N concurrent agent slots", else 4.
#max_agents = 4

# Spending limit for model calls, in USD. Default: the plan's "Budget:" constraint, if any.
#budget_usd = 5.0

# Minutes an open blocker may wait for a Resolution before it is an SLA breach.
#triage_sla_minutes = 10.0

# Minutes between reminders while a breached blocker stays unresolved.
#triage_reminder_minutes = 30.0

# Milliseconds to let a burst of file saves settle before Baton reacts to them.
#debounce_ms = 5

# Seconds between full re-reads of both files, in case a change event was missed.
#reconcile_seconds = 30.0

# A plan larger than this many megabytes (10^6 bytes) is refused unread.
#max_plan_mb = 5.0

# Bytes of an agent's brief; longer parts are cut, each with a pointer to its full text.
#brief_max_bytes = 8192

# Model calls per task attempt (claude backend).
#max_turns = 50

# Output tokens per model call (claude backend).
#max_tokens = 4096

# Seconds an agent's run_command tool may run before it is stopped.
#command_timeout_seconds = 600.0

# Run when a person is needed (escalations, SLA breaches): an argument list, no shell, given
# the event as JSON on stdin and a one-line summary as its last argument. Default: [] (log only).
#notify_command = ["notify-send", "Baton"]

# The command backend's program: it runs in the task's worktree with the brief on stdin, and
# exit status 0 completes the task. Default: [] (needed only by tasks on the command backend).
#command = ["my-agent", "--print"]

# Which backend does each task: claude, claude-code, codex, command, manual (a person) or
# scripted. claude-code and codex run those CLIs (docs/coding-agents.md).
#[agents]
# Default: claude when ANTHROPIC_API_KEY is set, else manual.
#default = "claude"

# By role (the Agent/Skills cell before the '/'), case ignored. Default: none.
#[agents.roles]
#Scribe = "manual"

# By task id; wins over the role. Default: none.
#[agents.tasks]
#T1 = "manual"

# The plan's model names (Agent Distribution table) as API ids, with USD prices per million
# tokens. Built in: "Opus 4", "Sonnet 4", "Haiku 4"; a table here changes or adds one. The
# cache prices default to 1.25x (write) and 0.1x (read) the input price.
#[models."Sonnet 4"]
#id = "claude-sonnet-4-5"
#input_per_mtok = 3.0
#output_per_mtok = 15.0
#cache_write_per_mtok = 3.75
#cache_read_per_mtok = 0.3

# How a task gets its dependencies' work: "merge" (its new branch starts from the base
# merged with their branches) or "read" (never merged; read their worktrees). Default: merge.
#[inputs]
#default = "merge"

# Quality gates: run on a task's branch when its agent reports Completed (an argument list,
# no shell). Report kinds: exit, junit, cobertura, coverage-json, sarif, json. Default: none.
#[gates]
#retries = 2
#[gates.tests]
#argv = ["pytest", "-q", "--junitxml=junit.xml"]
#report = "junit"
#file = "junit.xml"
#roles = ["Builder-1"]

# How the claude-code backend starts Claude Code: its program, --permission-mode, extra
# arguments, and a model id that overrides the plan's model table. Defaults as shown.
#[claude_code]
#program = "claude"
#permission_mode = "acceptEdits"
#args = []

# How the codex backend starts Codex (--sandbox), and the USD prices per million tokens its
# usage is counted at. Default prices: the plan's model table.
#[codex]
#program = "codex"
#sandbox = "workspace-write"
#args = []
#model = "gpt-5-codex"
#input_per_mtok = 1.25
#output_per_mtok = 10.0
#cache_read_per_mtok = 0.125

# A fixed answer to every Question sent to the Orchestrator, for rehearsals and demos.
# Default: unset (questions go to a person).
#[orchestrator]
#answer = "Proceed with the recommended option."

# Scripted backend (`baton run --agents scripted`): steps for every task without its own
# [scripts.<task id>]. Step kinds: wait, write, commit, send, blocker, complete, fail;
# strings may use {task_id}, {agent_id}, {role} and {attempt}. Default: write, commit, complete.
#[scripts.default]
#steps = [
#{ wait = 0.5 },
#{ write = "work/{task_id}.md", content = "# {task_id}\\n\\nDone by {agent_id}.\\n" },
#{ commit = "{task_id}: work of {agent_id}" },
#{ complete = "{task_id} done" },
#]
"""


def template_text() -> str:
    """The packaged plan template (the one ``baton demo`` runs)."""
    return files("orchestrator").joinpath("templates/MULTI_AGENT_PLAN.md").read_text("utf-8")


class FilesExist(Exception):
    """``baton init`` found files it will not overwrite."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        super().__init__(", ".join(str(p) for p in self.paths))


def new_plan_text(template: str, now: datetime) -> str:
    """The template as a new plan: created ``now``, status Planning, its example task rows
    replaced by one row to fill in and its example log rows removed (Baton adds them)."""
    plan = parse_plan(template)
    if plan.task_table is None or plan.log_table is None:
        raise ValueError("the template has no Task Assignment Matrix or no Actual Execution Log")
    lines = Lines(template)
    text = template
    # Back to front, so each edit leaves the offsets of the ones before it intact.
    text = _replace_rows(text, lines, plan.log_table, "")
    text = _replace_rows(text, lines, plan.task_table, PLACEHOLDER_ROW + lines.eol)
    text = set_header_field(text, plan, "Status", "Planning")
    return set_header_field(text, plan, "Created", now.strftime("%Y-%m-%d %H:%M"))


def _replace_rows(text: str, lines: Lines, table: Table, new: str) -> str:
    """``text`` with the body rows of ``table`` (read from ``lines``) replaced by ``new``."""
    start = lines.next_start(table.header_line + 1)  # past the delimiter row
    end = lines.next_start(table.rows[-1].line) if table.rows else start
    return text[:start] + new + text[end:]


def gitignore_addition(gitignore: str | None) -> str | None:
    """What to append to ``.gitignore`` (``None``: missing) so it ignores ``.baton/``;
    None when it already does."""
    current = gitignore or ""
    patterns = {line.strip() for line in current.splitlines()}
    if patterns & {".baton", ".baton/", "/.baton", "/.baton/"}:
        return None
    sep = "" if not current or current.endswith("\n") else "\n"
    return sep + STATE_DIR_PATTERN + "\n"


def init_plan_dir(directory: Path, now: datetime) -> tuple[Path, ...]:
    """Write a new plan directory; returns the paths written.

    Raises :class:`FilesExist` naming the plan, message log or ``baton.toml`` already there,
    before anything is written.
    """
    contents = {
        directory / PLAN_FILE: new_plan_text(template_text(), now),
        directory / MESSAGES_FILE: NEW_MESSAGES_FILE,
        directory / CONFIG_FILE: CONFIG_TEXT,
    }
    existing = [path for path in contents if path.exists()]
    if existing:
        raise FilesExist(existing)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for path, text in contents.items():
        # 'x': should one appear after the check above, it is still never overwritten.
        try:
            with path.open("x", encoding="utf-8", newline="") as f:
                f.write(text)
        except FileExistsError:
            raise FilesExist([path]) from None
        written.append(path)
    gitignore = directory / GITIGNORE
    current = gitignore.read_bytes().decode("utf-8", "replace") if gitignore.exists() else None
    addition = gitignore_addition(current)
    if addition is not None:
        # Appended, not rewritten: the rest of a person's .gitignore stays as it is.
        with gitignore.open("a", encoding="utf-8", newline="") as f:
            f.write(addition)
        written.append(gitignore)
    return tuple(written)


__all__ = [
    "CONFIG_TEXT",
    "PLACEHOLDER_ROW",
    "FilesExist",
    "gitignore_addition",
    "init_plan_dir",
    "new_plan_text",
    "template_text",
]
