"""The orchestrator model (SPEC sec. 4, 5): one client, the model the plan header names
(``**Model:** Claude Opus 4``), under the run's budget. It answers Questions sent to the
Orchestrator and decides blockers whose entry recommends nothing. Without an API key it is
absent and those go to a person.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import structlog

from agents.pricing import Price, cost_usd, tokens_of

if TYPE_CHECKING:
    from orchestrator.daemon import Daemon

log = structlog.get_logger()

_MAX_TOKENS = 1024
_SYSTEM = (
    "You are the orchestrator of a multi-agent software plan. Agents ask you questions and "
    "report blockers. Answer with one short, decisive paragraph that an engineer can act on."
)


class OrchestratorModel:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    @staticmethod
    def available() -> bool:
        return bool(os.environ.get("ANTHROPIC_API_KEY"))

    def _model(self) -> tuple[str, Price]:
        config, plan = self.daemon.config, self.daemon.plan
        named = plan.header["Model"].value if plan is not None and "Model" in plan.header else ""
        name = next((n for n in config.models if n.casefold() in named.casefold()), "Opus 4")
        m = config.models.get(name) or next(iter(config.models.values()))
        return m.id, Price(
            m.input_per_mtok, m.output_per_mtok, m.cache_write_per_mtok, m.cache_read_per_mtok
        )

    async def ask(self, question: str) -> str | None:
        """The model's answer, or None (no key, over budget, or the API failed)."""
        if not self.available():
            return None
        model, price = self._model()
        budget = self.daemon.budget()
        worst = cost_usd(
            price, {"input": (len(_SYSTEM) + len(question)) // 3, "output": _MAX_TOKENS}
        )
        if budget is not None and self.daemon.spent + worst > budget:
            log.warning("budget_would_be_exceeded", task_id="orchestrator", worst_case_usd=worst)
            return None
        import anthropic  # loaded with the first call, not with the daemon

        try:
            response = await self.daemon.model_client().messages.create(
                model=model,
                max_tokens=_MAX_TOKENS,
                system=_SYSTEM,
                messages=[{"role": "user", "content": question}],
            )
        except (anthropic.APIError, ValueError) as exc:
            log.error("agent_call_failed", task_id="orchestrator", reason=type(exc).__name__)
            return None
        tokens = tokens_of(response.usage)
        usd = cost_usd(price, tokens)
        journal = self.daemon.journal
        if journal is not None:
            await self.daemon.journaled(journal.add_cost, "orchestrator", model, tokens, usd)
        self.daemon.spent += usd
        log.info(
            "agent_call", task_id="orchestrator", model=model, cost_usd=round(usd, 6), **tokens
        )
        words = " ".join(b.text for b in response.content if b.type == "text").strip()
        return " ".join(words.split()) or None
