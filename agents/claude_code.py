"""The ``claude-code`` backend: Claude Code in headless mode (docs/coding-agents.md).

``claude -p --output-format stream-json --verbose --model <id> --permission-mode <mode>``
with the brief on stdin and ``--max-budget-usd`` set to what is left of the run's budget;
``--resume <session>`` after a restart. ``total_cost_usd`` is cumulative over one process,
so each result's increase is journaled (a resumed process starts again from zero).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.base import AgentContext
from agents.coding_cli import CodingCliAgent, Run
from agents.streams import Seen, claude_event, claude_tokens, head


class ClaudeCodeAgent(CodingCliAgent):
    backend = "claude-code"

    def _common(self, ctx: AgentContext) -> list[str]:
        argv = [self.program, "-p", "--output-format", "stream-json", "--verbose"]
        argv += ["--model", self.model]
        if self.mode:
            argv += ["--permission-mode", self.mode]
        left = ctx.budget_left()
        if left is not None:
            argv += ["--max-budget-usd", f"{max(left, 0):.4f}"]
        argv += ["--mcp-config", str(self.mcp_config_path(ctx))]
        return [*argv, *self.args]

    def fresh_argv(self, ctx: AgentContext) -> list[str]:
        self._process_cost = 0.0
        return self._common(ctx)

    def resume_argv(self, ctx: AgentContext, session: str) -> list[str]:
        self._process_cost = 0.0
        return [*self._common(ctx), "--resume", session]

    def parse(self, event: Mapping[str, Any]) -> Seen:
        return claude_event(event)

    async def account(self, ctx: AgentContext, run: Run, seen: Seen, event: Any) -> None:
        if seen.cost_total is None:
            return
        delta = seen.cost_total - self._process_cost
        tokens = claude_tokens(event.get("usage"))
        if delta <= 0 and not any(tokens.values()):
            return
        self._process_cost = max(seen.cost_total, self._process_cost)
        await ctx.record_usage(self.model, tokens, max(delta, 0.0))

    async def finish(self, ctx: AgentContext, run: Run, stderr: Sequence[str]) -> None:
        result = run.result
        if result is not None and result.result == "error_max_budget_usd":
            await self.block_on_budget(
                ctx, "Claude Code stopped at the run's budget (error_max_budget_usd)."
            )
            return
        if run.code == 0 and result is not None and not result.is_error:
            await ctx.commit(f"{ctx.brief.task_id}: work of {ctx.brief.agent_id}")
            await ctx.complete(head(result.text, 150) or "Claude Code finished")
            return
        if result is not None and result.is_error:
            why = head(self.redact(result.text), 120)
            await self.fail_with(
                ctx, f"Claude Code {result.result or 'error'}" + (f": {why}" if why else ""), stderr
            )
            return
        if run.code == 0:
            await self.fail_with(ctx, "Claude Code exited 0 without a result", stderr)
            return
        await self.fail_with(ctx, self.exit_reason(run, stderr), stderr)


__all__ = ["ClaudeCodeAgent"]
