"""An agent's brief: everything a good lead would tell it, rendered once per attempt and the
same for every backend (docs/user-guide.md, "Briefs and handoffs").

A pure function of what it is given. The parts that do not change between attempts come
first (the project, the task, its phase, the gates, what it receives, who consumes it, how
to report) so a model's prompt cache holds; what does change (constraints, budget left, the
previous attempt) comes last, in :attr:`Brief.variable`. The whole is bounded by
``limit`` bytes: the longest parts are cut first, each with a pointer to where it is in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from protocol import Message, Plan, Task, agent_id
from protocol.prose import phase_criteria, read_prose

DEFAULT_LIMIT = 8192  # bytes of UTF-8
_MIN_PART = 160  # a cut part keeps at least this many characters


@dataclass(frozen=True)
class PastAttempt:
    """Why the previous attempt ended and what failed (a command's stderr, a gate's output)."""

    attempt: int
    reason: str
    output: str = ""


@dataclass(frozen=True)
class Received:
    """A Handoff about one of the task's dependencies: from the message log, or the one
    Baton is about to send (``where`` says where it is in full)."""

    task_id: str
    sender: str
    timestamp: str
    words: str
    where: str


def received(m: Message, messages_file: str) -> Received:
    words = "\n\n".join(x for x in (m.text or "", m.body) if x)
    return Received(m.task or "", m.sender, m.timestamp, words, f"{messages_file}:{m.line}")


@dataclass(frozen=True)
class BriefInputs:
    plan: Plan
    task: Task
    attempt: int
    handoffs: Sequence[Received] = ()  # about the task's dependencies, oldest first
    budget_left: float | None = None
    slots: int | None = None
    reporting: str = ""  # how this backend reports: tools, or commands for a CLI agent
    previous: PastAttempt | None = None
    gates: Sequence[str] = ()  # the gates that will run on this branch, with thresholds
    merged: Sequence[str] = ()  # the dependencies whose branches the task's branch holds
    unmerged: Sequence[str] = ()  # one line per dependency branch it does not hold, and why
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True)
class Brief:
    stable: str  # the same for every attempt of the task while the plan's prose stays
    variable: str

    @property
    def text(self) -> str:
        return self.stable + self.variable


@dataclass
class _Part:
    """A piece of the brief; ``body`` may be cut down to ``keep`` characters, ``pointer``
    saying where the rest is."""

    head: str
    body: str = ""
    pointer: str = ""
    keep: int | None = None
    variable: bool = False
    tail: str = field(default="")

    def render(self) -> str:
        body = self.body
        if self.keep is not None and len(body) > self.keep:
            body = body[: self.keep].rstrip() + f"\n… (cut; in full: {self.pointer})"
        text = self.head + (body + "\n" if body else "") + self.tail
        return text.rstrip("\n") + "\n"


def render_brief(inputs: BriefInputs) -> Brief:
    """The brief of ``inputs.task``'s attempt, at most ``inputs.limit`` bytes."""
    parts = _parts(inputs)
    _fit(parts, inputs.limit)
    stable = "".join(p.render() + "\n" for p in parts if not p.variable)
    variable = "\n".join(p.render() for p in parts if p.variable)
    text = (stable + variable).encode("utf-8")
    if len(text) > inputs.limit:  # the fixed parts alone are over: cut the end, whole chars
        cut = text[: inputs.limit].decode("utf-8", errors="ignore")
        return Brief(cut[: len(stable)], cut[len(stable) :])
    return Brief(stable, variable)


