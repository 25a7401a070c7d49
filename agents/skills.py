"""Skills: ``skills/<name>/SKILL.md`` under the plan directory, with front matter
``name``, ``description`` and ``version`` (docs/contract.md sec. 6).

A task's skills load in the order the task lists them. A missing skill, a file without the
front matter, or a version other than the plan's pin stops the task before it starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SkillError(Exception):
    """A skill cannot be used as the plan asks; the message says which and why."""


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    version: str
    body: str
    path: Path


def load_skill(root: Path, name: str, pinned: str | None) -> Skill:
    if not _NAME.match(name):
        raise SkillError(f"skill name {name!r} is not a plain folder name")
    path = root / name / "SKILL.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SkillError(f"skill {name} is missing: no {path}") from None
    match = _FRONT.match(text)
    if match is None:
        raise SkillError(f"{path}:1: no front matter (--- name, description, version ---)")
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().casefold()] = value.strip().strip("\"'")
    for key in ("name", "description", "version"):
        if not fields.get(key):
            raise SkillError(f"{path}: front matter has no {key}")
    if pinned is not None and fields["version"] != pinned:
        raise SkillError(
            f"skill {name} is version {fields['version']} but the plan pins {pinned} ({path})"
        )
    return Skill(name, fields["description"], fields["version"], text[match.end() :], path)


def load_skills(root: Path, names: Sequence[str], pins: Mapping[str, str]) -> list[Skill]:
    """The task's skills in its order; raises SkillError for the first that cannot load."""
    return [load_skill(root, name, pins.get(name)) for name in names]
