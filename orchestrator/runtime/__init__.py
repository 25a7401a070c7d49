"""The run: reading and deciding (``reconciler``), applying actions (``executor``), writing
the plan (``plan_writer``, ``plan_edits``, ``ledger``), running agents (``agent_pool``,
``agent_context``, ``agent_factory``), the orchestrator's own work (``orchestrator_inbox``),
and what they share (``services``, ``reporter``)."""

__all__ = [
    "agent_context",
    "agent_factory",
    "agent_pool",
    "executor",
    "ledger",
    "orchestrator_inbox",
    "plan_edits",
    "plan_writer",
    "reconciler",
    "reporter",
    "services",
]
