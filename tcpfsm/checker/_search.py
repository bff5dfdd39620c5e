"""The composed system (two endpoints, two channels) and its breadth-first exploration.

Global state, packed into one int: local ids of A and B (16 bits each), their
retransmission counters (4 bits each), history values (4 bits each), then the channels AB
and BA, each a sequence of segment ids of ``SEG_BITS`` bits (head in the low bits; id 0
never occurs, so the length is implicit). Breadth-first, level by level, so the first
violation found is a shortest one; levels are kept so that a path can be rebuilt.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tcpfsm.base._segment import Flags
from tcpfsm.checker._local import LocalModel, Result
from tcpfsm.checker._properties import History, Property, View, compile_predicate, step_matches
from tcpfsm.spec import Spec

SEG_BITS = 8
SEG_MASK = (1 << SEG_BITS) - 1
RST_BIT = int(Flags.RST)


@dataclass(frozen=True)
class Channel:
    """The network between the endpoints (the same model in both directions)."""

    capacity: int = 2
    lossy: bool = False
    duplicating: bool = False
    reordering: bool = False
    when_full: str = "block"  # block: a send into a full channel disables the event; drop: it is lost

    def describe(self) -> str:
        kinds = [k for k, on in (("lossy", self.lossy), ("duplicating", self.duplicating),
                                 ("reordering", self.reordering)) if on] or ["reliable FIFO"]
        return f"{', '.join(kinds)}, capacity {self.capacity}, {self.when_full} when full"


@dataclass
class Config:
    spec: Spec
    channel: Channel = field(default_factory=Channel)
    retransmissions: int = 1
    open: dict[str, str] = field(default_factory=lambda: {"A": "open_active", "B": "open_passive"})
    histories: tuple[History, ...] = ()
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    progress: Callable[[dict[str, Any]], None] | None = None


USER_CALLS = ("close", "abort", "send")  # environment calls (SEND only where it opens)
TIMERS = ("retransmit", "time_wait", "user")
# the event names both engines give moves (labels and history rules): CLOSE_A, CONNECT_B, TW_A, ...
EVENT_NAME = {"close": "close", "abort": "abort", "send": "connect", "retransmit": "timeout",
              "time_wait": "tw", "user": "user_timeout"}


class System:
    """Successors of packed global states; every endpoint move comes from LocalModel."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.lm = LocalModel(cfg.spec, max_retries=cfg.retransmissions)
        self.K = cfg.channel.capacity
        self.R = cfg.retransmissions
        self.chan_bits = SEG_BITS * self.K
        self.hist = cfg.histories
        self.seg_bits: list[int] = [0]
        self.count_rtx = self.lm.control  # full projection: the Endpoint counts its own retries

    # ------------------------------------------------------------ encoding
    def pack(self, la: int, lb: int, ra: int, rb: int, h: int, ab: tuple[int, ...], ba: tuple[int, ...]) -> int:
        cab = 0
        for i, sid in enumerate(ab):
            cab |= sid << (SEG_BITS * i)
        cba = 0
        for i, sid in enumerate(ba):
            cba |= sid << (SEG_BITS * i)
        return la | lb << 16 | ra << 32 | rb << 36 | h << 40 | cab << 48 | cba << (48 + self.chan_bits)

    def unpack(self, s: int) -> tuple[int, int, int, int, int, tuple[int, ...], tuple[int, ...]]:
        la, lb = s & 0xFFFF, (s >> 16) & 0xFFFF
        ra, rb, h = (s >> 32) & 0xF, (s >> 36) & 0xF, (s >> 40) & 0xFF
        cab = (s >> 48) & ((1 << self.chan_bits) - 1)
        cba = s >> (48 + self.chan_bits)
        ab = []
        while cab:
            ab.append(cab & SEG_MASK)
            cab >>= SEG_BITS
        ba = []
        while cba:
            ba.append(cba & SEG_MASK)
            cba >>= SEG_BITS
        return la, lb, ra, rb, h, tuple(ab), tuple(ba)

    def _sync_segments(self) -> None:
        segs = self.lm.segments
        if len(segs) > SEG_MASK:
            raise OverflowError(f"more than {SEG_MASK} distinct segments; the model is too large for this encoding")
        while len(self.seg_bits) < len(segs):
            self.seg_bits.append(segs[len(self.seg_bits)].bits)

    def view(self, s: int) -> View:
        la, lb, _ra, _rb, h, ab, ba = self.unpack(s)
        hist = {hv.name: hv.values[(h >> (4 * i)) & 0xF] for i, hv in enumerate(self.hist)}
        return View(self.lm.state_name(la), self.lm.state_name(lb), hist, ab, ba)

    def initial(self) -> int:
        ra = self.lm.open("A", self.cfg.open["A"])
        rb = self.lm.open("B", self.cfg.open["B"])
        self._sync_segments()
        return self.pack(ra.local, rb.local, 0, 0, 0, ra.sent[: self.K], rb.sent[: self.K])

    # ------------------------------------------------------------ history
    def _history(self, h: int, who: str, event: str, input_sid: int, res: Result) -> int:
        if not self.hist:
            return h
        src, dst = res.info.source, res.info.target
        for i, hv in enumerate(self.hist):
            if hv.of != who:
                continue
            cur = (h >> (4 * i)) & 0xF
            for r in hv.rules:
                if r.source is not None and r.source != cur:
                    continue
                if r.enters is not None and not (dst == r.enters and src != dst):
                    continue
                if r.event is not None and r.event != event:
                    continue
                if r.input_bit and not (input_sid and self.seg_bits[input_sid] & r.input_bit):
                    continue
                if r.changes_state is not None and r.changes_state != (src != dst):
                    continue
                h = (h & ~(0xF << (4 * i))) | (r.to << (4 * i))
                break
        return h

    # ------------------------------------------------------------ successors
    def successors(self, s: int, labels: bool = False) -> list[tuple[str, int, Any]]:
        """Every enabled event of ``s``: (label, successor, detail). Order: REFERENCE_MODEL §9."""
        la, lb, ra, rb, h, ab, ba = self.unpack(s)
        out: list[tuple[str, int, Any]] = []
        K, R, ch = self.K, self.R, self.cfg.channel
        lm = self.lm
        for who in ("A", "B"):
            me, rx = (la, ra) if who == "A" else (lb, rb)
            inq, outq = (ba, ab) if who == "A" else (ab, ba)

            def emit(event: str, res: Result | None, new_in: tuple[int, ...], input_sid: int = 0,
                     rtx_inc: bool = False, who: str = who, me: int = me, rx: int = rx,
                     outq: tuple[int, ...] = outq) -> None:
                if res is None:
                    return
                sent = res.sent
                if len(outq) + len(sent) > K:
                    if ch.when_full == "block":
                        return
                    sent = sent[: K - len(outq)]
                self._sync_segments()
                changed = lm.state_name(res.local) != lm.state_name(me)
                nrx = rx + 1 if rtx_inc else (0 if changed else rx)
                nh = self._history(h, who, event, input_sid, res)
                new_out = outq + sent
                if who == "A":
                    nxt = self.pack(res.local, lb, nrx, rb, nh, new_out, new_in)
                else:
                    nxt = self.pack(la, res.local, ra, nrx, nh, new_in, new_out)
                out.append((f"{event.upper()}_{who}", nxt, (who, input_sid, res) if labels else (input_sid, res)))

            # RECV (the head; any position when the network reorders)
            positions = range(len(inq)) if ch.reordering else range(min(1, len(inq)))
            for i in positions:
                sid = inq[i]
                res = lm.receive(me, sid)
                emit("recv" if i == 0 else f"recv{i}", res, inq[:i] + inq[i + 1:], sid)
            for call in USER_CALLS:
                emit(EVENT_NAME[call], lm.user(me, call), inq)
            for timer in TIMERS:
                if timer == "retransmit" and self.count_rtx and rx >= R:
                    continue
                emit(EVENT_NAME[timer], lm.timer(me, timer), inq,
                     rtx_inc=self.count_rtx and timer == "retransmit")
        if ch.lossy:
            for name, q in (("AB", ab), ("BA", ba)):
                for i in (range(len(q)) if ch.reordering else range(min(1, len(q)))):
                    nq = q[:i] + q[i + 1:]
                    nxt = self.pack(la, lb, ra, rb, h, nq, ba) if name == "AB" else self.pack(la, lb, ra, rb, h, ab, nq)
                    out.append((f"LOSE_{name}" + (str(i) if i else ""), nxt, (0, None)))
        if ch.duplicating:
            for name, q in (("AB", ab), ("BA", ba)):
                if q and len(q) < K:
                    nq = (*q, q[0])
                    nxt = self.pack(la, lb, ra, rb, h, nq, ba) if name == "AB" else self.pack(la, lb, ra, rb, h, ab, nq)
                    out.append((f"DUP_{name}", nxt, (0, None)))
        return out


