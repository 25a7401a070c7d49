"""The outside world, each behind one module: the plan files (``filestore``, ``text_files``), the
state journal (``journal``, ``async_journal``, ``journal_rebuild``), the run's lock
(``run_lock``), file events (``watcher``), git worktrees (``worktrees``), time
(``clock``), people (``notify_hook``), systemd (``systemd_notify``), the orchestrator's model
(``orchestrator_model``), checklist measurements (``probes``) and logging (``logs``)."""

__all__ = [
    "async_journal",
    "clock",
    "filestore",
    "journal",
    "journal_rebuild",
    "logs",
    "notify_hook",
    "orchestrator_model",
    "probes",
    "run_lock",
    "systemd_notify",
    "text_files",
    "watcher",
    "worktrees",
]