def _fit(parts: list[_Part], limit: int) -> None:
    """Halve the longest cuttable part until the whole fits or nothing is left to cut."""

    def size() -> int:
        return sum(len(p.render().encode("utf-8")) + 1 for p in parts)

    while size() > limit:
        cuttable = [p for p in parts if p.pointer and _shown(p) > _MIN_PART]
        if not cuttable:
            return
        longest = max(cuttable, key=_shown)
        longest.keep = max(_MIN_PART, _shown(longest) // 2)


def _shown(part: _Part) -> int:
    return len(part.body) if part.keep is None else min(part.keep, len(part.body))


def _parts(i: BriefInputs) -> list[_Part]:
    plan, task = i.plan, i.task
    prose = read_prose(plan)
    project = plan.header["Project"].value if "Project" in plan.header else ""
    parts = [_Part(f"# Brief: {task.id} - {task.description}\n\n")]
    about = [f"Project: {project or '(unnamed)'}"]
    objective = _Part(
        "## Project\n\n" + "\n".join(about) + "\n\nFeature Objective:\n",
        prose.objective.text or "(the plan states none)",
        pointer=f"{plan.file}:{prose.objective.line}" if prose.objective.line else "",
    )
    if prose.success_criteria:
        objective.tail = "\nSuccess Criteria of the project:\n" + _bullets(prose.success_criteria)
    parts.append(objective)
    parts.append(_Part("## Your task\n\n" + _task_row(plan, task)))
    title, criteria = phase_criteria(plan, task)
    if criteria:
        parts.append(_Part(f"## Success criteria of {title}\n\n" + _bullets(criteria)))
    parts.append(_gates(plan, i.gates, prose.gate_thresholds.text, prose.gate_thresholds.line))
    parts += _received(plan, task, i.handoffs)
    if i.merged or i.unmerged:
        parts.append(_inputs(i.merged, i.unmerged))
    parts.append(_downstream(plan, task))
    parts.append(_Part("## How to report\n\n" + i.reporting.strip() + "\n\n" + _HANDOFF_FORM))
    parts.append(_constraints(i))
    if i.previous is not None:
        parts.append(_previous(i.previous))
    return parts


def _task_row(plan: Plan, task: Task) -> str:
    title, _ = phase_criteria(plan, task)
    rows = [
        ("Task ID", task.id),
        ("Description", task.description),
        ("Role", task.role or "-"),
        ("Skills", ", ".join(task.skills) or "-"),
        ("Estimate", task.estimate or "-"),
        ("Parallel Group", task.group or "-"),
        ("Phase", title or "-"),
        ("Dependencies", ", ".join(task.dependencies) or "-"),
        ("Agent ID", agent_id(plan, task)),
        ("Branch", task.branch),
        ("Worktree", f"{task.worktree} (your working directory)"),
    ]
    return "".join(f"- {k}: {v}\n" for k, v in rows)


def _gates(plan: Plan, gates: Sequence[str], thresholds: str, line: int) -> _Part:
    if gates:
        return _Part("## Quality gates on this branch\n\n" + _bullets(gates))
    return _Part(
        "## Quality gates on this branch\n\nNo gate is configured to run on this branch; "
        "the plan's Quality Gate Thresholds apply:\n\n",
        thresholds or "(the plan states none)",
        pointer=f"{plan.file}:{line}" if line else "",
    )


def _received(plan: Plan, task: Task, handoffs: Sequence[Received]) -> list[_Part]:
    if not task.dependencies:
        return [_Part("## What you receive\n\nNothing: this task depends on no other.\n")]
    out = [_Part("## What you receive\n\n")]
    for dep_id in task.dependencies:
        dep = plan.task(dep_id)
        where = f"branch {dep.branch}" if dep else "a branch unknown to the plan"
        head = (
            f"### {dep_id}: {dep.description if dep else '?'}\n\n"
            f"Its work is on {where}: read it with `git log {dep.branch if dep else dep_id}` "
            f"and `git show {dep.branch if dep else dep_id}:<path>` from your worktree.\n\n"
        )
        mine = [h for h in handoffs if h.task_id == dep_id]
        if not mine:
            out.append(_Part(head + "No Handoff has been written for it yet.\n"))
        for h in mine:
            out.append(
                _Part(
                    head + f"Handoff from {h.sender} ({h.timestamp}):\n\n",
                    h.words,
                    pointer=h.where,
                )
            )
            head = ""
    return out


def _inputs(merged: Sequence[str], unmerged: Sequence[str]) -> _Part:
    text = "## Inputs on your branch\n\n"
    if merged:
        text += f"Your branch started from the base merged with {', '.join(merged)}.\n"
    if unmerged:
        text += (
            "\nNot merged into your branch (read them in their worktrees, read only; "
            "combine what you need yourself):\n\n" + _bullets(unmerged)
        )
    return _Part(text)


def _downstream(plan: Plan, task: Task) -> _Part:
    after = [t for t in plan.tasks if task.id in t.dependencies]
    if not after:
        return _Part("## Who consumes your work\n\nNo task depends on this one.\n")
    lines = [
        f"- {t.id} ({agent_id(plan, t)}, {t.role or 'no role'}): {t.description}" for t in after
    ]
    return _Part(
        "## Who consumes your work\n\nThese tasks start from your Handoff; give them what "
        "they need for their work:\n\n" + "\n".join(lines) + "\n"
    )


def _constraints(i: BriefInputs) -> _Part:
    c = i.plan.constraints
    budget = "no budget" if i.budget_left is None else f"${max(i.budget_left, 0):.2f}"
    lines = [
        f"- Attempt: {i.attempt}",
        f"- Deadline: {c.deadline or 'none stated'}",
        f"- Budget left for the run: {budget}",
        f"- Agent slots: {i.slots if i.slots is not None else 'not limited'}",
    ]
    return _Part("## Constraints\n\n" + "\n".join(lines) + "\n", variable=True)


def _previous(p: PastAttempt) -> _Part:
    head = f"## Previous attempt ({p.attempt})\n\nIt ended: {p.reason}\n"
    if not p.output:
        return _Part(head + "Do not repeat what made it fail.\n", variable=True)
    return _Part(
        head + "\nIts failing output (the end of it):\n\n",
        p.output,
        pointer="the run's log, agent_output events",
        variable=True,
    )


def _bullets(items: Sequence[str]) -> str:
    return "".join(f"- {x}\n" for x in items)


_HANDOFF_FORM = """\
The Handoff you deliver has the template's four sections:
- Deliverables: branch, commits, lines changed, files modified (Baton fills these from git),
  artifacts (documents you produced);
- Validation: tests passing (X/X), lint errors, docs updated, self-review;
- Notes for Downstream: context, gotchas and decisions the tasks after you need;
- Context References: `@path:line` of the key places in your work.
"""


def reporting(backend: str, task_id: str, agent: str) -> str:
    """How an agent of ``backend`` reports its progress and its end."""
    if backend == "claude":
        return (
            "Use the tools. Send a Question to Orchestrator (send_message) when you need a "
            "decision; report_blocker when you cannot go on. When done, call complete_task "
            "with a summary, notes_for_downstream, artifacts, context_references and "
            "validation (tests_passed, tests_total, lint_errors, docs_updated, self_review); "
            "or fail_task with the reason."
        )
    send = f"baton send --from {agent} --task {task_id}"
    if backend == "command":
        return (
            "Exit 0 when the task is done (what you leave uncommitted is committed on your "
            "branch); exit non-zero to fail it, with the reason as the last line of stderr. "
            f"Ask with `{send} --to Orchestrator --type Question TEXT`; before exiting, "
            f"post your Notes for Downstream with `{send} --to Orchestrator --type Handoff "
            "TEXT`; Baton adds the rest of the Handoff."
        )
    return (
        f"Edit MULTI_AGENT_PLAN.md: set {task_id}'s Status to Completed, Blocked (with an "
        "entry under Notes and Blockers) or Failed. Ask and hand off with "
        f"`{send} --to Orchestrator --type Question|Handoff TEXT`."
    )


__all__ = [
    "DEFAULT_LIMIT",
    "Brief",
    "BriefInputs",
    "PastAttempt",
    "Received",
    "received",
    "render_brief",
    "reporting",
]
