"""The ``codex`` backend: ``codex exec --json`` (docs/coding-agents.md).

``codex exec --json --model <id> -C <worktree> --sandbox <mode> -`` with the brief on stdin;
``codex exec ... resume <thread> <prompt>`` after a restart. ``turn.completed`` usage is
cumulative over the thread, so each increase is priced with the configured prices and
journaled; the totals already counted are journaled too, so a resumed thread is not
counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.base import AgentContext
from agents.coding_cli import CodingCliAgent, Run
from agents.pricing import Price, cost_usd
from agents.streams import Seen, codex_event, codex_tokens_for_price, head


class CodexAgent(CodingCliAgent):
    backend = "codex"

    def __init__(self, *, price: Price, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.price = price

    def _common(self, ctx: AgentContext) -> list[str]:
        argv = [self.program, "exec", "--json", "--model", self.model]
        argv += ["-C", str(Path(ctx.brief.worktree))]
        if self.mode:
            argv += ["--sandbox", self.mode]
        # Codex takes MCP servers as config overrides, each value TOML (JSON's strings and
        # lists are TOML too); the same server as the per-task file under .baton/ names.
        server = self.mcp_server(ctx)
        env = ", ".join(f"{k} = {json.dumps(v)}" for k, v in server["env"].items())
        argv += ["-c", f"mcp_servers.baton.command={json.dumps(server['command'])}"]
        argv += ["-c", f"mcp_servers.baton.args={json.dumps(server['args'])}"]
        argv += ["-c", f"mcp_servers.baton.env={{{env}}}"]
        return [*argv, *self.args]

    def fresh_argv(self, ctx: AgentContext) -> list[str]:
        return [*self._common(ctx), "-"]

    def resume_argv(self, ctx: AgentContext, session: str) -> list[str]:
        return [*self._common(ctx), "resume", session, self.resume_stdin()]

    def parse(self, event: Mapping[str, Any]) -> Seen:
        return codex_event(event)

    async def account(self, ctx: AgentContext, run: Run, seen: Seen, event: Any) -> None:
        if not seen.usage_total:
            return
        run.turns += 1
        key = f"usage:{run.session}"
        before = json.loads(await ctx.recall(key) or "{}")
        delta = {k: max(v - int(before.get(k, 0)), 0) for k, v in seen.usage_total.items()}
        await ctx.remember(key, json.dumps(dict(seen.usage_total)))
        if not any(delta.values()):
            return
        tokens = codex_tokens_for_price(delta)
        await ctx.record_usage(self.model, tokens, cost_usd(self.price, tokens))

    async def finish(self, ctx: AgentContext, run: Run, stderr: Sequence[str]) -> None:
        if run.code == 0 and not run.error:
            await ctx.commit(f"{ctx.brief.task_id}: work of {ctx.brief.agent_id}")
            await ctx.complete(head(run.said, 150) or "Codex finished")
            return
        await self.fail_with(ctx, self.exit_reason(run, stderr), stderr)


__all__ = ["CodexAgent"]
