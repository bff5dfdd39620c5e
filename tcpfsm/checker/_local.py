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

Incarnations (``reopen`` N > 0, issue 10): the user may open the same 4-tuple again from CLOSED,
at most N times (:meth:`LocalModel.reopen`: A connects, B listens), with an ISS from the clock or
the old one again. Then the model keeps ghost fields the endpoints never see: every TCB has an
identity (``Env.own``, named by :func:`incarnation_name`: ``A2`` is A's second TCB, opened again
or renewed by a SYN in TIME-WAIT), every segment carries its sender's, and every endpoint
remembers the peer TCB it is synchronized with (``Env.peer``: that of the SYN or SYN,ACK that set
its IRS). A segment of another incarnation is one whose sender is not the receiver's peer: the
properties compare the two (:meth:`LocalModel.relation`, :meth:`LocalModel.accepts`). Identities
of TCBs, not numbers of connections, so that a simultaneous open, an old SYN taken by a listener
or a half-synchronized pair are named for what they are.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tcpfsm.base import Flags, Segment, UserCallError
from tcpfsm.checker._moves import REOPEN_ISS_STEP, SEND_CALL
from tcpfsm.runtime import Endpoint
from tcpfsm.spec import Spec

# Guards whose predicates read only the control bits and the passive flag.
CONTROL_PREDICATES = frozenset({"passive", "ack_set", "fin_follows"})
# the bytes the users send, in order: distinct, so that the order delivered shows
DATA_BYTES = b"abcdefghijklmnopqrstuvwxyz"
MAX_DATA = len(DATA_BYTES)
MAX_REOPEN = 4  # opens after the first per endpoint (each multiplies the state space)


def incarnation_id(who: str, generation: int) -> int:
    """The ghost id of endpoint ``who``'s ``generation``-th TCB (1: the first open)."""
    return 2 * generation + (who == "B")


