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
  something (the RFC specs). Finite because ISSs are fixed and the user sends at most
  ``data`` bytes per endpoint.

The environment: with ``data`` N > 0 the user of each endpoint may SEND one byte at a time, at
most N times (:meth:`LocalModel.data`); the k-th byte a user sends is ``DATA_BYTES[k]``, so the
bytes delivered say in which order they came. The checker keeps, beside each snapshot, what the
user did (:class:`Env`): SEND calls made, the first of them in this incarnation, and how many
bytes were delivered before this incarnation began; :meth:`LocalModel.numbers` gives the
sequence variables and the delivery record the properties read (RFC 9293 §3.3.1, §3.10.3).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tcpfsm.base import Segment, UserCallError
from tcpfsm.checker._moves import SEND_CALL
from tcpfsm.runtime import Endpoint
from tcpfsm.spec import Spec

# Guards whose predicates read only the control bits and the passive flag.
CONTROL_PREDICATES = frozenset({"passive", "ack_set", "fin_follows"})
# the bytes the users send, in order: distinct, so that the order delivered shows
DATA_BYTES = b"abcdefghijklmnopqrstuvwxyz"
MAX_DATA = len(DATA_BYTES)


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


class Env(NamedTuple):
    """What the user of one endpoint did, kept by the checker beside the Endpoint's snapshot."""

    sends: int = 0  # SEND calls with a byte so far (at most ``data``)
    first: int = 0  # the first of them made in this incarnation
    mark: int = 0   # bytes in the receive buffer before this incarnation began


class Numbers(NamedTuple):
    """What the sequence and delivery properties read of one local state (full projection).

    ``synced``: IRS is known (the peer's SYN was taken); ``sent_first``..``sent_total``: the
    bytes ``DATA_BYTES[sent_first:sent_total]`` the user gave SEND in this incarnation;
    ``delivered_start``/``delivered_len``: the bytes delivered in this incarnation are
    ``DATA_BYTES[start:start + len]`` (start -1: they are not such a run, i.e. out of order).
    """

    iss: int
    irs: int
    snd_nxt: int
    rcv_nxt: int
    synced: int
    sent_first: int
    sent_total: int
    delivered_start: int
    delivered_len: int


NUMBER_FIELDS = Numbers._fields


class Before(NamedTuple):
    """A local state as a move starts from it: the user's record, the TCB's (ISS, incarnation),
    the bytes in its receive buffer."""

    env: Env
    incarnation: tuple[int, int]
    delivered: int


