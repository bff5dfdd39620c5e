"""Monitor a capture: both endpoints' RFC states for every connection, and what breaks the spec.

Theory of operation
-------------------
Each connection (a 4-tuple; a new SYN after the old connection ended starts a new one) gets
two *shadow* endpoints built from the spec (compiled-table engine, one shared table for all
connections). A packet from X to Y is handled in two halves, as the capture point sits
between X's sending and Y's receiving:

1. **X sent it.** Either X's shadow already produced it (a reply to something X received),
   or it is a retransmission, a keep-alive or a window update (no state change), or X's
   application or a timer caused it. For the last case the monitor searches the spec's
   causes in order (SEND, CLOSE, ABORT, OPEN, a timer) on a copy of X and takes the first
   whose output matches the wire; when none does, that is a finding (the rule that would
   apply, and what it would have sent), and the closest cause is applied to keep tracking.
2. **Y receives it.** Y's shadow processes the segment with the spec's arrival rules; its
   replies become what Y is expected to send. Anomalies of the spec's own rules (data after
   a FIN, an ACK of unsent data, an RST answered with an RST) are findings.

The responder is created at its first packet, so that its initial state and ISS come from
the wire: LISTEN if it answers with SYN,ACK, CLOSED if with RST, SYN-SENT (simultaneous
open) if with its own SYN. A connection seen from the middle starts both ends in
ESTABLISHED. At a vantage point beside one end, segments that end sent may never reach the
other; the other shadow still receives them (its state sequence is the same, its timing is
not), and expected replies that never show up are forgotten once a later one matches.

Delivery waits for evidence. A segment seen going to Y is *pending* until Y sends one whose
ACK covers it (SEG.ACK >= its SEG.SEQ+SEG.LEN, RFC 9293 §3.10.7.4: Y acknowledges only what
arrived); only then does Y's shadow receive it. What is still pending when the capture ends
(or when a new SYN reuses the 4-tuple) is delivered then, in capture order, *unconfirmed*: a
side whose latest state came from such a delivery carries ``unconfirmed_end`` until a later
segment of its own acknowledges that far or its state moves on evidence of its own.
A bare RST <SEQ=S> is evidence too: the reset of a segment whose ACK field was S (RFC 9293
§3.10.7.1), see :meth:`Engine._reset_evidence`.

The shadows keep capture time (each delivery at the delivered segment's timestamp): a timer
the wire cannot show firing (``Roles.timed``) fires once its deadline has passed. A
self-connect has one Side, both originator and responder. A SYN to an end still in TIME-WAIT
starts a new connection whose responder is that end's shadow (:meth:`Engine.reopen`).

Taps at the hosts. A pcapng whose interfaces declare their hosts' addresses, each packet
marked inbound or outbound, was taken at those hosts (``Engine.taps``): a departure shows only
the sending half, an arrival only the receiving half, delivered at once; see :meth:`Engine._handle`.

The shadows are driven through the Endpoint's public API only (user calls, ``receive``,
``timeout``, ``resync``, ``join_midstream``, ``snapshot``/``restore``, ``clone``); the TCB is
read, never written.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

from tcpfsm.base import Flags, Segment, TcpFsmError, UserCallError, flags_of, seq_add, seq_le, seq_lt
from tcpfsm.conformance._packets import TcpPacket
from tcpfsm.runtime import Endpoint, Step, machine_for
from tcpfsm.spec import Spec

SYN, ACK, FIN, RST, PSH = (int(f) for f in (Flags.SYN, Flags.ACK, Flags.FIN, Flags.RST, Flags.PSH))
INBOUND, OUTBOUND = 1, 2  # TcpPacket.direction: where a host's own interface saw it (pcapng epb_flags)
CTL = SYN | FIN | RST | ACK
# a connection both of whose ends are done is retired once idle this long (seconds of capture
# time; Zeek's tcp_close_delay and tcp_reset_delay are 5 s too); the idle ones are looked for
# every 4,096 packets. A packet of its 4-tuple after that starts a new connection.
LINGER = 5.0
SWEEP_EVERY = 4095


@dataclass(frozen=True)
class Finding:
    """What in a capture breaks the spec: at which packet, by which end, under which rule.

    ``transition`` is the spec's rule id and ``rfc`` its section (RFC 9293 unless it says
    otherwise). ``connection`` is the connection's id where the finding is reported per
    connection (:meth:`Monitor.findings`). ``unconfirmed``: it came from delivering segments
    whose arrival nothing on the wire has shown yet (see :class:`ConnectionStates`): it may
    still go away as the capture goes on.
    """

    packet: int
    endpoint: str
    what: str
    transition: str = ""
    rfc: str = ""
    detail: str = ""
    connection: int = 0
    unconfirmed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract's object (``tcpfsm monitor --json``)."""
        return {"packet": self.packet, "endpoint": self.endpoint, "finding": self.what,
                "transition": self.transition or None, "rfc": self.rfc or None, "detail": self.detail or None}

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, connection: int = 0, unconfirmed: bool = False) -> Finding:
        return cls(d["packet"], d["endpoint"], d["finding"], d["transition"] or "", d["rfc"] or "",
                   d["detail"] or "", connection, unconfirmed)


@dataclass
class Side:
    addr: str
    port: int
    ep: Endpoint | None = None
    states: list[str] = field(default_factory=list)
    expected: list[Segment] = field(default_factory=list)
    pending: list[tuple[TcpPacket, Segment]] = field(default_factory=list)  # seen going to it, not delivered
    sent_data: int = 0
    received_data: int = 0
    first_rcv_seq: int | None = None

    acked_by_me: int | None = None  # the highest ACK this side sent (its RCV.NXT on the wire)
    # at the hosts (Engine.taps): segments seen leaving this side that its peer's interface has not
    # shown arriving yet, by (SEQ, ACK, flags, length): an arrival that matches none was not sent here
    unseen: dict[tuple[int, int, int, int], int] = field(default_factory=dict)
    # the latest state came from a delivery the wire has not confirmed: the end (SEG.SEQ+SEG.LEN)
    # of that segment, until this side acknowledges it or moves on evidence of its own
    unconfirmed_end: int | None = None

    def gap_ok(self, seq: int) -> bool:
        """This side has acknowledged up to ``seq`` (or further): the bytes before it arrived."""
        return self.acked_by_me is not None and seq_le(seq, self.acked_by_me)

    def record(self, state: str) -> None:
        if not self.states or self.states[-1] != state:
            self.states.append(state)


