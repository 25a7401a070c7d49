"""The ``claude`` backend: a Messages API tool-use loop per task, in its worktree
(docs/contract.md sec. 6).

- The system prompt is the task's brief (docs/user-guide.md, "Briefs and handoffs") and its
  skills, stable parts first and marked for prompt caching; messages and directives arrive
  as user turns, also mid-run.
- Before each call the worst case of its cost (the prompt's size, ``max_tokens`` of output)
  is checked against what is left of the budget: a call that could pass it is not made, and
  the task is Blocked with a ``Resource`` blocker for a person.
- The SDK retries 429/529/5xx and connection errors (with ``retry-after``); what still fails
  ends the task Failed with the reason. A response that cannot be read ends that turn only.
- Every turn is appended to ``.baton/transcripts/<task>.jsonl`` (secrets redacted); a
  restart of the same attempt resumes the conversation from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import anyio
import structlog

from agents.base import AgentContext, Blocker
from agents.pricing import Price, cost_usd, tokens_of
from agents.skills import Skill
from agents.tools import TOOLS, Toolbox
from protocol import Message

log = structlog.get_logger()

_BAD_TURNS = 3  # unreadable responses in a row before the task fails
_CHARS_PER_TOKEN = 3.0  # a conservative estimate of a prompt's size before sending it


@dataclass(frozen=True)
class Limits:
    max_turns: int = 50
    max_tokens: int = 4096  # output tokens per call
    task_tokens: int = 2_000_000  # input + output tokens over the whole task
    command_timeout: float = 600.0


class ClaudeAgent:
    backend = "claude"  # names the way it reports, in its brief

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        *,
        model: str,
        price: Price,
        skills: Sequence[Skill] = (),
        transcript: Path,
        limits: Limits = Limits(),
        redact: Callable[[str], str] = lambda s: s,
    ) -> None:
        self.client = client
        self.model = model
        self.price = price
        self.skills = tuple(skills)
        self.transcript = transcript
        self.limits = limits
        self.redact = redact

    async def run(self, ctx: AgentContext) -> None:
        b = ctx.brief
        system = self._system(ctx)
        history = await anyio.to_thread.run_sync(self._load, b.attempt)
        if history:
            log.info("conversation_resumed", turns=len(history))
        else:
            start = f"Begin task {b.task_id} (attempt {b.attempt}) as your brief says."
            await self._add(history, _user_text(start), b.attempt)
        toolbox = Toolbox(ctx, command_timeout=self.limits.command_timeout)
        used, bad = 0, 0
        for _ in range(self.limits.max_turns):
            inbox = ctx.pending_messages()
            if inbox:
                await self._add(history, _user_text(_messages_text(inbox)), b.attempt)
            if await self._over_budget(ctx, system, history):
                return
            try:
                response = await self.client.messages.create(
                    model=self.model,
                    max_tokens=self.limits.max_tokens,
                    system=system,  # type: ignore[arg-type]
                    tools=TOOLS,  # type: ignore[arg-type]
                    messages=history,  # type: ignore[arg-type]
                )
            except anthropic.APIStatusError as exc:
                await ctx.fail(f"model API error {exc.status_code} after retries")
                return
            except anthropic.APIConnectionError as exc:
                await ctx.fail(f"model API unreachable after retries: {type(exc).__name__}")
                return
            except (ValueError, anthropic.APIResponseValidationError) as exc:
                bad += 1
                log.error("agent_call_failed", reason=f"unreadable response: {exc}"[:300])
                if bad >= _BAD_TURNS:
                    await ctx.fail(f"{bad} unreadable responses from the model API in a row")
                    return
                continue
            bad = 0
            tokens = tokens_of(response.usage)
            cost = cost_usd(self.price, tokens)
            await ctx.record_usage(self.model, tokens, cost)
            used += sum(tokens.values())
            log.info("agent_call", model=self.model, cost_usd=round(cost, 6), **tokens)
            content = [block.model_dump(exclude_none=True) for block in response.content]
            await self._add(history, {"role": "assistant", "content": content}, b.attempt)
            calls = [c for c in content if c.get("type") == "tool_use"]
            if not calls:
                nudge = "Continue, then call complete_task or fail_task when you are done."
                await self._add(history, _user_text(nudge), b.attempt)
                continue
            results: list[dict[str, Any]] = []
            finished = blocked = False
            for call in calls:
                outcome = await toolbox.call(call["name"], call.get("input") or {})
                results.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": call["id"],
                        "content": outcome.text,
                        "is_error": outcome.error,
                    }
                )
                finished = finished or outcome.finished
                blocked = blocked or outcome.blocked
                if finished:
                    break
            await self._add(history, {"role": "user", "content": results}, b.attempt)
            if finished:
                return
            if blocked:
                directive = await _wait_for_directive(ctx)
                await self._add(history, _user_text(_messages_text([directive])), b.attempt)
            if used >= self.limits.task_tokens:
                await ctx.fail(
                    f"token limit reached: {used} tokens (limit {self.limits.task_tokens})"
                )
                return
        await ctx.fail(f"turn limit reached: {self.limits.max_turns} turns without completing")

    # -- prompt -----------------------------------------------------------------------------

    def _system(self, ctx: AgentContext) -> list[dict[str, Any]]:
        """The brief, then the skills, then what changes between attempts: the stable
        blocks first and each marked for caching, so the cache holds across turns and,
        up to the skills, across attempts."""
        b = ctx.brief
        text = b.render()
        stable = b.stable if b.stable and text.startswith(b.stable) else text
        blocks = [stable]
        blocks += [
            f"## Skill: {skill.name} (v{skill.version})\n{skill.description}\n\n{skill.body}"
            for skill in self.skills
        ]
        if text[len(stable) :]:
            blocks.append(text[len(stable) :])
        cached = {"cache_control": {"type": "ephemeral"}}
        out: list[dict[str, Any]] = [{"type": "text", "text": t} for t in blocks]
        out[0].update(cached)
        if len(out) > 1:
            out[-1].update(cached)
        return out

    async def _over_budget(
        self, ctx: AgentContext, system: list[dict[str, Any]], history: list[dict[str, Any]]
    ) -> bool:
        left = ctx.budget_left()
        if left is None:
            return False
        size = len(json.dumps(system)) + len(json.dumps(history)) + len(json.dumps(TOOLS))
        worst = cost_usd(
            self.price, {"input": int(size / _CHARS_PER_TOKEN), "output": self.limits.max_tokens}
        )
        if worst <= left:
            return False
        log.warning(
            "budget_would_be_exceeded", worst_case_usd=round(worst, 4), left_usd=round(left, 4)
        )
        await ctx.report_blocker(
            Blocker(
                severity="High",
                kind="Resource",
                description=f"The next model call could cost ${worst:.4f}; "
                f"${max(left, 0):.4f} of the budget is left.",
                resolution="Raise the budget (baton.toml budget_usd or the plan's Constraints), "
                "then set this task back to Not Started.",
                escalate=True,
                escalation_note="Yes - only a person can raise the budget",
            )
        )
        return True

    # -- transcript -------------------------------------------------------------------------

    def _load(self, attempt: int) -> list[dict[str, Any]]:
        history: list[dict[str, Any]] = []
        try:
            lines = self.transcript.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return history
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            if entry.get("attempt") == attempt:
                _append(history, entry["message"])
        # A crash between a tool call and its results: ask the model again from before it.
        while history and history[-1]["role"] == "assistant":
            history.pop()
        return history

    async def _add(
        self, history: list[dict[str, Any]], message: dict[str, Any], attempt: int
    ) -> None:
        _append(history, message)
        line = self.redact(json.dumps({"attempt": attempt, "message": message}, ensure_ascii=False))

        def write() -> None:
            self.transcript.parent.mkdir(parents=True, exist_ok=True)
            with self.transcript.open("a", encoding="utf-8") as f:
                f.write(line + "\n")

        await anyio.to_thread.run_sync(write)


def _append(history: list[dict[str, Any]], message: dict[str, Any]) -> None:
    """Append, merging consecutive user turns (the API wants roles to alternate)."""
    if history and history[-1]["role"] == message["role"] == "user":
        history[-1] = {"role": "user", "content": [*history[-1]["content"], *message["content"]]}
    else:
        history.append(message)


def _text(words: str) -> dict[str, Any]:
    return {"type": "text", "text": words}


def _user_text(words: str) -> dict[str, Any]:
    return {"role": "user", "content": [_text(words)]}


def _messages_text(messages: Sequence[Message]) -> str:
    out = []
    for m in messages:
        head = f"{m.type} from {m.sender}" + (f" about {m.task}" if m.task else "")
        out.append(f"[{head}, {m.timestamp}]\n{m.text or ''}\n{m.body}".strip())
    return "Messages received:\n\n" + "\n\n".join(out)


async def _wait_for_directive(ctx: AgentContext) -> Message:
    while True:
        message = await ctx.next_message()
        if message.type == "Directive":
            return message
