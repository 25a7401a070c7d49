"""The ``manual`` backend: a person or an outside tool does the work and edits the files."""

from __future__ import annotations

import anyio

from agents.base import AgentContext


class ManualAgent:
    """Holds the task's slot and inbox while someone else works; never writes anything."""

    backend = "manual"  # names the way it reports, in its brief

    async def run(self, ctx: AgentContext) -> None:
        await anyio.sleep_forever()