_MOD = 1 << 32
_HALF = 1 << 31


class Stats:
    """Per-connection counters (Zeek's conn.log fields): times, packets, IP bytes, payload
    bytes from sequence numbers and the bytes missed in content gaps, per direction.

    Payload bytes are counted as Zeek does for TCP, from sequence numbers: the highest
    SEG.SEQ+SEG.LEN a side sent, less its first data sequence number (after the SYN's, which,
    like a FIN's, is no payload). A *gap* is sequence space beyond the highest end seen before
    it; what a later segment covers of a gap (a reordered or retransmitted one) is no longer
    missed."""

    __slots__ = ("holes", "ip_bytes", "pkts", "start", "top", "ts0", "ts1")

    def __init__(self) -> None:
        self.ts0 = self.ts1 = 0.0
        self.pkts = [0, 0]
        self.ip_bytes = [0, 0]
        self.start: list[int | None] = [None, None]  # the first data sequence number per side
        self.top = [0, 0]  # the highest end of data seen, relative to start
        self.holes: list[list[list[int]]] = [[], []]  # gaps per side: [from, to) relative to start

    def add(self, who: int, ts: float, flags: int, seq: int, length: int, ip_len: int) -> None:
        if not self.pkts[0] and not self.pkts[1]:
            self.ts0 = ts
        self.ts1 = ts
        self.pkts[who] += 1
        self.ip_bytes[who] += ip_len
        start = self.start[who]
        if start is None:
            if flags & RST and not length:
                return
            start = self.start[who] = (seq + 1) % _MOD if flags & SYN else seq
            if flags & SYN:
                return
        if not length:
            return
        lo = (seq - start) % _MOD
        if lo >= _HALF:  # before the start (an old retransmission): nothing new
            return
        hi = lo + length
        top = self.top[who]
        holes = self.holes[who]
        if holes and lo < top:
            self._fill(holes, lo, hi)
        if lo > top:
            holes.append([top, lo])
        if hi > top:
            self.top[who] = hi

    @staticmethod
    def _fill(holes: list[list[int]], lo: int, hi: int) -> None:
        out = []
        for a, b in holes:
            if hi <= a or lo >= b:
                out.append([a, b])
                continue
            if a < lo:
                out.append([a, lo])
            if hi < b:
                out.append([hi, b])
        holes[:] = out

    def to_dict(self) -> dict[str, Any]:
        """The counters as the JSON contract's ``counters`` object."""
        missed = sum(b - a for side in self.holes for a, b in side)
        # to the microsecond, as Zeek logs times (and as pcap and pcapng of the same capture agree)
        return {"ts": round(self.ts0, 6), "last_ts": round(self.ts1, 6),
                "orig_pkts": self.pkts[0], "resp_pkts": self.pkts[1],
                "orig_ip_bytes": self.ip_bytes[0], "resp_ip_bytes": self.ip_bytes[1],
                "orig_bytes": self.top[0], "resp_bytes": self.top[1], "missed_bytes": missed}


@dataclass
class Connection:
    id: int
    orig: Side
    resp: Side
    first_packet: int
    midstream: bool = False
    history: list[str] = field(default_factory=list)
    _hist_seen: set[str] = field(default_factory=set)
    flags_seen: dict[str, int] = field(default_factory=lambda: {"orig": 0, "resp": 0})
    syn_seen: bool = False
    synack_seen: bool = False
    established: bool = False
    findings: list[Finding] = field(default_factory=list)
    packets: list[tuple[int, str, TcpPacket]] = field(default_factory=list)  # kept only when asked
    last_packet: int = 0
    stats: Stats = field(default_factory=Stats)

    def side(self, src: str, sport: int) -> tuple[Side, Side, str]:
        if (src, sport) == (self.orig.addr, self.orig.port):
            return self.orig, self.resp, "orig"
        return self.resp, self.orig, "resp"

    @property
    def self_connect(self) -> bool:
        """One socket at both ends of the 4-tuple (src == dst, sport == dport): it sends its
        segments to itself, a simultaneous open with itself (RFC 9293 §3.5, Figure 8). Its one
        Side is both the originator and the responder."""
        return self.resp is self.orig

    def sides(self) -> tuple[Side, ...]:
        return (self.orig,) if self.resp is self.orig else (self.orig, self.resp)

    def note(self, letter: str, who: str) -> None:
        ch = letter if who == "orig" else letter.lower()
        if ch not in self._hist_seen:
            self._hist_seen.add(ch)
            self.history.append(ch)

    def finished(self, roles: Roles) -> bool:
        ends = [s.ep for s in self.sides() if s.ep is not None]
        return bool(ends) and all(e.state_name in roles.finished for e in ends)

    @property
    def unconfirmed(self) -> tuple[bool, bool]:
        """Per end (originator, responder): its latest state is not yet confirmed by the wire."""
        return self.orig.unconfirmed_end is not None, self.resp.unconfirmed_end is not None

    @property
    def conn_state(self) -> str:
        """Zeek's conn_state, from the control bits seen in each direction."""
        o, r = self.flags_seen["orig"], self.flags_seen["resp"]
        if self.midstream and not self.syn_seen:
            return "OTH"
        if self.established:
            if o & RST:
                return "RSTO"
            if r & RST:
                return "RSTR"
            if o & FIN and r & FIN:
                return "SF"
            if o & FIN:
                return "S2"
            if r & FIN:
                return "S3"
            return "S1"
        if self.syn_seen and r & RST and not self.synack_seen:
            return "REJ"
        if self.syn_seen and o & RST:
            return "RSTOS0"
        if self.synack_seen and r & RST:
            return "RSTRH"
        if self.syn_seen and o & FIN:
            return "SH"
        if self.synack_seen and r & FIN:
            return "SHR"
        if self.syn_seen:
            return "S0"
        return "OTH"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "conn_state": self.conn_state, "history": "".join(self.history),
            "first_packet": self.first_packet, "last_packet": self.last_packet, "midstream": self.midstream,
            "findings": [f.to_dict() for f in self.findings],
            "endpoints": [{"addr": s.addr, "port": s.port, "role": role, "states": list(s.states)}
                          for s, role in ((self.orig, "originator"), (self.resp, "responder"))],
            "counters": self.stats.to_dict(),
        }


