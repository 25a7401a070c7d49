"""``baton run``: watch the plan, decide, act — and survive ``kill -9`` with nothing lost.

The loop is level-triggered. Whenever either file changes (or every ``reconcile_seconds``),
the daemon reads the plan, checks it, asks the pure scheduler what to do, and carries the
actions out: each is journaled as an intent first, the file edits of one decision are written
in one atomic store update, then the slow effects (worktrees, agents) run concurrently. At
start, pending intents are finished before anything new is decided.
"""

from __future__ import annotations

import functools
import gc
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from agents import Agent
from orchestrator import _agentrun, _faults, _rebuild, _recovery, _retro, backends, checklist
from orchestrator import _planwrites as pw
from orchestrator._agentrun import Running
from orchestrator._inputs import plan_too_large
from orchestrator._ledger import Ledger, grouped, restore_edits
from orchestrator._lock import RunLock
from orchestrator._retry import Backoff, Retry, RetryingStore
from orchestrator.clock import Clock, SystemClock, format_duration, iso, parse_iso
from orchestrator.config import Config
from orchestrator.filestore import FileNotReady, FileStore, StoreConflict
from orchestrator.journal import HANDOFF, JOURNAL_FILE, Intent, Journal
from orchestrator.notify import Notifier
from orchestrator.router import Router
from orchestrator.scheduler import (
    AdoptTask,
    BudgetExhausted,
    FinishTask,
    Limits,
    ResetTask,
    ResumeTask,
    RunState,
    SetPlanStatus,
    StartTask,
    StopAgent,
    SyncLogStatus,
    TaskState,
    decide,
    plan_status,
)
from orchestrator.sdnotify import SdNotifier
from orchestrator.triage import Orchestrator
from orchestrator.watcher import DirectoryWatcher
from orchestrator.worktrees import Worktrees
from protocol import (
    COMPLETED,
    FAILED,
    Plan,
    PlanError,
    ProtocolError,
    Task,
    check_plan,
    parse_plan,
    read_revision,
)

log = structlog.get_logger()

