"""Git branch names, checked in pure code as ``git check-ref-format --branch`` does.

The rules are git's (refs.c, ``check_refname_component``), plus one of ours: a name may not
start with ``-``, so it can never be read as an option.
"""

from __future__ import annotations

import functools

_FORBIDDEN = set(" ~^:?*[\\\x7f")


@functools.lru_cache(maxsize=1 << 16)  # pure; asked for every task on every check
def branch_name_problem(name: str) -> str | None:
    """None when ``name`` is a valid branch name, else a short reason."""
    if not name:
        return "is empty"
    if name.startswith("-"):
        return "starts with '-'"
    if name == "HEAD":
        return "is 'HEAD'"
    for ch in name:
        if ord(ch) < 0x20 or ch in _FORBIDDEN:
            shown = repr(ch)[1:-1]
            return f"contains {shown!r}"
    if "@{" in name:
        return "contains '@{'"
    if ".." in name:
        return "contains '..'"
    if name.startswith("/") or name.endswith("/"):
        return "starts or ends with '/'"
    if "//" in name:
        return "contains '//'"
    if name.endswith("."):
        return "ends with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return f"has a component starting with '.' ({part!r})"
        if part.endswith(".lock"):
            return f"has a component ending with '.lock' ({part!r})"
    return None
