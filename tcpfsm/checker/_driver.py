"""The one breadth-first search loop, over either expander (plain: Python ints; vector: numpy levels).

Theory of operation: the search goes level by level, so the first state found that breaks an
invariant (or witnesses a reach property, or deadlocks, or ends a forbidden step) is at the
least depth, and the levels kept let :meth:`Search.path_to` rebuild a shortest path to it. A
level is expanded in chunks (the plain expander: a few hundred states; the vector expander:
the whole level, one batch of array operations); after each chunk the driver records the
findings and checks the bounds (states, time), so a bound stops the search within a chunk
and Ctrl-C stops it anywhere, keeping the figures so far (verdicts: inconclusive).

An expander owns the visited set and the representation of states; the driver only asks it to
- ``start()``: the initial level; ``chunks(level)``; ``join(parts)``: the next level;
- ``expand(chunk, steps, keep_graph)``: an :class:`Expansion` (transitions, the new states,
  the states without successors, the first move matching each step property, the edges);
- ``first(predicates, states)``: for each predicate, the first state (in level order) where it holds;
- ``predecessor(level, target)``: the first state of ``level`` (in order) with a move to
  ``target``, and that move's label.
Both expanders order a level the same way up to the layout: the vector engine's levels are
sorted, the plain engine's are in discovery order; both give shortest paths.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tcpfsm.spec._properties import AnyProperty, Deadlock, Invariant, Not, Predicate, Reach, StepProperty

if TYPE_CHECKING:
    from tcpfsm.checker._search import System

Level = Any  # list[int] (plain) or a sorted numpy uint64 array (vector)


@dataclass
class Expansion:
    transitions: int
    new: Level                 # successors not seen before (now visited)
    dead: Level                # states of the chunk without any successor
    steps: dict[int, tuple[int, str, int]] = field(default_factory=dict)  # step index -> (parent, label, child)
    edges: dict[int, list[tuple[str, int]]] | None = None


class Expander(Protocol):
    system: System

    def start(self) -> Level: ...

    def chunks(self, frontier: Level) -> list[Level]: ...

    def join(self, parts: list[Level]) -> Level: ...

    def visited_count(self) -> int: ...

    def watch_steps(self, steps: Sequence[StepProperty]) -> None: ...

    def expand(self, chunk: Level, steps: bool, keep_graph: bool) -> Expansion: ...

    def first(self, predicates: Sequence[Predicate], states: Level) -> list[int | None]: ...

    def predecessor(self, level: Level, target: int) -> tuple[int, str]: ...


@dataclass
class Finding:
    prop: AnyProperty
    state: int
    depth: int
    via: tuple[int, str] | None = None  # step properties: (parent, label)


@dataclass
class Stats:
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    peak_mib: float = 0.0
    complete: bool = False
    stopped: str = ""
    local_states: int = 0
    segments: int = 0
    tables_seconds: float | None = None  # of seconds: building the vector engine's lazy tables

    @property
    def rate(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Search:
    """Breadth-first exploration with the safety properties checked on every state and move."""

    def __init__(self, expander: Expander, properties: Sequence[AnyProperty]) -> None:
        self.expander = expander
        self.system = expander.system
        self.props = list(properties)
        self.steps = [p for p in self.props if isinstance(p, StepProperty)]
        expander.watch_steps(self.steps)
        self.findings: dict[str, Finding] = {}
        self.levels: list[Level] = []
        self.stats = Stats()
        self.graph: dict[int, list[tuple[str, int]]] | None = None
        self.initial = 0
        self.memory_mib: int | None = None  # a bound on the process's peak RSS (inconclusive)

    # ------------------------------------------------------------ the loop
    def run(self, keep_graph: bool = False) -> Stats:
        ex, cfg, stats = self.expander, self.system.cfg, self.stats
        if keep_graph:
            self.graph = {}
        t0 = time.perf_counter()
        next_report = t0 + 1.0
        gc_was = gc.isenabled()
        gc.disable()  # no cycles are made here; the collector only costs time
        depth = 0
        announced = 0  # findings already announced to the progress display
        try:
            frontier = ex.start()
            self.initial = int(frontier[0])
            self.levels = [frontier]
            self._check_states(frontier, 0)
            while len(frontier):
                if cfg.max_depth is not None and depth >= cfg.max_depth:
                    stats.stopped = f"depth bound {cfg.max_depth}"
                    break
                parts: list[Level] = []
                chunks = ex.chunks(frontier)
                for i, chunk in enumerate(chunks):
                    e = ex.expand(chunk, len(self.steps) > 0 and self._steps_pending(), keep_graph)
                    stats.transitions += e.transitions
                    if self.graph is not None and e.edges is not None:
                        self.graph.update(e.edges)
                    if len(e.dead):
                        self._check_dead(e.dead, depth)
                    for j, (parent, label, child) in sorted(e.steps.items()):
                        p = self.steps[j]
                        if p.name not in self.findings:
                            self.findings[p.name] = Finding(p, int(child), depth + 1, (int(parent), label))
                    if len(e.new):
                        parts.append(e.new)
                        self._check_states(e.new, depth + 1)
                    more = i + 1 < len(chunks) or bool(parts)
                    now = time.perf_counter()
                    if more and cfg.max_states is not None and ex.visited_count() >= cfg.max_states:
                        stats.stopped = f"state bound {cfg.max_states:,}"
                    elif more and cfg.timeout is not None and now - t0 > cfg.timeout:
                        stats.stopped = f"time bound {cfg.timeout:g} s"
                    elif more and self.memory_mib is not None and peak_rss_mib() > self.memory_mib:
                        stats.stopped = f"memory bound {self.memory_mib:,} MiB (peak RSS {peak_rss_mib():,.0f} MiB)"
                    if cfg.progress and len(self.findings) > announced:
                        for name in list(self.findings)[announced:]:
                            f = self.findings[name]
                            cfg.progress({"found": name, "kind": f.prop.kind, "depth": f.depth})
                        announced = len(self.findings)
                    if cfg.progress and now >= next_report:
                        next_report = now + 1.0
                        states = ex.visited_count()
                        cfg.progress({"states": states, "frontier": len(frontier), "depth": depth,
                                      "rate": states / (now - t0), "elapsed": now - t0,
                                      "eta": _eta([len(lv) for lv in self.levels], sum(len(p) for p in parts),
                                                  states / (now - t0))})
                    if stats.stopped:
                        break
                if stats.stopped:
                    break
                frontier = ex.join(parts)
                if len(frontier):
                    depth += 1
                    self.levels.append(frontier)
            stats.complete = not stats.stopped
        except KeyboardInterrupt:
            stats.stopped, stats.complete = "interrupted (Ctrl-C)", False
        except OverflowError as exc:  # the model outgrew the state encoding: a bound like any other
            stats.stopped, stats.complete = f"encoding limit: {exc}", False
        finally:
            if gc_was:
                gc.enable()
        stats.states = ex.visited_count()
        stats.depth = len(self.levels) - 1
        stats.seconds = time.perf_counter() - t0
        stats.peak_mib = peak_rss_mib()
        stats.local_states = len(self.system.lm.locals)
        stats.segments = len(self.system.lm.segments) - 1
        stats.tables_seconds = getattr(ex, "table_seconds", None)
        return stats

    def _steps_pending(self) -> bool:
        return any(p.name not in self.findings for p in self.steps)

    def _check_states(self, states: Level, depth: int) -> None:
        pending = [p for p in self.props if isinstance(p, Invariant | Reach) and p.name not in self.findings]
        if not pending:
            return
        preds = [p.never if isinstance(p, Invariant) else p.reach for p in pending]
        for p, hit in zip(pending, self.expander.first(preds, states), strict=True):
            if hit is not None:
                self.findings[p.name] = Finding(p, int(hit), depth)

    def _check_dead(self, states: Level, depth: int) -> None:
        pending = [p for p in self.props if isinstance(p, Deadlock) and p.name not in self.findings]
        if not pending:
            return
        preds: list[Predicate] = [Not(p.terminal) for p in pending]
        for p, hit in zip(pending, self.expander.first(preds, states), strict=True):
            if hit is not None:
                self.findings[p.name] = Finding(p, int(hit), depth)

    # ------------------------------------------------------------ traces
    def path_to(self, target: int, depth: int) -> list[tuple[str, int]]:
        """A shortest path (event label, state after) from the initial state to ``target``."""
        path: list[tuple[str, int]] = []
        cur = target
        for d in range(depth, 0, -1):
            parent, label = self.expander.predecessor(self.levels[d - 1], cur)
            path.append((label, cur))
            cur = parent
        return list(reversed(path))

    def depth_of(self) -> dict[int, int]:
        return {int(s): d for d, level in enumerate(self.levels) for s in level}


def _eta(levels: list[int], next_so_far: int, rate: float) -> float | None:
    """Seconds left, estimated once the BFS levels shrink: the levels still to come taken as a
    geometric series of the last ratio (None while the levels grow: no estimate)."""
    if len(levels) < 3 or rate <= 0:
        return None
    a, b = levels[-2], levels[-1]
    if not a or b >= a:
        return None
    q = b / a
    remaining = b * q / (1 - q) - next_so_far
    return max(remaining, 0.0) / rate


def progress_printer(stream: Any = None) -> Callable[[dict[str, Any]], None]:
    """The progress line (elapsed, states, frontier, depth, states/s, ETA when the levels shrink),
    and one line when a property is found violated (or a reach property witnessed)."""
    stream = stream or sys.stderr

    def show(info: dict[str, Any]) -> None:
        if "found" in info:
            what = "witnessed" if info["kind"] == "reach" else "VIOLATED"
            print(f"\r\033[K  {info['found']} {what} at depth {info['depth']}", file=stream, flush=True)
            return
        eta = info.get("eta")
        eta_text = f"ETA {eta:,.0f} s" if eta is not None else "ETA -"
        print(f"\r\033[K  {info.get('elapsed', 0.0):>6.1f} s  {info['states']:>12,} states  "
              f"frontier {info['frontier']:>10,}  depth {info['depth']:>3}  {info['rate']:>10,.0f} states/s  "
              f"{eta_text}", end="", file=stream, flush=True)
    return show


__all__ = ["Expander", "Expansion", "Finding", "Search", "Stats", "peak_rss_mib", "progress_printer"]
