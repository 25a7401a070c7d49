"""protocol/ stays pure: text in, values out — no I/O, clocks, concurrency or logging."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROTOCOL = Path(__file__).parent.parent / "protocol"
FORBIDDEN = {
    "anyio",
    "asyncio",
    "git",
    "io",
    "logging",
    "os",
    "pathlib",
    "posixpath",
    "shutil",
    "socket",
    "sqlite3",
    "structlog",
    "subprocess",
    "threading",
    "time",
    "watchfiles",
}


def imported_roots(source: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("module", sorted(PROTOCOL.glob("*.py")), ids=lambda p: p.name)
def test_protocol_module_imports_nothing_impure(module: Path) -> None:
    """No protocol module imports anyio, asyncio, os, pathlib, structlog or any other I/O."""
    assert imported_roots(module.read_text(encoding="utf-8")) & FORBIDDEN == set()


def test_the_check_itself_catches_an_import() -> None:
    """The checker sees `import os` and `from pathlib import Path`."""
    assert imported_roots("import os\nfrom pathlib import Path\n") == {"os", "pathlib"}
