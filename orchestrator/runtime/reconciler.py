"""Reading and deciding: one pass of the daemon's loop (docs/architecture.md).

A pass reads the plan through the file store, parses it (reusing the previous parse's block
structure when only cells changed), checks it, merges back what a save from a stale buffer
undid, asks the pure scheduler what to do and hands the actions to the executor — again on
the text that wrote, up to a few rounds, until nothing is left to do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import anyio
import structlog

from orchestrator.adapters.clock import iso
from orchestrator.adapters.filestore import FileNotReady
from orchestrator.adapters.probes import Probes, measure
from orchestrator.adapters.text_files import plan_too_large
from orchestrator.decisions import checklist
from orchestrator.decisions.actions import Action, Report, StartTask
from orchestrator.decisions.go_no_go import go_no_go_actions
from orchestrator.decisions.retro import pending as metrics_pending
from orchestrator.decisions.retro import retrospective
from orchestrator.decisions.scheduler import PLAN_INTEGRATION, Limits, RunState, decide, plan_status
from orchestrator.decisions.verdicts import ACTIVE
from orchestrator.gates import plan_thresholds
from orchestrator.runtime.agent_pool import AgentPool
from orchestrator.runtime.executor import Executor
from orchestrator.runtime.faults import Faults
from orchestrator.runtime.gating import gate_results
from orchestrator.runtime.gating import pass_rate as gate_pass_rate
from orchestrator.runtime.integration_gates import integration_gate_results
from orchestrator.runtime.ledger import grouped, restore_edits
from orchestrator.runtime.services import Services
from protocol import (
    FAILED,
    Plan,
    PlanError,
    ProtocolError,
    check_plan,
    parse_plan,
    read_revision,
)
from protocol.prose import read_prose

log = structlog.get_logger()

_MAX_ROUNDS = 8  # decisions per change; each round acts on the text the last one wrote
_SETTLE_SECONDS = 0.15  # how long a suspiciously short plan must stay unchanged to count


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Reconciler:
    def __init__(
        self,
        services: Services,
        executor: Executor,
        agents: AgentPool,
        faults: Faults,
        *,
        probes: Probes,
        force: bool,
        status: Callable[[str], None],
        finished: Callable[[int], None] | None,
    ) -> None:
        self._s = services
        self._executor = executor
        self._agents = agents
        self._faults = faults
        self._probes = probes
        self._force = force  # start even when a checklist item fails
        self._status = status  # the one-line summary for systemd
        self._finished = finished  # called with the exit code at the end of the plan
        self.plan: Plan | None = None  # the last plan that checked out
        self.decided: str | None = None  # digest of the plan text last acted on
        self._invalid: str | None = None  # digest of the invalid plan last reported
        self._warned: frozenset[ProtocolError] = frozenset()  # the plan warnings last logged
        self._ended_with_newline = False
        self._status_line = ""
        self._checked = False  # the Pre-Execution Checklist passed (or was forced) this run
        self._named = False  # the checklist items left to people were named

    async def reconcile(self) -> None:
        s, writer = self._s, self._s.writer
        config = s.config()
        try:
            text, raw = await anyio.to_thread.run_sync(s.store.read, config.plan_path)
        except FileNotReady:
            log.debug("plan_not_ready", file=str(config.plan_path))
            await self._faults.plan_unreadable()
            return
        self._faults.plan_readable()
        digest = _digest(raw)
        if digest == self.decided:
            return
        too_large = plan_too_large(len(raw), config.max_plan_mb)
        if too_large is not None:  # refused unparsed: parsing it is what would take minutes
            self._report_invalid(digest, [PlanError(too_large, file=config.plan_file)])
            self.decided = digest
            return
        for _ in range(_MAX_ROUNDS):
            if writer.known is not None and writer.known[0] == text:
                plan = writer.known[1]
            else:
                previous = writer.written if writer.written is not None else self.plan
                plan = parse_plan(text, file=config.plan_file, previous=previous)
            if self._looks_cut(plan, text) and not await self._settled(raw):
                return  # an editor is still writing; its next change wakes us again
            errors = check_plan(plan, worktree_parent=str(s.parent))
            self._report_warnings(plan)
            if errors:
                self._report_invalid(digest, errors)
                break
            if self._invalid is not None:
                log.info("plan_valid", file=config.plan_file)
                self._invalid = None
            writer.valid.set()
            self._ended_with_newline = text.endswith("\n")
            stale = writer.ledger.stale_cells(plan, read_revision(text))
            if stale:
                # An editor saved from a buffer older than Baton's latest writes: give
                # them back, cell by cell, where the file still shows the old value.
                restores = restore_edits(stale)
                written = await writer.write(restores)
                if any(e.applied for e in restores):
                    rows = sorted(f"{k}:{t}" if t else k for (k, t), _ in grouped(stale).items())
                    s.report("stale_save_merged", level="warning", cells=len(stale), rows=rows)
                if written != text:
                    text = written
                    digest = _digest(text.encode("utf-8"))
                    continue  # decide on what is on disk now
            self.plan = plan
            writer.known = (text, plan)
            running = self._agents.running
            state = RunState(s.journal.states, frozenset(running), s.journal.spent_usd)
            slots = config.max_agents or plan.constraints.agent_slots or 4
            limits = Limits(slots, s.budget())
            actions: Sequence[Action] = decide(plan, state, limits, iso(s.clock.now()))
            self._summarise(plan)
            if not actions:
                if plan_status(plan) == PLAN_INTEGRATION and metrics_pending(plan):
                    rate = await gate_pass_rate(s)
                    filled = await self._executor.apply(
                        retrospective(plan, s.journal.spent_usd, rate)
                    )
                    if filled is not None:
                        text, digest = filled, _digest(filled.encode("utf-8"))
                        continue  # decide on what is on disk now
                if plan_status(plan) == PLAN_INTEGRATION:
                    gates = {t.id: await gate_results(s, t.id) for t in plan.tasks}
                    for task_id, results in (await integration_gate_results(s, plan)).items():
                        gates[task_id] = [*gates.get(task_id, ()), *results]
                    decided = await self._executor.apply(
                        go_no_go_actions(plan, gates, config.merge_strategy)
                    )
                    if decided is not None and decided != text:
                        text, digest = decided, _digest(decided.encode("utf-8"))
                        continue  # decide on what is on disk now
                self._check_done(plan)
                break
            actions = await self._faults.hold_starts(actions)
            if any(isinstance(a, StartTask) for a in actions) and not await self._preflight(plan):
                actions = [a for a in actions if not isinstance(a, StartTask)]
            after = await self._executor.apply(actions)
            if after is None:
                break
            text = after
            digest = _digest(text.encode("utf-8"))
        self.decided = digest

    async def _preflight(self, plan: Plan) -> bool:
        """The Pre-Execution Checklist, before the first task of the run starts."""
        if self._checked or any(st.started for st in self._s.journal.states.values()):
            return True
        s = self._s
        facts = await anyio.to_thread.run_sync(measure, plan, s.config(), s.parent, self._probes)
        result = checklist.preflight(
            checklist.judge(plan, facts), named=self._named, force=self._force
        )
        actions = list(result.actions)
        if s.config().gates.gates and not self._named:  # said once, with the checklist's
            _, unread = plan_thresholds(read_prose(plan).gate_thresholds.text)
            if unread:
                actions.append(Report("gate_thresholds_left_to_people", {"items": list(unread)}))
        self._named = result.named
        await self._executor.apply(actions)
        self._checked = result.allowed
        return result.allowed

    def _looks_cut(self, plan: Plan, text: str) -> bool:
        """True when the file has lost structure the last good plan had, as a file does
        while an editor has truncated it and not yet written it all back."""
        last = self.plan
        if last is None:
            return False
        return (
            len(plan.tasks) < len(last.tasks)
            or (last.log_table is not None and plan.log_table is None)
            or (last.notes_end is not None and plan.notes_end is None)
            or (self._ended_with_newline and not text.endswith("\n"))
        )

    async def _settled(self, raw: bytes) -> bool:
        """Whether the file still holds ``raw`` after a short pause: then it is what the
        person meant, however much smaller."""
        await anyio.sleep(_SETTLE_SECONDS)
        try:
            _, again = await anyio.to_thread.run_sync(
                self._s.store.read, self._s.config().plan_path
            )
        except FileNotReady:
            return False
        return again == raw

    def _summarise(self, plan: Plan) -> None:
        counts: dict[str, int] = {}
        for task in plan.tasks:
            counts[task.status] = counts.get(task.status, 0) + 1
        parts = ", ".join(f"{n} {st}" for st, n in counts.items())
        summary = f"{len(plan.tasks)} tasks: {parts}; {len(self._agents.running)} agents running"
        if summary != self._status_line:
            self._status_line = summary
            self._status(summary)

    def _report_warnings(self, plan: Plan) -> None:
        """Log each plan warning once, when it first appears (a column Baton cannot read)."""
        warnings = frozenset(plan.warnings)
        for w in sorted(warnings - self._warned, key=lambda w: w.line):
            self._s.report(
                "plan_warning", level="warning", file=w.file, line=w.line, reason=w.reason
            )
        self._warned = warnings

    def _report_invalid(self, digest: str, errors: Sequence[Exception]) -> None:
        self._s.writer.invalid()
        if self._invalid == digest:
            return
        self._invalid = digest
        for error in errors:
            self._s.report(
                "plan_invalid",
                level="error",
                file=getattr(error, "file", self._s.config().plan_file),
                line=getattr(error, "line", 0),
                reason=getattr(error, "reason", str(error)),
            )

    def _check_done(self, plan: Plan) -> None:
        if self._finished is None or self._agents.running:
            return
        if plan_status(plan) == PLAN_INTEGRATION:
            self._finished(0)
        elif any(t.status == FAILED for t in plan.tasks) and not any(
            t.status in ACTIVE for t in plan.tasks
        ):
            self._finished(1)


__all__ = ["Reconciler"]
