"""The ``baton`` command line (``main`` parses, ``commands`` does) and what only it uses:
the status views (``status_view``, ``live_view``, ``inputs``), ``baton init``'s
``scaffold``, the systemd ``units`` and the ``demo``."""

from orchestrator.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
