"""The ``scripted`` backend: a small declarative script per task (docs/contract.md sec. 6).

It drives ``baton demo`` and the tests, and lets a user rehearse a plan's waves and timing
with no API spend. Steps (one key each, from ``baton.toml``'s ``[scripts]``)::

    { wait = 0.5 }                                   seconds
    { write = "docs/x.md", content = "..." }         a file in the worktree
    { commit = "message" }
    { send = "text", to = "Orchestrator", type = "Question", await_reply = true }
    { blocker = "description", severity = "High", type = "Decision",
      resolution = "(1) a, (2) b (recommended)", escalation = "No" }   then wait for a Directive
    { complete = "summary", notes = "...", artifacts = ["docs/x.md"],
      references = ["@src/a.py:10"], tests_passed = 12, tests_total = 12,
      lint_errors = 0, docs_updated = true, self_review = true }
    { fail = "reason", output = "what failed" }
    { plan_line = "**Decision:**", line = "**Decision:** JWT" }   a line of the plan
    { tick = ["Code review approved", "..."] }      boxes of the plan, by their text

When a quality gate refuses a ``complete``, the script goes on with the steps after it (the
fix) and, at its end, completes again.

Strings may use ``{task_id}``, ``{agent_id}``, ``{role}`` and ``{attempt}``. A script that
ends without complete or fail completes the task. An agent resumed after a restart runs its
script again from the top, but a message the log shows it sent in this attempt is not sent
again (its reply, if it awaits one, is delivered to it again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.base import GATE_BLOCKED, AgentContext, Blocker, HandoffReport

DEFAULT_SCRIPT: tuple[Mapping[str, Any], ...] = (
    {"write": "work/{task_id}.md", "content": "# {task_id}\n\nDone by {agent_id}.\n"},
    {"commit": "{task_id}: work of {agent_id}"},
    {"complete": "{task_id} finished by script"},
)


class ScriptError(Exception):
    """A step cannot be carried out as written."""


class ScriptedAgent:
    backend = "scripted"  # names the way it reports, in its brief

    def __init__(self, steps: Sequence[Mapping[str, Any]] = DEFAULT_SCRIPT) -> None:
        self.steps = tuple(steps) or DEFAULT_SCRIPT

    async def run(self, ctx: AgentContext) -> None:
        b = ctx.brief
        values = {
            "task_id": b.task_id,
            "agent_id": b.agent_id,
            "role": b.role,
            "attempt": b.attempt,
        }

        def fmt(key: str, step: Mapping[str, Any], default: str = "") -> str:
            return str(step.get(key, default)).format(**values)

        # Resumed after a restart, the script runs again from the top: what it sent before
        # is in the log, and each send step first looks there for its own message.
        sent = list(await ctx.sent_messages()) if any("send" in s for s in self.steps) else []
        for n, step in enumerate(self.steps, 1):
            if "wait" in step:
                await ctx.sleep(float(step["wait"]))
            elif "write" in step:
                await ctx.write_file(fmt("write", step), fmt("content", step))
            elif "commit" in step:
                await ctx.commit(fmt("commit", step))
            elif "send" in step:
                kind, text = fmt("type", step, "Update"), fmt("send", step)
                earlier = next((m for m in sent if (m.type, m.text) == (kind, text)), None)
                if earlier is not None:
                    sent.remove(earlier)  # this step's message, sent before the restart
                else:
                    await ctx.send_message(
                        fmt("to", step, "Orchestrator"),
                        kind,
                        text,
                        priority=step.get("priority"),
                    )
                if step.get("await_reply"):
                    await self._await(ctx, None)
            elif "blocker" in step:
                escalation = fmt("escalation", step, "No")
                await ctx.report_blocker(
                    Blocker(
                        severity=fmt("severity", step, "Medium"),
                        kind=fmt("type", step, "Technical"),
                        description=fmt("blocker", step),
                        resolution=fmt("resolution", step, "A decision from the orchestrator"),
                        escalate=escalation.casefold().startswith("yes"),
                        escalation_note=escalation,
                    )
                )
                await self._await(ctx, "Directive")
            elif "plan_line" in step:
                # Replace the plan line starting with ``plan_line`` by ``line`` (T7's Decision).
                await ctx.write_plan_line(fmt("plan_line", step), fmt("line", step))
            elif "tick" in step:
                # Tick the plan's boxes whose text starts with each of ``tick``.
                for text in step["tick"]:
                    await ctx.write_plan_line(f"- [ ] {text}", f"- [x] {text}")
            elif "complete" in step:
                refused = await ctx.complete(fmt("complete", step), HandoffReport.from_fields(step))
                if not refused:
                    return
                # A quality gate failed: the steps after this one are the fix.
            elif "fail" in step:
                await ctx.fail(fmt("fail", step), output=fmt("output", step))
                return
            else:
                raise ScriptError(f"step {n} of {b.task_id}'s script has no known action: {step}")
        refused = await ctx.complete("script finished")
        while refused and not refused.startswith(GATE_BLOCKED):  # fix rounds are bounded
            refused = await ctx.complete("script finished")
        if refused:  # Blocked by its gates: wait for a person's Resolution
            ctx.pending_messages()  # the gates' Directives of the rounds before
            await self._await(ctx, "Directive")

    async def _await(self, ctx: AgentContext, kind: str | None) -> None:
        # No time limit here: an unanswered question or blocker is the triage SLA's business.
        while True:
            message = await ctx.next_message()
            if kind is None or message.type == kind:
                return