AgentFactory = Callable[[Task, Config], Agent]
Progress = Callable[[str, Mapping[str, Any]], None]
T = TypeVar("T")
_MAX_ROUNDS = 8  # decisions per change; each round acts on the text the last one wrote
_RETRY_SECONDS = 0.5  # pause before writing again while an editor is mid-save
_SETTLE_SECONDS = 0.15  # how long a suspiciously short plan must stay unchanged to count
_GC_THRESHOLD = 50_000  # allocations between young-generation collections (default 700)
_TIMER_SECONDS = 1.0  # how often SLA timers and message deadlines are checked


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        store: FileStore | None = None,
        notifier: SdNotifier | None = None,
        agent_factory: AgentFactory | None = None,
        progress: Progress | None = None,
        exit_when_done: bool = False,
        force_polling: bool | None = None,
        worktrees: Worktrees | None = None,
        probes: checklist.Probes | None = None,
        force: bool = False,
        rebuild_journal: bool = False,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.progress = progress
        # Writes the disk refuses are tried again until they land: see orchestrator/_retry.py.
        self.retry = Retry(self.clock, self.report)
        self.store = RetryingStore(store or FileStore(), self.retry)
        self.notifier = notifier or SdNotifier()
        self.agent_factory = agent_factory or functools.partial(backends.make_agent, self)
        self._client: Any = None  # the model API client, made when a claude agent first needs it
        self.exit_when_done = exit_when_done
        self.probes = probes or checklist.Probes()
        self.force = force  # start even when a checklist item fails
        self.rebuild_journal = rebuild_journal  # a broken or missing journal is rebuilt
        self._checked = False  # the Pre-Execution Checklist passed (or was forced) this run
        self._unverifiable_named = False
        self.parent = config.worktrees_dir
        self.worktrees = worktrees or Worktrees(config.plan_dir, self.parent, config.base_branch)
        self.watcher = DirectoryWatcher(
            config.plan_dir,
            {config.plan_file, config.messages_file},
            step_ms=config.debounce_ms,
            force_polling=force_polling,
        )
        self.lock = RunLock(config.state_dir)
        self.journal: Journal | None = None
        self.plan: Plan | None = None
        self.running: dict[str, Running] = {}
        self.exit_code = 0
        self._states: dict[str, TaskState] = {}
        self.spent = 0.0
        self._decided: str | None = None  # digest of the plan text last acted on
        self._invalid: str | None = None  # digest of the invalid plan last reported
        self._warned: frozenset[ProtocolError] = frozenset()  # the plan warnings last logged
        self._budget_warned = False
        self.plan_gone = False  # the plan file or its directory is gone, and that was said
        self.base_missing: str | None = None  # the base branch, while it is known missing
        self._status_line = ""
        self._ended_with_newline = False
        self._wake = anyio.Event()
        self._stop = anyio.Event()
        self._valid = anyio.Event()
        self._tg: TaskGroup | None = None
        self.ledger = Ledger()
        self._written: Plan | None = None  # the plan of the text Baton wrote last
        self._known: tuple[str, Plan] | None = None  # a text and its parse, to skip a re-parse
        self._records: list[Callable[[], None]] = []  # ledger entries of deferred writes
        self._revision = 0  # the revision marker of Baton's latest write
        self.notify = Notifier(config.notify_command)
        self.orchestrator = Orchestrator(self, self.notify)
        self.router = Router(self, self.orchestrator.handle)

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> int:
        """Run until :meth:`stop` (SIGTERM) or, with ``exit_when_done``, the end of the plan."""
        # Every parse of a large plan allocates tens of thousands of small objects, and the
        # default threshold (700) ran a collection in the middle of most decisions: at 1,000
        # tasks that was a third of the edit-to-start latency (make bench). The plans hold
        # no reference cycles of their own, so collecting less often costs little memory.
        previous_gc = gc.get_threshold()
        gc.set_threshold(_GC_THRESHOLD, *previous_gc[1:])
        try:
            return await self._run(task_status)
        finally:
            gc.set_threshold(*previous_gc)

    async def _run(self, task_status: TaskStatus[None]) -> int:
        # Before anything is read or written: a second daemon on the same directory would
        # start every task a second time.
        await anyio.to_thread.run_sync(self.lock.acquire)
        try:
            return await self._run_locked(task_status)
        finally:
            self.lock.release()

    async def _run_locked(self, task_status: TaskStatus[None]) -> int:
        path = self.config.state_dir / JOURNAL_FILE
        if self.rebuild_journal:
            self.journal = await anyio.to_thread.run_sync(
                _rebuild.open_or_rebuild, path, self.config, self.parent
            )
        else:
            self.journal = await anyio.to_thread.run_sync(Journal, path)
        for leftover in await anyio.to_thread.run_sync(FileStore.cleanup, self.config.plan_dir):
            log.info("temp_file_removed", path=str(leftover))
        self._states = await anyio.to_thread.run_sync(self.journal.task_states)
        self.spent = await anyio.to_thread.run_sync(self.journal.spent_usd)
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                self.notify.tg = tg
                await tg.start(self.watcher.run, self._on_change)
                await _recovery.replay(self)
                tg.start_soon(self._loop)
                tg.start_soon(self._tick)
                tg.start_soon(self._timers)
                tg.start_soon(self.notifier.watchdog_loop)
                self.notifier.ready()
                log.info(
                    "daemon_ready", plan_dir=str(self.config.plan_dir), parent=str(self.parent)
                )
                task_status.started()
                await self._stop.wait()
                self.notifier.stopping()
                log.info("daemon_stopping", running=sorted(self.running))
                tg.cancel_scope.cancel()
        finally:
            await anyio.to_thread.run_sync(self.journal.close)
        log.info("daemon_stopped", exit_code=self.exit_code)
        return self.exit_code

    def stop(self, exit_code: int = 0) -> None:
        self.exit_code = exit_code
        self._stop.set()

    def reload(self, config: Config) -> None:
        """SIGHUP: limits, backends, scripts and timings apply from the next decision on."""
        self.notifier.reloading()
        self.config = config
        log.info("config_reloaded", source=str(config.source) if config.source else None)
        self.wake()
        self.notifier.ready()

    def wake(self) -> None:
        self._wake.set()

    def reconsider(self) -> None:
        """Decide again even if the plan has not changed: something outside it has."""
        self._decided = None
        self.wake()

    def _on_change(self, names: frozenset[str]) -> None:
        self.wake()

    async def _timers(self) -> None:
        """SLA and deadline checks, on the injected clock."""
        while True:
            await self.clock.sleep(_TIMER_SECONDS)
            try:
                await self.orchestrator.check_timers()
            except Exception as exc:
                log.exception("timers_failed", error=str(exc))

    async def _tick(self) -> None:
        while True:
            await anyio.sleep(self.config.reconcile_seconds)
            await _faults.check_state_dir(self)
            self.reconsider()  # the safety net re-reads even an unchanged digest

    async def _loop(self) -> None:
        backoff = Backoff()
        failing: str | None = None  # the error of the passes failing since the last good one
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            try:
                await self.reconcile()
                await self.router.poll()
                if self.plan is not None and self._valid.is_set():
                    await self.orchestrator.triage(self.plan)
            except Exception as exc:  # one failed pass must not take the daemon down
                # Logged once while it keeps failing the same way, not on every attempt.
                if str(exc) != failing:
                    failing = str(exc)
                    where = {"file": str(exc.filename)} if isinstance(exc, OSError) else {}
                    log.exception("reconcile_failed", error=failing, **where)
                self.report("reconcile_failed", error=failing)
                self._decided = None
                await self.clock.sleep(backoff.next())
                self.wake()
            else:
                if failing is not None:
                    log.info("reconcile_recovered", error=failing)
                    self.report("reconcile_recovered")
                    failing = None
                    backoff.reset()

    async def journaled(self, fn: Callable[..., T], *args: Any) -> T:
        """A journal write, in a worker thread, tried again until the disk takes it."""
        assert self.journal is not None
        return await self.retry.in_thread(self.journal.path, fn, *args)

    # -- reading and deciding ------------------------------------------------------------

    async def reconcile(self) -> None:
        try:
            text, raw = await anyio.to_thread.run_sync(self.store.read, self.config.plan_path)
        except FileNotReady:
            log.debug("plan_not_ready", file=str(self.config.plan_path))
            await _faults.plan_unreadable(self)
            return
        _faults.plan_readable(self)
        digest = hashlib.sha256(raw).hexdigest()
        if digest == self._decided:
            return
        too_large = plan_too_large(len(raw), self.config.max_plan_mb)
        if too_large is not None:  # refused unparsed: parsing it is what would take minutes
            self._report_invalid(digest, [PlanError(too_large, file=self.config.plan_file)])
            self._decided = digest
            return
        for _ in range(_MAX_ROUNDS):
            if self._known is not None and self._known[0] == text:
                plan = self._known[1]
            else:
                previous = self._written if self._written is not None else self.plan
                plan = parse_plan(text, file=self.config.plan_file, previous=previous)
            if self._looks_cut(plan, text) and not await self._settled(raw):
                return  # an editor is still writing; its next change wakes us again
            errors = check_plan(plan, worktree_parent=str(self.parent))
            self._report_warnings(plan)
            if errors:
                self._report_invalid(digest, errors)
                break
            if self._invalid is not None:
                log.info("plan_valid", file=self.config.plan_file)
                self._invalid = None
            self._valid.set()
            self._ended_with_newline = text.endswith("\n")
            stale = self.ledger.stale_cells(plan, read_revision(text))
            if stale:
                # An editor saved from a buffer older than Baton's latest writes: give
                # them back, cell by cell, where the file still shows the old value.
                restores = restore_edits(stale)
                written = await self.write_plan(restores)
                if any(e.applied for e in restores):
                    rows = sorted(f"{k}:{t}" if t else k for (k, t), _ in grouped(stale).items())
                    log.warning("stale_save_merged", cells=len(stale), rows=rows)
                    self.report("stale_save_merged", cells=len(stale))
                if written != text:
                    text = written
                    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                    continue  # decide on what is on disk now
            self.plan = plan
            self._known = (text, plan)
            state = RunState(self._states, frozenset(self.running), self.spent)
            actions = decide(plan, state, self._limits(plan), iso(self.clock.now()))
            self._notify_status(plan)
            if not actions:
                if plan_status(plan) == "Integration" and _retro.pending(plan):
                    await _retro.write(self, plan)
                    continue  # decide on what is on disk now
                self._check_done(plan)
                break
            after = await self._execute(actions)
            if after is None:
                break
            text = after
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self._decided = digest

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
            _, again = await anyio.to_thread.run_sync(self.store.read, self.config.plan_path)
        except FileNotReady:
            return False
        return again == raw

    def _notify_status(self, plan: Plan) -> None:
        counts: dict[str, int] = {}
        for task in plan.tasks:
            counts[task.status] = counts.get(task.status, 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in counts.items())
        summary = f"{len(plan.tasks)} tasks: {parts}; {len(self.running)} agents running"
        if summary != self._status_line:
            self._status_line = summary
            self.notifier.status(summary)

    def _limits(self, plan: Plan) -> Limits:
        slots = self.config.max_agents or plan.constraints.agent_slots or 4
        return Limits(slots, self.budget(plan))

    def model_client(self) -> Any:
        if self._client is None:
            self._client = backends.client()
        return self._client

    def budget(self, plan: Plan | None = None) -> float | None:
        """The run's budget in dollars: baton.toml's, else the plan's Constraints."""
        plan = plan or self.plan
        if self.config.budget_usd is not None:
            return self.config.budget_usd
        return plan.constraints.budget_usd if plan is not None else None

    def _report_warnings(self, plan: Plan) -> None:
        """Log each plan warning once, when it first appears (a column Baton cannot read)."""
        warnings = frozenset(plan.warnings)
        for w in sorted(warnings - self._warned, key=lambda w: w.line):
            where = {"file": w.file, "line": w.line, "reason": w.reason}
            log.warning("plan_warning", **where)
            self.report("plan_warning", **where)
        self._warned = warnings

    def _report_invalid(self, digest: str, errors: Sequence[Exception]) -> None:
        self._valid = anyio.Event() if self._valid.is_set() else self._valid
        if self._invalid == digest:
            return
        self._invalid = digest
        for error in errors:
            where = {
                "file": getattr(error, "file", self.config.plan_file),
                "line": getattr(error, "line", 0),
                "reason": getattr(error, "reason", str(error)),
            }
            log.error("plan_invalid", **where)
            self.report("plan_invalid", **where)

    def _check_done(self, plan: Plan) -> None:
        if not self.exit_when_done or self.running:
            return
        if plan_status(plan) == "Integration":
            self.stop(0)
        elif any(t.status == FAILED for t in plan.tasks) and not any(
            t.status in pw.ACTIVE for t in plan.tasks
        ):
            self.stop(1)

    # -- acting ----------------------------------------------------------------------------

    async def _execute(self, actions: Sequence[object]) -> str | None:
        actions = await _faults.hold_starts(self, actions)
        starts = any(isinstance(a, StartTask) for a in actions)
        if starts and self.plan is not None and not await checklist.preflight(self, self.plan):
            actions = [a for a in actions if not isinstance(a, StartTask)]
        edits: list[pw.PlanEdit] = []
        then: list[Callable[[], Any]] = []
        for action in actions:
            if isinstance(action, StartTask):
                await self._start(action, edits, then)
            elif isinstance(action, ResumeTask):
                log.info("task_resumed", task_id=action.task_id, attempt=action.attempt)
                _agentrun.spawn(self, action.task_id, action.attempt, None)
            elif isinstance(action, AdoptTask):
                state = TaskState(action.attempt, True, None, action.at, True)
                key = f"adopt:{action.task_id}:{action.attempt}"
                await self._begin(key, action, action.task_id, state)
                edits.append(pw.adopt(action.task_id, action.agent_id, action.at))
                then.append(self._done_later(key))
                log.info("task_adopted", task_id=action.task_id, attempt=action.attempt)
                self.report("task_adopted", task_id=action.task_id)
            elif isinstance(action, FinishTask):
                await self._finish(action, edits, then)
            elif isinstance(action, ResetTask):
                key = f"reset:{action.task_id}:{action.attempt}"
                await self._begin(key, action, action.task_id, TaskState(action.attempt))
                then.append(self._done_later(key))
                log.info("task_reset", task_id=action.task_id, attempt=action.attempt)
                self.report("task_reset", task_id=action.task_id)
            elif isinstance(action, StopAgent):
                if (running := self.running.get(action.task_id)) is not None:
                    running.scope.cancel()
                    log.info("agent_stopped", task_id=action.task_id, reason=action.reason)
            elif isinstance(action, SyncLogStatus):
                edits.append(pw.log_status(action.task_id, action.status))
            elif isinstance(action, SetPlanStatus):
                edits.append(pw.header_status(action.value))
                log.info("plan_status_changed", status=action.value)
                self.report("plan_status_changed", status=action.value)
            elif isinstance(action, BudgetExhausted) and not self._budget_warned:
                self._budget_warned = True
                log.warning("escalated", reason="budget_exhausted", **asdict(action))
        written = await self.write_plan(edits, defer=True) if edits else None
        for step in then:
            await step()
        self._flush_records()
        return written

    async def _begin(
        self, key: str, action: object, task_id: str, state: TaskState, also: Sequence[Intent] = ()
    ) -> bool:
        assert self.journal is not None
        payload = {"type": type(action).__name__, **asdict(action)}  # type: ignore[call-overload]
        fresh = await self.journaled(
            self.journal.begin, key, payload["type"], payload, state, task_id, also
        )
        self._states[task_id] = state
        return bool(fresh)

    def _done_later(self, key: str, state: str = "done") -> Callable[[], Any]:
        async def done() -> None:
            assert self.journal is not None
            await self.journaled(self.journal.done, key, state)

        return done

    async def _start(self, a: StartTask, edits: list[pw.PlanEdit], then: list[Any]) -> None:
        key = f"start:{a.task_id}:{a.attempt}"
        previous = self._states.get(a.task_id, TaskState())
        await self._begin(key, a, a.task_id, TaskState(a.attempt, True, None, a.at))
        edit = pw.start(a.task_id, a.at)
        edits.extend((edit, pw.start_log(a.task_id, a.agent_id, a.at)))

        async def after() -> None:
            if edit.applied:
                log.info("task_started", task_id=a.task_id, agent_id=a.agent_id, attempt=a.attempt)
                self.report("task_started", task_id=a.task_id, agent_id=a.agent_id)
                _agentrun.spawn(self, a.task_id, a.attempt, key)
                return
            # A person changed the Status cell first: their value wins, the start is void.
            assert self.journal is not None
            await self.journaled(self.journal.done, key, "cancelled")
            await self.journaled(self.journal.begin, f"undo:{key}", "undo", {}, previous, a.task_id)
            self._states[a.task_id] = previous
            log.info("task_start_cancelled", task_id=a.task_id, reason="status changed by someone")

        then.insert(0, after)  # starts first: journal bookkeeping can wait, agents should not

    async def _finish(self, a: FinishTask, edits: list[pw.PlanEdit], then: list[Any]) -> None:
        key = f"finish:{a.task_id}:{a.attempt}:{a.status}"
        previous = self._states.get(a.task_id, TaskState())
        state = TaskState(
            previous.attempt or a.attempt,
            previous.started,
            a.status,
            previous.started_at,
            previous.external,
        )
        # The handoff is owed from the moment the finish is decided: journaled with it, it is
        # sent after a crash too (at least once), when the restarted daemon finds it pending.
        handoff = Intent(
            f"handoff:{a.task_id}:{state.attempt}",
            HANDOFF,
            {"task_id": a.task_id, "attempt": state.attempt, "at": a.at},
        )
        owed = (handoff,) if a.status == COMPLETED else ()
        fresh = await self._begin(key, a, a.task_id, state, owed)
        duration = None
        start = parse_iso(a.started_at) if a.started_at else self._logged_start(a.task_id)
        end = parse_iso(a.at)
        if start is not None and end is not None:
            duration = format_duration((end - start).total_seconds())
        edits.append(pw.finish(a.task_id, a.status, a.at, duration))
        then.append(self._done_later(key))
        if owed and fresh:
            # In the background: git and the message log must not delay the next decision.
            then.append(functools.partial(self.soon, self.orchestrator.handoff, handoff))
        event = "task_completed" if a.status == COMPLETED else "task_failed"
        log.info(event, task_id=a.task_id, attempt=a.attempt, duration=duration)
        self.report(event, task_id=a.task_id, duration=duration)
        if a.status == FAILED:
            log.warning("escalated", task_id=a.task_id, reason="task_failed")

    async def soon(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run ``fn(*args)`` in the background; its failure is logged, never fatal."""

        async def guarded() -> None:
            try:
                await fn(*args)
            except Exception as exc:  # a handoff that fails is logged, never fatal
                log.exception("background_failed", error=str(exc))

        if self._tg is not None:
            self._tg.start_soon(guarded)

    def _logged_start(self, task_id: str) -> Any:
        row = self.plan.log_row(task_id) if self.plan else None
        return parse_iso(row.started) if row is not None and row.started else None

    async def write_plan(self, edits: Sequence[pw.PlanEdit], *, defer: bool = False) -> str:
        """Apply a batch of plan edits atomically, waiting while the plan is invalid.

        With ``defer``, recording the batch in the ledger (which needs a parse of the result)
        waits until :meth:`_flush_records`, so new agents start first; any other write
        flushes it before its own, which keeps the ledger in order.
        """
        self._flush_records()
        result = pw.BatchResult("")

        def batch(current: str) -> str:
            if plan_too_large(len(current), self.config.max_plan_mb):
                raise pw.PlanNotWritable(self.config.plan_file)  # reported by reconcile
            # One number per write, kept through its merges with saves that slip in: every
            # text that was on disk with it holds this write's edits. Never reused, even if
            # the write does not land, since a save may have been loaded from it meanwhile.
            if not result.revision:
                self._revision = max(self._revision, read_revision(current) or 0) + 1
                result.revision = self._revision
            return pw.run_batch(
                current,
                [*self._restores_for(current), *edits],
                file=self.config.plan_file,
                worktree_parent=str(self.parent),
                previous=self.plan,
                known=self._known,
                result=result,
                revision=result.revision,
            )

        while True:
            try:
                text = await self.store.update(self.config.plan_path, batch)
            except pw.PlanNotWritable:
                await self._valid.wait()
                continue
            except (FileNotReady, StoreConflict) as exc:
                # An editor is mid-save (or saving non-stop): try again shortly.
                log.warning("plan_write_delayed", reason=str(exc))
                await _faults.plan_unreadable(self)  # or the plan is gone: say so, once
                await anyio.sleep(_RETRY_SECONDS)
                continue
            if result.revision and read_revision(text) == result.revision:
                # What landed holds this write's edits (maybe merged into a save that was
                # itself loaded from this write's first attempt): it is Baton's newest version.
                self._records.append(functools.partial(self._record, result, text))
                if not defer:
                    self._flush_records()
            self.wake()
            return text

    def _record(self, result: pw.BatchResult, text: str) -> None:
        assert result.before is not None
        if result.text == text:
            after = result.after(self.config.plan_file)
        else:
            after = parse_plan(text, file=self.config.plan_file, previous=result.before)
        self.ledger.record(result.revision, result.before, after)
        self._written = after
        self._known = (text, after)

    def _flush_records(self) -> None:
        while self._records:
            self._records.pop(0)()

    def _restores_for(self, current: str) -> list[pw.PlanEdit]:
        """Restores for the text a write is about to edit: a save that came in since Baton
        last looked may be from a stale buffer, and editing it without them would quietly
        make its old cells Baton's newest version."""
        revision = read_revision(current)
        if self.ledger.is_current(revision):
            return []
        plan = parse_plan(current, file=self.config.plan_file, previous=self.plan)
        return restore_edits(self.ledger.stale_cells(plan, revision))

    def report(self, event: str, **fields: Any) -> None:
        """Tell the progress observer (the demo's printer, tests) about ``event``."""
        if self.progress is not None:
            try:
                self.progress(event, fields)
            except Exception as exc:  # an observer's failure (a closed pipe) is not the run's
                log.warning("progress_failed", progress_event=event, error=str(exc))
                self.progress = None


__all__ = ["Daemon", "Running"]
