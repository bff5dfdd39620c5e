"""The composed system (two endpoints, two channels) and the plain expander of the search.

:class:`System` gives the successors of a global state, one Python int in the run's
:class:`~tcpfsm.checker._layout.Layout`; every endpoint move comes from the LocalModel (the
spec's own Endpoint), every kind of move from the :class:`~tcpfsm.checker._moves.MoveTable`.
:class:`PlainExpander` feeds the BFS driver (:mod:`._driver`) from it: a Python set of visited
ints, levels in discovery order, predicates through the Python evaluator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tcpfsm.checker._driver import Expansion
from tcpfsm.checker._layout import Layout
from tcpfsm.checker._local import LocalModel, Result
from tcpfsm.checker._moves import CALL, DATA, DUP, LOSE, RECV, REOPEN, Channel, MoveTable
from tcpfsm.checker._properties import View, holds, next_history, step_matches
from tcpfsm.spec import Spec
from tcpfsm.spec._properties import HistoryVar, Predicate, StepProperty


@dataclass
class Config:
    spec: Spec
    channel: Channel = field(default_factory=Channel)
    retransmissions: int = 1
    open: dict[str, str] = field(default_factory=lambda: {"A": "open_active", "B": "open_passive"})
    histories: tuple[HistoryVar, ...] = ()
    max_states: int | None = None
    max_depth: int | None = None
    timeout: float | None = None
    progress: Callable[[dict[str, Any]], None] | None = None
    data: int = 0  # SEND calls of one byte each endpoint's user may make (the DATA move)
    reopen: int = 0  # opens of the same 4-tuple after the first, per endpoint (the REOPEN moves)
    reopen_iss: tuple[str, ...] = ("clock", "wrap")  # the ISS choices of a reopen (REOPEN_CHOICES)


class Decoded(NamedTuple):
    la: int
    lb: int
    ra: int
    rb: int
    h: int                  # the history region (see Layout.hist_get)
    ab: tuple[int, ...]     # segment ids in flight from A to B, head first
    ba: tuple[int, ...]


# what a move of an endpoint did: (its local id before, the segment id received or 0, the result)
Detail = tuple[int, int, Result]


class System:
    """Successors of packed global states."""

    def __init__(self, cfg: Config, layout: Layout | None = None) -> None:
        self.cfg = cfg
        self.lm = LocalModel(cfg.spec, max_retries=cfg.retransmissions, data=cfg.data, reopen=cfg.reopen)
        self.moves = MoveTable.build(cfg.spec, cfg.channel, cfg.data, cfg.reopen, cfg.reopen_iss)
        self.outlasting = outlasting_timers(cfg.spec) if cfg.reopen else frozenset()
        self.retransmitting = frozenset(t.name for t in cfg.spec.timer_defs if t.armed == "while_unacknowledged")
        self.K = cfg.channel.capacity
        self.R = cfg.retransmissions
        self.hist = cfg.histories
        self.seg_bits: list[int] = [0]  # control bits of each segment id
        self.count_rtx = self.lm.control  # full projection: the Endpoint counts its own retries
        self.layout = layout or Layout.generous(self.K, len(self.hist), 16 if cfg.reopen else 8)
        if self.count_rtx and self.layout.max_retry < self.R:
            raise OverflowError(f"R={self.R}: at most {self.layout.max_retry} retransmissions fit the encoding")
        self._hist_of = {who: tuple((i, hv) for i, hv in enumerate(self.hist) if hv.of == who) for who in "AB"}
        self._endpoint_moves = {who: self.moves.of(who) for who in "AB"}
        self.overflowed = False  # the layout was outgrown: the search stopped (inconclusive)

    def use_layout(self, layout: Layout) -> None:
        """Switch to another layout before the search starts (the vector engine's tight one)."""
        self.layout = layout

    # ------------------------------------------------------------ decoding
    def _sync_segments(self) -> None:
        """Record the control bits of new segments; OverflowError (once: the search stops there, as
        at a bound) when the interned segments or local states outgrow the layout."""
        segs = self.lm.segments
        while len(self.seg_bits) < len(segs):
            self.seg_bits.append(segs[len(self.seg_bits)].bits)
        if self.overflowed:
            return
        if len(segs) - 1 > self.layout.max_segment:
            self.overflowed = True
            raise OverflowError(f"more than {self.layout.max_segment} distinct segments (-k, -r and the channel "
                                "kinds bound them; use smaller ones)")
        if len(self.lm.locals) - 1 > self.layout.max_local:
            self.overflowed = True
            raise OverflowError(f"more than {self.layout.max_local + 1} local states (use smaller bounds)")

    def _fits(self, res: Result) -> bool:
        """After an overflow (rebuilding a counterexample): only successors the encoding can hold."""
        L = self.layout
        return res.local <= L.max_local and all(x <= L.max_segment for x in res.sent)

    def decode(self, s: int) -> Decoded:
        return Decoded(*self.layout.unpack(s))

    def history_values(self, h: int) -> dict[str, str]:
        return {hv.name: hv.values[self.layout.hist_get(h, i)] for i, hv in enumerate(self.hist)}

    def view(self, s: int) -> View:
        """The state as the Python evaluator reads it."""
        la, lb, _ra, _rb, h, ab, ba = self.layout.unpack(s)
        sb, lm = self.seg_bits, self.lm
        name = lm.state_name
        if lm.control:
            return View(name(la), name(lb), self.history_values(h), tuple(sb[x] for x in ab),
                        tuple(sb[x] for x in ba))
        segs = lm.segments
        return View(name(la), name(lb), self.history_values(h), tuple(sb[x] for x in ab), tuple(sb[x] for x in ba),
                    {"A": lm.numbers(la), "B": lm.numbers(lb)},
                    {"AB": tuple(segs[x].ack for x in ab), "BA": tuple(segs[x].ack for x in ba)})

    def initial(self) -> int:
        ra = self.lm.open("A", self.cfg.open["A"])
        rb = self.lm.open("B", self.cfg.open["B"])
        self._sync_segments()
        return self.layout.pack(ra.local, rb.local, 0, 0, 0, ra.sent[: self.K], rb.sent[: self.K])

    def close_tables(self, max_locals: int, max_segments: int) -> bool:
        """Run every move on every local state until no new local state or segment appears
        (False when the tables outgrow the limits)."""
        lm = self.lm
        self.initial()
        done_segments: dict[int, int] = {}  # local id -> segments already received in it
        while True:
            before = (len(lm.locals), len(lm.segments))
            for lid in range(len(lm.locals)):
                for mv in self._endpoint_moves["A"]:
                    if mv.kind == CALL:
                        lm.user(lid, mv.arg)
                    elif mv.kind == DATA:
                        lm.data(lid)
                    elif mv.kind != RECV:
                        lm.timer(lid, mv.arg)
                # the segments known now; those a receive here makes are received on the next pass
                # (marking them done at once left (local, segment) pairs out of the closure)
                known = len(lm.segments)
                for sid in range(done_segments.get(lid, 1), known):
                    lm.receive(lid, sid)
                done_segments[lid] = known
            if len(lm.locals) > max_locals or len(lm.segments) > max_segments:
                return False
            if (len(lm.locals), len(lm.segments)) == before:
                break
        self._sync_segments()
        return True

    # ------------------------------------------------------------ history
    def next_history(self, h: int, who: str, event: str, input_sid: int, res: Result) -> int:
        """The history region after a move of ``who``."""
        L, sb = self.layout, self.seg_bits
        bits = sb[input_sid] if input_sid else 0
        for i, hv in self._hist_of[who]:
            cur = L.hist_get(h, i)
            new = next_history(hv, cur, event, bits, res.info.source, res.info.target)
            if new != cur:
                h = L.hist_set(h, i, new)
        return h

    # ------------------------------------------------------------ successors
    def successors(self, s: int) -> list[tuple[str, int, Detail | None]]:
        """Every enabled move of ``s``: (label, successor, detail), in the move table's order."""
        L = self.layout
        la, lb, ra, rb, h, ab, ba = L.unpack(s)
        out: list[tuple[str, int, Detail | None]] = []
        K, R, ch, lm = self.K, self.R, self.cfg.channel, self.lm
        block = ch.when_full == "block"
        hist_of = self._hist_of
        pack = L.pack

        def emit(label: str, event: str, who: str, me: int, rx: int, res: Result | None, new_in: tuple[int, ...],
                 outq: tuple[int, ...], sid: int, rtx_inc: bool) -> None:
            if res is None:
                return
            sent = res.sent
            if len(outq) + len(sent) > K:
                if block:
                    return
                sent = sent[: K - len(outq)]
            self._sync_segments()
            if self.overflowed and not self._fits(res):
                return
            info = res.info
            nrx = rx + 1 if rtx_inc else (0 if info.source != info.target else rx)
            nh = self.next_history(h, who, event, sid, res) if hist_of[who] else h
            if who == "A":
                nxt = pack(res.local, lb, nrx, rb, nh, outq + sent, new_in)
            else:
                nxt = pack(la, res.local, ra, nrx, nh, new_in, outq + sent)
            out.append((label, nxt, (me, sid, res)))

        for who, me, rx, inq, outq in (("A", la, ra, ba, ab), ("B", lb, rb, ab, ba)):
            for mv in self._endpoint_moves[who]:
                kind = mv.kind
                if kind == RECV:  # the head; any position when the network reorders
                    for i in range(len(inq)) if ch.reordering else range(min(1, len(inq))):
                        sid = inq[i]
                        emit(mv.labels[i], "recv", who, me, rx, lm.receive(me, sid), inq[:i] + inq[i + 1:], outq,
                             sid, False)
                elif kind == CALL:
                    emit(mv.labels[0], mv.event, who, me, rx, lm.user(me, mv.arg), inq, outq, 0, False)
                elif kind == DATA:
                    emit(mv.labels[0], mv.event, who, me, rx, lm.data(me), inq, outq, 0, False)
                elif kind == REOPEN:
                    emit(mv.labels[0], mv.event, who, me, rx, lm.reopen(me, mv.arg, who), inq, outq, 0, False)
                else:
                    if mv.arg in self.outlasting and (ab or ba or lm.armed(lb if who == "A" else la)
                                                      & self.retransmitting):
                        continue  # 2 MSL outlast the segments in flight and the peer's retransmission
                    rtx_inc = self.count_rtx and mv.retries
                    if rtx_inc and rx >= R:
                        continue
                    emit(mv.labels[0], mv.event, who, me, rx, lm.timer(me, mv.arg), inq, outq, 0, rtx_inc)
        for mv in self.moves.network:
            q = ab if mv.channel == "AB" else ba
            if mv.kind == LOSE:
                for i in (range(len(q)) if ch.reordering else range(min(1, len(q)))):
                    nq = q[:i] + q[i + 1:]
                    nxt = pack(la, lb, ra, rb, h, nq, ba) if mv.channel == "AB" else pack(la, lb, ra, rb, h, ab, nq)
                    out.append((mv.labels[i], nxt, None))
            elif mv.kind == DUP and q and len(q) < K:
                nq = (*q, q[0])
                nxt = pack(la, lb, ra, rb, h, nq, ba) if mv.channel == "AB" else pack(la, lb, ra, rb, h, ab, nq)
                out.append((mv.labels[0], nxt, None))
        return out

    # ------------------------------------------------------------ step properties
    def step_mask(self, steps: Sequence[StepProperty], detail: Detail) -> int:
        """Bit j set: the move matches the pattern of ``steps[j]``."""
        me, sid, res = detail
        sb = self.seg_bits
        bits_in = sb[sid] if sid else 0
        sent = [sb[o] for o in res.sent]
        lm = self.lm
        passive = lm.passive(me)
        relation = lm.relation(res.local, sid) if sid else None
        accepts: bool | None = None  # computed when a pattern asks
        m = 0
        for j, p in enumerate(steps):
            pat = p.never
            if pat.accepts is not None and accepts is None:
                accepts = bool(sid) and lm.accepts(me, res.local)
            if step_matches(pat, res.info.source, res.info.target, passive, bits_in, sent, relation, bool(accepts),
                            lm.segment_clean[sid]):
                m |= 1 << j
        return m


def outlasting_timers(spec: Spec) -> frozenset[str]:
    """The timers that outlast the network's memory: those of at least 2 MSL (TIME-WAIT's, RFC 9293
    §3.4.2 MUST-13). The checker has no clock; with incarnations (``reopen``) such a timer may fire
    only once nothing is in flight and the peer has no retransmission pending: every segment lives
    at most one MSL, whatever it draws in answer at most another, and the peer's retransmission
    timeout (at most 60 s, RFC 6298 (2.5), for the model's few retransmissions) is shorter than 2 MSL
    (4 minutes with §3.4.2's MSL of 2 minutes): the abstraction of "2 MSL >= the lifetime of anything
    in flight". A shorter timer fires at any time, as every other does."""
    return frozenset(t.name for t in spec.timer_defs
                     if t.duration is not None and t.duration.param == "msl" and t.duration.times >= 2)


class PlainExpander:
    """Python ints, a set of visited states, levels in discovery order."""

    CHUNK = 256  # states per chunk: the bounds are checked this often

    def __init__(self, system: System) -> None:
        self.system = system
        self.visited: set[int] = set()
        self.steps: tuple[StepProperty, ...] = ()
        self._masks: dict[tuple[int, int, int, tuple[int, ...]], int] = {}

    def start(self) -> list[int]:
        init = self.system.initial()
        self.visited = {init}
        return [init]

    def chunks(self, frontier: list[int]) -> list[list[int]]:
        n = self.CHUNK
        return [frontier[i: i + n] for i in range(0, len(frontier), n)]

    def join(self, parts: list[list[int]]) -> list[int]:
        return [s for part in parts for s in part]

    def visited_count(self) -> int:
        return len(self.visited)

    def watch_steps(self, steps: Sequence[StepProperty]) -> None:
        self.steps = tuple(steps)
        self._masks = {}

    def expand(self, chunk: list[int], steps: bool, keep_graph: bool) -> Expansion:
        successors, visited = self.system.successors, self.visited
        new: list[int] = []
        dead: list[int] = []
        hits: dict[int, tuple[int, str, int]] = {}
        edges: dict[int, list[tuple[str, int]]] | None = {} if keep_graph else None
        transitions = 0
        for s in chunk:
            succ = successors(s)
            transitions += len(succ)
            if edges is not None:
                edges[s] = [(lab, n) for lab, n, _ in succ]
            if not succ:
                dead.append(s)
            for label, n, detail in succ:
                if steps and detail is not None:
                    m = self._step_mask(detail)
                    while m:
                        j = (m & -m).bit_length() - 1
                        m &= m - 1
                        hits.setdefault(j, (s, label, n))
                if n not in visited:
                    visited.add(n)
                    new.append(n)
        return Expansion(transitions, new, dead, hits, edges)

    def _step_mask(self, detail: Detail) -> int:
        me, sid, res = detail
        key = (me, sid, res.local, res.sent)
        m = self._masks.get(key)
        if m is None:
            m = self._masks[key] = self.system.step_mask(self.steps, detail)
        return m

    def first(self, predicates: Sequence[Predicate], states: list[int]) -> list[int | None]:
        out: list[int | None] = [None] * len(predicates)
        todo = list(range(len(predicates)))
        view = self.system.view
        for s in states:
            v = view(s)
            for j in list(todo):
                if holds(predicates[j], v):
                    out[j] = s
                    todo.remove(j)
            if not todo:
                break
        return out

    def predecessor(self, level: list[int], target: int) -> tuple[int, str]:
        for s in level:
            for label, n, _ in self.system.successors(s):
                if n == target:
                    return s, label
        raise RuntimeError("no predecessor found while rebuilding a counterexample")  # pragma: no cover


__all__ = ["Config", "Decoded", "PlainExpander", "System"]
