"""Writing the plan: batches of edits in one atomic store update, stamped with a revision,
remembered in the ledger so a save from a stale buffer can be merged back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio
import structlog

from orchestrator.adapters.filestore import FileNotReady, Store, StoreConflict
from orchestrator.adapters.text_files import plan_too_large
from orchestrator.config import Config
from orchestrator.runtime import plan_edits as pw
from orchestrator.runtime.ledger import Ledger, restore_edits
from protocol import Plan, parse_plan, read_revision

log = structlog.get_logger()

RETRY_SECONDS = 0.5  # pause before writing again while an editor is mid-save


class PlanWriter:
    """The only writer of the plan file. ``known`` is a text and its checked parse (the
    last read or written), which spares the next batch a parse; ``valid`` is set while the
    plan on disk checks out — a write waits for it."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        plan: Callable[[], Plan | None],
        parent: Path,
        wake: Callable[[], None],
        delayed: Callable[[], Awaitable[None]],
    ) -> None:
        self._store = store
        self._config = config
        self._plan = plan
        self._parent = parent
        self._wake = wake
        self._delayed = delayed  # a write waits: the plan may be gone, which is said once
        self.ledger = Ledger()
        self.valid = anyio.Event()
        self.written: Plan | None = None  # the plan of the text Baton wrote last
        self.known: tuple[str, Plan] | None = None
        self._revision = 0  # the revision marker of Baton's latest write
        self._unrecorded: list[tuple[pw.BatchResult, str]] = []  # ledger entries deferred

    def invalid(self) -> None:
        """The plan on disk does not check out: writes wait until it does again."""
        if self.valid.is_set():
            self.valid = anyio.Event()

    async def write(self, edits: Sequence[pw.PlanEdit], *, defer: bool = False) -> str:
        """Apply a batch of plan edits atomically, waiting while the plan is invalid.

        With ``defer``, recording the batch in the ledger (which needs a parse of the result)
        waits until :meth:`flush`, so new agents start first; any other write flushes it
        before its own, which keeps the ledger in order.
        """
        self.flush()
        config = self._config()
        result = pw.BatchResult("")

        def batch(current: str) -> str:
            if plan_too_large(len(current), config.max_plan_mb):
                raise pw.PlanNotWritable(config.plan_file)  # reported by the reconciler
            # One number per write, kept through its merges with saves that slip in: every
            # text that was on disk with it holds this write's edits. Never reused, even if
            # the write does not land, since a save may have been loaded from it meanwhile.
            if not result.revision:
                self._revision = max(self._revision, read_revision(current) or 0) + 1
                result.revision = self._revision
            return pw.run_batch(
                current,
                [*self._restores_for(current, config.plan_file), *edits],
                file=config.plan_file,
                worktree_parent=str(self._parent),
                previous=self._plan(),
                known=self.known,
                result=result,
                revision=result.revision,
            )

        while True:
            try:
                text = await self._store.update(config.plan_path, batch)
            except pw.PlanNotWritable:
                await self.valid.wait()
                continue
            except (FileNotReady, StoreConflict) as exc:
                # An editor is mid-save (or saving non-stop): try again shortly.
                log.warning("plan_write_delayed", reason=str(exc))
                await self._delayed()
                await anyio.sleep(RETRY_SECONDS)
                continue
            if result.revision and read_revision(text) == result.revision:
                # What landed holds this write's edits (maybe merged into a save that was
                # itself loaded from this write's first attempt): it is Baton's newest version.
                self._unrecorded.append((result, text))
                if not defer:
                    self.flush()
            self._wake()
            return text

    def flush(self) -> None:
        """Record the deferred writes in the ledger, oldest first."""
        file = self._config().plan_file
        while self._unrecorded:
            result, text = self._unrecorded.pop(0)
            assert result.before is not None
            if result.text == text:
                after = result.after(file)
            else:
                after = parse_plan(text, file=file, previous=result.before)
            self.ledger.record(result.revision, result.before, after)
            self.written = after
            self.known = (text, after)

    def _restores_for(self, current: str, file: str) -> list[pw.PlanEdit]:
        """Restores for the text a write is about to edit: a save that came in since Baton
        last looked may be from a stale buffer, and editing it without them would quietly
        make its old cells Baton's newest version."""
        revision = read_revision(current)
        if self.ledger.is_current(revision):
            return []
        plan = parse_plan(current, file=file, previous=self._plan())
        return restore_edits(self.ledger.stale_cells(plan, revision))
