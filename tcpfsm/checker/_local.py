"""Endpoint-local successor tables, compiled from the spec by running its Endpoint.

The checker never re-implements a rule: for a local state (a snapshot of one Endpoint) and
an input (a segment, a user call, a timer), it restores an Endpoint, applies the input with
the spec's own runtime, and snapshots the result. Answers are memoized, so each local
transition runs once; the global search then only looks integers up.

Two projections decide what a snapshot keeps:
- ``control``: the state and the passive/active origin; segments are their control bits.
  Sound when the spec's guards read nothing else (the reference model).
- ``full``: the whole TCB, the retransmission queue and the armed timers; segments keep
  sequence and acknowledgment numbers, so acceptability tests and old duplicates mean
  something (the RFC specs). Finite because ISSs are fixed and nothing sends data.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tcpfsm.base import Segment, UserCallError
from tcpfsm.runtime import Endpoint
from tcpfsm.spec import Spec

# Guards whose predicates read only the control bits and the passive flag.
CONTROL_PREDICATES = frozenset({"passive", "ack_set", "fin_follows"})


def projection_for(spec: Spec) -> str:
    """``control`` when every guard and check of the spec can be decided without numbers."""
    uses = {g.predicate for g in spec.guards}
    checks = {st.check for g in spec.arrival for st in g.steps if st.check}
    return "control" if uses <= CONTROL_PREDICATES and not checks else "full"


class StepInfo(NamedTuple):
    """What one local move did, for traces and history variables."""

    transitions: tuple[tuple[str, str, str, str], ...]  # (event, from, to, transition id)
    source: str
    target: str


class Result(NamedTuple):
    local: int
    sent: tuple[int, ...]
    info: StepInfo


class LocalModel:
    """Interned local states and segments of one spec, with memoized moves."""

    def __init__(self, spec: Spec, *, projection: str | None = None, max_retries: int = 1,
                 iss: dict[str, int] | None = None) -> None:
        self.spec = spec
        self.projection = projection or projection_for(spec)
        self.control = self.projection == "control"
        self.max_retries = max_retries
        self.iss = iss or {"A": 100, "B": 300}
        self.locals: list[tuple[Any, ...]] = []
        self._local_ids: dict[tuple[Any, ...], int] = {}
        self.segments: list[Segment] = [Segment()]  # id 0 is "no segment"
        self._segment_ids: dict[tuple[Any, ...], int] = {}
        self._memo: dict[tuple[int, str, Any], Result | None] = {}
        self._timer_event = {e.timer: e.name for e in spec.events if e.timer}
        self._template = Endpoint(0, spec=spec, max_retries=max_retries, engine="table")

    # --------------------------------------------------------------- interning
    def _intern_local(self, snap: tuple[Any, ...]) -> int:
        lid = self._local_ids.get(snap)
        if lid is None:
            lid = self._local_ids[snap] = len(self.locals)
            self.locals.append(snap)
        return lid

    def intern_segment(self, seg: Segment) -> int:
        key = (seg.bits,) if self.control else (seg.bits, seg.seq, seg.ack, seg.length, seg.window)
        sid = self._segment_ids.get(key)
        if sid is None:
            sid = self._segment_ids[key] = len(self.segments)
            self.segments.append(Segment(flags=seg.flags) if self.control else
                                 Segment(seq=seg.seq, ack=seg.ack, flags=seg.flags, window=seg.window,
                                         length=seg.length))
        return sid

    def state_name(self, lid: int) -> str:
        snap = self.locals[lid]
        return str(snap[0]) if self.control else str(snap[0].state)

    def passive(self, lid: int) -> bool:
        snap = self.locals[lid]
        return bool(snap[1]) if self.control else bool(snap[0].tcb_value("passive"))

    # -------------------------------------------------------- snapshot/restore
    def snapshot(self, ep: Endpoint) -> tuple[Any, ...]:
        """The local state's key, through the Endpoint's public snapshot (clock-free: the checker
        is untimed, so deadlines and the clock are left out; armed timers are kept by name)."""
        if self.control:
            return (ep.state_name, ep.tcb.passive)
        snap = ep.snapshot()
        return (snap.replace(timers=tuple((name, 0.0) for name, _ in snap.timers), now=0.0),)

    def restore(self, lid: int) -> Endpoint:
        snap = self.locals[lid]
        ep = self._template.fresh()
        if self.control:
            base = ep.snapshot()
            ep.restore(base.replace(state=snap[0], passive=snap[1]))
            return ep
        ep.restore(snap[0])
        return ep

    def _result(self, ep: Endpoint, sent: list[Segment], before: str) -> Result:
        info = StepInfo(tuple((s.event, str(s.source), str(s.target), s.transition) for s in ep.last_steps),
                        before, ep.state_name)
        return Result(self._intern_local(self.snapshot(ep)), tuple(self.intern_segment(s) for s in sent), info)

    # ------------------------------------------------------------------ moves
    def open(self, who: str, call: str) -> Result:
        """The opening call of endpoint ``who`` on a fresh endpoint (A: active, B: passive)."""
        ep = self._template.fresh(self.iss.get(who, 0))
        before = ep.state_name
        sent = ep.listen() if call == "open_passive" else ep.connect()
        return self._result(ep, sent, before)

    def receive(self, lid: int, sid: int) -> Result:
        key = (lid, "rcv", sid)
        try:
            res = self._memo[key]
        except KeyError:
            ep = self.restore(lid)
            before = ep.state_name
            res = self._memo[key] = self._result(ep, ep.receive(self.segments[sid]), before)
        assert res is not None
        return res

    def user(self, lid: int, call: str) -> Result | None:
        """A user call, or None when the RFC refuses it here (or it is not an environment event)."""
        key = (lid, "user", call)
        if key in self._memo:
            return self._memo[key]
        state = self.state_name(lid)
        rows = self.spec.candidates(state, call)
        res: Result | None = None
        if rows and not all(t.error for t in rows):
            ep = self.restore(lid)
            try:
                sent = getattr(ep, call)()
            except UserCallError:
                sent = None
            # SEND is an environment event only where it opens (the RFC's SEND in LISTEN)
            if sent is not None and not (call == "send" and ep.state_name == state):
                res = self._result(ep, sent, state)
        self._memo[key] = res
        return res

    def timer(self, lid: int, timer: str) -> Result | None:
        key = (lid, "timer", timer)
        if key in self._memo:
            return self._memo[key]
        state = self.state_name(lid)
        res: Result | None = None
        event = self._timer_event.get(timer)
        if event and self.spec.candidates(state, event):
            ep = self.restore(lid)
            if self.control:  # untimed: a timer of the state may fire any time
                snap = ep.snapshot()
                ep.restore(snap.replace(timers=tuple(sorted({*snap.timers, (timer, 0.0)}))))
            if timer in ep.armed_timers:
                res = self._result(ep, ep.timeout(timer), state)
        self._memo[key] = res
        return res
