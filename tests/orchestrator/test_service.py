"""systemd units and `baton service install`.

The systemd-analyze tests fail, never skip, when the binary is missing: .ci/run installs
Debian's systemd package for them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.cli import units as service

SYSTEMD_DIR = Path(__file__).parent.parent.parent / "systemd"
BATON = Path(sys.executable)  # a real executable, so that verify accepts ExecStart


def settings(text: str) -> dict[str, list[str]]:
    """Every Key=value of a unit file, values in order of appearance."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def analyze(*args: str, runtime: Path) -> subprocess.CompletedProcess[str]:
    """Run systemd-analyze; XDG_RUNTIME_DIR lets --user work without a user manager."""
    assert shutil.which("systemd-analyze"), "systemd-analyze missing: apt-get install systemd"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_COLORS": "0"}
    return subprocess.run(
        ["systemd-analyze", "--no-pager", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan"
    path.mkdir()
    return path


def test_install_user_unit_points_at_the_plan(
    plan: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """install --user --no-enable writes a unit that runs, and may write, only the plan's paths."""
    units = tmp_path / "units"
    argv = ["service", "install", "--user", "--dir", str(plan), "--unit-dir", str(units)]
    assert main([*argv, "--no-enable"]) == 0
    unit = units / "baton-plan.service"
    assert capsys.readouterr().out == f"wrote {unit}\n"
    found = settings(unit.read_text(encoding="utf-8"))
    [exec_start] = found["ExecStart"]
    assert exec_start.endswith(f" run --dir {plan}")
    assert Path(exec_start.split()[0]).is_absolute()
    assert found["WorkingDirectory"] == [str(plan)]
    assert found["ReadWritePaths"] == [f"{plan} -{tmp_path / 'plan-worktrees'} -{plan / '.baton'}"]
    assert found["ProtectHome"] == ["read-only"]
    assert "User" not in found
    assert (tmp_path / "plan-worktrees").is_dir()


def test_install_honours_configured_worktree_parent(plan: Path, tmp_path: Path) -> None:
    """A worktree_parent set in baton.toml is the one the unit may write and install creates."""
    (plan / "baton.toml").write_text('worktree_parent = "../trees"\n', encoding="utf-8")
    path = service.install("user", plan, unit_dir=tmp_path / "units", enable=False, baton=BATON)
    [rw] = settings(path.read_text(encoding="utf-8"))["ReadWritePaths"]
    assert f"-{tmp_path / 'trees'}" in rw.split()
    assert (tmp_path / "trees").is_dir()


@pytest.mark.parametrize(
    ("kind", "unit_dir", "expected"),
    [
        ("user", True, [["--user", "daemon-reload"], ["--user", "enable", "--now", "PATH"]]),
        ("system", False, [["daemon-reload"], ["enable", "--now", "baton-plan.service"]]),
    ],
)
def test_install_enables_through_systemctl(
    plan: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: service.Kind,
    unit_dir: bool,
    expected: list[list[str]],
) -> None:
    """Enabling reloads systemd, then enables --now by name, or by path from a custom dir."""
    monkeypatch.setattr(service, "SYSTEM_UNIT_DIR", tmp_path / "etc")
    calls: list[list[str]] = []

    def systemctl(args: Sequence[str]) -> None:
        calls.append(list(args))

    path = service.install(
        kind,
        plan,
        unit_dir=tmp_path / "units" if unit_dir else None,
        baton=BATON,
        systemctl=systemctl,
    )
    assert calls == [[str(path) if a == "PATH" else a for a in call] for call in expected]


def test_print_writes_nothing(
    plan: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--print shows the system unit (User=baton) and neither writes it nor makes worktrees."""
    units = tmp_path / "units"
    argv = ["service", "install", "--dir", str(plan), "--unit-dir", str(units), "--print"]
    assert main(argv) == 0
    found = settings(capsys.readouterr().out)
    assert found["User"] == ["baton"]
    assert found["WorkingDirectory"] == [str(plan)]
    assert not units.exists()
    assert not (tmp_path / "plan-worktrees").exists()


@pytest.mark.parametrize("name", ["my plan", "100%", "a$b", 'q"uote'])
def test_unsafe_plan_path_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """A path systemd would split, unquote or expand is refused with exit 1, nothing written."""
    plan = tmp_path / name
    plan.mkdir()
    units = tmp_path / "units"
    argv = ["service", "install", "--user", "--dir", str(plan), "--unit-dir", str(units)]
    assert main([*argv, "--no-enable"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"baton: {plan}: the plan directory must be an absolute path")
    assert not units.exists()


def test_missing_plan_dir_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """install for a directory that does not exist exits 1 with one line."""
    assert main(["service", "install", "--dir", str(tmp_path / "nope"), "--print"]) == 1
    assert capsys.readouterr().err == f"baton: {tmp_path / 'nope'}: not a directory\n"


def test_service_needs_an_action(capsys: pytest.CaptureFixture[str]) -> None:
    """`baton service` alone is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["service"])
    assert exit_info.value.code == 2


def test_system_unit_relaxes_protect_home_only_for_home_paths() -> None:
    """ProtectHome=yes unless a path the unit needs lies under /home, /root or /run/user."""

    def protect_home(plan: str) -> list[str]:
        text = service.render_unit(
            "system", Path(plan), Path(f"{plan}-wt"), Path(f"{plan}/.baton"), BATON, None
        )
        return settings(text)["ProtectHome"]

    assert protect_home("/srv/p") == ["yes"]
    assert protect_home("/home/me/p") == ["read-only"]


def test_unit_name_escapes_like_systemd() -> None:
    """Bytes outside systemd's unit-name alphabet become \\xNN."""
    assert service.unit_name(Path("/srv/my-plan_1.x")) == "baton-my-plan_1.x.service"
    assert service.unit_name(Path("/srv/plän+")) == "baton-pl\\xc3\\xa4n\\x2b.service"


def test_repository_examples_are_renderings() -> None:
    """systemd/*.service are what the module renders (python -m orchestrator.cli.units systemd)."""
    for name, text in service.examples().items():
        assert (SYSTEMD_DIR / name).read_text(encoding="utf-8") == text, name


@pytest.mark.parametrize("kind", ["system", "user"])
def test_rendered_units_verify(plan: Path, tmp_path: Path, kind: service.Kind) -> None:
    """systemd-analyze verify accepts the installed unit of either kind."""
    units = tmp_path / "units"
    path = service.install(kind, plan, unit_dir=units, enable=False, baton=BATON)
    scope = ["--user"] if kind == "user" else []
    result = analyze(*scope, "verify", "--man=no", str(path), runtime=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_user_template_verifies_with_a_path_instance(tmp_path: Path) -> None:
    """baton@.service, instantiated with an escaped path, has an absolute WorkingDirectory."""
    text = service.examples()["baton@.service"].replace("/usr/local/bin/baton", str(BATON))
    instance = tmp_path / "baton@srv-baton-plan.service"
    instance.write_text(text, encoding="utf-8")
    result = analyze("--user", "verify", "--man=no", str(instance), runtime=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("name", "copy_as", "scope"),
    [
        ("baton.service", "baton.service", []),
        ("baton@.service", "baton@srv-baton-plan.service", ["--user"]),
    ],
)
def test_exposure_is_low(tmp_path: Path, name: str, copy_as: str, scope: list[str]) -> None:
    """systemd-analyze security rates both repository units at 2.5 or lower."""
    unit = tmp_path / copy_as
    shutil.copy(SYSTEMD_DIR / name, unit)
    result = analyze(*scope, "security", "--offline=true", str(unit), runtime=tmp_path)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.5, result.stdout
