"""The outside world, each behind one module: the plan files (``filestore``), the state
journal (``journal``), file events (``watcher``), git worktrees (``worktrees``), time
(``clock``), people (``notify_hook``), systemd (``systemd_notify``), the orchestrator's model
(``orchestrator_model``), checklist measurements (``probes``) and logging (``logs``)."""

__all__ = [
    "clock",
    "filestore",
    "journal",
    "logs",
    "notify_hook",
    "orchestrator_model",
    "probes",
    "systemd_notify",
    "watcher",
    "worktrees",
]
