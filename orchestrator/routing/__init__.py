"""The message log: reading it incrementally and appending (``message_log``), delivering
messages to running agents and the Orchestrator (``router``)."""

__all__ = ["log_check", "message_log", "router"]
