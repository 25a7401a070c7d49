"""baton init (a new plan directory) and baton graph --write (the graph into the plan)."""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.cli.scaffold import CONFIG_TEXT, PLACEHOLDER_ROW, new_plan_text, template_text
from orchestrator.config import _TOP_KEYS, DEFAULT_MODELS, Config, load_config
from protocol import NEW_MESSAGES_FILE, check_plan, parse_plan

FIXTURES = Path(__file__).parent.parent / "fixtures"
TEMPLATE = FIXTURES / "plans" / "template.md"
PLAN, MESSAGES, CONFIG = "MULTI_AGENT_PLAN.md", "INTER_AGENT_MESSAGES.md", "baton.toml"


def uncomment(text: str) -> str:
    """Turn every setting on: '#key = value' and '#[table]' lose their '#'; '# prose' stays."""
    return re.sub(r"(?m)^#(?=[^\s#])", "", text)


# -- baton init --------------------------------------------------------------------------


def test_init_writes_all_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """init writes the plan, the message log, baton.toml and .gitignore, and says so."""
    assert main(["init", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {tmp_path / name}" for name in (PLAN, MESSAGES, CONFIG, ".gitignore")
    ]
    assert (tmp_path / MESSAGES).read_text(encoding="utf-8") == NEW_MESSAGES_FILE
    assert (tmp_path / CONFIG).read_text(encoding="utf-8") == CONFIG_TEXT
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == ".baton/\n"


def test_init_plan_passes_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The written plan and message log pass baton validate."""
    assert main(["init", "--dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["validate", "--dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert str(tmp_path / PLAN) in captured.out


def test_init_plan_header_and_tables(tmp_path: Path) -> None:
    """The plan is dated now, Planning, with one row to fill in and an empty execution log."""
    before = datetime.now().replace(second=0, microsecond=0)
    assert main(["init", "--dir", str(tmp_path)]) == 0
    text = (tmp_path / PLAN).read_text(encoding="utf-8")
    plan = parse_plan(text)
    created = plan.header["Created"].value
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", created)
    assert before <= datetime.strptime(created, "%Y-%m-%d %H:%M") <= datetime.now()
    assert plan.header["Status"].value == "Planning"
    assert [(t.id, t.status, t.group, t.dependencies) for t in plan.tasks] == [
        ("T1", "Not Started", "A", ())
    ]
    assert (plan.tasks[0].worktree, plan.tasks[0].branch) == ("t1", "baton/T1")  # defaults
    assert plan.log == ()
    assert plan.log_table is not None
    assert plan.log_table.header[:2] == ("Task ID", "Agent ID")
    assert check_plan(plan) == ()


def test_new_plan_text_changes_only_what_it_must() -> None:
    """Against the template, only the two header values and the two tables' rows change."""
    template = template_text()
    text = new_plan_text(template, datetime(2025, 1, 2, 3, 4))
    matrix = template.index("| T1 | Design auth")
    log = template.index("| T1 | architect-001")
    expected = (
        template[:matrix]
        + PLACEHOLDER_ROW
        + "\n"
        + template[template.index("\n\n**Skills Column Format:**") + 1 : log]
        + template[template.index("\n\n---\n\n## Integration Summary") + 1 :]
    )
    expected = expected.replace("**Created:** [YYYY-MM-DD HH:MM]", "**Created:** 2025-01-02 03:04")
    expected = expected.replace(
        "**Status:** [Planning / In Progress / Integration / Completed]", "**Status:** Planning"
    )
    assert text == expected


def test_init_creates_a_missing_directory(tmp_path: Path) -> None:
    """init --dir into a directory that does not exist yet creates it."""
    target = tmp_path / "new" / "project"
    assert main(["init", "--dir", str(target)]) == 0
    assert (target / PLAN).is_file()


@pytest.mark.parametrize(
    "existing", [(PLAN,), (MESSAGES,), (CONFIG,), (PLAN, CONFIG), (PLAN, MESSAGES, CONFIG)]
)
def test_init_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], existing: tuple[str, ...]
) -> None:
    """Any of the three files present: one line per file, exit 1, nothing written."""
    for name in existing:
        (tmp_path / name).write_text(f"mine: {name}\n", encoding="utf-8")
    assert main(["init", "--dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"baton: {tmp_path / name} exists; not overwriting"
        for name in (PLAN, MESSAGES, CONFIG)
        if name in existing
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(existing)
    for name in existing:
        assert (tmp_path / name).read_text(encoding="utf-8") == f"mine: {name}\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("node_modules/\n", "node_modules/\n.baton/\n"),
        ("node_modules/", "node_modules/\n.baton/\n"),
        ("", ".baton/\n"),
        ("*.pyc\n.baton/\nbuild/\n", "*.pyc\n.baton/\nbuild/\n"),
        ("/.baton\n", "/.baton\n"),
        ("x\r\n  .baton/  \r\n", "x\r\n  .baton/  \r\n"),
    ],
)
def test_init_adds_state_dir_to_gitignore_once(tmp_path: Path, before: str, after: str) -> None:
    """.baton/ is appended to an existing .gitignore unless already there, never twice."""
    (tmp_path / ".gitignore").write_bytes(before.encode())
    assert main(["init", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / ".gitignore").read_bytes() == after.encode()


def test_init_into_a_file_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dir naming a file is a one-line error and exit 1."""
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    assert main(["init", "--dir", str(target)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"baton: {target}")


# -- the generated baton.toml ------------------------------------------------------------


def test_generated_config_loads_as_the_defaults(tmp_path: Path) -> None:
    """The written baton.toml, all commented out, gives exactly the defaults."""
    assert main(["init", "--dir", str(tmp_path)]) == 0
    with_file = load_config(tmp_path, environ={})
    (tmp_path / CONFIG).unlink()
    assert with_file == load_config(tmp_path, environ={})
    assert tomllib.loads(CONFIG_TEXT) == {}


def test_generated_config_names_every_key() -> None:
    """Every top-level key load_config accepts appears, commented out, with an explanation."""
    lines = CONFIG_TEXT.splitlines()
    for key in _TOP_KEYS:
        pattern = re.compile(rf"#(?:{key} = |\[{key}[.\]])")
        n = next(i for i, line in enumerate(lines) if pattern.match(line))
        # Above it, past other settings of its group, stands the prose that explains it.
        while re.match(r"#\S", lines[n]):
            n -= 1
        assert lines[n].startswith("# "), key
    for line in CONFIG_TEXT.splitlines():
        assert line == "" or line.startswith("#"), line
        assert not line.startswith("#\t"), line


def test_uncommented_config_loads(tmp_path: Path) -> None:
    """Every commented setting is valid TOML once uncommented, and loads."""
    text = uncomment(CONFIG_TEXT)
    assert set(tomllib.loads(text)) == _TOP_KEYS
    (tmp_path / CONFIG).write_text(text, encoding="utf-8")
    cfg = load_config(tmp_path, environ={})
    assert cfg.source == tmp_path / CONFIG
    assert cfg.default_backend == "claude"
    assert cfg.role_backends == {"Scribe": "manual"}
    assert cfg.task_backends == {"T1": "manual"}
    assert cfg.notify_command == ("notify-send", "Baton")
    assert cfg.command
    assert cfg.orchestrator_answer
    assert [next(iter(step)) for step in cfg.script_for("T9")] == [
        "wait",
        "write",
        "commit",
        "complete",
    ]
    assert cfg.max_agents == 4
    assert cfg.budget_usd == 5.0
    assert cfg.base_branch == "main"


def test_uncommented_values_are_the_defaults(tmp_path: Path) -> None:
    """Where a key has a fixed default, the commented value is that default."""
    (tmp_path / CONFIG).write_text(uncomment(CONFIG_TEXT), encoding="utf-8")
    cfg = load_config(tmp_path, environ={})
    defaults = Config(plan_dir=cfg.plan_dir)
    for name in (
        "plan_file",
        "messages_file",
        "triage_sla_minutes",
        "triage_reminder_minutes",
        "debounce_ms",
        "reconcile_seconds",
        "max_turns",
        "max_tokens",
        "command_timeout_seconds",
        "max_plan_mb",
    ):
        assert getattr(cfg, name) == getattr(defaults, name), name
    sonnet, builtin = cfg.models["Sonnet 4"], DEFAULT_MODELS["Sonnet 4"]
    assert sonnet.id == builtin["id"]
    assert sonnet.input_per_mtok == builtin["input_per_mtok"]
    assert sonnet.output_per_mtok == builtin["output_per_mtok"]
    (tmp_path / CONFIG).unlink()
    plain = load_config(tmp_path, environ={}).models["Sonnet 4"]
    assert replace(sonnet, cache_read_per_mtok=0.0) == replace(plain, cache_read_per_mtok=0.0)
    assert sonnet.cache_read_per_mtok == pytest.approx(plain.cache_read_per_mtok)


# -- baton graph --write ------------------------------------------------------------------


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    shutil.copy(TEMPLATE, tmp_path / PLAN)
    return tmp_path


def test_graph_write_puts_mermaid_under_the_label(
    template_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """graph --write adds the mermaid chart under **Dependency Graph:**, nothing else."""
    plan = template_dir / PLAN
    old = plan.read_text(encoding="utf-8")
    assert main(["graph", "--write", "--dir", str(template_dir)]) == 0
    assert capsys.readouterr().out == f"wrote the dependency graph into {plan}\n"
    new = plan.read_text(encoding="utf-8")
    assert main(["graph", "--format", "mermaid", "--dir", str(template_dir)]) == 0
    chart = capsys.readouterr().out
    label = "**Dependency Graph:**\n"
    at = old.index(label) + len(label)
    assert new == old[:at] + "\n```mermaid\n" + chart + "```\n\n" + old[at:]


def test_graph_write_twice_is_a_no_op(
    template_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second graph --write leaves the file byte for byte and says it is up to date."""
    plan = template_dir / PLAN
    assert main(["graph", "--write", "--dir", str(template_dir)]) == 0
    once = plan.read_bytes()
    capsys.readouterr()
    assert main(["graph", "--write", "--dir", str(template_dir)]) == 0
    assert plan.read_bytes() == once
    assert capsys.readouterr().out == f"{plan}: the dependency graph is up to date\n"


def test_graph_write_follows_status_changes(template_dir: Path) -> None:
    """After a status change, --write replaces the chart in place and the plan still reads."""
    plan = template_dir / PLAN
    assert main(["graph", "--write", "--dir", str(template_dir)]) == 0
    text = plan.read_text(encoding="utf-8")
    text = text.replace("| A | Not Started | - | 1h |", "| A | Completed | - | 1h |")
    plan.write_text(text, encoding="utf-8")
    assert main(["graph", "--write", "--dir", str(template_dir)]) == 0
    new = plan.read_text(encoding="utf-8")
    assert new.count("```mermaid") == 1
    assert "class t_T1 completed" in new
    assert check_plan(parse_plan(new)) == ()


def test_graph_write_on_an_initialised_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """init, then graph --write: the plan still validates."""
    assert main(["init", "--dir", str(tmp_path)]) == 0
    assert main(["graph", "--write", "--dir", str(tmp_path)]) == 0
    assert '    t_T1["T1: Describe the first task"]' in (tmp_path / PLAN).read_text("utf-8")
    capsys.readouterr()
    assert main(["validate", "--dir", str(tmp_path)]) == 0


def test_graph_write_refuses_an_invalid_plan(
    template_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid plan is reported with its lines and left untouched; exit 1."""
    plan = template_dir / PLAN
    text = plan.read_text(encoding="utf-8").replace("| T5, T6 | 1.5h |", "| T5, T9 | 1.5h |")
    plan.write_text(text, encoding="utf-8")
    assert main(["graph", "--write", "--dir", str(template_dir)]) == 1
    assert plan.read_text(encoding="utf-8") == text
    assert capsys.readouterr().err.splitlines() == [f"{plan}:92: dependency T9 of T7 is not a task"]


def test_graph_write_adds_a_section_when_there_is_no_anchor(template_dir: Path) -> None:
    """Without a Dependency Graph heading or label, a section goes before Execution Timeline."""
    plan = template_dir / PLAN
    text = plan.read_text(encoding="utf-8").replace("**Dependency Graph:**", "**Graph:**")
    plan.write_text(text, encoding="utf-8")
    assert main(["graph", "--write", "--dir", str(template_dir)]) == 0
    new = plan.read_text(encoding="utf-8")
    section = new.index("## Dependency Graph\n\n```mermaid\n")
    assert section < new.index("## Execution Timeline") < section + 2000
    assert new[section:].split("```\n\n", 1)[1].startswith("## Execution Timeline")


def test_graph_write_keeps_crlf_and_mode(template_dir: Path) -> None:
    """A CRLF plan stays CRLF throughout, and the file keeps its mode."""
    plan = template_dir / PLAN
    plan.write_bytes(plan.read_bytes().replace(b"\n", b"\r\n"))
    plan.chmod(0o640)
    assert main(["graph", "--write", "--dir", str(template_dir)]) == 0
    data = plan.read_bytes()
    assert b"```mermaid\r\nflowchart TD\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert plan.stat().st_mode & 0o777 == 0o640
