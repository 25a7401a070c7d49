"""The daemon and its command line. Subpackages, in the order data passes them:
``adapters`` (files, journal, watcher, worktrees, clock, notifications), ``decisions`` (pure
functions from what is known to actions), ``runtime`` (the loop, the executor, the plan
writer, the agent pool), ``routing`` (the message log) and ``cli``. See
docs/architecture.md."""

__all__ = ["adapters", "cli", "config", "daemon", "decisions", "routing", "runtime"]
