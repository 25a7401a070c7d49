"""Choosing and building each task's agent (docs/user-guide.md, "Agents"): by task id,
role, or default."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from agents import Agent, AgentContext, Blocker, ManualAgent, ScriptedAgent
from agents.pricing import Price
from agents.skills import SkillError, load_skills
from orchestrator.adapters.logs import redact_text
from orchestrator.config import Config, api_key
from protocol import Plan, Task

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

log = structlog.get_logger()


class NotStarted:
    """Stands in for an agent that cannot start: reports why as a blocker, then returns."""

    def __init__(self, blocker: Blocker) -> None:
        self.blocker = blocker

    async def run(self, ctx: AgentContext) -> None:
        log.error("agent_not_started", reason=self.blocker.description)
        await ctx.report_blocker(self.blocker)


class AgentFactory:
    """Builds each task's agent from the config in force and the current plan; the model
    client is made when a claude agent first needs it, and shared."""

    def __init__(self, plan: Callable[[], Plan | None]) -> None:
        self._plan = plan
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = client()
        return self._client

    def __call__(self, task: Task, config: Config) -> Agent:
        plan = self._plan()
        assert plan is not None
        return make_agent(plan, self.client, task, config)


def make_agent(plan: Plan, model_client: Callable[[], Any], task: Task, config: Config) -> Agent:
    backend = config.backend_for(task.id, task.role)
    if backend == "scripted":
        script = config.script_for(task.id)
        return ScriptedAgent(script) if script else ScriptedAgent()
    if backend == "manual":
        return ManualAgent()
    if backend == "command":
        from agents.command import CommandAgent

        return CommandAgent(config.command, plan_dir=config.plan_dir)
    if backend in ("claude-code", "codex"):
        return _coding_cli(backend, plan, task, config)
    return _claude(plan, model_client, task, config)


def _coding_cli(backend: str, plan: Plan, task: Task, config: Config) -> Agent:
    """A Claude Code or Codex agent (docs/coding-agents.md): the model from the plan's
    model table through ``models.<name>``, unless the CLI's table names one."""
    settings = config.cli[backend]
    assignment = plan.model_for(task.id)
    name = assignment.model if assignment else "Sonnet 4"
    model = config.models.get(name) or config.models["Sonnet 4"]
    common: dict[str, Any] = {
        "program": settings.program,
        "model": settings.model or model.id,
        "plan_dir": config.plan_dir,
        "transcript": config.state_dir / "transcripts" / f"{task.id}.cli.jsonl",
        "redact": _redactor(),
        "mode": settings.mode,
        "args": settings.args,
    }
    if backend == "claude-code":
        from agents.claude_code import ClaudeCodeAgent

        return ClaudeCodeAgent(**common)
    from agents.codex import CodexAgent

    prices = settings.prices
    price = Price(
        prices.get("input_per_mtok", model.input_per_mtok),
        prices.get("output_per_mtok", model.output_per_mtok),
        0.0,
        prices.get("cache_read_per_mtok", model.cache_read_per_mtok),
    )
    return CodexAgent(price=price, **common)


def _redactor() -> Callable[[str], str]:
    keys = [k for k in (api_key(), os.environ.get("OPENAI_API_KEY", "")) if len(k) >= 8]

    def redact(text: str) -> str:
        text = redact_text(text)
        for key in keys:
            text = text.replace(key, "[redacted]")
        return text

    return redact


def _claude(plan: Plan, model_client: Callable[[], Any], task: Task, config: Config) -> Agent:
    from agents.claude import ClaudeAgent, Limits  # the SDK is big: load it only when used

    try:
        skills = load_skills(config.plan_dir / "skills", task.skills, plan.skill_pins)
    except SkillError as exc:
        return NotStarted(
            Blocker(
                severity="High",
                kind="Dependency",
                description=f"Cannot start {task.id}: {exc}",
                resolution="Add the skill at the pinned version (or fix the pin), then set "
                "the task back to Not Started.",
                escalate=True,
                escalation_note="Yes - a person must provide the skill",
            )
        )
    assignment = plan.model_for(task.id)
    name = assignment.model if assignment else "Sonnet 4"
    model = config.models.get(name) or config.models["Sonnet 4"]
    price = Price(
        model.input_per_mtok,
        model.output_per_mtok,
        model.cache_write_per_mtok,
        model.cache_read_per_mtok,
    )
    redact = _redactor()
    return ClaudeAgent(
        model_client(),
        model=model.id,
        price=price,
        skills=skills,
        transcript=config.state_dir / "transcripts" / f"{task.id}.jsonl",
        limits=Limits(
            max_turns=config.max_turns,
            max_tokens=config.max_tokens,
            command_timeout=config.command_timeout_seconds,
        ),
        redact=redact,
    )


def client() -> AsyncAnthropic:
    """One client per daemon. The SDK reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL, and
    retries 429, 529, 5xx and connection errors (honouring retry-after) up to 4 times."""
    from anthropic import AsyncAnthropic

    return AsyncAnthropic(max_retries=4, timeout=300.0)