def release(conn: Connection) -> None:
    """Let a connection's shadows go. Each one's observer holds its Side, which holds it: a
    cycle that only the garbage collector (off while a capture is read) would free."""
    conn.orig.ep = conn.resp.ep = None


def _record_step(side: Side, step: Step) -> None:
    side.record(str(step.target))


def _segment(p: TcpPacket) -> Segment:
    return Segment(p.seq, p.ack if p.flags & ACK else 0, flags_of(p.flags & (CTL | PSH)), p.window, p.length,
                   None, p.sport, p.dport)


def _same(a: Segment, b: Segment) -> bool:
    """A wire segment matches an expected one: control bits, SEQ and length; the ACK may have moved on."""
    ctl = int(CTL)
    if (a.bits & ctl) != (b.bits & ctl) or a.seq != b.seq or a.length != b.length:
        return False
    return not (a.bits & ACK) or seq_le(b.ack, a.ack)


@dataclass(frozen=True)
class Roles:
    """The states the inference needs, derived from the spec's own transitions (never retyped)."""

    finished: frozenset[str]      # no connection left to track: the closed and TIME-WAIT groups
    unsynchronized: frozenset[str]  # closed, listen and syn_sent groups: nothing to reset
    listening: str                # where a passive OPEN leads
    open_state: str               # where an active opener's acceptable SYN,ACK leads
    fin_on_close: frozenset[str]  # states whose CLOSE sends a FIN
    fin_acked: frozenset[str]     # where the ACK of our FIN leads from those CLOSE targets
    time_wait: frozenset[str]     # the time_wait group: a new SYN there is the endpoint's own (S22)
    # timers the wire cannot show firing (armed by the spec's actions, not while data is
    # unacknowledged: a retransmission timer's expiry shows as the retransmission itself)
    timed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, spec: Spec) -> Roles:
        def target(state: str, event: str) -> str:
            return next(t.target_from(state) for t in spec.candidates(state, event) if t.changes_state(state))

        groups = {st.name: st.group for st in spec.states}
        fin_on_close = frozenset(st.name for st in spec.states for t in spec.candidates(st.name, "close")
                                 if any(x.ctl & Flags.FIN for x in t.sends))
        closing = {t.target_from(s) for s in fin_on_close for t in spec.candidates(s, "close") if t.sends}
        fin_acked = frozenset(t.target_from(s) for s in closing for t in spec.candidates(s, "rcv_ack")
                              if t.changes_state(s))
        return cls(frozenset(n for n, g in groups.items() if g in ("closed", "time_wait")),
                   frozenset(n for n, g in groups.items() if g in ("closed", "listen", "syn_sent")),
                   target(spec.initial, "open_passive"), machine_for(spec).established, fin_on_close, fin_acked,
                   frozenset(n for n, g in groups.items() if g == "time_wait"),
                   frozenset(t.name for t in spec.timer_defs if t.armed == "by_actions"))


class View(NamedTuple):
    """One connection as if the capture ended now: its summary (the JSON contract's object),
    whether each end's latest state is unconfirmed, and how many of its findings are settled
    (the first ``settled``; the rest came from deliveries made only for this view)."""

    summary: dict[str, Any]
    unconfirmed: tuple[bool, bool]
    settled: int


