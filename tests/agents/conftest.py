"""Agent backends run inside the real daemon: they use the daemon tests' repository fixture."""

from tests.orchestrator.conftest import plan_repo

__all__ = ["plan_repo"]
