"""``baton.toml``: every key has a default and the file is optional (docs/user-guide.md).

Unknown keys are errors (a typo should not silently fall back to a default), reported with
the file and the key; TOML syntax errors keep tomllib's line and column.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from orchestrator.gates.spec import GatesConfig, GatesError, parse_gates
from protocol._errors import MESSAGES_FILE, PLAN_FILE

CONFIG_FILE = "baton.toml"
MB = 1_000_000
DEFAULT_MAX_PLAN_MB = 5.0
BACKENDS = ("claude", "claude-code", "codex", "command", "manual", "scripted")
STEP_KINDS = ("wait", "write", "commit", "send", "blocker", "complete", "fail", "plan_line", "tick")

# API ids and list prices (USD per million tokens) of the names plans use; baton.toml may
# override or add any of them.
DEFAULT_MODELS: Mapping[str, Mapping[str, Any]] = {
    "Opus 4": {"id": "claude-opus-4-1", "input_per_mtok": 15.0, "output_per_mtok": 75.0},
    "Sonnet 4": {"id": "claude-sonnet-4-5", "input_per_mtok": 3.0, "output_per_mtok": 15.0},
    "Haiku 4": {"id": "claude-haiku-4-5", "input_per_mtok": 1.0, "output_per_mtok": 5.0},
}


# The coding-agent CLI backends and their tables in baton.toml (docs/coding-agents.md).
CLI_TABLES = {"claude-code": "claude_code", "codex": "codex"}
_CLI_DEFAULTS = {
    "claude-code": {"program": "claude", "mode": "acceptEdits"},
    "codex": {"program": "codex", "mode": "workspace-write"},
}
_CLI_PRICES = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok")


@dataclass(frozen=True)
class CliSettings:
    """``[claude_code]`` or ``[codex]``: how the CLI is started and, for Codex, priced."""

    program: str
    mode: str  # Claude Code's --permission-mode, Codex's --sandbox
    args: tuple[str, ...] = ()  # extra arguments, before the prompt
    model: str | None = None  # an id that overrides the plan's model table
    prices: Mapping[str, float] = field(default_factory=dict)  # per million tokens


class ConfigError(Exception):
    """``baton.toml`` cannot be used; the message names the file and the key or line."""


@dataclass(frozen=True)
class ModelPrice:
    id: str
    input_per_mtok: float
    output_per_mtok: float
    cache_write_per_mtok: float
    cache_read_per_mtok: float


@dataclass(frozen=True)
class Config:
    plan_dir: Path
    plan_file: str = PLAN_FILE
    messages_file: str = MESSAGES_FILE
    base_branch: str | None = None
    merge_strategy: str = "cherry-pick"  # when the plan's Merge Strategy names none
    worktree_parent: Path | None = None
    max_agents: int | None = None
    budget_usd: float | None = None
    triage_sla_minutes: float = 10.0
    triage_reminder_minutes: float = 30.0
    debounce_ms: int = 5
    reconcile_seconds: float = 30.0
    default_backend: str = "manual"
    role_backends: Mapping[str, str] = field(default_factory=dict)
    task_backends: Mapping[str, str] = field(default_factory=dict)
    models: Mapping[str, ModelPrice] = field(default_factory=dict)
    notify_command: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    scripts: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    # A fixed answer to every Question sent to the Orchestrator, standing in for the
    # orchestrator model (demos and rehearsals); None: questions go to a person.
    orchestrator_answer: str | None = None
    max_turns: int = 50  # model calls per task attempt (claude backend)
    max_tokens: int = 4096  # output tokens per model call
    command_timeout_seconds: float = 600.0  # run_command's time limit
    max_plan_mb: float = DEFAULT_MAX_PLAN_MB  # a larger plan is refused unread
    brief_max_bytes: int = 8192  # an agent's brief; longer parts are cut with a pointer
    # How a task gets its dependencies' work: "merge" (into its new branch) or "read".
    inputs_default: str = "merge"
    inputs_roles: Mapping[str, str] = field(default_factory=dict)
    inputs_tasks: Mapping[str, str] = field(default_factory=dict)
    gates: GatesConfig = field(default_factory=GatesConfig)
    cli: Mapping[str, CliSettings] = field(default_factory=dict)  # by backend name
    source: Path | None = None

    @property
    def plan_path(self) -> Path:
        return self.plan_dir / self.plan_file

    @property
    def messages_path(self) -> Path:
        return self.plan_dir / self.messages_file

    @property
    def state_dir(self) -> Path:
        return self.plan_dir / ".baton"

    @property
    def worktrees_dir(self) -> Path:
        """Where the task worktrees go: ``worktree_parent``, else ``../<repo>-worktrees``.
        ``baton validate`` checks the plan's Worktree cells against it, as ``baton run`` does."""
        return self.worktree_parent or default_parent(self.plan_dir)

    def backend_for(self, task_id: str, role: str) -> str:
        """The backend of a task: by task id, then by role (case ignored), then the default."""
        if task_id in self.task_backends:
            return self.task_backends[task_id]
        for name, backend in self.role_backends.items():
            if name.casefold() == role.casefold():
                return backend
        return self.default_backend

    def inputs_for(self, task_id: str, role: str) -> str:
        """``merge`` or ``read``: by task id, then by role (case ignored), then the default."""
        if task_id in self.inputs_tasks:
            return self.inputs_tasks[task_id]
        for name, mode in self.inputs_roles.items():
            if name.casefold() == role.casefold():
                return mode
        return self.inputs_default

    def script_for(self, task_id: str) -> tuple[Mapping[str, Any], ...]:
        return self.scripts.get(task_id) or self.scripts.get("default") or ()


