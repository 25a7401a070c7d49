"""The exit codes of every ``baton`` command: 0 success, 1 the plan (or another input) is
invalid or missing, 2 usage."""

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE"]
