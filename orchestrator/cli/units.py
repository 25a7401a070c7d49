"""systemd units that run ``baton run`` for one plan directory, and ``baton service install``.

The unit text lives in this module; ``systemd/baton.service`` (system) and
``systemd/baton@.service`` (user template) in the repository are renderings of it, kept in
step by a test. Regenerate them with ``python -m orchestrator.cli.units systemd``.

Installed units are named ``baton-<plan directory name>.service`` and carry absolute paths,
so they need no instance escaping; the ``baton@.service`` template is for people who prefer
``systemctl --user enable --now "baton@$(systemd-escape --path DIR).service"``.
"""

from __future__ import annotations

import os
import re
import shutil
import string
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from orchestrator.config import load_config

__all__ = [
    "Kind",
    "ServiceError",
    "Unit",
    "examples",
    "install",
    "plan_unit",
    "render_unit",
    "run_systemctl",
    "unit_name",
]

Kind = Literal["system", "user"]
Systemctl = Callable[[Sequence[str]], None]
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")

# What both kinds run, and how.
_RUN = """\
Type=notify
NotifyAccess=main
WatchdogSec=30
ExecStart=@BATON@ run --dir @PLAN_DIR@
ExecReload=/bin/kill -HUP $MAINPID
WorkingDirectory=@PLAN_DIR@
Restart=on-failure
RestartSec=5
# SIGTERM goes to the daemon alone, which lets its agents reach a safe point; whatever is
# still running after TimeoutStopSec is killed.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=30
UMask=0027
"""

# Hardening both kinds share, checked with `systemd-analyze security --offline=true`: the
# system unit scores 1.1, the user template 1.5 (lower is better; the tests demand <= 2.5).
_HARDENING = """\
# Writable: the repository, its worktrees and Baton's state. The last two may not exist yet
# ("-" keeps a missing one from failing the start); install creates the worktree parent.
ProtectSystem=strict
ReadWritePaths=@PLAN_DIR@ -@WORKTREE_PARENT@ -@STATE_DIR@
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
PrivateIPC=yes
PrivateUsers=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictSUIDSGID=yes
RestrictNamespaces=yes
RestrictRealtime=yes
# The Anthropic API needs the network; the notify socket needs AF_UNIX.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
LockPersonality=yes
# CPython without its JIT never maps memory writable and executable. An agent command that
# runs a JIT (node, java) under this unit would crash: remove the line for those.
MemoryDenyWriteExecute=yes
RemoveIPC=yes
KeyringMode=private
DevicePolicy=closed
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
"""

_SYSTEM = f"""\
@HEADER@
[Unit]
Description=Baton: run the plan in @PLAN_DIR@
After=network-online.target
Wants=network-online.target

[Service]
{_RUN}User=@USER@
Group=@USER@
# ANTHROPIC_API_KEY=... for the claude backend.
EnvironmentFile=-/etc/baton/baton.env

{_HARDENING}# "read-only" instead of "yes" when the plan or baton lives under /home.
ProtectHome=@PROTECT_HOME@

[Install]
WantedBy=multi-user.target
"""

_USER = f"""\
@HEADER@
[Unit]
Description=Baton: run the plan in @PLAN_DIR@

[Service]
{_RUN}# ANTHROPIC_API_KEY=... for the claude backend.
EnvironmentFile=-%h/.config/baton/baton.env

{_HARDENING}# The plan is usually in $HOME: read-only there, except for ReadWritePaths above.
ProtectHome=read-only

[Install]
WantedBy=default.target
"""

_HEADER = (
    "# Runs `baton run` for one plan; written by `baton service install`"
    " (orchestrator/cli/units.py)."
)
_HOMES = (Path("/home"), Path("/root"), Path("/run/user"))
# Characters that systemd would split on, unquote or expand (specifiers, variables).
_UNSAFE = re.compile(r"""[\s"'\\$%]""")
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + ":_.-")
_ACCOUNT = re.compile(r"[a-z_][a-z0-9_-]*\$?")


class ServiceError(Exception):
    """A unit cannot be rendered or installed; the message is one line."""


@dataclass(frozen=True)
class Unit:
    name: str
    text: str
    worktree_parent: Path


def render_unit(
    kind: Kind,
    plan_dir: Path,
    worktree_parent: Path,
    state_dir: Path,
    baton: Path,
    user: str | None,
) -> str:
    """The unit text for a plan; ``user`` is the account of a system unit (default baton).

    Paths must be absolute and free of characters a unit file would interpret, so that the
    text means exactly the paths given; anything else is a ``ServiceError``.
    """
    if kind == "user" and user is not None:
        raise ValueError("a user unit runs as its owner; pass user=None")
    labels = {
        "PLAN_DIR": (plan_dir, "plan directory"),
        "WORKTREE_PARENT": (worktree_parent, "worktree parent"),
        "STATE_DIR": (state_dir, "state directory"),
        "BATON": (baton, "baton executable"),
    }
    for path, label in labels.values():
        if not path.is_absolute() or _UNSAFE.search(str(path)) or not str(path).isprintable():
            raise ServiceError(
                f"{path}: the {label} must be an absolute path without spaces, quotes, "
                "'\\', '$' or '%' to go in a systemd unit"
            )
    paths = {key: path for key, (path, _) in labels.items()}
    values = {key: str(path) for key, path in paths.items()} | {"HEADER": _HEADER}
    if kind == "user":
        return _fill(_USER, values)
    account = user or "baton"
    if not _ACCOUNT.fullmatch(account):
        raise ServiceError(f"{account!r}: not a user name")
    in_home = any(p.is_relative_to(home) for p in paths.values() for home in _HOMES)
    return _fill(
        _SYSTEM,
        {
            **values,
            "USER": account,
            "PROTECT_HOME": "read-only" if in_home else "yes",
        },
    )


