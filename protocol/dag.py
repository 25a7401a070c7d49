"""The plan's dependency graph: estimates, ready set, waves, critical path
(docs/contract.md sec. 3).

A task with no dependencies of its own also waits for every task of an earlier parallel
group (A < B < C …): its *effective* dependencies. Everything here is iterative, so a
1,000-task chain is as safe as a 10-task one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from protocol._errors import PlanCycleError
from protocol._model import COMPLETED, NOT_STARTED, Task

_ESTIMATE = re.compile(
    r"^\s*~?\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>h|hrs?|hours?|m|mins?|minutes?|d|days?)?\s*$",
    re.IGNORECASE,
)
_HOURS = {"h": 1.0, "m": 1 / 60, "d": 24.0}


@functools.lru_cache(maxsize=8192)  # pure, and asked again for every unchanged row
def parse_estimate(text: str) -> float:
    """Hours in an Estimate cell: ``1h``, ``1.5h``, ``30m``, ``2d``, ``90 min``; else 1."""
    m = _ESTIMATE.match(text.replace("`", ""))
    if m is None:
        return 1.0
    unit = (m["unit"] or "h")[0].casefold()
    return float(m["n"]) * _HOURS[unit]


def group_key(group: str) -> tuple[int, int, str]:
    """Orders parallel groups: numbers numerically, then A < B < … < Z < AA."""
    g = group.strip()
    if g.isdigit():
        return (0, int(g), "")
    return (1, len(g), g.casefold())


def effective_dependencies(tasks: Sequence[Task]) -> dict[str, tuple[str, ...]]:
    """Explicit dependencies; for a task with none, every task of an earlier group."""
    by_group: dict[tuple[int, int, str], list[str]] = {}
    for t in tasks:
        if t.group:
            by_group.setdefault(group_key(t.group), []).append(t.id)
    keys = sorted(by_group)
    earlier: dict[tuple[int, int, str], tuple[str, ...]] = {}
    acc: list[str] = []
    for k in keys:
        earlier[k] = tuple(acc)
        acc.extend(by_group[k])
    known = {t.id for t in tasks}
    out: dict[str, tuple[str, ...]] = {}
    for t in tasks:
        if t.dependencies:
            out[t.id] = tuple(d for d in t.dependencies if d in known)
        elif t.group:
            out[t.id] = earlier[group_key(t.group)]
        else:
            out[t.id] = ()
    return out


def find_cycle(tasks: Sequence[Task]) -> tuple[str, ...] | None:
    """A dependency cycle over explicit dependencies, as ('T2', 'T3', 'T2'), or None."""
    known = {t.id for t in tasks}
    deps = {t.id: [d for d in t.dependencies if d in known] for t in tasks}
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in deps:
        if state.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                path.append(node)
            if i < len(deps[node]):
                stack.append((node, i + 1))
                nxt = deps[node][i]
                if state.get(nxt) == 1:
                    return (*path[path.index(nxt) :], nxt)
                if not state.get(nxt):
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return None


def topological_order(tasks: Sequence[Task]) -> tuple[str, ...]:
    """Tasks so that each comes after its effective dependencies; ties keep matrix order."""
    cycle = find_cycle(tasks)
    if cycle is not None:
        first = next(t for t in tasks if t.id == cycle[0])
        raise PlanCycleError(f"dependency cycle {' -> '.join(cycle)}", line=first.line)
    deps = effective_dependencies(tasks)
    order: list[str] = []
    placed: set[str] = set()
    pending = [t.id for t in tasks]
    while pending:
        rest = []
        for tid in pending:
            if all(d in placed for d in deps[tid]):
                order.append(tid)
                placed.add(tid)
            else:
                rest.append(tid)
        if len(rest) == len(pending):  # only possible through group rules: keep going safely
            order.extend(rest)
            break
        pending = rest
    return tuple(order)


def _levels(tasks: Sequence[Task]) -> dict[str, int]:
    deps = effective_dependencies(tasks)
    level: dict[str, int] = {}
    for tid in topological_order(tasks):
        level[tid] = 1 + max((level.get(d, 0) for d in deps[tid]), default=0)
    return level


def waves(tasks: Sequence[Task]) -> tuple[tuple[str, ...], ...]:
    """Tasks by level: wave 1 has no effective dependencies, wave n needs wave n-1."""
    level = _levels(tasks)
    count = max(level.values(), default=0)
    return tuple(tuple(t.id for t in tasks if level[t.id] == n) for n in range(1, count + 1))


def remaining_path_hours(tasks: Sequence[Task]) -> dict[str, float]:
    """For each task, the longest path in hours from its start to the end of the plan."""
    deps = effective_dependencies(tasks)
    hours = {t.id: t.estimate_hours for t in tasks}
    dependents: dict[str, list[str]] = {t.id: [] for t in tasks}
    for tid, ds in deps.items():
        for d in ds:
            dependents[d].append(tid)
    out: dict[str, float] = {}
    for tid in reversed(topological_order(tasks)):
        out[tid] = hours[tid] + max((out[x] for x in dependents[tid] if x in out), default=0.0)
    return out


def critical_path(tasks: Sequence[Task]) -> tuple[tuple[str, ...], float]:
    """The longest chain by Estimate, and its length in hours."""
    lengths = remaining_path_hours(tasks)
    if not lengths:
        return (), 0.0
    deps = effective_dependencies(tasks)
    order = {t.id: i for i, t in enumerate(tasks)}
    starts = [t.id for t in tasks if not deps[t.id]] or list(lengths)
    dependents: dict[str, list[str]] = {t.id: [] for t in tasks}
    for tid, ds in deps.items():
        for d in ds:
            dependents[d].append(tid)
    node = max(starts, key=lambda t: (lengths[t], -order[t]))
    path = [node]
    while True:
        nexts = dependents[node]
        if not nexts:
            break
        node = max(nexts, key=lambda t: (lengths[t], -order[t]))
        path.append(node)
    return tuple(path), lengths[path[0]]


def ready_tasks(tasks: Sequence[Task]) -> tuple[Task, ...]:
    """Not Started tasks whose effective dependencies are all Completed, longest path first."""
    deps = effective_dependencies(tasks)
    status = {t.id: t.status for t in tasks}
    ready = [
        t
        for t in tasks
        if t.status == NOT_STARTED and all(status.get(d) == COMPLETED for d in deps[t.id])
    ]
    if not ready:
        return ()
    lengths = remaining_path_hours(tasks) if find_cycle(tasks) is None else {}
    order = {t.id: i for i, t in enumerate(tasks)}
    return tuple(sorted(ready, key=lambda t: (-lengths.get(t.id, 0.0), order[t.id])))


__all__ = [
    "critical_path",
    "effective_dependencies",
    "find_cycle",
    "group_key",
    "parse_estimate",
    "ready_tasks",
    "remaining_path_hours",
    "topological_order",
    "waves",
]
