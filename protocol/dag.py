"""The plan's dependency graph: estimates, group order, ready set, waves, critical path.

A task that lists no dependencies waits for every task of an earlier parallel group (how
groups are ordered: :func:`group_order`). Those waits are edges like any other: they are
part of the cycle check, and a cycle through them is named as one. An earlier group is a
single *barrier* node that the waiting tasks depend on, so the graph stays linear in the
size of the matrix (a thousand tasks in ten groups do not make a million edges), and every
walk here visits each node once: no input can make one loop.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from protocol._errors import PLAN_FILE, PlanCycleError
from protocol._model import COMPLETED, NOT_STARTED, Task

_N = r"\d+(?:\.\d+)?"
_UNIT = r"h|hrs?|hours?|m|mins?|minutes?|d|days?"
_ESTIMATE = re.compile(
    rf"^~?\s*(?P<a>{_N})\s*(?P<ua>{_UNIT})?"
    rf"(?:\s*(?:-|\u2013|\u2014|to)\s*~?\s*(?P<b>{_N})\s*(?P<ub>{_UNIT})?)?$",
    re.IGNORECASE,
)
_HOURS_AND_MINUTES = re.compile(rf"^(?P<h>{_N})\s*h\w*\s*(?P<m>{_N})\s*m\w*$", re.IGNORECASE)
_HOURS = {"h": 1.0, "m": 1 / 60, "d": 24.0}


@functools.lru_cache(maxsize=8192)  # pure, and asked again for every unchanged row
def parse_estimate(text: str) -> float:
    """Hours in an Estimate cell: ``1h``, ``1.5h``, ``30m``, ``2d``, ``90 min``,
    ``1h 30m``; a range (``2-3h``) counts by its upper bound; anything else is 1."""
    value = text.replace("`", "").replace("*", "").strip()
    m = _ESTIMATE.match(value)
    if m is not None:
        a_unit = m["ua"] or m["ub"] or "h"
        hours = float(m["a"]) * _HOURS[a_unit[0].casefold()]
        if m["b"] is not None:
            b_unit = m["ub"] or m["ua"] or "h"
            hours = max(hours, float(m["b"]) * _HOURS[b_unit[0].casefold()])
        return hours
    m = _HOURS_AND_MINUTES.match(value)
    if m is not None:
        return float(m["h"]) + float(m["m"]) / 60
    return 1.0


# -- groups --------------------------------------------------------------------------------

_NUMBERED = re.compile(r"^\D*?(?P<n>\d+(?:\.\d+)?)$")
_LETTERED = re.compile(r"^(?:.*\s)?(?P<letter>[a-z])$")


@functools.lru_cache(maxsize=4096)  # the same few names, asked for every task
def group_id(name: str) -> str:
    """How group names are compared: case and spacing ignored."""
    return " ".join(name.split()).casefold()


def group_order(names: Iterable[str]) -> tuple[str, ...]:
    """Distinct group names (compared by :func:`group_id`), earliest first.

    Numbered names order by their number (``1 < 2 < 10``, ``Wave 2 < Wave 10``), single
    letters alphabetically (``A < B``, ``Group A < Group B``), and every other name keeps
    its place of first appearance: each kind is sorted among the places its names hold.
    """
    first: dict[str, str] = {}
    for name in names:
        key = group_id(name)
        if key:
            first.setdefault(key, name.strip())
    return tuple(first[k] for k in _ordered_keys(list(first)))


def _ordered_keys(keys: list[str]) -> list[str]:
    """Distinct group ids in first-appearance order, put in the order of :func:`group_order`."""
    numbered = [i for i, k in enumerate(keys) if _NUMBERED.match(k)]
    taken = set(numbered)
    lettered = [i for i, k in enumerate(keys) if i not in taken and _LETTERED.match(k)]
    ordered = list(keys)
    by_number = sorted(numbered, key=lambda i: (_number(keys[i]), keys[i]))
    by_letter = sorted(lettered, key=lambda i: keys[i][-1])
    for slots, sorted_slots in ((numbered, by_number), (lettered, by_letter)):
        for slot, i in zip(slots, sorted_slots, strict=True):
            ordered[slot] = keys[i]
    return ordered


def _number(key: str) -> float:
    m = _NUMBERED.match(key)
    return float(m["n"]) if m else 0.0


# -- the graph -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Graph:
    """Nodes ``0 … n-1`` are the tasks (first of duplicate ids, in matrix order); node
    ``n + r - 1`` is the barrier "every task of the groups before the r-th"."""

    tasks: tuple[Task, ...]
    deps: tuple[tuple[int, ...], ...]
    dependents: tuple[tuple[int, ...], ...]
    groups: tuple[str, ...]  # group names in order; barrier n + r - 1 closes groups[: r]

    @property
    def size(self) -> int:
        return len(self.deps)

    def is_task(self, node: int) -> bool:
        return node < len(self.tasks)


def _graph(tasks: Sequence[Task]) -> _Graph:
    unique: dict[str, Task] = {}
    for t in tasks:
        if t.id not in unique:
            unique[t.id] = t
    nodes = tuple(unique.values())
    index = {tid: i for i, tid in enumerate(unique)}
    keys = [group_id(t.group) if t.group else "" for t in nodes]
    ordered = _ordered_keys(list(dict.fromkeys(k for k in keys if k)))
    rank = {k: r for r, k in enumerate(ordered)}
    first_name: dict[str, str] = {}
    for t, k in zip(nodes, keys, strict=True):
        if k and k not in first_name:
            first_name[k] = t.group.strip()
    n = len(nodes)
    members: list[list[int]] = [[] for _ in ordered]
    deps: list[tuple[int, ...]] = []
    for i, t in enumerate(nodes):
        r = rank[keys[i]] if keys[i] else -1
        if r >= 0:
            members[r].append(i)
        wanted = t.dependencies
        if len(wanted) == 1:
            j = index.get(wanted[0])
            deps.append(() if j is None else (j,))
        elif wanted:
            deps.append(tuple(dict.fromkeys(index[d] for d in wanted if d in index)))
        elif r > 0:
            deps.append((n + r - 1,))
        else:
            deps.append(())
    for r in range(1, len(ordered)):
        deps.append((*members[r - 1], n + r - 2) if r > 1 else tuple(members[0]))
    dependents: list[list[int]] = [[] for _ in deps]
    for node, ds in enumerate(deps):
        for d in ds:
            dependents[d].append(node)
    groups = tuple(first_name[k] for k in ordered)
    return _Graph(nodes, tuple(deps), tuple(map(tuple, dependents)), groups)


def _order(g: _Graph, *, stable: bool = False) -> list[int] | None:
    """Every node after the nodes it waits for; None on a cycle. ``stable``: ties in matrix
    order (a heap), else in whatever order is cheapest."""
    waiting = [len(ds) for ds in g.deps]
    ready = [node for node in range(g.size) if not waiting[node]]
    order: list[int] = []
    while ready:
        node = heapq.heappop(ready) if stable else ready.pop()
        order.append(node)
        for d in g.dependents[node]:
            waiting[d] -= 1
            if waiting[d]:
                continue
            if stable:
                heapq.heappush(ready, d)
            else:
                ready.append(d)
    return order if len(order) == g.size else None


def _cycle_nodes(g: _Graph) -> list[int] | None:
    """A cycle as nodes ``[a, b, …, a]``, each waiting for the next; None when acyclic."""
    state = [0] * g.size  # 0 unseen, 1 on the path, 2 done
    for root in range(g.size):
        if state[root]:
            continue
        path: list[int] = [root]
        cursor: list[int] = [0]
        state[root] = 1
        while path:
            node, i = path[-1], cursor[-1]
            if i == len(g.deps[node]):
                state[node] = 2
                path.pop()
                cursor.pop()
                continue
            cursor[-1] += 1
            nxt = g.deps[node][i]
            if state[nxt] == 1:
                return _from_a_task(g, path[path.index(nxt) :])
            if not state[nxt]:
                state[nxt] = 1
                path.append(nxt)
                cursor.append(0)
    return None


def _from_a_task(g: _Graph, loop: list[int]) -> list[int]:
    """The cycle ``loop`` (without its repeated end) closed at a task: a cycle through a
    group's node must not start or end there, or its task ids would not close."""
    first = next((i for i, n in enumerate(loop) if g.is_task(n)), 0)
    loop = loop[first:] + loop[:first]
    return [*loop, loop[0]]