def incarnation_name(ident: int) -> str:
    """``A2``: A's second TCB (``B1``: B's first); "" for 0 (none, or no peer yet)."""
    return f"{'AB'[ident % 2]}{ident // 2}" if ident else ""


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
    # with ``reopen`` only (otherwise all 0): opens made, the ghost identity of this TCB and of the peer
    # TCB it is synchronized with (0: none yet), the latest ISS its TCBs used (what a reopen starts from)
    opens: int = 0
    own: int = 0
    peer: int = 0
    iss: int = 0
    orderly: bool = False  # in CLOSED: the connection ended in order (both FINs, no RST, ABORT or give-up)
    clean: bool = False    # this incarnation was opened after the previous one ended in order


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
                 iss: dict[str, int] | None = None, data: int = 0, reopen: int = 0) -> None:
        self.spec = spec
        self.projection = projection or projection_for(spec)
        self.control = self.projection == "control"
        if data and self.control:
            raise ValueError("data moves need the full projection: the control projection keeps no numbers")
        if not 0 <= data <= MAX_DATA:
            raise ValueError(f"data: 0 to {MAX_DATA} bytes per endpoint, not {data}")
        self.data_budget = data  # SEND calls of one byte per endpoint
        if reopen and self.control:
            raise ValueError("reopen needs the full projection: incarnations differ by their sequence numbers")
        self.reopen_budget = reopen  # opens of the same 4-tuple after the first, per endpoint
        self.max_retries = max_retries
        self._numbers: list[Numbers | None] = []
        self.iss = iss or {"A": 100, "B": 300}
        self.locals: list[tuple[Any, ...]] = []
        self._local_ids: dict[tuple[Any, ...], int] = {}
        self.segments: list[Segment] = [Segment()]  # id 0 is "no segment"
        self.segment_inc: list[int] = [0]  # the ghost incarnation of each segment id (reopen only)
        self.segment_clean: list[bool] = [False]  # its sender reopened after an orderly end (reopen only)
        self._segment_ids: dict[tuple[Any, ...], int] = {}
        self._memo: dict[tuple[int, str, Any], Result | None] = {}
        self._timer_event = {e.timer: e.name for e in spec.events if e.timer}
        # one retransmission bound for SYNs and data; no challenge-ACK throttle (the model has no
        # clock, so its window would never end); a fixed RFC 6528 key, so that runs repeat
        self._template = Endpoint(0, spec=spec, max_retries=max_retries, max_syn_retries=max_retries,
                                  challenge_ack_limit=None, iss_secret=b"tcpfsm-checker", engine="table")
        self.closed_state = self._template.state_name
        self.listen_state = self.closed_state  # the state a passive OPEN reaches: set by the first listen()

    # --------------------------------------------------------------- interning
    def _intern_local(self, snap: tuple[Any, ...]) -> int:
        lid = self._local_ids.get(snap)
        if lid is None:
            lid = self._local_ids[snap] = len(self.locals)
            self.locals.append(snap)
        return lid

    def intern_segment(self, seg: Segment, incarnation: int = 0, clean: bool = False) -> int:
        payload = seg.payload if self.data_budget else None  # the bytes matter once users send some
        key = (seg.bits,) if self.control else (seg.bits, seg.seq, seg.ack, seg.length, seg.window, payload,
                                                incarnation, clean)
        sid = self._segment_ids.get(key)
        if sid is None:
            sid = self._segment_ids[key] = len(self.segments)
            self.segment_inc.append(incarnation)
            self.segment_clean.append(clean)
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

    def armed(self, lid: int) -> frozenset[str]:
        """The timers armed in local state ``lid`` (full projection; the control projection: none)."""
        return frozenset() if self.control else frozenset(name for name, _ in self.locals[lid][0].timers)

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
                sent_byte: bool = False, synced_by: int = 0, orderly: bool = False, renewing: bool = False) -> Result:
        """Intern what a move made; ``was``: the local state it started from (a new TCB, i.e. a new
        (ISS, incarnation), starts a new incarnation of the user's record, and with ``renewing`` (a
        receive) a new ghost identity); ``synced_by``: the id of a received segment that set IRS (its
        sender becomes the endpoint's peer); ``orderly``: the move ended the connection in order."""
        info = StepInfo(tuple((s.event, str(s.source), str(s.target), s.transition) for s in ep.last_steps),
                        before, ep.state_name)
        key = self.snapshot(ep)
        env = Env()
        if not self.control:
            env = was.env if was is not None else Env()
            renewed = was is not None and was.incarnation != (ep.tcb.iss, ep.tcb.incarnation)
            if renewed and was is not None:
                env = env._replace(first=env.sends, mark=was.delivered)
            if sent_byte:
                env = env._replace(sends=env.sends + 1)
            if self.reopen_budget:
                if renewed and renewing and env.own and ep.state_name != self.closed_state:
                    env = env._replace(own=env.own + 2)  # the same endpoint's next TCB (a SYN in TIME-WAIT)
                if ep.tcb.iss and ep.tcb.iss != env.iss:
                    env = env._replace(iss=ep.tcb.iss)  # the latest ISS used: what a reopen starts from
                if ep.state_name == self.listen_state:
                    env = env._replace(peer=0)
                elif synced_by:
                    env = env._replace(peer=self.segment_inc[synced_by])
                env = env._replace(orderly=orderly and ep.state_name == self.closed_state)
            key = (*key, env)
        return Result(self._intern_local(key), tuple(self.intern_segment(s, env.own, env.clean) for s in sent), info)

    def relation(self, lid: int, sid: int) -> str | None:
        """The received segment ``sid``'s sender against the peer the endpoint in ``lid`` is
        synchronized with (after the move): ``same``; ``older`` or ``newer``: an earlier or later TCB
        of that peer endpoint; ``other``: the other endpoint's; None when either is unknown (no
        reopen, or not synchronized yet)."""
        mine, its = self.env(lid).peer, self.segment_inc[sid] if sid else 0
        if not mine or not its:
            return None
        if mine == its:
            return "same"
        if mine % 2 != its % 2:
            return "other"
        return "older" if its < mine else "newer"

    def accepts(self, before: int, after: int) -> bool:
        """Did the move from local ``before`` to ``after`` accept text or a FIN: advance RCV.NXT in
        the same synchronized TCB (RFC 9293 §3.10.7.4 seventh and eighth)? Taking a SYN (IRS set)
        is not counted: it synchronizes the endpoint with the SYN's sender. A move into
        CLOSED or LISTEN accepts nothing (its TCB is gone)."""
        if self.control or self.state_name(after) in (self.closed_state, self.listen_state):
            return False
        nb, na = self.numbers(before), self.numbers(after)
        if not (na.synced and nb.synced) or (nb.iss, nb.irs) != (na.iss, na.irs):
            return False
        return 0 < (na.rcv_nxt - nb.rcv_nxt) % (1 << 32) < (1 << 31)

    def _begin(self, lid: int) -> tuple[Endpoint, Before]:
        """Restore ``lid`` for a move, and what the move's result is measured against."""
        ep = self.restore(lid)
        delivered = 0 if self.control else len(self.locals[lid][0].receive_buffer)
        return ep, Before(self.env(lid), (ep.tcb.iss, ep.tcb.incarnation), delivered)

    # ------------------------------------------------------------------ moves
    def open(self, who: str, call: str) -> Result:
        """The opening call of endpoint ``who`` on a fresh endpoint (A: active, B: passive)."""
        iss = self.iss.get(who, 0)
        ep = self._template.fresh(iss)
        before = ep.state_name
        passive = call == "open_passive"
        env = Env(opens=1, own=incarnation_id(who, 1), iss=iss) if self.reopen_budget else Env()
        was = Before(env, (ep.tcb.iss, ep.tcb.incarnation), 0)
        sent = ep.listen() if passive else ep.connect()
        if passive:
            self.listen_state = ep.state_name
        return self._result(ep, sent, before, was)

    def reopen(self, lid: int, choice: str, who: str = "A") -> Result | None:
        """The user opens the same 4-tuple again (``reopen`` N > 0): from CLOSED, at most N times; the
        active opener connects, the listener listens (RFC 9293 §3.10.1), with a new TCB whose ISS is
        ``clock``: the old ISS + REOPEN_ISS_STEP (beyond every number the old incarnation used, as the
        ISN clock gives, §3.4.1), or ``wrap``: the old ISS again (a clock that wrapped, or numbers the
        old connection ran ahead of the clock with). ``wrap`` only after a connection that ended in
        order (its FINs exchanged, or TIME-WAIT's timer): that is the reuse TIME-WAIT exists to make
        safe; after an RST, an ABORT or a give-up RFC 9293 relies on the ISN clock instead (§3.4.1,
        §3.4.3). None: not CLOSED, or the budget is spent."""
        key = (lid, "reopen", (choice, who))
        if key in self._memo:
            return self._memo[key]
        env = self.env(lid)
        res: Result | None = None
        if (self.reopen_budget and env.opens <= self.reopen_budget and self.state_name(lid) == self.closed_state
                and (choice == "clock" or env.orderly)):
            iss = (env.iss + (REOPEN_ISS_STEP if choice == "clock" else 0)) % (1 << 32)
            ep = self._template.fresh(iss)
            before = ep.state_name
            opens = env.opens + 1
            new = Env(env.sends, env.sends, 0, opens, env.own + 2, 0, iss, clean=env.orderly)
            sent = ep.connect() if who == "A" else ep.listen()
            res = self._result(ep, sent, before, Before(new, (ep.tcb.iss, ep.tcb.incarnation), 0))
        self._memo[key] = res
        return res

    def receive(self, lid: int, sid: int) -> Result:
        key = (lid, "rcv", sid)
        try:
            res = self._memo[key]
        except KeyError:
            ep, was = self._begin(lid)
            before = ep.state_name
            synced = (ep.tcb.syn_received, ep.tcb.irs)
            fins = (ep.tcb.fin_sent, ep.tcb.fin_received)
            sent = ep.receive(self.segments[sid])
            took_syn = bool(ep.tcb.syn_received) and synced != (ep.tcb.syn_received, ep.tcb.irs)
            seg, rst = self.segments[sid], Flags.RST
            # in order: both FINs exchanged (the peer's taken before, or on this segment), no RST
            orderly = fins[0] and (fins[1] or seg.has(Flags.FIN)) and not seg.has(rst) and not any(
                x.has(rst) for x in sent)
            res = self._memo[key] = self._result(ep, sent, before, was, synced_by=sid if took_syn else 0,
                                                 orderly=orderly, renewing=bool(synced[0]))
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
                # an expiry after both FINs (TIME-WAIT's 2MSL) ends a connection in order; a timer
                # armed while data is unacknowledged (retransmission, user timeout) gives it up, and
                # one before the peer's FIN (Linux's FIN-WAIT-2 timer) leaves its end unfinished
                orderly = (ep.tcb.fin_sent and ep.tcb.fin_received
                           and self.spec.timer_def(timer).armed != "while_unacknowledged")
                res = self._result(ep, ep.timeout(timer), state, was, orderly=orderly)
        self._memo[key] = res
        return res
