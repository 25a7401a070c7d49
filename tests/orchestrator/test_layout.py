"""The package layout holds: no import cycle in orchestrator/ (TYPE_CHECKING imports
included), no module reaches for the Daemon, each package names its public API."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).parents[2] / "orchestrator"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in ROOT.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """The orchestrator modules ``path`` imports, wherever the import statement is."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module in MODULES and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in MODULES else node.module)
    return out


def test_no_import_cycles_in_orchestrator() -> None:
    """The module graph of orchestrator/ is acyclic, counting type-only imports too."""
    graph = {m: _imports(p) - {m} for m, p in MODULES.items()}
    done: set[str] = set()
    stack: list[str] = []

    def visit(m: str) -> None:
        if m in stack:
            cycle = [*stack[stack.index(m) :], m]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if m in done:
            return
        stack.append(m)
        for n in sorted(graph[m]):
            visit(n)
        stack.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)


def test_nothing_but_the_command_line_imports_the_daemon() -> None:
    """Collaborators get services, never the Daemon: only the CLI and demo import it."""
    users = {m for m, p in MODULES.items() if "orchestrator.daemon" in _imports(p)}
    assert users <= {"orchestrator.cli.commands", "orchestrator.cli.demo"}


def test_every_package_names_its_public_api() -> None:
    """Each package's __init__ has an __all__, and every name in it can be imported."""
    for name, path in MODULES.items():
        if path.name != "__init__.py":
            continue
        package = importlib.import_module(name)
        exported = getattr(package, "__all__", None)
        assert exported, f"{name} has no __all__"
        for item in exported:
            assert hasattr(package, item) or f"{name}.{item}" in MODULES, (name, item)


def test_modules_stay_readable_in_one_sitting() -> None:
    """No module of orchestrator/ is much over 400 lines."""
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > 420}
    assert not long
