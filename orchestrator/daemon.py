"""``baton run``: watch the plan, decide, act — and survive ``kill -9`` with nothing lost.

The loop is level-triggered. Whenever either file changes (or every ``reconcile_seconds``),
the reconciler reads the plan, checks it, asks the pure scheduler what to do, and the
executor carries the actions out: each is journaled as an intent first, the file edits of
one decision are written in one atomic store update, then the slow effects (worktrees,
agents) run concurrently. At start, pending intents are finished before anything new is
decided. This module is the lifecycle only: it opens the journal, builds the parts of a run
from it (docs/architecture.md) and runs their loops in one task group.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus

from orchestrator.adapters.async_journal import AsyncJournal
from orchestrator.adapters.clock import Clock, SystemClock
from orchestrator.adapters.filestore import FileStore
from orchestrator.adapters.journal import JOURNAL_FILE, Intent, Journal
from orchestrator.adapters.journal_rebuild import open_or_rebuild
from orchestrator.adapters.notify_hook import NotifyHook
from orchestrator.adapters.orchestrator_model import OrchestratorModel
from orchestrator.adapters.probes import Probes
from orchestrator.adapters.retry import Backoff, Retry, RetryingStore
from orchestrator.adapters.run_lock import RunLock
from orchestrator.adapters.systemd_notify import SystemdNotifier
from orchestrator.adapters.watcher import DirectoryWatcher
from orchestrator.adapters.worktrees import Worktrees
from orchestrator.config import Config
from orchestrator.decisions.actions import KIND_HANDOFF, from_journal
from orchestrator.decisions.verdicts import AgentEvent, on_agent_event
from orchestrator.routing.router import Router
from orchestrator.runtime.agent_factory import AgentFactory
from orchestrator.runtime.agent_pool import AgentPool, MakeAgent, Running
from orchestrator.runtime.briefing import Briefing
from orchestrator.runtime.executor import Executor
from orchestrator.runtime.faults import Faults
from orchestrator.runtime.orchestrator_inbox import OrchestratorInbox
from orchestrator.runtime.plan_writer import PlanWriter
from orchestrator.runtime.reconciler import Reconciler
from orchestrator.runtime.reporter import Progress, Reporter
from orchestrator.runtime.services import Services
from protocol import Message, Plan

log = structlog.get_logger()

_GC_THRESHOLD = 50_000  # allocations between young-generation collections (default 700)
_TIMER_SECONDS = 1.0  # how often SLA timers and message deadlines are checked
_COLLECT_SECONDS = 30.0  # at most how often the whole heap is collected (_collect_heap)


class _Run:
    """The parts of one run, built once the journal is open."""

    def __init__(self, d: Daemon, journal: AsyncJournal, tg: TaskGroup) -> None:
        self.plan: Plan | None = None
        plan = self._plan
        self.writer = PlanWriter(
            d.store, d._get_config, plan, d.parent, d.wake, self._write_delayed
        )
        self.services = s = Services(
            config=d._get_config,
            plan=plan,
            clock=d.clock,
            store=d.store,
            journal=journal,
            writer=self.writer,
            report=d.reporter,
            worktrees=d.worktrees,
            parent=d.parent,
        )
        self.faults = Faults(s, d.lock, reconsider=d.reconsider, stop=d.stop)
        factory = AgentFactory(plan)
        self.agents = AgentPool(
            s,
            d.agent_factory or factory,
            tg,
            ensure=self.faults.worktree_for,
            started=self._agent_started,
            events=self._agent_event,
            ended=d.wake,
            brief=Briefing(s, lambda: self.router.known.values()).brief,
        )
        self.router = Router(s, lambda: self.agents.running.values(), self._inbox)
        model = OrchestratorModel(d._get_config, plan, journal, factory.client)
        notify = NotifyHook(lambda: d.config.notify_command, tg)
        self.executor = Executor(
            s, self.agents, notify, handoff=self._handoff, background=lambda fn: tg.start_soon(fn)
        )
        self.inbox = OrchestratorInbox(s, model, self.router, self.executor.apply)
        self.reconciler = Reconciler(
            s,
            self.executor,
            self.agents,
            self.faults,
            probes=d.probes,
            force=d.force,
            status=d.notifier.status,
            finished=d.stop if d.exit_when_done else None,
        )

    def _plan(self) -> Plan | None:
        return self.reconciler.plan

    async def _write_delayed(self) -> None:
        await self.faults.plan_unreadable()  # or the plan is gone: say so, once

    async def _agent_started(self, running: Running) -> None:
        await self.router.on_agent_started(running)

    async def _agent_event(self, event: AgentEvent) -> None:
        await self.executor.apply(on_agent_event(event))

    async def _inbox(self, messages: Sequence[Message]) -> set[str]:
        return await self.inbox.handle(messages)

    async def _handoff(self, owed: Intent) -> None:
        await self.inbox.handoff(owed)

    async def _owed_handoff(self, owed: Intent) -> None:
        await self.writer.valid.wait()  # who is downstream is in the plan: wait for a valid one
        await self.inbox.handoff(owed, replay=True)

    async def recover(self, tg: TaskGroup) -> None:
        """Finish what a crash left half-done, using the parameters decided back then; an
        owed Handoff goes in the background (a Handoff the log already holds is not sent
        again)."""
        journal = self.services.journal
        for intent in await journal.pending():
            log.info("intent_replayed", key=intent.key, kind=intent.kind)
            if intent.kind == KIND_HANDOFF:
                tg.start_soon(_guarded_handoff, self._owed_handoff, intent)
                continue
            action = from_journal(intent.kind, intent.payload)
            if action is None:
                await journal.done(intent.key)
            else:
                await self.executor.replay(action, intent.key)


async def _guarded_handoff(fn: Callable[[Intent], Awaitable[None]], owed: Intent) -> None:
    try:
        await fn(owed)
    except Exception as exc:  # a handoff that fails is logged, never fatal
        log.exception("background_failed", error=str(exc))


class Daemon:
    """One plan directory's daemon. Everything not deterministic is injected: the clock,
    the file store, the systemd notifier, the agent factory, the worktrees, the checklist
    probes; ``progress`` observes the run's events (the demo's printer, tests)."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        store: FileStore | None = None,
        notifier: SystemdNotifier | None = None,
        agent_factory: MakeAgent | None = None,
        progress: Progress | None = None,
        exit_when_done: bool = False,
        force_polling: bool | None = None,
        worktrees: Worktrees | None = None,
        probes: Probes | None = None,
        force: bool = False,
        rebuild_journal: bool = False,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.progress = progress
        self.reporter = Reporter(progress)
        # Writes the disk refuses are tried again until they land (adapters/retry.py).
        self.retry = Retry(self.clock, self.reporter.observe)
        self.store = RetryingStore(store or FileStore(), self.retry)
        self.notifier = notifier or SystemdNotifier()
        self.agent_factory = agent_factory
        self.exit_when_done = exit_when_done
        self.probes = probes or Probes()
        self.force = force  # start even when a checklist item fails
        self.rebuild_journal = rebuild_journal  # a broken or missing journal is rebuilt
        self.parent = config.worktrees_dir
        self.worktrees = worktrees or Worktrees(config.plan_dir, self.parent, config.base_branch)
        self.watcher = DirectoryWatcher(
            config.plan_dir,
            {config.plan_file, config.messages_file},
            step_ms=config.debounce_ms,
            force_polling=force_polling,
        )
        self.lock = RunLock(config.state_dir)
        self.exit_code = 0
        self._wake = anyio.Event()
        self._route_wake = anyio.Event()  # the message log changed (or anything did)
        self._planned = anyio.Event()  # the first plan pass is over: routing may begin
        self._stop = anyio.Event()
        self._run_parts: _Run | None = None

    def _get_config(self) -> Config:
        return self.config

    @property
    def running(self) -> dict[str, Running]:
        """The agents running now, by task id."""
        return self._run_parts.agents.running if self._run_parts else {}

    async def reconcile(self) -> None:
        """One pass of reading and deciding (the loop runs them on every change)."""
        if self._run_parts is not None:
            await self._run_parts.reconciler.reconcile()

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
            gc.unfreeze()  # what _collect_heap set aside is the collector's again

    async def _run(self, task_status: TaskStatus[None]) -> int:
        # Before anything is read or written: a second daemon on the same directory would
        # start every task a second time.
        await anyio.to_thread.run_sync(self.lock.acquire)
        try:
            return await self._run_locked(task_status)
        finally:
            self.lock.release()

    async def _run_locked(self, task_status: TaskStatus[None]) -> int:
        opener: Callable[[Path], Journal] = Journal
        if self.rebuild_journal:
            opener = functools.partial(
                open_or_rebuild, config=self.config, worktree_parent=self.parent
            )
        journal = await AsyncJournal.open(self.config.state_dir / JOURNAL_FILE, opener, self.retry)
        for leftover in await anyio.to_thread.run_sync(FileStore.cleanup, self.config.plan_dir):
            log.info("temp_file_removed", path=str(leftover))
        try:
            async with anyio.create_task_group() as tg:
                self._run_parts = parts = _Run(self, journal, tg)
                await tg.start(self.watcher.run, self._on_change)
                await parts.recover(tg)
                self.wake()
                tg.start_soon(self._loop, parts)
                tg.start_soon(self._route, parts)
                tg.start_soon(self._tick, parts)
                tg.start_soon(self._timers, parts)
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
            await journal.close()
        log.info("daemon_stopped", exit_code=self.exit_code)
        return self.exit_code

    def stop(self, exit_code: int = 0) -> None:
        self.exit_code = exit_code
        self._stop.set()

    def reload(self, config: Config) -> None:
        """SIGHUP: limits, backends, scripts, timings and the notify command apply from the
        next decision on."""
        self.notifier.reloading()
        self.config = config
        log.info("config_reloaded", source=str(config.source) if config.source else None)
        self.wake()
        self.notifier.ready()

    def wake(self) -> None:
        self._wake.set()
        self._route_wake.set()

    def reconsider(self) -> None:
        """Decide again even if the plan has not changed: something outside it has."""
        if self._run_parts is not None:
            self._run_parts.reconciler.decided = None
        self.wake()

    def _on_change(self, names: frozenset[str]) -> None:
        # A message appended wakes only the router: it must not wait for a plan re-read.
        if self.config.messages_file in names:
            self._route_wake.set()
        if names != {self.config.messages_file}:
            self._wake.set()

    async def _timers(self, parts: _Run) -> None:
        """SLA and deadline checks, on the injected clock."""
        while True:
            await self.clock.sleep(_TIMER_SECONDS)
            try:
                await parts.inbox.check_timers()
            except Exception as exc:
                log.exception("timers_failed", error=str(exc))

    async def _tick(self, parts: _Run) -> None:
        collected = anyio.current_time()
        while True:
            await anyio.sleep(self.config.reconcile_seconds)
            await parts.faults.check_state_dir()
            if anyio.current_time() - collected >= _COLLECT_SECONDS:
                _collect_heap()
                collected = anyio.current_time()
            self.reconsider()  # the safety net re-reads even an unchanged digest

    async def _loop(self, parts: _Run) -> None:
        backoff = Backoff()
        failing: str | None = None  # the error of the passes failing since the last good one
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            try:
                await parts.reconciler.reconcile()
                plan = parts.reconciler.plan
                if plan is not None and parts.writer.valid.is_set():
                    await parts.inbox.triage(plan)
            except Exception as exc:  # one failed pass must not take the daemon down
                # Logged once while it keeps failing the same way, not on every attempt.
                if str(exc) != failing:
                    failing = str(exc)
                    where = {"file": str(exc.filename)} if isinstance(exc, OSError) else {}
                    log.exception("reconcile_failed", error=failing, **where)
                self.reporter.observe("reconcile_failed", error=failing)
                parts.reconciler.decided = None
                await self.clock.sleep(backoff.next())
                self.wake()
            else:
                gc.freeze()  # see _collect_heap
                if failing is not None:
                    self.reporter("reconcile_recovered", error=failing)
                    failing = None
                    backoff.reset()
            finally:
                self._planned.set()

    async def _route(self, parts: _Run) -> None:
        """The message log's own loop (docs/architecture.md), after the first plan pass: a
        message to the Orchestrator is handled against a plan that was read."""
        await self._planned.wait()
        backoff = Backoff()
        failing: str | None = None
        while True:
            await self._route_wake.wait()
            self._route_wake = anyio.Event()
            try:
                await parts.router.poll()
            except Exception as exc:  # one failed read must not take the daemon down
                if str(exc) != failing:
                    failing = str(exc)
                    log.exception("routing_failed", error=failing)
                self.reporter.observe("routing_failed", error=failing)
                await self.clock.sleep(backoff.next())
                self._route_wake.set()
            else:
                if failing is not None:
                    self.reporter("routing_recovered", error=failing)
                    failing = None
                    backoff.reset()


def _collect_heap() -> None:
    """Collect what is garbage, then set aside from the collector what is left alive.

    After each good pass the loop sets aside (``gc.freeze``) what the pass left: the plan
    and its parse live until the next change, and a collection need not look at them again.
    A 5,000-task plan is about 230,000 objects (spans, cells, rows, tasks), and collections
    that walked every plan alive took 0.1 to 0.5 s in the middle of a decision (make bench);
    set aside, they walk only what is new since the last pass. Reference cycles that end
    among the objects set aside are found here, on the reconcile tick, at most every
    ``_COLLECT_SECONDS``.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


__all__ = ["Daemon", "Running"]
