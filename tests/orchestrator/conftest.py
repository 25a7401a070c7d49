"""Fixtures for daemon tests: a real git repository holding a plan, and a running daemon."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
import watchfiles

from orchestrator.config import Config, load_config
from orchestrator.daemon import Daemon

TEMPLATE = (Path(__file__).parent.parent / "fixtures" / "plans" / "template.md").read_text(
    encoding="utf-8"
)
FAST_SCRIPT = """
[scripts.default]
steps = [
  { write = "work/{task_id}.md", content = "{task_id} by {agent_id}\\n" },
  { commit = "{task_id}: work" },
  { complete = "{task_id} done" },
]
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def new_plan_repo(parent: Path) -> Path:
    """``parent``/repo: a git repository on branch main with the template plan committed."""
    return commit_plan(parent, TEMPLATE.encode("utf-8"))


def commit_plan(tmp_path: Path, plan: bytes) -> Path:
    """A git repository ``tmp_path/repo`` on branch main with ``plan`` committed."""
    repo = tmp_path / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@baton.invalid")
    (repo / "MULTI_AGENT_PLAN.md").write_bytes(plan)
    (repo / ".gitignore").write_text(".baton/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "plan")
    return repo


@pytest.fixture
def plan_repo(tmp_path: Path) -> Path:
    """A git repository on branch main with the template plan committed."""
    return commit_plan(tmp_path, TEMPLATE.encode("utf-8"))


@dataclass
class Recorder:
    """Collects the daemon's progress events and lets a test wait for one."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _changed: anyio.Event = field(default_factory=anyio.Event)

    def __call__(self, event: str, fields: Mapping[str, Any]) -> None:
        self.events.append((event, dict(fields)))
        self._changed.set()
        self._changed = anyio.Event()

    def poke(self) -> None:
        """Wake waiters without an event: something they check outside the daemon changed."""
        self._changed.set()
        self._changed = anyio.Event()

    def seen(self, event: str, **match: Any) -> bool:
        return any(
            e == event and all(f.get(k) == v for k, v in match.items()) for e, f in self.events
        )

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 20) -> None:
        with anyio.fail_after(seconds):
            while not predicate():
                await self._changed.wait()

    def order(self, event: str) -> list[str]:
        return [f["task_id"] for e, f in self.events if e == event]


def make_config(repo: Path, toml: str = "", agents: str | None = None) -> Config:
    if toml:
        (repo / "baton.toml").write_text(toml, encoding="utf-8")
    return load_config(repo, environ={}, agents_override=agents)


@asynccontextmanager
async def watching(directory: Path, rec: Recorder) -> AsyncIterator[None]:
    """Poke ``rec`` on every change under ``directory``, so waits can check files."""
    stop = anyio.Event()

    async def poke() -> None:
        async for _ in watchfiles.awatch(directory, step=10, stop_event=stop):
            rec.poke()

    async with anyio.create_task_group() as tg:
        tg.start_soon(poke)
        try:
            yield
        finally:
            stop.set()


@asynccontextmanager
async def running_daemon(
    config: Config, recorder: Recorder, **kwargs: Any
) -> AsyncIterator[Daemon]:
    daemon = Daemon(config, progress=recorder, **kwargs)
    async with anyio.create_task_group() as tg:
        await tg.start(daemon.run)
        try:
            yield daemon
        finally:
            daemon.stop()


DECISION_PLACEHOLDER = "**Decision:** [OAuth 2.0 / JWT / Session-based]"


def decide_jwt(text: str) -> str:
    """The template's plan with JWT as the Selected Approach and every box ticked, as the
    people at Integration would leave it."""
    return text.replace(DECISION_PLACEHOLDER, "**Decision:** JWT").replace("- [ ] ", "- [x] ")
