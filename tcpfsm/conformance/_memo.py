"""The monitor's fast path: connections that behave alike are worked out once.

What the monitor concludes about a connection depends only on its packets *relative* to the
connection's first sequence numbers (direction, control bits, SEQ and ACK as offsets, length,
window). So the conclusions form a trie over such normalized packets: a node holds the
summary after a prefix (both endpoints' states, history, control bits seen), an edge the
next normalized packet. Edges are made by the real monitor (the spec's Endpoints), the first
time a path is seen; a connection that leaves the trie is rebuilt by replaying its packets
through the real monitor and goes on there. Edges that produce findings are never stored,
so every finding is computed by the real engine with its own packet numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tcpfsm.conformance._monitor import (
    ACK,
    FIN,
    LINGER,
    RST,
    SWEEP_EVERY,
    SYN,
    Connection,
    Engine,
    Stats,
    View,
    pop_idle,
    release,
)
from tcpfsm.conformance._packets import TcpPacket
from tcpfsm.spec import Spec

MOD = 1 << 32
GIVE_UP_AFTER, GIVE_UP_BELOW = 65_536, 0.05  # packets seen, share of hits: below it, the trie is dropped
MAX_NODES = 50_000  # the trie's bound (some 25 MB): memory follows the open connections, not the file

Key = tuple[int, int, int, int, int, int]


class Node:
    __slots__ = ("children", "ended", "final")

    def __init__(self, ended: bool) -> None:
        self.children: dict[Key, Node] = {}
        self.ended = ended          # a FIN or RST has been seen
        # the flushed view and whether both ends are done, once worked out (no findings)
        self.final: tuple[View, bool] | None = None


@dataclass
class Track:
    """One connection on the fast path: where it is in the trie, and what it needs to leave it."""

    id: int
    orig: tuple[str, int]
    resp: tuple[str, int]
    first_packet: int
    last_packet: int = 0
    node: Node | None = None
    prefix: list[Any] = field(default_factory=list)  # TcpPacket field tuples
    real: Connection | None = None
    base_orig: int | None = None
    base_resp: int | None = None
    stats: Stats = field(default_factory=Stats)
    t0: float | None = None  # the earliest capture time seen: a timer's deadline is at least floor after it


class MemoMonitor:
    """Same answers as :class:`Engine`, connection by connection, at dictionary speed."""

    def __init__(self, spec: Spec, *, trie: bool = True, linger: float = LINGER,
                 sink: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.real = Engine(spec)
        self.root = Node(False)
        self.trie = trie  # False: every packet the long way (the benchmark's "trie off")
        self.active: dict[tuple[tuple[str, int], tuple[str, int]], Track] = {}
        self.results: list[View] = []
        self.next_id = 1
        self.hits = 0
        self.misses = 0
        self.nodes = 0  # in the current trie
        self.resets = 0  # times the trie was full and started afresh
        self.linger = linger
        self.sink = sink  # finished connections' summaries go here as they end (not kept) when given
        self._idle: dict[tuple[tuple[str, int], tuple[str, int]], float] = {}
        self._count = 0

    # ------------------------------------------------------------ packets
    def packet(self, p: TcpPacket) -> None:
        self.row((p.number, p.ts, p.src, p.sport, p.dst, p.dport, p.seq, p.ack, p.flags, p.window, p.length,
                  p.checksum_ok, p.ip_len))

    def row(self, r: tuple[Any, ...]) -> None:
        """One packet as TcpPacket's fields (number, ts, src, sport, dst, dport, seq, ack, flags,
        window, length, checksum_ok): the hot path, with no object made."""
        number, ts, src, sport, dst, dport, seq, ack, flags, window, length = r[:11]
        a, b = (src, sport), (dst, dport)
        k4 = (a, b) if a <= b else (b, a)
        t = self.active.get(k4)
        reopened = None
        if t is not None and flags & SYN and not flags & ACK and self._ended(t):
            final, finished = self._final(t)
            if finished:
                ends = final.summary["endpoints"]
                to = ends[1] if b == t.resp else ends[0]
                if to["states"] and to["states"][-1] in self.real.roles.time_wait and a != b:
                    # the receiver may still be in TIME-WAIT: the plain engine decides (Engine.reopen)
                    self._go_real(t)
                    assert t.real is not None
                    self.real._flush(t.real)
                    reopened = self.real.reopen(t.real, TcpPacket(*r), self.next_id)
                self._finalize(t, final)
                del self.active[k4]
                self._idle.pop(k4, None)
                t = None
            else:  # as the plain monitor does: what was in flight arrives, and the connection goes on
                self._go_real(t)
                assert t.real is not None
                self.real._flush(t.real)
        if t is None:
            t = Track(self.next_id, a, b, number, node=self.root if self.trie and reopened is None else None)
            t.real = reopened  # a TIME-WAIT endpoint's new connection goes the long way
            self.next_id += 1
            self.active[k4] = t
        t.last_packet = number
        if t.t0 is None or ts < t.t0:
            t.t0 = ts
        if t.real is None and t.node is not None and ts - t.t0 >= self.real.timed_floor:
            # a timer the wire cannot show (TIME-WAIT's, FIN-WAIT-2's) may have run out by now, and
            # the trie's paths carry no times: the plain engine, which keeps the shadows' clocks
            self._go_real(t)
        idle = self._idle
        idle.pop(k4, None)
        idle[k4] = ts
        self._count += 1
        if not self._count & SWEEP_EVERY:
            self.sweep(ts)
            seen = self.hits + self.misses
            if self.trie and seen >= GIVE_UP_AFTER and self.hits < GIVE_UP_BELOW * seen:
                # traffic that does not repeat: the trie costs more than it saves; new connections
                # go the long way from here (the same answers), and its memory is let go
                self.trie = False
                self.root = Node(False)
                self.nodes = 0
        # the packet relative to the connection's first sequence numbers (inline: the hot path)
        if a == t.orig:
            if t.base_orig is None:
                t.base_orig = seq
                if a == b:  # a self-connect: one socket, one sequence space
                    t.base_resp = seq
            if t.base_resp is None and flags & ACK and not flags & SYN:
                t.base_resp = ack  # seen from the middle
            who, sb, ab = 0, t.base_orig, t.base_resp
        else:
            if t.base_resp is None:
                t.base_resp = seq
            who, sb, ab = 1, t.base_resp, t.base_orig
        rel_ack = (ack - ab) % MOD if flags & ACK and ab is not None else (ack if flags & ACK else 0)
        t.stats.add(who, ts, flags, seq, length, r[12] if len(r) > 12 else 0)
        key = (who, flags, (seq - sb) % MOD, rel_ack, length, window)
        node = t.node
        if t.real is None and node is not None:
            child = node.children.get(key)
            if child is not None:
                self.hits += 1
                t.node = child
                t.prefix.append(r)
                return
        self._step(t, r, key)

    def sweep(self, now: float) -> None:
        """Retire the connections done and idle for ``linger`` seconds (as :meth:`Engine.sweep`)."""
        for key in pop_idle(self._idle, now, self.linger):
            t = self.active[key]
            final, finished = self._final(t)
            if finished:
                self._finalize(t, final)
                del self.active[key]
            else:
                self._idle[key] = now - self.linger

    def _ended(self, t: Track) -> bool:
        if t.real is not None:
            return bool((t.real.flags_seen["orig"] | t.real.flags_seen["resp"]) & (FIN | RST))
        return t.node is not None and t.node.ended

    def _step(self, t: Track, r: tuple[Any, ...], key: Key) -> None:
        p = TcpPacket(*r)
        node = t.node
        if t.real is None:
            self._go_real(t)
        self.misses += 1
        conn = t.real
        assert conn is not None
        before = len(conn.findings)
        self.real._handle(conn, p)
        if node is not None and len(conn.findings) == before:
            child = Node(bool((conn.flags_seen["orig"] | conn.flags_seen["resp"]) & (FIN | RST)))
            node.children[key] = child
            t.node = child
            self.nodes += 1
            if self.nodes >= MAX_NODES:
                # traffic that does not repeat grows the trie without end: start a new one (the
                # connections on the old one keep their nodes until they end; answers are the same)
                self.root = Node(False)
                self.nodes = 0
                self.resets += 1
        else:
            t.node = None  # off the trie for good: findings are the real engine's alone

    def _go_real(self, t: Track) -> None:
        """Rebuild the connection by replaying its packets through the real monitor."""
        if t.real is not None:
            return
        conn = Engine.new_connection(t.id, t.orig, t.resp, t.first_packet)
        for q in t.prefix:
            self.real._handle(conn, TcpPacket(*q))
        t.real = conn
        t.prefix = []
        t.node = None  # the replayed path is already in the trie; a new one starts from here unknown

    def _final(self, t: Track) -> tuple[View, bool]:
        """The connection as if the capture ended now (cached per trie node), and whether both
        ends are done. Works on a copy: the connection may go on (a SYN that does not reuse the
        4-tuple; a query of the streaming monitor)."""
        node = t.node
        if t.real is None and node is not None and node.final is not None:
            return node.final
        if t.real is not None:
            conn = Engine.copy(t.real)
        else:
            conn = Engine.new_connection(t.id, t.orig, t.resp, t.first_packet)
            for q in t.prefix:
                self.real._handle(conn, TcpPacket(*q))
        settled = len(conn.findings)
        self.real._flush(conn)
        final = View(conn.to_dict(), conn.unconfirmed, settled), conn.finished(self.real.roles)
        release(conn)  # a copy (or a rebuilt record): its shadows are done with
        if t.real is None and node is not None and not conn.findings:
            node.final = final
        return final

    def _view(self, t: Track, final: View | None = None) -> View:
        """This track's view: a (possibly shared) final view with the track's own numbers."""
        v = final if final is not None else self._final(t)[0]
        d = dict(v.summary)
        d["id"], d["first_packet"], d["last_packet"] = t.id, t.first_packet, t.last_packet
        d["endpoints"] = [dict(d["endpoints"][0], addr=t.orig[0], port=t.orig[1]),
                          dict(d["endpoints"][1], addr=t.resp[0], port=t.resp[1])]
        d["counters"] = t.stats.to_dict()
        return View(d, v.unconfirmed, v.settled)

    def _finalize(self, t: Track, final: View | None = None) -> None:
        v = self._view(t, final)
        if self.sink is not None:
            self.sink(v.summary)
        else:
            self.results.append(View(v.summary, v.unconfirmed, len(v.summary["findings"])))  # over: all settled
        t.prefix = []
        if t.real is not None:
            release(t.real)
        t.real = None

    def peek(self) -> list[View]:
        """Every connection as if the capture ended now; nothing here changes."""
        return sorted(self.results + [self._view(t) for t in self.active.values()],
                      key=lambda v: int(v.summary["id"]))

    def finish(self) -> list[dict[str, Any]]:
        for t in sorted(self.active.values(), key=lambda t: t.id):
            self._finalize(t)
        self.active.clear()
        self._idle.clear()
        return [v.summary for v in sorted(self.results, key=lambda v: int(v.summary["id"]))]
