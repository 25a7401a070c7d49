"""The ``baton`` command line and what only it uses: the status views, ``baton init``'s
scaffold, the systemd units and the demo."""

from orchestrator.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