def default_parent(repo_dir: Path) -> Path:
    """The default worktree parent: ``../<repo>-worktrees`` beside the repository."""
    repo = repo_dir.resolve()
    return repo.parent / f"{repo.name}-worktrees"


# fmt: off
_TOP_KEYS = {
    "plan_file", "messages_file", "base_branch", "merge_strategy", "worktree_parent", "max_agents",
    "budget_usd", "triage_sla_minutes", "triage_reminder_minutes", "debounce_ms",
    "reconcile_seconds", "agents", "models", "notify_command", "command", "scripts",
    "orchestrator", "max_turns", "max_tokens", "command_timeout_seconds", "max_plan_mb",
    "brief_max_bytes", "inputs", "gates",
    *CLI_TABLES.values(),
}
# fmt: on

INPUT_MODES = ("merge", "read")
MERGES = ("cherry-pick", "merge", "squash")  # merge_strategy


def api_key(environ: Mapping[str, str] | None = None) -> str:
    """The model API key (``ANTHROPIC_API_KEY``; empty when unset): the one place it is read."""
    return (os.environ if environ is None else environ).get("ANTHROPIC_API_KEY", "")


def load_config(
    plan_dir: Path,
    config_file: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    agents_override: str | None = None,
) -> Config:
    """Read ``baton.toml`` (``config_file`` or ``<plan_dir>/baton.toml``; missing is fine)."""
    env = os.environ if environ is None else environ
    path = config_file or plan_dir / CONFIG_FILE
    data: dict[str, Any] = {}
    if config_file is not None or path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    where = str(path)
    _no_unknown(data, _TOP_KEYS, where, "")
    cfg = Config(plan_dir=plan_dir.resolve(), source=path if data else None)
    default_backend = "claude" if api_key(env) else "manual"
    agents = _table(data, "agents", where)
    _no_unknown(agents, {"default", "roles", "tasks"}, where, "agents.")
    roles = {
        k: _backend(v, where, f"agents.roles.{k}")
        for k, v in _table(agents, "roles", where).items()
    }
    tasks = {
        k: _backend(v, where, f"agents.tasks.{k}")
        for k, v in _table(agents, "tasks", where).items()
    }
    default = _backend(agents.get("default", default_backend), where, "agents.default")
    if agents_override is not None:
        default = _backend(agents_override, "--agents", "value")
        roles, tasks = {}, {}
    worktree_parent = data.get("worktree_parent")
    inputs = _table(data, "inputs", where)
    _no_unknown(inputs, {"default", "roles", "tasks"}, where, "inputs.")
    return replace(
        cfg,
        plan_file=_str(data, "plan_file", where, PLAN_FILE),
        messages_file=_str(data, "messages_file", where, MESSAGES_FILE),
        base_branch=data.get("base_branch") and _str(data, "base_branch", where, ""),
        merge_strategy=_mode(
            data.get("merge_strategy", "cherry-pick"), where, "merge_strategy", MERGES
        ),
        worktree_parent=(
            (plan_dir / _str(data, "worktree_parent", where, "")).resolve()
            if worktree_parent
            else None
        ),
        max_agents=_int(data, "max_agents", where, None, minimum=1),
        budget_usd=_num(data, "budget_usd", where, None),
        triage_sla_minutes=_num(data, "triage_sla_minutes", where, 10.0) or 10.0,
        triage_reminder_minutes=_num(data, "triage_reminder_minutes", where, 30.0) or 30.0,
        debounce_ms=_int(data, "debounce_ms", where, 5, minimum=0) or 0,
        reconcile_seconds=_num(data, "reconcile_seconds", where, 30.0) or 30.0,
        default_backend=default,
        role_backends=roles,
        task_backends=tasks,
        models=_models(_table(data, "models", where), where),
        notify_command=_argv(data, "notify_command", where),
        command=_argv(data, "command", where),
        scripts=_scripts(_table(data, "scripts", where), where),
        orchestrator_answer=_orchestrator(_table(data, "orchestrator", where), where),
        max_turns=_int(data, "max_turns", where, 50, minimum=1) or 50,
        max_tokens=_int(data, "max_tokens", where, 4096, minimum=1) or 4096,
        command_timeout_seconds=_num(data, "command_timeout_seconds", where, 600.0) or 600.0,
        max_plan_mb=_num(data, "max_plan_mb", where, DEFAULT_MAX_PLAN_MB) or DEFAULT_MAX_PLAN_MB,
        brief_max_bytes=_int(data, "brief_max_bytes", where, 8192, minimum=1024) or 8192,
        gates=_gates(_table(data, "gates", where), where),
        inputs_default=_mode(inputs.get("default", "merge"), where, "inputs.default"),
        inputs_roles=_modes(inputs, "roles", where),
        inputs_tasks=_modes(inputs, "tasks", where),
        cli={name: _cli(name, data, where) for name in CLI_TABLES},
    )