def examples() -> dict[str, str]:
    """The files in the repository's ``systemd/`` directory, by name."""
    system = render_unit(
        "system",
        Path("/srv/baton/plan"),
        Path("/srv/baton/plan-worktrees"),
        Path("/srv/baton/plan/.baton"),
        Path("/usr/local/bin/baton"),
        "baton",
    )
    # %f is the instance name unescaped with "/" put back in front; %I would leave a
    # path-escaped instance relative ("srv/baton/plan"), which WorkingDirectory= rejects.
    template = _fill(
        _USER,
        {
            "HEADER": "# A template: the instance is the plan directory, escaped:\n"
            '#   systemctl --user enable --now "baton@$(systemd-escape --path DIR).service"\n'
            "# (or `baton service install --user --dir DIR`). Put it in ~/.config/systemd/user.",
            "PLAN_DIR": "%f",
            "WORKTREE_PARENT": "%f-worktrees",  # default_parent(): ../<name>-worktrees
            "STATE_DIR": "%f/.baton",
            "BATON": "/usr/local/bin/baton",
        },
    )
    return {"baton.service": system, "baton@.service": template}


def unit_name(plan_dir: Path) -> str:
    """``baton-<dir name>.service``, other bytes escaped as ``\\xNN`` as systemd-escape does."""
    escaped = "".join(
        chr(b) if chr(b) in _NAME_CHARS else f"\\x{b:02x}" for b in plan_dir.name.encode("utf-8")
    )
    return f"baton-{escaped}.service"


def plan_unit(kind: Kind, plan_dir: Path, *, baton: Path | None = None) -> Unit:
    """The unit for a plan directory, with the worktree parent and state dir of its config."""
    plan = plan_dir.resolve()
    if not plan.is_dir():
        raise ServiceError(f"{plan}: not a directory")
    config = load_config(plan)
    parent = config.worktrees_dir
    account = None if kind == "user" else "baton"
    text = render_unit(kind, plan, parent, config.state_dir, baton or _find_baton(), account)
    return Unit(unit_name(plan), text, parent)


def install(
    kind: Kind,
    plan_dir: Path,
    *,
    unit_dir: Path | None = None,
    enable: bool = True,
    baton: Path | None = None,
    systemctl: Systemctl | None = None,
) -> Path:
    """Write the plan's unit and, if ``enable``, reload systemd and ``enable --now`` it.

    System units run as user ``baton``. The worktree parent is created too (owned like the
    plan directory): under the unit's read-only filesystem the daemon could not make it.
    With a ``unit_dir`` other than systemd's own, the unit is enabled by its path, which
    systemctl links into place. Returns that path.
    """
    unit = plan_unit(kind, plan_dir, baton=baton)
    folder = unit_dir or _default_unit_dir(kind)
    path = folder / unit.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(unit.text, encoding="utf-8")
    except OSError as exc:
        hint = " (system units need root; or use --user)" if kind == "system" else ""
        raise ServiceError(f"{path}: cannot write: {exc.strerror}{hint}") from None
    _make_dir_like(unit.worktree_parent, plan_dir.resolve())
    if enable:
        run = systemctl or run_systemctl
        scope = ["--user"] if kind == "user" else []
        run([*scope, "daemon-reload"])
        run([*scope, "enable", "--now", unit.name if unit_dir is None else str(path)])
    return path


def run_systemctl(args: Sequence[str]) -> None:
    """Run ``systemctl ARGS`` (an argument list, never a shell); failure is a ServiceError."""
    try:
        subprocess.run(["systemctl", *args], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise ServiceError("systemctl not found (--no-enable writes the unit only)") from None
    except subprocess.CalledProcessError as exc:
        lines = exc.stderr.strip().splitlines()
        reason = lines[-1] if lines else f"exit status {exc.returncode}"
        raise ServiceError(f"systemctl {' '.join(args)}: {reason}") from None


def _fill(template: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        template = template.replace(f"@{key}@", value)
    return template


def _default_unit_dir(kind: Kind) -> Path:
    if kind == "system":
        return SYSTEM_UNIT_DIR
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def _find_baton() -> Path:
    """The ``baton`` script beside this interpreter (a venv's bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "baton"
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which("baton")
    if found is None:
        raise ServiceError("cannot find the baton executable beside python or on PATH")
    return Path(found).absolute()


def _make_dir_like(path: Path, model: Path) -> None:
    """Create ``path`` if missing, owned like ``model`` (root installing for the baton user)."""
    if path.exists():
        return
    try:
        path.mkdir(parents=True)
        if os.geteuid() == 0:
            owner = model.stat()
            os.chown(path, owner.st_uid, owner.st_gid)
    except OSError as exc:
        raise ServiceError(f"{path}: cannot create the worktree parent: {exc.strerror}") from None


if __name__ == "__main__":  # pragma: no cover - regenerates the repository's examples
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "systemd")
    for name, text in examples().items():
        (out / name).write_text(text, encoding="utf-8")