def find_cycle(tasks: Sequence[Task]) -> tuple[str, ...] | None:
    """A cycle of waits, group waits included, as task ids ``('T2', 'T3', 'T2')``, or None."""
    g = _graph(tasks)
    if _order(g) is not None:
        return None
    nodes = _cycle_nodes(g) or []
    return tuple(g.tasks[n].id for n in nodes if g.is_task(n))


def cycle_error(tasks: Sequence[Task], *, file: str = PLAN_FILE) -> PlanCycleError | None:
    """The cycle of ``tasks`` as an error at its first row, saying which waits come from
    parallel groups; None when there is none."""
    g = _graph(tasks)
    if _order(g) is not None:
        return None
    nodes = _cycle_nodes(g) or []
    ids = [g.tasks[n].id for n in nodes if g.is_task(n)]
    reason = f"dependency cycle {' -> '.join(ids)}"
    through = []
    for a, b in itertools.pairwise(nodes):
        if g.is_task(a) and not g.is_task(b):
            waited = next((m for m in nodes[nodes.index(b) :] if g.is_task(m)), a)
            group = g.tasks[waited].group
            through.append(f"{g.tasks[a].id} lists no dependencies, so it waits for group {group}")
    if through:
        reason += " (through parallel groups: " + "; ".join(through) + ")"
    line = min(g.tasks[n].line for n in nodes if g.is_task(n))
    return PlanCycleError(reason, line=line, file=file)


