"""Branch names: our pure check agrees with `git check-ref-format --branch`."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol._refname import branch_name_problem


@pytest.mark.parametrize(
    "name", ["feature/auth-arch", "baton/T1", "a", "fix.v2", "release/2025-12", "é"]
)
def test_good_names(name: str) -> None:
    """Ordinary branch names pass."""
    assert branch_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "is empty"),
        ("-rf", "starts with '-'"),
        ("a..b", "contains '..'"),
        ("a b", "contains ' '"),
        ("a.lock", "has a component ending with '.lock' ('a.lock')"),
        ("x/.hidden", "has a component starting with '.' ('.hidden')"),
        ("a/", "starts or ends with '/'"),
        ("a//b", "contains '//'"),
        ("a.", "ends with '.'"),
        ("a@{1}", "contains '@{'"),
        ("HEAD", "is 'HEAD'"),
        ("a~1", "contains '~'"),
    ],
)
def test_bad_names(name: str, reason: str) -> None:
    """Each of git's rules is reported with a reason."""
    assert branch_name_problem(name) == reason


def git_accepts(name: str) -> bool:
    result = subprocess.run(
        ["git", "check-ref-format", "--branch", name], capture_output=True, text=True
    )
    return result.returncode == 0 and result.stdout.strip() == name and not name.startswith("-")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"ab0/.-@{}~^:?*[\\ ", ".lock", "..", "//", "HEAD", "\t", "é"]),
        min_size=1,
        max_size=6,
    ).map("".join)
)
def test_agrees_with_git(name: str) -> None:
    """On names rich in special characters, we accept exactly what git accepts."""
    assert (branch_name_problem(name) is None) == git_accepts(name)