EVENT_CLASS = {"RECV": "deliver", "CLOSE": "user", "ABORT": "user", "CONNECT": "user", "TIMEOUT": "timer",
               "TW": "timer", "USER_TIMEOUT": "timer", "LOSE": "loss", "DUP": "loss"}


def event_class(label: str) -> str:
    head = label.rsplit("_", 1)[0]
    if head.startswith("RECV"):
        return "deliver"
    return EVENT_CLASS.get(head, "loss")


@dataclass
class Finding:
    prop: Property
    state: int
    depth: int
    via: tuple[int, str] | None = None  # for step properties: (parent, label)


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

    @property
    def rate(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0


def end_of_level(cfg: Config, stats: Stats, t0: float, states: int, frontier: int, depth: int,
                 next_report: float) -> float:
    """Shared by both engines after each BFS level: the time bound, and progress once a second.

    Sets ``stats.stopped`` when the time bound is hit with work left; returns when to report next."""
    now = time.perf_counter()
    if cfg.timeout is not None and now - t0 > cfg.timeout and frontier:
        stats.stopped = f"time bound {cfg.timeout:g} s"
    if cfg.progress and now >= next_report:
        next_report = now + 1.0
        cfg.progress({"states": states, "frontier": frontier, "depth": depth, "rate": states / (now - t0)})
    return next_report


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Search:
    """Breadth-first exploration with safety properties checked on every state."""

    def __init__(self, system: System, properties: list[Property]) -> None:
        self.sys = system
        self.props = properties
        sb = system.seg_bits
        self.inv = [(p, compile_predicate(p.predicate, sb)) for p in properties if p.kind == "invariant"]
        self.reach = [(p, compile_predicate(p.predicate, sb)) for p in properties if p.kind == "reach"]
        self.dead = [(p, compile_predicate(p.predicate, sb)) for p in properties if p.kind == "deadlock"]
        self.steps = [p for p in properties if p.kind == "step"]
        self.findings: dict[str, Finding] = {}
        self.levels: list[list[int]] = []
        self.stats = Stats()
        self.graph: dict[int, list[tuple[str, int]]] | None = None

    def run(self, keep_graph: bool = False) -> Stats:
        sys_, cfg, stats = self.sys, self.sys.cfg, self.stats
        if keep_graph:
            self.graph = {}
        t0 = time.perf_counter()
        gc_was = gc.isenabled()
        gc.disable()  # no cycles are made here; the collector only costs time
        try:
            init = sys_.initial()
            visited = {init}
            frontier = [init]
            self.levels = [frontier]
            self._check_state(init, 0)
            depth = 0
            next_report = time.perf_counter() + 1.0
            while frontier:
                if cfg.max_depth is not None and depth >= cfg.max_depth:
                    stats.stopped = f"depth bound {cfg.max_depth}"
                    break
                nxt_level: list[int] = []
                for s in frontier:
                    succ = sys_.successors(s)
                    stats.transitions += len(succ)
                    if keep_graph:
                        assert self.graph is not None
                        self.graph[s] = [(lab, n) for lab, n, _ in succ]
                    if not succ:
                        self._deadlock(s, depth)
                    for label, n, detail in succ:
                        if self.steps:
                            self._check_step(s, label, n, detail, depth + 1)
                        if n not in visited:
                            visited.add(n)
                            nxt_level.append(n)
                            self._check_state(n, depth + 1)
                    if cfg.max_states is not None and len(visited) >= cfg.max_states:
                        stats.stopped = f"state bound {cfg.max_states:,}"
                        break
                if stats.stopped:
                    break
                if nxt_level:
                    depth += 1
                    self.levels.append(nxt_level)
                frontier = nxt_level
                next_report = end_of_level(cfg, stats, t0, len(visited), len(frontier), depth, next_report)
                if stats.stopped:
                    break
            else:
                stats.complete = True
            if frontier and not stats.stopped:
                stats.complete = False
            stats.complete = stats.complete and not stats.stopped
        except KeyboardInterrupt:
            stats.stopped = "interrupted (Ctrl-C)"
            stats.complete = False
        finally:
            if gc_was:
                gc.enable()
        stats.states = len(visited)
        stats.depth = len(self.levels) - 1
        stats.seconds = time.perf_counter() - t0
        stats.peak_mib = peak_rss_mib()
        stats.local_states = len(sys_.lm.locals)
        stats.segments = len(sys_.lm.segments) - 1
        self.visited = visited
        return stats

    def _check_state(self, s: int, depth: int) -> None:
        if not (self.inv or self.reach):
            return
        pending_inv = [(p, f) for p, f in self.inv if p.name not in self.findings]
        pending_reach = [(p, f) for p, f in self.reach if p.name not in self.findings]
        if not (pending_inv or pending_reach):
            return
        v = self.sys.view(s)
        for p, f in pending_inv:
            if f(v):
                self.findings[p.name] = Finding(p, s, depth)
        for p, f in pending_reach:
            if f(v):
                self.findings[p.name] = Finding(p, s, depth)

    def _deadlock(self, s: int, depth: int) -> None:
        for p, terminal in self.dead:
            if p.name not in self.findings and not terminal(self.sys.view(s)):
                self.findings[p.name] = Finding(p, s, depth)

    def _check_step(self, s: int, label: str, n: int, detail: Any, depth: int) -> None:
        input_sid, res = detail
        if res is None:
            return
        sb, lm = self.sys.seg_bits, self.sys.lm
        la, lb = s & 0xFFFF, (s >> 16) & 0xFFFF
        me = la if label.endswith("_A") else lb
        for p in self.steps:
            if p.name in self.findings:
                continue
            if step_matches(p, res.info.source, res.info.target, lm.passive(me), sb[input_sid] if input_sid else 0,
                            [sb[o] for o in res.sent]):
                self.findings[p.name] = Finding(p, n, depth, (s, label))

    # ------------------------------------------------------------ traces
    def path_to(self, target: int, depth: int) -> list[tuple[str, int]]:
        """A shortest path (event label, state after) from the initial state to ``target``."""
        path: list[tuple[str, int]] = []
        cur = target
        for d in range(depth, 0, -1):
            for s in self.levels[d - 1]:
                hit = next((lab for lab, n, _ in self.sys.successors(s) if n == cur), None)
                if hit is not None:
                    path.append((hit, cur))
                    cur = s
                    break
            else:  # pragma: no cover - levels always hold a predecessor
                raise RuntimeError("no predecessor found while rebuilding a counterexample")
        return list(reversed(path))


def progress_printer(stream: Any = None) -> Callable[[dict[str, Any]], None]:
    stream = stream or sys.stderr

    def show(info: dict[str, Any]) -> None:
        print(f"\r  {info['states']:>12,} states  frontier {info['frontier']:>10,}  depth {info['depth']:>3}  "
              f"{info['rate']:>10,.0f} states/s", end="", file=stream, flush=True)
    return show