def _sorted(g: _Graph, *, stable: bool = False) -> list[int]:
    order = _order(g, stable=stable)
    if order is None:
        error = cycle_error(g.tasks)
        assert error is not None
        raise error
    return order


# -- what the graph tells ------------------------------------------------------------------


def effective_dependencies(tasks: Sequence[Task]) -> dict[str, tuple[str, ...]]:
    """What each task waits for: its dependencies, or every task of an earlier group."""
    g = _graph(tasks)
    n = len(g.tasks)
    earlier: list[tuple[str, ...]] = []
    acc: list[str] = []
    for b in range(n, g.size):
        acc.extend(g.tasks[d].id for d in g.deps[b] if g.is_task(d))
        earlier.append(tuple(acc))
    return {
        t.id: tuple(
            x for d in g.deps[i] for x in ((g.tasks[d].id,) if g.is_task(d) else earlier[d - n])
        )
        for i, t in enumerate(g.tasks)
    }


def topological_order(tasks: Sequence[Task]) -> tuple[str, ...]:
    """Tasks so that each comes after what it waits for; ties keep matrix order.
    Raises :class:`PlanCycleError` on a cycle."""
    g = _graph(tasks)
    return tuple(g.tasks[n].id for n in _sorted(g, stable=True) if g.is_task(n))


def waves(tasks: Sequence[Task]) -> tuple[tuple[str, ...], ...]:
    """Tasks by level: wave 1 waits for nothing, wave n for something of wave n-1.
    Raises :class:`PlanCycleError` on a cycle."""
    g = _graph(tasks)
    level = [0] * g.size
    for node in _sorted(g):
        top = max((level[d] for d in g.deps[node]), default=0)
        level[node] = top + 1 if g.is_task(node) else top
    count = max(level[: len(g.tasks)], default=0)
    out: list[list[str]] = [[] for _ in range(count)]
    for i, t in enumerate(g.tasks):
        out[level[i] - 1].append(t.id)
    return tuple(tuple(w) for w in out)


def _remaining(g: _Graph, order: Sequence[int]) -> list[float]:
    rem = [0.0] * g.size
    for node in reversed(order):
        after = max((rem[d] for d in g.dependents[node]), default=0.0)
        rem[node] = after + (g.tasks[node].estimate_hours if g.is_task(node) else 0.0)
    return rem


def remaining_path_hours(tasks: Sequence[Task]) -> dict[str, float]:
    """For each task, the longest path in hours from its start to the end of the plan.
    Raises :class:`PlanCycleError` on a cycle."""
    g = _graph(tasks)
    rem = _remaining(g, _sorted(g))
    return {t.id: rem[i] for i, t in enumerate(g.tasks)}


def critical_path(tasks: Sequence[Task]) -> tuple[tuple[str, ...], float]:
    """The longest chain by Estimate, and its length in hours; among equals, the one that
    comes first in the matrix. Raises :class:`PlanCycleError` on a cycle."""
    g = _graph(tasks)
    if not g.tasks:
        return (), 0.0
    order = _sorted(g)
    rem = _remaining(g, order)

    def key(node: int) -> tuple[float, int]:
        return rem[node], -node  # the longest; among equals, the first in the matrix

    # For each node, the task a step from it continues with: itself for a task; for a
    # barrier, the best task waiting behind it (through later barriers too).
    best = list(range(g.size))
    for node in reversed(order):
        if not g.is_task(node):
            best[node] = max((best[d] for d in g.dependents[node]), key=key, default=node)
    starts = [i for i in range(len(g.tasks)) if not g.deps[i]]
    node = max(starts, key=key)
    path = [node]
    while g.dependents[node] and len(path) <= len(g.tasks):
        nxt = max((best[d] for d in g.dependents[node]), key=key)
        if not g.is_task(nxt):
            break  # a barrier nothing waits behind
        node = nxt
        path.append(node)
    return tuple(g.tasks[i].id for i in path), rem[path[0]]


def ready_tasks(tasks: Sequence[Task]) -> tuple[Task, ...]:
    """Not Started tasks whose waits are all Completed, longest remaining path first."""
    g = _graph(tasks)
    n = len(g.tasks)
    done = [t.status == COMPLETED for t in g.tasks] + [False] * (g.size - n)
    for b in range(n, g.size):  # barriers wait only for tasks and the barrier before them
        done[b] = all(done[d] for d in g.deps[b])
    ready = [
        i
        for i, t in enumerate(g.tasks)
        if t.status == NOT_STARTED and all(done[d] for d in g.deps[i])
    ]
    if not ready:
        return ()
    order = _order(g)
    rem = _remaining(g, order) if order is not None else [0.0] * g.size
    return tuple(g.tasks[i] for i in sorted(ready, key=lambda i: (-rem[i], i)))


__all__ = [
    "critical_path",
    "cycle_error",
    "effective_dependencies",
    "find_cycle",
    "group_id",
    "group_order",
    "parse_estimate",
    "ready_tasks",
    "remaining_path_hours",
    "topological_order",
    "waves",
]