class LocalModel:
    """Interned local states and segments of one spec, with memoized moves."""

    def __init__(self, spec: Spec, *, projection: str | None = None, max_retries: int = 1,
                 iss: dict[str, int] | None = None, data: int = 0) -> None:
        self.spec = spec
        self.projection = projection or projection_for(spec)
        self.control = self.projection == "control"
        if data and self.control:
            raise ValueError("data moves need the full projection: the control projection keeps no numbers")
        if not 0 <= data <= MAX_DATA:
            raise ValueError(f"data: 0 to {MAX_DATA} bytes per endpoint, not {data}")
        self.data_budget = data  # SEND calls of one byte per endpoint
        self.max_retries = max_retries
        self._numbers: list[Numbers | None] = []
        self.iss = iss or {"A": 100, "B": 300}
        self.locals: list[tuple[Any, ...]] = []
        self._local_ids: dict[tuple[Any, ...], int] = {}
        self.segments: list[Segment] = [Segment()]  # id 0 is "no segment"
        self._segment_ids: dict[tuple[Any, ...], int] = {}
        self._memo: dict[tuple[int, str, Any], Result | None] = {}
        self._timer_event = {e.timer: e.name for e in spec.events if e.timer}
        # one retransmission bound for SYNs and data; no challenge-ACK throttle (the model has no
        # clock, so its window would never end); a fixed RFC 6528 key, so that runs repeat
        self._template = Endpoint(0, spec=spec, max_retries=max_retries, max_syn_retries=max_retries,
                                  challenge_ack_limit=None, iss_secret=b"tcpfsm-checker", engine="table")

    # --------------------------------------------------------------- interning
    def _intern_local(self, snap: tuple[Any, ...]) -> int:
        lid = self._local_ids.get(snap)
        if lid is None:
            lid = self._local_ids[snap] = len(self.locals)
            self.locals.append(snap)
        return lid

    def intern_segment(self, seg: Segment) -> int:
        payload = seg.payload if self.data_budget else None  # the bytes matter once users send some
        key = (seg.bits,) if self.control else (seg.bits, seg.seq, seg.ack, seg.length, seg.window, payload)
        sid = self._segment_ids.get(key)
        if sid is None:
            sid = self._segment_ids[key] = len(self.segments)
            self.segments.append(Segment(flags=seg.flags) if self.control else
                                 Segment(seq=seg.seq, ack=seg.ack, flags=seg.flags, window=seg.window,
                                         length=seg.length, payload=payload))
        return sid

    def numbers(self, lid: int) -> Numbers:
        """The sequence variables and the delivery record of a local state (full projection only)."""
        while len(self._numbers) < len(self.locals):
            self._numbers.append(None)
        got = self._numbers[lid]
        if got is None:
            if self.control:
                raise ValueError("the control projection keeps no sequence numbers")
            snap, env = self.locals[lid]
            delivered = snap.receive_buffer[env.mark:]
            start = DATA_BYTES.find(delivered) if delivered else 0
            got = self._numbers[lid] = Numbers(
                snap.tcb_value("iss"), snap.tcb_value("irs"), snap.tcb_value("snd_nxt"), snap.tcb_value("rcv_nxt"),
                int(bool(snap.tcb_value("syn_received"))), env.first, env.sends, start, len(delivered))
        return got

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

    def env(self, lid: int) -> Env:
        """What the user of local state ``lid`` did (full projection; the control projection: nothing)."""
        env: Env = Env() if self.control else self.locals[lid][1]
        return env

    def restore(self, lid: int) -> Endpoint:
        snap = self.locals[lid]
        ep = self._template.fresh()
        if self.control:
            base = ep.snapshot()
            ep.restore(base.replace(state=snap[0], passive=snap[1]))
            return ep
        ep.restore(snap[0])
        return ep

    def _result(self, ep: Endpoint, sent: list[Segment], before: str, was: Before | None = None,
                sent_byte: bool = False) -> Result:
        """Intern what a move made; ``was``: the local state it started from (a new TCB, i.e. a new
        (ISS, incarnation), starts a new incarnation of the user's record)."""
        info = StepInfo(tuple((s.event, str(s.source), str(s.target), s.transition) for s in ep.last_steps),
                        before, ep.state_name)
        key = self.snapshot(ep)
        if not self.control:
            env = was.env if was is not None else Env()
            if was is not None and was.incarnation != (ep.tcb.iss, ep.tcb.incarnation):
                env = Env(env.sends, env.sends, was.delivered)
            if sent_byte:
                env = env._replace(sends=env.sends + 1)
            key = (*key, env)
        return Result(self._intern_local(key), tuple(self.intern_segment(s) for s in sent), info)

    def _begin(self, lid: int) -> tuple[Endpoint, Before]:
        """Restore ``lid`` for a move, and what the move's result is measured against."""
        ep = self.restore(lid)
        delivered = 0 if self.control else len(self.locals[lid][0].receive_buffer)
        return ep, Before(self.env(lid), (ep.tcb.iss, ep.tcb.incarnation), delivered)

    # ------------------------------------------------------------------ moves
    def open(self, who: str, call: str) -> Result:
        """The opening call of endpoint ``who`` on a fresh endpoint (A: active, B: passive)."""
        ep = self._template.fresh(self.iss.get(who, 0))
        before = ep.state_name
        was = Before(Env(), (ep.tcb.iss, ep.tcb.incarnation), 0)
        sent = ep.listen() if call == "open_passive" else ep.connect()
        return self._result(ep, sent, before, was)

    def receive(self, lid: int, sid: int) -> Result:
        key = (lid, "rcv", sid)
        try:
            res = self._memo[key]
        except KeyError:
            ep, was = self._begin(lid)
            before = ep.state_name
            res = self._memo[key] = self._result(ep, ep.receive(self.segments[sid]), before, was)
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
            ep, was = self._begin(lid)
            try:
                sent = getattr(ep, call)()
            except UserCallError:
                sent = None
            # SEND is an environment event only where it opens (the RFC's SEND in LISTEN)
            if sent is not None and not (call == "send" and ep.state_name == state):
                res = self._result(ep, sent, state, was)
        self._memo[key] = res
        return res

    def data(self, lid: int) -> Result | None:
        """The user's SEND of its next byte (RFC 9293 §3.10.2), or None: the budget of ``data``
        calls is spent, or the RFC refuses SEND here ("connection closing", ...)."""
        key = (lid, "data", "")
        if key in self._memo:
            return self._memo[key]
        res: Result | None = None
        state = self.state_name(lid)
        env = self.env(lid)
        rows = self.spec.candidates(state, SEND_CALL)
        if env.sends < self.data_budget and rows and not all(t.error for t in rows):
            ep, was = self._begin(lid)
            try:
                sent = ep.send(DATA_BYTES[env.sends: env.sends + 1])
            except UserCallError:
                sent = None
            if sent is not None:
                res = self._result(ep, sent, state, was, sent_byte=True)
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
            ep, was = self._begin(lid)
            if self.control:  # untimed: a timer of the state may fire any time
                snap = ep.snapshot()
                ep.restore(snap.replace(timers=tuple(sorted({*snap.timers, (timer, 0.0)}))))
            if timer in ep.armed_timers:
                res = self._result(ep, ep.timeout(timer), state, was)
        self._memo[key] = res
        return res