def _cli(backend: str, data: Mapping[str, Any], where: str) -> CliSettings:
    key = CLI_TABLES[backend]
    table = _table(data, key, where)
    mode_key = "permission_mode" if backend == "claude-code" else "sandbox"
    _no_unknown(table, {"program", mode_key, "args", "model", *_CLI_PRICES}, where, f"{key}.")
    defaults = _CLI_DEFAULTS[backend]
    model = table.get("model")
    if model is not None and (not isinstance(model, str) or not model):
        raise ConfigError(f"{where}: {key}.model must be a non-empty string")
    prices = {p: _num(table, p, where, None) for p in _CLI_PRICES if p in table}
    return CliSettings(
        program=_str(table, "program", where, defaults["program"]) or defaults["program"],
        mode=_str(table, mode_key, where, defaults["mode"]) or defaults["mode"],
        args=_argv(table, "args", where),
        model=model,
        prices={k: v for k, v in prices.items() if v is not None},
    )


def _orchestrator(table: Mapping[str, Any], where: str) -> str | None:
    _no_unknown(table, {"answer"}, where, "orchestrator.")
    answer = table.get("answer")
    if answer is not None and (not isinstance(answer, str) or not answer.strip()):
        raise ConfigError(f"{where}: orchestrator.answer must be a non-empty string")
    return answer.strip() if answer else None


