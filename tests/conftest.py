"""Fixtures shared by every test package."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from tests.helpers.messages_api import MessagesAPI, serve


def _git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with an argument list and return its stripped stdout."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real repository at ``tmp_path/repo`` with one commit (``README.md``) on ``main``.

    Git runs with an empty global config and no system config, so a developer's hooks,
    signing or default branch cannot change what tests see; the identity is set locally,
    so CI without a global identity works.
    """
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "--quiet")
    _git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    _git(repo, "config", "user.name", "Baton Test")
    _git(repo, "config", "user.email", "baton-test@example.invalid")
    _git(repo, "config", "commit.gpgsign", "false")
    (repo / "README.md").write_text("# test repo\n")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "--quiet", "-m", "initial commit")
    return repo


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Commands under test configure structlog globally; every test starts from defaults."""
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def _no_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own key must never reach a real endpoint from a test: tests that want
    the model API set both variables to the scripted server."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)


@pytest.fixture
def messages_api() -> Iterator[MessagesAPI]:
    """The scripted Messages API on 127.0.0.1 (see tests/helpers/messages_api.py)."""
    yield from serve()