class Engine:
    """The plain monitor: ``packet()`` per TCP segment; ``peek()`` at any time; ``finish()``."""

    def __init__(self, spec: Spec, *, keep_packets: bool = False, linger: float = LINGER,
                 sink: Callable[[Connection], None] | None = None,
                 on_packet: Callable[[Connection, TcpPacket], None] | None = None,
                 taps: Collection[str] = ()) -> None:
        self.spec = spec
        self.taps = frozenset(taps)  # hosts whose own interface the capture records (see _handle)
        self._first_sighting = True
        self.roles = Roles.of(spec)
        self.keep_packets = keep_packets
        self.active: dict[tuple[tuple[str, int], tuple[str, int]], Connection] = {}
        self.done: list[Connection] = []
        self.next_id = 1
        self.linger = linger
        self.sink = sink  # finished connections go here as they end (not kept) when given
        self._idle: dict[tuple[tuple[str, int], tuple[str, int]], float] = {}  # oldest activity first
        self._count = 0
        self.on_packet = on_packet  # called after each packet with its connection (--packets)
        self._ts = 0.0  # the capture time of the packet being handled: new shadows' clocks start there
        self.timed_floor = self._timed_floor()

    def _timed_floor(self) -> float:
        """The shortest time a timer of ``Roles.timed`` runs once armed (its declared duration,
        with a shadow's settings): no such timer fires within this long of a connection's first
        packet. The memo trie, whose paths carry no times, is left for the plain engine after it."""
        ep = Endpoint(spec=self.spec, engine="table")
        floor = float("inf")
        for name in self.roles.timed:
            d = machine_for(self.spec).durations.get(name)
            if d is None:
                continue
            base = d.seconds if d.seconds is not None else getattr(ep, str(d.param), None)
            if base is not None:
                floor = min(floor, float(base) * (d.times if d.seconds is None else 1.0))
        return floor

    # ------------------------------------------------------------ connections
    @staticmethod
    def _key(p: TcpPacket) -> tuple[tuple[str, int], tuple[str, int]]:
        a, b = (p.src, p.sport), (p.dst, p.dport)
        return (a, b) if a <= b else (b, a)

    def packet(self, p: TcpPacket) -> None:
        key = self._key(p)
        conn = self.active.get(key)
        ended = conn is not None and (conn.flags_seen["orig"] | conn.flags_seen["resp"]) & (FIN | RST)
        reopened = None
        if conn is not None and ended and p.flags & SYN and not p.flags & ACK:
            self._flush(conn)  # what was in flight has arrived by now
            if conn.finished(self.roles):
                # the 4-tuple is reused after TIME-WAIT (or after both ends closed): a new connection,
                # whose receiver is the TIME-WAIT endpoint itself if it still is in TIME-WAIT (S22)
                reopened = self.reopen(conn, p, self.next_id)
                self._retire(self.active.pop(key))
                self._idle.pop(key, None)
                conn = None
        if conn is None:
            conn = reopened or self.new_connection(self.next_id, (p.src, p.sport), (p.dst, p.dport), p.number)
            self.next_id += 1
            self.active[key] = conn
        conn.last_packet = p.number
        first = self._first_sighting = self._sighting(conn, p) if self.taps and p.direction else True
        if first:
            conn.stats.add(0 if p.src == conn.orig.addr and p.sport == conn.orig.port else 1, p.ts, p.flags,
                           p.seq, p.length, p.ip_len)
        self._handle(conn, p)
        if self.on_packet is not None:
            self.on_packet(conn, p)
        idle = self._idle
        idle.pop(key, None)
        idle[key] = p.ts
        self._count += 1
        if not self._count & SWEEP_EVERY:
            self.sweep(p.ts)

    @staticmethod
    def new_connection(cid: int, a: tuple[str, int], b: tuple[str, int], first: int) -> Connection:
        """A connection from A (its first packet's sender) to B; one Side when A is B (a self-connect)."""
        orig = Side(*a)
        return Connection(cid, orig, orig if a == b else Side(*b), first)

    def reopen(self, conn: Connection, p: TcpPacket, cid: int) -> Connection | None:
        """A SYN to an end of a finished connection that is in TIME-WAIT at the SYN's capture time
        (its 2MSL timer has not run out) is that endpoint's: RFC 9293 §3.10.7.4 / RFC 6191 (the
        spec's S22, ambiguity A9) take it from TIME-WAIT. The new connection (a new record, as
        Zeek counts them) carries a copy of that shadow, starting in TIME-WAIT; the SYN's sender
        starts CLOSED (its own shadow if it is CLOSED, else a new socket). None: a new connection
        from scratch (the responder begins in LISTEN or CLOSED)."""
        x, y, _ = conn.side(p.src, p.sport)
        if conn.self_connect or y.ep is None or y.ep.state_name not in self.roles.time_wait:
            return None
        new = self.new_connection(cid, (p.src, p.sport), (p.dst, p.dport), p.number)
        for old, side in ((y, new.resp), (x, new.orig)):
            if old.ep is None or (old.ep.state_name != self.spec.initial and old is x):
                continue
            ep = old.ep.clone()
            ep.observe(partial(_record_step, side))
            side.ep = ep
            side.record(ep.state_name)
        self._ts = p.ts
        self._clock(new.resp, p.ts)
        if new.resp.ep is None or new.resp.ep.state_name not in self.roles.time_wait:
            release(new)
            return None  # 2MSL has passed by the SYN's time: TIME-WAIT was over
        new.resp.states[:] = [new.resp.ep.state_name]
        new.syn_seen = True
        return new

    def _retire(self, conn: Connection) -> None:
        release(conn)  # memory follows the open connections
        if self.sink is not None:
            self.sink(conn)
        else:
            self.done.append(conn)

    def sweep(self, now: float) -> None:
        """Retire the connections that are done and idle for ``linger`` seconds of capture time:
        both ends finished once what was in flight has arrived (worked out on a copy, so that
        a connection that is not done goes on exactly as before)."""
        for key in pop_idle(self._idle, now, self.linger):
            conn = self.active[key]
            twin = self.copy(conn)
            self._flush(twin)
            if twin.finished(self.roles):
                del self.active[key]
                self._retire(twin)
            else:
                release(twin)
                self._idle[key] = now - self.linger  # looked at again a linger later, at the earliest

    def row(self, r: tuple[Any, ...]) -> None:
        """One packet as TcpPacket's fields, in order."""
        self.packet(TcpPacket(*r))

    def peek(self) -> list[View]:
        """Every connection as if the capture ended now; nothing here changes."""
        views = [View(c.to_dict(), c.unconfirmed, len(c.findings)) for c in self.done]
        for conn in self.active.values():
            settled = len(conn.findings)
            twin = self.copy(conn)
            self._flush(twin)
            views.append(View(twin.to_dict(), twin.unconfirmed, settled))
            release(twin)
        return sorted(views, key=lambda v: int(v.summary["id"]))

    @staticmethod
    def copy(conn: Connection) -> Connection:
        """An independent copy of a connection: its shadows cloned (``Endpoint.clone``)."""
        sides = []
        for side in conn.sides():
            twin = dataclasses.replace(side, ep=side.ep.clone() if side.ep is not None else None,
                                       states=list(side.states), expected=list(side.expected),
                                       pending=list(side.pending), unseen=dict(side.unseen))
            if twin.ep is not None:
                twin.ep.observe(partial(_record_step, twin))
            sides.append(twin)
        return dataclasses.replace(conn, orig=sides[0], resp=sides[-1], history=list(conn.history),
                                   _hist_seen=set(conn._hist_seen), flags_seen=dict(conn.flags_seen),
                                   findings=list(conn.findings), packets=list(conn.packets))

    def finish(self) -> list[Connection]:
        """The end of the capture: every open connection is flushed and retired (to the sink,
        in order of id, when there is one); the connections kept, in order of id."""
        for conn in sorted(self.active.values(), key=lambda c: c.id):
            self._flush(conn)
            self._retire(conn)
        self.active.clear()
        self._idle.clear()
        out, self.done = self.done, []
        return sorted(out, key=lambda c: c.id)

    # ------------------------------------------------------------ the two halves
    def _new_endpoint(self, side: Side, iss: int | None) -> Endpoint:
        # the receive window is left wide open: the capture, not the shadow, says what fits; so is
        # the challenge-ACK throttle (a stack's own limit is not the shadow's to guess)
        ep = Endpoint(iss, spec=self.spec, engine="table", rcv_wnd=1 << 30, challenge_ack_limit=None,
                      name=f"{side.addr}:{side.port}", now=max(self._ts, 0.0))
        ep.observe(partial(_record_step, side))
        side.ep = ep
        side.record(ep.state_name)
        return ep

    @staticmethod
    def _sighting(conn: Connection, p: TcpPacket) -> bool:
        """At the hosts: is this the packet's first sighting (counted once, in the statistics
        and the history)? A packet leaving one tapped host for another is seen again arriving;
        an arrival that matches no departure (an injected or duplicated segment) is new."""
        x = conn.side(p.src, p.sport)[0]
        key = (p.seq, p.ack, p.flags, p.length)
        if p.direction == OUTBOUND:
            x.unseen[key] = x.unseen.get(key, 0) + 1
            return True
        n = x.unseen.get(key, 0)
        if n > 1:
            x.unseen[key] = n - 1
        elif n:
            del x.unseen[key]
        return not n

    def _handle(self, conn: Connection, p: TcpPacket) -> None:
        """One sighting of a packet from X to Y.

        Seen between the ends (no direction, or no tapped hosts: the usual capture), it shows
        both halves: X sent it, and Y receives it once Y's own packets give evidence
        (``pending``). At the hosts (``taps``: the capture records each named host's own
        interface, pcapng's ``if_IPv4addr``/``if_IPv6addr``; each packet inbound or outbound,
        ``epb_flags``), a packet leaving X shows only that X sent it when Y's interface is in
        the capture too (its arrival, if any, is a sighting of its own), and an arrival at Y
        shows that Y received it, now: and that X sent it only when X's interface is not in
        the capture (an arrival at Y that X's interface never showed leaving was not X's).
        """
        x, y, who = conn.side(p.src, p.sport)
        self._ts = p.ts
        seg = _segment(p)
        d = p.direction if self.taps else 0
        if d == INBOUND and p.src in self.taps:
            conn.flags_seen[who] |= p.flags
            if self._first_sighting:  # injected, or a copy the network made: count it where it arrived
                self._history(conn, p, who, x, seg)
            if self.keep_packets:
                conn.packets.append((p.number, who, p))
            self._arrived(conn, y, p, seg)
            return
        if p.flags & ACK and (x.acked_by_me is None or seq_lt(x.acked_by_me, p.ack)):
            x.acked_by_me = p.ack
        if p.flags & ACK and x.unconfirmed_end is not None and seq_le(x.unconfirmed_end, p.ack):
            x.unconfirmed_end = None  # X acknowledges what its latest state came from
        self._history(conn, p, who, x, seg)
        conn.flags_seen[who] |= p.flags
        if self.keep_packets:
            conn.packets.append((p.number, who, p))
        moves = len(x.states)
        if x.ep is None:
            self._first_from(conn, x, y, p, seg, who)
        else:
            self._catch_up(conn, x, p)
            if p.flags & SYN and p.flags & ACK:
                self._take_iss(x, p.seq)
            self._clock(x, p.ts)
            self._explain_send(conn, x, p, seg)
        if len(x.states) != moves:
            x.unconfirmed_end = None  # X moved on its own packet's evidence
        if d == OUTBOUND and p.dst in self.taps:
            return  # Y's interface will show whether (and when) it arrives
        if d == INBOUND:
            self._arrived(conn, y, p, seg)
            return
        y.pending.append((p, seg))

    def _arrived(self, conn: Connection, y: Side, p: TcpPacket, seg: Segment) -> None:
        """Seen arriving at Y's interface: Y's shadow receives it now (confirmed); before Y's
        shadow exists (its first packet decides its initial state) it waits in ``pending``."""
        if y.ep is None:
            y.pending.append((p, seg))
        else:
            self._deliver(conn, y, p, seg, confirmed=True)

    def _catch_up(self, conn: Connection, x: Side, p: TcpPacket) -> None:
        """Deliver to X what X's packet shows it has received: segments its ACK covers.

        The capture point is not at X: a segment seen going to X may still be in flight when X
        sends its next one (at the far end's vantage, or when segments cross). X's ACK number
        is the evidence; a segment without ACK (a SYN) proves nothing.
        """
        if x.ep is None or not x.pending:
            return
        if x.addr in self.taps:
            # X's interface showed them arriving (before X's shadow existed): all of them came in
            for q, qseg in x.pending:
                self._deliver(conn, x, q, qseg, confirmed=True)
            x.pending.clear()
            return
        if p.flags & RST and not p.flags & (ACK | SYN):
            self._reset_evidence(conn, x, p)
            return
        if not p.flags & ACK:
            return
        t = x.ep.tcb
        if not p.flags & SYN and t.syn_received and seq_lt(t.snd_nxt, p.seq):
            # X's sequence number shows it sent more than the capture holds (capture loss):
            # catch X up before it receives the ACKs of those bytes
            x.ep.resync(snd_nxt=p.seq)
            conn.note("G", "orig" if x is conn.orig else "resp")
        n = 0
        for _q, qseg in x.pending:
            # a SYN arrived when its own number is acknowledged, even if its data is not (a server
            # that refused the Fast Open cookie acknowledges only the SYN, RFC 7413 §4.2.2 step 2b)
            if not seq_le(seq_add(qseg.seq, 1 if qseg.bits & SYN else qseg.seg_len), p.ack):
                break
            n += 1
        for q, qseg in x.pending[:n]:
            self._deliver(conn, x, q, qseg, confirmed=True)
        del x.pending[:n]

    @staticmethod
    def _take_iss(x: Side, iss: int) -> None:
        """X's SYN,ACK carries the ISS its stack chose (RFC 9293 §3.4.1 leaves the choice to it, RFC
        6528 keys it; for a TIME-WAIT reopened by a SYN, S22, RFC 6191 only asks for one above the
        old numbers and Linux's tcp_timewait_state_process takes tw_snd_nxt + 65535 + 2): where
        X's shadow chose another one for a SYN not yet acknowledged, the wire's is taken."""
        ep = x.ep
        assert ep is not None
        t = ep.tcb
        if not t.syn_received or t.iss == iss or seq_lt(t.iss, t.snd_una):
            return
        d = (iss - t.iss) % _MOD
        snap = ep.snapshot()
        ep.restore(snap.replace(iss=iss, snd_una=(t.snd_una + d) % _MOD, snd_nxt=(t.snd_nxt + d) % _MOD,
                                retransmission_queue=tuple(dataclasses.replace(s, seq=(s.seq + d) % _MOD)
                                                           for s in snap.retransmission_queue)))
        x.expected[:] = [dataclasses.replace(s, seq=(s.seq + d) % _MOD) if s.bits & SYN else s for s in x.expected]

    def _reset_evidence(self, conn: Connection, x: Side, p: TcpPacket) -> None:
        """A bare RST <SEQ=S> from X: the reset of a segment whose ACK field was S (RFC 9293
        §3.10.7.1, §3.10.7.2, and the data-lost resets of §3.6.1 / §3.10.7.4: "the reset takes
        its sequence number from the ACK field of the segment"). So X received that segment and
        everything before it: deliver them (the answered one last). If X's shadow does not
        answer it so, the ways a Linux socket would are tried in turn: the application had
        closed its descriptor (an orphan: ``full_close``), and then the orphan's FIN-WAIT-2
        timer (the profile's declared ``tcp_fin_timeout``) ran out before the answered segment
        came (its deadline by capture time, else earlier: the sysctl is the host's, the wire
        shows the socket gone). None fitting, see the end below.
        """
        ep = x.ep
        assert ep is not None
        n = 0
        for i, (q, _qseg) in enumerate(x.pending):
            if q.flags & ACK and q.ack == p.seq:
                n = i + 1
        if not n:
            return
        batch = x.pending[:n]
        del x.pending[:n]
        want = _segment(p)
        orphan = "full_close" in {e.name for e in self.spec.events}
        for how in ("as_is", "orphan", "orphan_early") if orphan else ("as_is",):
            if how != "as_is" and (ep.tcb.orphan or not ep.tcb.fin_sent):
                break  # the orphan hypothesis is for a side whose FIN is out (FIN-WAIT-1, -2, ...)
            trial = self.copy(conn)
            tx = trial.orig if x is conn.orig else trial.resp
            out = self._trial(trial, tx, batch, how)
            release(trial)
            if out is not None and any(_same(want, s) for s in out):
                self._trial(conn, x, batch, how)
                return
        # No way of the spec's answers the segment so. If the segments before it take X to
        # FIN-WAIT-2, the answered one met a FIN-WAIT-2 that was gone (a timer the spec lacks,
        # A4): that much is taken, and the reset is reported so (_spontaneous_rst), not as a
        # reset out of TIME-WAIT. If they take X into ESTABLISHED (the ACK that completes its
        # handshake), they arrived before the answered one, and
        # X then lost its connection (a crash, RFC 9293 §3.5.2 Figure 10: "(CRASH)" then the
        # reset of the data that follows): that much is taken too. Otherwise the reset is no
        # evidence the shadow can use (the shadow holds the wrong state): nothing is delivered.
        trial = self.copy(conn)
        tx = trial.orig if x is conn.orig else trial.resp
        before = ep.state_name
        self._trial(trial, tx, batch[:-1], "as_is")
        after = tx.ep.state_name if tx.ep is not None else before
        gone = after in self.roles.fin_acked
        synchronized = before != after == self.roles.open_state
        release(trial)
        if gone or synchronized:
            self._trial(conn, x, batch[:-1], "as_is")
        else:
            x.pending[:0] = batch

    def _trial(self, conn: Connection, x: Side, batch: list[tuple[TcpPacket, Segment]],
               how: str) -> list[Segment] | None:
        """Deliver ``batch`` to X (see :meth:`_reset_evidence`); X's reply to the last one."""
        ep = x.ep
        assert ep is not None
        if how != "as_is":
            try:
                if ep.full_close():
                    return None  # it would have sent something: not what the wire shows
            except UserCallError:
                return None
        for i, (q, qseg) in enumerate(batch):
            last = i == len(batch) - 1
            if last and how == "orphan_early":
                self._clock(x, q.ts)
                if not self._timer_leaves(ep):
                    return None
            before = len(x.expected)
            self._deliver(conn, x, q, qseg, confirmed=True)
            if last:
                return x.expected[before:]
        return None

    def _clock(self, side: Side, ts: float) -> None:
        """Bring a shadow's clock to ``ts`` (capture time), firing on the way each timer whose
        deadline has passed among those the wire cannot show firing (``Roles.timed``: the
        TIME-WAIT timer, the linux profile's FIN-WAIT-2 timer; the retransmission timer's
        expiry is the retransmission the capture holds)."""
        ep = side.ep
        if ep is None:
            return
        timed = self.roles.timed
        while True:
            due: tuple[float, str] | None = None
            for name, d in ep.armed_timers.items():
                if d <= ts and name in timed and (due is None or d < due[0]):
                    due = (d, name)
            if due is None:
                break
            ep.now = max(ep.now, due[0])
            side.expected.extend(ep.timeout(due[1]))
        if ep.now < ts:
            ep.now = ts

    def _flush(self, conn: Connection) -> None:
        """End of the capture: what was seen in flight arrived, in capture order (unconfirmed)."""
        queued = sorted([(q.number, side, q, qseg) for side in conn.sides() if side.ep is not None
                         for q, qseg in side.pending], key=lambda t: t[0])
        for _, side, q, qseg in queued:
            self._deliver(conn, side, q, qseg, confirmed=False)
        conn.orig.pending.clear()
        conn.resp.pending.clear()

    def _first_from(self, conn: Connection, x: Side, y: Side, p: TcpPacket, seg: Segment, who: str) -> bool:
        """X's first packet: decide X's initial state (and ISS) from it; feed what X missed."""
        fl = p.flags
        if who == "orig" and fl & SYN and not fl & ACK:
            ep = self._new_endpoint(x, p.seq)
            conn.syn_seen = True
            if p.length and self._fast_open:  # data on the SYN: a Fast Open cookie was held (RFC 7413 §4.2.2)
                ep.set_fast_open(cookie=True)
                sent = ep.connect(p.length)
                x.sent_data += p.length
            else:
                sent = ep.connect()
            if p.length and not self._fast_open:  # a spec without TCP Fast Open: the SYN's data taken as sent
                ep.resync(snd_nxt=seq_add(ep.tcb.snd_nxt, p.length))
                x.sent_data += p.length
                sent = [Segment(seq=s.seq, ack=s.ack, flags=s.flags, window=s.window, length=p.length)
                        for s in sent]
            self._compare(conn, x, p, seg, sent, "connect")
            return True
        if who == "resp" and conn.syn_seen and not conn.midstream:
            # the responder answers: LISTEN (SYN,ACK), CLOSED (RST), or SYN-SENT (its own SYN)
            if fl & SYN and fl & ACK:
                ep = self._new_endpoint(x, p.seq)
                ep.listen()
                x.states[:] = [self.roles.listening]  # it was listening before the first packet
                if self._fast_open:
                    # RFC 7413 §4.2.2 step 2: the SYN,ACK acknowledges the SYN's data only when the
                    # cookie was valid; that is the wire's evidence of the cookie
                    ep.set_fast_open(cookie=any(q.flags & SYN and q.length and p.ack == seq_add(q.seq, 1 + q.length)
                                                for q, _ in x.pending))
            elif fl & SYN:
                ep = self._new_endpoint(x, p.seq)
                sent = ep.connect()
                x.expected.extend(sent)
            else:
                ep = self._new_endpoint(x, None)
            self._catch_up(conn, x, p)
            self._explain_send(conn, x, p, seg)
            return True
        if who == "orig" and fl & SYN and fl & ACK:
            # the SYN was missed: the originator here is the passive side
            ep = self._new_endpoint(x, p.seq)
            ep.listen()
            x.states[:] = [self.roles.listening]
            ep.receive(Segment(seq=seq_add(p.ack, -1), flags=Flags.SYN, window=65535))
            x.expected.clear()
            other = self._new_endpoint(y, seq_add(p.ack, -1))
            other.connect()
            conn.synack_seen = True
            self._explain_send(conn, x, p, seg)
            return True
        # from the middle of a connection: both ends synchronized
        conn.midstream = True
        for side, snd, rcv in ((x, p.seq, p.ack), (y, p.ack, p.seq)):
            if side.ep is None:
                ep = self._new_endpoint(side, None)
                # synchronized, ISS = SND.NXT-1 and IRS = RCV.NXT-1; the peer's window unknown: wide
                ep.join_midstream(snd_nxt=snd, rcv_nxt=rcv, state=self.roles.open_state, snd_wnd=1 << 30)
                side.states[:] = [self.roles.open_state]
        self._explain_send(conn, x, p, seg)
        return True

    def _explain_send(self, conn: Connection, x: Side, p: TcpPacket, seg: Segment) -> None:
        ep = x.ep
        assert ep is not None
        for i, want in enumerate(x.expected):
            if _same(seg, want):
                del x.expected[: i + 1]  # older expected replies never showed up: forget them
                return
        t = ep.tcb
        fl = p.flags
        if fl & RST and not (fl & SYN):
            self._spontaneous_rst(conn, x, p, seg)
            return
        # retransmissions and probes: nothing new in sequence space
        end = seq_add(seg.seq, seg.seg_len)
        new_data = seg.length and seq_lt(t.snd_nxt, end) if not fl & SYN else False
        if fl & SYN and ep.state_name not in (self.spec.initial, self.roles.listening) \
                and seg.seq == t.iss:
            conn.note("T", "orig" if x is conn.orig else "resp")
            return
        if not fl & SYN and not new_data and not (fl & FIN and seq_le(t.snd_nxt, seg.seq)):
            if seq_lt(seg.seq, t.snd_nxt) and (seg.length or fl & FIN):
                conn.note("T", "orig" if x is conn.orig else "resp")
            return
        if (new_data or fl & FIN) and seq_lt(t.snd_nxt, seg.seq) and not fl & SYN:
            # a gap: the capture missed some of X's segments (X sent them): catch X up
            ep.resync(snd_nxt=seg.seq)
            conn.note("G", "orig" if x is conn.orig else "resp")
        causes: list[tuple[str, Any]] = []
        if new_data:
            causes.append(("send", seg.length))
        if fl & FIN:
            causes.append(("close", None))
        if fl & SYN and not fl & ACK:
            causes.append(("connect", None))
        self._apply_causes(conn, x, p, seg, causes)

    def _apply_causes(self, conn: Connection, x: Side, p: TcpPacket, seg: Segment,
                      causes: list[tuple[str, Any]]) -> None:
        ep = x.ep
        assert ep is not None
        sent: list[Segment] = []
        for call, arg in causes:
            before = ep.state_name
            try:
                if call == "connect":  # the OPEN takes the ISS the wire shows (RFC 9293 §3.4.1)
                    ep.restore(ep.snapshot().replace(next_iss=seg.seq))
                sent += getattr(ep, call)(*([arg] if arg is not None else []))
                if call == "send":
                    x.sent_data += int(arg)
            except UserCallError as exc:
                # X's own segments confirmed its state (else the shadow may hold a wrong one: an
                # old duplicate SYN taken for X's, Figure 8): X lost that connection and opens again
                if call == "connect" and before not in self.roles.unsynchronized and x.unconfirmed_end is None:
                    ep = self._restarted(conn, x, p, seg, before)
                    sent += ep.connect()
                    continue
                conn.findings.append(Finding(p.number, ep.name or "", f"{call.upper()} refused in {before}",
                                             exc.transition, self._rfc(exc.transition), exc.words))
                return
        self._compare(conn, x, p, seg, sent, "+".join(c for c, _ in causes))

    def _restarted(self, conn: Connection, x: Side, p: TcpPacket, seg: Segment, before: str) -> Endpoint:
        """X sends a new SYN (its own OPEN, a new ISS) from a synchronized state, where the spec
        refuses an OPEN ("connection already exists", RFC 9293 §3.10.1): X lost its connection (a
        crash or reboot, §3.5.2 Figure 9's half-open connection, "(CRASH)" then CLOSED) and opens
        again. X's shadow starts over in CLOSED with the wire's ISS; the finding says so."""
        old = x.ep
        assert old is not None
        conn.findings.append(Finding(
            p.number, old.name or "", f"opened again from {before}: its connection was lost", "", "3.5.2",
            "a SYN with a new ISS from an end the spec holds synchronized: it crashed or rebooted "
            "(a half-open connection, RFC 9293 §3.5.2); the peer's reply resets what is left"))
        x.expected.clear()
        x.sent_data = x.received_data = 0
        x.acked_by_me = x.unconfirmed_end = x.first_rcv_seq = None
        ep = self._new_endpoint(x, None)
        ep.restore(ep.snapshot().replace(next_iss=seg.seq))
        return ep

    def _compare(self, conn: Connection, x: Side, p: TcpPacket, seg: Segment, sent: list[Segment],
                 cause: str) -> None:
        """The wire segment should be (the last of) what the cause made the spec send."""
        if any(_same(seg, s) or (s.length and seg.length and s.seq == seg.seq) for s in sent):
            x.expected.extend(s for s in sent if not _same(seg, s) and s.seq != seg.seq)
            return
        if sent and seg.bits & FIN and any(s.bits & FIN for s in sent):
            return  # a FIN carrying data the spec split off: the same sequence space
        ep = x.ep
        assert ep is not None
        rule = ep.last_steps[-1].transition if ep.last_steps else ""
        conn.findings.append(Finding(p.number, ep.name or "", f"{cause}: sent {seg} but the spec sends "
                                     f"{', '.join(map(str, sent)) or 'nothing'}", rule, self._rfc(rule)))

    def _spontaneous_rst(self, conn: Connection, x: Side, p: TcpPacket, seg: Segment) -> None:
        ep = x.ep
        assert ep is not None
        state = ep.state_name
        if state in self.roles.unsynchronized:
            return  # an RST the shadow did not expect from a side with nothing to reset: ignore
        # A side that received data and never sent any, then resets with RST,ACK: the RFC 1122
        # §4.2.2.13 / RFC 9293 SHLD-3 "data lost" reset of a CLOSE with unread data (what Linux
        # does, tcp_send_active_reset: RST,ACK). The wire cannot tell it from an ABORT by such a
        # side; a bare RST is RFC 9293's ABORT form (§3.10.5 <SEQ=SND.NXT><CTL=RST>), and any
        # other reset is an ABORT.
        if x.received_data and not x.sent_data and seg.bits & ACK and state in self.roles.fin_on_close:
            trial = ep.clone()
            trial.resync(unread=x.received_data)
            try:
                out = trial.full_close()  # the application's close() (Linux tcp_close; CLOSE in RFC 9293)
            except UserCallError:
                out = []
            if any(s.bits & RST for s in out):
                ep.resync(unread=x.received_data)
                ep.full_close()
                return
            rule = trial.last_steps[-1].transition if trial.last_steps else "U9"
            conn.findings.append(Finding(
                p.number, ep.name or "", f"RST on CLOSE with unread data: the spec's CLOSE sends "
                f"{', '.join(map(str, out)) or 'nothing'} ({state})", rule, self._rfc(rule),
                "RFC 9293 §3.10.4 closes with a FIN; Linux resets when unread data is discarded "
                "(RFC 2525 §2.17, RFC 1122 §4.2.2.13): --profile linux models it"))
            ep.abort()  # keep tracking: both ends are gone
            return
        if state in self.roles.fin_acked and not self._timer_leaves(ep):
            conn.findings.append(Finding(p.number, ep.name or "", "FIN-WAIT-2 left without a FIN",
                                         "", "3.10.7.4", "RFC 9293 has no FIN-WAIT-2 timer (A4); Linux's "
                                         "tcp_fin_timeout: --profile linux"))
        with contextlib.suppress(TcpFsmError):
            ep.abort()

    def _timer_leaves(self, ep: Endpoint) -> bool:
        """Fire an armed timer whose spec transition leaves the current state (Linux's FIN-WAIT-2
        timer, say): the way out the profile offers, taken before an unexplained reset."""
        state = ep.state_name
        armed = ep.armed_timers
        for ev in self.spec.events:
            if ev.timer in armed and any(t.changes_state(state) for t in self.spec.candidates(state, ev.name)):
                ep.timeout(str(ev.timer))
                return True
        return False

    def _deliver(self, conn: Connection, y: Side, p: TcpPacket, seg: Segment, *, confirmed: bool) -> None:
        """Y's shadow receives the segment; ``confirmed``: Y's own ACK has shown it arrived."""
        ep = y.ep
        assert ep is not None
        self._clock(y, p.ts)  # it arrived about when it was seen (the vantage's clock)
        if seg.length and not seg.bits & SYN:
            y.received_data += seg.length
        t = ep.tcb
        if (seg.length or seg.bits & FIN) and not seg.bits & (SYN | RST) and t.syn_received \
                and seq_lt(t.rcv_nxt, seg.seq) and y.gap_ok(seg.seq):
            # the capture missed segments the receiver did get: its ACKs (or the sender's
            # sequence numbers) have moved past them
            ep.resync(rcv_nxt=seg.seq)
            conn.note("G", "resp" if y is conn.resp else "orig")
        moves = len(y.states)
        try:
            out = ep.receive(seg)
        except TcpFsmError as exc:
            conn.findings.append(Finding(p.number, ep.name or "", f"no rule for this segment: {exc}"))
            return
        finally:
            if len(y.states) != moves:
                y.unconfirmed_end = None if confirmed else seq_add(seg.seq, seg.seg_len)
        y.expected.extend(out)
        ep.read()  # the application reads what arrived (a CLOSE with unread data is inferred apart)
        for step in ep.last_steps:
            what = self.spec.transition(step.transition).finding  # declared in the spec
            if what:
                conn.findings.append(Finding(p.number, ep.name or "", what, step.transition, step.rfc,
                                             f"{seg} in {step.source}"))
        if seg.bits & RST and any(s.bits & RST for s in out):
            conn.findings.append(Finding(p.number, ep.name or "", "RST answered with RST",
                                         ep.last_steps[-1].transition, ep.last_steps[-1].rfc))
        if seg.bits & ACK and ep.state_name == self.roles.open_state and conn.syn_seen:
            conn.established = conn.established or bool(conn.synack_seen)

    @property
    def _fast_open(self) -> bool:
        """The spec models TCP Fast Open (the tfo profile's ``tfo_cookie`` guard)."""
        return any(g.predicate == "tfo_cookie" for g in self.spec.guards)

    def _rfc(self, tid: str) -> str:
        try:
            return self.spec.transition(tid).rfc
        except StopIteration:
            return ""

    def _history(self, conn: Connection, p: TcpPacket, who: str, x: Side, seg: Segment) -> None:
        fl = p.flags
        if fl & SYN and fl & ACK:
            conn.note("H", who)
            conn.synack_seen = True
        elif fl & SYN:
            conn.note("S", who)
            conn.syn_seen = conn.syn_seen or who == "orig"
        if fl & FIN:
            conn.note("F", who)
        if fl & RST:
            conn.note("R", who)
        if p.length:
            conn.note("D", who)
        elif fl & ACK and not fl & (SYN | FIN | RST):
            conn.note("A", who)
        if p.window == 0 and not fl & RST:
            conn.note("W", who)



def pop_idle(idle: dict[Any, float], now: float, linger: float) -> list[Any]:
    """Take out of ``idle`` (keys in order of their last activity, oldest first) every key idle
    for ``linger`` seconds at ``now``, and return them, oldest first."""
    stale = []
    for key, ts in idle.items():
        if now - ts < linger:
            break
        stale.append(key)
    for key in stale:
        del idle[key]
    return stale