# -- value readers -------------------------------------------------------------------------


def _no_unknown(data: Mapping[str, Any], known: set[str], where: str, prefix: str) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            raise ConfigError(f"{where}: unknown key {prefix}{key}{hint}")


def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table, got {type(value).__name__}")
    return value


def _str(data: Mapping[str, Any], key: str, where: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
    return value


def _num(data: Mapping[str, Any], key: str, where: str, default: float | None) -> float | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}: {key} must be a non-negative number, got {value!r}")
    return float(value)


def _int(
    data: Mapping[str, Any], key: str, where: str, default: int | None, *, minimum: int
) -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {key} must be a whole number >= {minimum}, got {value!r}")
    return value


def _backend(value: Any, where: str, key: str) -> str:
    if value not in BACKENDS:
        raise ConfigError(f"{where}: {key} must be one of {', '.join(BACKENDS)}, got {value!r}")
    return str(value)


def _gates(table: Mapping[str, Any], where: str) -> GatesConfig:
    try:
        return parse_gates(table)
    except GatesError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _modes(inputs: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    return {k: _mode(v, where, f"inputs.{key}.{k}") for k, v in _table(inputs, key, where).items()}


def _mode(value: Any, where: str, key: str, choices: tuple[str, ...] = INPUT_MODES) -> str:
    if value not in choices:
        raise ConfigError(f"{where}: {key} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _argv(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if isinstance(value, str):
        raise ConfigError(
            f'{where}: {key} must be a list of arguments (no shell), e.g. ["notify-send"]'
        )
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings, got {value!r}")
    return tuple(value)


def _models(data: Mapping[str, Any], where: str) -> dict[str, ModelPrice]:
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in DEFAULT_MODELS.items()}
    for name, spec in data.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: models.{name} must be a table")
        _no_unknown(
            spec,
            {
                "id",
                "input_per_mtok",
                "output_per_mtok",
                "cache_write_per_mtok",
                "cache_read_per_mtok",
            },
            where,
            f"models.{name}.",
        )
        merged.setdefault(name, {}).update(spec)
    out: dict[str, ModelPrice] = {}
    for name, spec in merged.items():
        if "id" not in spec:
            raise ConfigError(f"{where}: models.{name}.id is required")
        inp = _num(spec, "input_per_mtok", where, 3.0) or 0.0
        out[name] = ModelPrice(
            id=str(spec["id"]),
            input_per_mtok=inp,
            output_per_mtok=_num(spec, "output_per_mtok", where, 15.0) or 0.0,
            # Anthropic's prompt-cache prices: writes at 1.25x input, reads at 0.1x.
            cache_write_per_mtok=_num(spec, "cache_write_per_mtok", where, inp * 1.25) or 0.0,
            cache_read_per_mtok=_num(spec, "cache_read_per_mtok", where, inp * 0.1) or 0.0,
        )
    return out


def _scripts(data: Mapping[str, Any], where: str) -> dict[str, tuple[Mapping[str, Any], ...]]:
    out: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for task, spec in data.items():
        steps = spec.get("steps") if isinstance(spec, dict) else spec
        if not isinstance(steps, list):
            raise ConfigError(
                f"{where}: scripts.{task} must be a list of steps or have steps = [...]"
            )
        for n, step in enumerate(steps, 1):
            if not isinstance(step, dict) or not step:
                raise ConfigError(f"{where}: scripts.{task} step {n} must be a table")
            kinds = [k for k in step if k in STEP_KINDS]
            if len(kinds) != 1:
                raise ConfigError(
                    f"{where}: scripts.{task} step {n} needs exactly one of "
                    f"{', '.join(STEP_KINDS)}, got {sorted(step)}"
                )
        out[task] = tuple(steps)
    return out
