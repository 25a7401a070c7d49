"""The docs cannot drift: every ``baton …`` command line in README.md and docs/ must parse
with the real command-line parser (its subcommand and every flag exist, values are valid),
every config key the user guide's table names is one ``baton.toml`` accepts, and every
``path.py:name`` they mention is a file defining that name."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest

from orchestrator.cli import build_parser
from orchestrator.config import _TOP_KEYS

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Metavariables the docs use in place of real values.
PLACEHOLDERS = {
    "D": ".",
    "P": "/tmp/units",
    "F": "baton.toml",
    "DIR": "/tmp/demo",
    "BACKEND": "scripted",
    "A": "person",
    "B": "All",
    "T": "Update",
    "T1": "T1",
    "P…": "High",
    "TS": "2026-01-01T00:00:00Z",
    "TEXT": "hello",
}
_INLINE = re.compile(r"`(baton [^`]+)`")


def command_lines() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        in_fence = False
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                in_fence = not in_fence
                continue
            where = f"{doc.relative_to(ROOT)}:{n}"
            if in_fence and line.strip().startswith("baton "):
                found.append((where, line.strip()))
            elif not in_fence:
                found.extend((where, m.group(1)) for m in _INLINE.finditer(line))
    return found


@pytest.mark.parametrize(("where", "line"), command_lines(), ids=lambda v: str(v)[:60])
def test_documented_command_parses(where: str, line: str) -> None:
    line = line.replace("\\|", "|")
    tokens = shlex.split(line.split(" #")[0])[1:]
    # `a|b` and `a | b` are alternatives: the first one stands for both.
    tokens = [t for i, t in enumerate(tokens) if t != "|" and (i == 0 or tokens[i - 1] != "|")]
    words = [w.split("|")[0] for w in tokens]
    words = [PLACEHOLDERS.get(w.strip("[]"), w) for w in words]
    words = [w for w in words if w not in ("[", "]", "...", "…")]
    words = [w.strip("[]") for w in words if w.strip("[]")]
    try:
        build_parser().parse_args(words)
    except SystemExit as exc:
        if exc.code != 0:
            pytest.fail(f"{where}: `{line}` does not parse")


def test_there_are_documented_commands() -> None:
    assert len(command_lines()) >= 10


def test_configuration_table_names_only_real_keys() -> None:
    guide = (ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8")
    table = guide.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    keys = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            first = row.split("|")[1]
            for token in re.findall(r"`([^`]+)`", first):
                m = re.match(r"\[?([a-z_]+)", token)  # `[scripts.x]`, `models.<n>.id` ...
                if m:
                    keys.add(m.group(1))
    unknown = {k for k in keys if k not in _TOP_KEYS and not k.startswith("scripts")}
    assert not unknown, f"the user guide documents keys baton.toml does not accept: {unknown}"


_REFERENCE = re.compile(r"`?((?:[\w.-]+/)*[\w-]+\.py):([A-Za-z_][\w.]*)")


def code_references() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{doc.relative_to(ROOT)}:{n}"
            found.extend((where, m.group(1), m.group(2)) for m in _REFERENCE.finditer(line))
    return found


def _defined(path: Path, dotted: str) -> bool:
    """Whether ``dotted`` (``name`` or ``Class.method``) is defined in ``path``."""
    scope: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for part in dotted.split("."):
        found = None
        for node in scope:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if node.name == part:
                    found = node
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
                if part in names:
                    found = node
        if found is None:
            return False
        scope = found.body if isinstance(found, ast.ClassDef) else []
    return True


@pytest.mark.parametrize(("where", "path", "name"), code_references(), ids=lambda v: str(v)[:60])
def test_documented_code_exists(where: str, path: str, name: str) -> None:
    """Every ``path.py:name`` the docs mention is a file of the repository defining it."""
    target = ROOT / path
    assert target.is_file(), f"{where}: {path} does not exist"
    assert _defined(target, name), f"{where}: {path} defines no {name}"


def test_docs_reference_code() -> None:
    """The architecture page points into the code (so the check above has work to do)."""
    assert sum(w.startswith("docs/architecture.md") for w, _, _ in code_references()) >= 5


def _guide_section(title: str) -> str:
    guide = (ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8")
    return guide.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_the_alias_and_synonym_tables_are_the_reader_s() -> None:
    """Every header alias and status spelling Baton reads is in the user guide, and the
    guide lists none it does not read."""
    from protocol._matrix import ALIASES
    from protocol._status import EMOJI, SYNONYMS

    section = _guide_section("Plans as people write them")
    rows = {
        cells[1].strip("` "): cells[2:]
        for line in section.splitlines()
        if line.startswith("| `") and len(cells := line.split("|")) > 3
    }
    for column, names in ALIASES.items():
        written = re.findall(r"`([^`]+)`", rows[column][0])
        assert written[: len(names) - 1] == list(names[1:]), column
    for status, words in SYNONYMS.items():
        assert re.findall(r"`([^`]+)`", rows[status][0]) == list(words[1:]), status
        assert rows[status][1].split() == [e for e, s in EMOJI.items() if s == status]
