"""The streaming monitor: feed it packets one at a time, ask it for both ends' RFC states.

:class:`Monitor` is the one engine behind ``tcpfsm monitor``: :func:`monitor` reads a capture
and feeds every record to one. A caller with its own packet source (a live capture, dpkt,
scapy, a log of headers) feeds it directly; :func:`~tcpfsm.conformance.from_dpkt` and
:func:`~tcpfsm.conformance.from_scapy` turn those libraries' packets into what ``feed`` takes.

Every call of ``feed`` is one packet read: it is used (a TCP segment) or skipped with a reason,
so ``read == used + sum(skipped)`` always holds, and packets are numbered 1, 2, ... in the order
they are fed, as a capture file numbers its records.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import itertools
import zlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tcpfsm.base import Flags
from tcpfsm.conformance._memo import MemoMonitor
from tcpfsm.conformance._monitor import LINGER, Connection, Engine, Finding, View
from tcpfsm.conformance._packets import Capture, CaptureError, Counts, TcpPacket, _parse, link_kind
from tcpfsm.spec import Spec, resolve_spec

_FIELDS = ("src", "sport", "dst", "dport", "seq", "ack", "flags", "window", "length")
_SEQ_SPACE = 1 << 32
BULK_MIN = 1 << 20  # classic pcap from this size up is parsed in bulk (numpy); smaller, packet by packet


@dataclass(frozen=True)
class SkippedPacket:
    """A packet read that the monitor cannot use, and why ("not IP", "not TCP", ...).

    The adapters return one for what is not a TCP segment; ``Monitor.feed`` counts it as read
    and skipped with this reason, so the numbering and the accounting stay those of the capture.
    """

    reason: str


@dataclass(frozen=True)
class ConnectionStates:
    """Both ends' RFC states of one connection so far (RFC 9293 §3.3.2 names).

    ``four_tuple`` is (originator address, port, responder address, port): the originator is
    the end whose packet the monitor saw first. ``originator`` and ``responder`` are each end's
    states in order, the latest last; an end not heard from yet has none.

    ``originator_unconfirmed`` / ``responder_unconfirmed``: that end's latest state is not yet
    confirmed by the wire. The rule: a segment seen going to an end is *pending* until that end
    sends a segment whose ACK covers it (SEG.ACK >= SEG.SEQ+SEG.LEN of the pending one; an end
    acknowledges only what arrived, RFC 9293 §3.10.7.4). ``states()`` answers as if the capture
    ended now, so it delivers the pending segments to the shadows, in capture order, as the end
    of a capture does; an end whose latest state was entered on such a delivery is unconfirmed.
    The flag clears when that end sends a segment acknowledging the segment its state came from,
    or when its state moves on evidence of its own (a segment it sent). Until then the latest
    state may still change: the delivery may yet come in another order, or never. Some states
    stay unconfirmed for good, since nothing the end sends afterwards could show them: CLOSED
    after the last ACK of a close (LAST-ACK, §3.10.7.4), CLOSED after an RST (§3.10.7.4).
    """

    id: int
    four_tuple: tuple[str, int, str, int]
    originator: tuple[str, ...]
    responder: tuple[str, ...]
    originator_unconfirmed: bool = False
    responder_unconfirmed: bool = False


class ConnectionSummary:
    """One monitored connection (the JSON contract's object, with attribute access)."""

    def __init__(self, data: dict[str, Any], detail: Connection | None = None) -> None:
        self.data = data
        self.detail = detail  # the full record (its packets), with --connection
        self.id: int = data["id"]
        self.conn_state: str = data["conn_state"]
        self.history: str = data["history"]
        self.midstream: bool = data["midstream"]
        self.first_packet: int = data["first_packet"]
        self.findings = [Finding.from_dict(f, connection=self.id) for f in data["findings"]]

    @property
    def packets(self) -> list[tuple[int, str, TcpPacket]]:
        return self.detail.packets if self.detail else []

    def to_dict(self) -> dict[str, Any]:
        return self.data


@dataclass
class MonitorReport:
    """What :func:`monitor` found in one capture: the packet counts and every connection."""

    file: str
    profile: str
    packets: Counts
    connections: list[ConnectionSummary] = field(default_factory=list)
    error: str | None = None  # the capture was damaged here (or the run interrupted); results are partial
    interrupted: bool = False  # Ctrl-C or SIGTERM: the results are partial, the verdict inconclusive
    memo: dict[str, int] = field(default_factory=dict)  # the memo trie's hits and misses (packets)
    streamed: int = 0  # connections handed to on_finished as they ended (not in ``connections``)
    streamed_findings: int = 0  # their findings

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 3
        if self.error:
            return 2
        return 1 if self.streamed_findings or any(c.findings for c in self.connections) else 0

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "profile": self.profile, "packets": self.packets.to_dict(),
                "error": self.error, "connections": [c.to_dict() for c in self.connections]}


class Monitor:
    """Both endpoints' RFC 9293 states for every TCP connection of a stream of packets.

    ``spec`` is a :class:`~tcpfsm.spec.Spec` or the path of a spec or profile file; or give a
    shipped ``profile`` by name (``"linux"``, ``"rfc9293"``, ...); the default is rfc9293
    (chosen by :func:`tcpfsm.spec.resolve_spec`). Each connection (a 4-tuple; a new SYN after
    the old connection ended starts a new one) gets two shadow Endpoints run by the spec:
    what each end sent is explained by a user call or a timer (RFC 9293 §3.10.1-§3.10.5,
    §3.10.8), what it received by the spec's SEGMENT ARRIVES rules (§3.10.7); what breaks the
    spec is a :class:`Finding`.

    ``keep_packets`` keeps each connection's packets (for a sequence chart); ``connection=N``
    keeps those of connection N only (memory and speed as without); ``fast=False`` turns off
    the memo of connections that behave alike (same answers, found the long way), and so does
    ``trie=False`` while keeping the memo's bookkeeping (the benchmark's "no memo").

    A connection whose ends are both done (CLOSED or TIME-WAIT once what was in flight has
    arrived) and that has been idle for ``linger`` seconds of capture time (default 5, Zeek's
    ``tcp_close_delay``) is finished: it goes to ``on_finished(summary)`` when that is given
    (and is then not kept, so memory follows the open connections), else to the report. A
    later packet of its 4-tuple starts a new connection. ``on_packet(connection, packet)`` is
    called after each packet with the plain engine's record (it turns the memo off).

    ``taps`` names the hosts (IP addresses) whose own interfaces the capture records, as
    ``dumpcap`` on each host merged into one pcapng: then ``feed(..., direction="in"|"out")``
    says whether a packet was seen arriving at its receiver or leaving its sender, and the
    monitor takes a departure as the sender's act and an arrival as the receiver's, so
    segments lost on the way, still in flight, or injected with another host's addresses are
    told apart (see ``Engine._handle``). ``tcpfsm monitor`` sets it from a pcapng whose
    interfaces declare their addresses. It turns the memo off.
    """

    def __init__(self, spec: Spec | str | Path | None = None, *, profile: str | None = None,
                 keep_packets: bool = False, fast: bool = True, connection: int | None = None,
                 trie: bool = True, on_finished: Callable[[ConnectionSummary], None] | None = None,
                 linger: float = LINGER, on_packet: Callable[[Connection, TcpPacket], None] | None = None,
                 taps: Collection[str] | None = None) -> None:
        if isinstance(spec, str | Path):
            self.spec = resolve_spec(file=spec, profile=profile)
        else:
            self.spec = resolve_spec(spec, profile=profile)
        self.counts = Counts()
        self._on_finished = on_finished
        self._engine: MemoMonitor | Engine
        self._taps = frozenset(taps) if taps else frozenset()
        self._plain = (keep_packets, linger, on_packet)  # what a plain engine is made with (_use_taps)
        if fast and not keep_packets and on_packet is None and not self._taps:
            self._engine = MemoMonitor(self.spec, trie=trie, linger=linger,
                                       sink=None if on_finished is None else self._memo_done)
        else:
            self._engine = self._plain_engine()
        self._over = False
        # connection=N: its packets (as rows) are kept as they pass; its record is rebuilt at the end
        self._wanted = None if keep_packets else connection
        self._kept: list[tuple[Any, ...]] = []
        self._row: Callable[[tuple[Any, ...]], None] = self._engine.row if self._wanted is None else self._tap

    def _use_taps(self, taps: Collection[str]) -> None:
        """The capture turned out to be taken at these hosts' interfaces (its pcapng interfaces
        declare their addresses): before the first packet, the engine becomes the plain one
        that reads each packet's direction (the memo trie does not)."""
        assert not self.counts.read, "taps are set before the first packet"
        self._taps = frozenset(taps)
        self._engine = self._plain_engine()
        self._row = self._engine.row if self._wanted is None else self._tap

    def _plain_engine(self) -> Engine:
        keep_packets, linger, on_packet = self._plain
        return Engine(self.spec, keep_packets=keep_packets, linger=linger,
                      sink=None if self._on_finished is None else self._plain_done, on_packet=on_packet,
                      taps=self._taps)

    def _memo_done(self, summary: dict[str, Any]) -> None:
        assert self._on_finished is not None
        self._on_finished(ConnectionSummary(summary))

    def _plain_done(self, conn: Connection) -> None:
        assert self._on_finished is not None
        self._on_finished(ConnectionSummary(conn.to_dict(), conn))

    @property
    def memo(self) -> dict[str, int]:
        """How the memo trie did: packets it answered (``hits``) and ones worked out by the
        shadow endpoints (``misses``); both 0 without it."""
        e = self._engine
        return {"hits": e.hits, "misses": e.misses} if isinstance(e, MemoMonitor) else {"hits": 0, "misses": 0}

    @property
    def profile(self) -> str:
        """The profile (or, for a spec of the user's, the spec's name) the monitor runs."""
        return self.spec.profile or self.spec.name

    # ------------------------------------------------------------ input
    def feed(self, packet: Any, *, linktype: int | str | None = None, ts: float | None = None,
             direction: str | int | None = None) -> None:
        """Take the next packet seen at the capture point.

        ``packet`` is one of: a :class:`TcpPacket`; a mapping or an object with ``src``,
        ``sport``, ``dst``, ``dport``, ``seq``, ``ack``, ``flags`` (the header's bits as an int,
        or text such as ``"SYN,ACK"``), ``window`` and ``length`` (the payload's, in bytes), and
        optionally ``ts`` and ``checksum_ok``; a :class:`SkippedPacket`; or raw bytes of a frame
        with its ``linktype`` (a DLT number such as 1 for Ethernet or 101 for raw IP, or a name:
        ``"ethernet"``, ``"raw"``, ``"linux_sll"``, ``"linux_sll2"``, ``"null"``, ``"loop"``,
        ``"ipv4"``, ``"ipv6"``). Raw bytes that are not a TCP segment (not IP, a fragment, a
        truncated header, an unknown link type) are counted as skipped with the reason; a
        record that lacks a field raises TypeError and is not counted. ``ts`` overrides the
        packet's own timestamp. Sequence numbers are taken modulo 2**32 (RFC 9293 §3.4).
        ``direction`` ("in" or "out", or pcapng's epb_flags values 1 and 2; a TcpPacket's own
        otherwise) is where a tapped host's interface saw it: see ``taps``; ValueError without.
        """
        if self._over:
            raise RuntimeError("this monitor's connections were finished: make a new Monitor")
        d = _direction(direction)
        if d and not self._taps:
            raise ValueError("direction= says which host's interface saw a packet: make the Monitor with "
                             "taps=[the hosts' addresses] (a capture taken at those hosts)")
        counts = self.counts
        if isinstance(packet, bytes | bytearray | memoryview):
            if linktype is None:
                raise TypeError("feed() of raw bytes needs linktype= (e.g. 1 or 'ethernet', 101 or 'raw')")
            kind = link_kind(linktype)
            counts.read += 1
            if kind is None:
                counts.skip(f"unknown link type {linktype}")
                return
            p = _parse(counts.read, 0.0 if ts is None else float(ts), memoryview(packet), kind, counts)
            if p is not None:
                counts.tcp += 1
                counts.used += 1
                if d:
                    p = dataclasses.replace(p, direction=d)
                if self._wanted is None:
                    self._engine.packet(p)
                else:
                    self._tap(_row(p, p.number, None))
            return
        if linktype is not None:
            raise TypeError("linktype= goes with raw bytes; this packet is already parsed")
        if isinstance(packet, SkippedPacket):
            counts.read += 1
            counts.skip(packet.reason)
            return
        row = _row(packet, counts.read + 1, ts)
        counts.read += 1
        counts.tcp += 1
        counts.used += 1
        if not row[11]:
            counts.bad_checksum += 1
        if self._taps:
            own = packet.direction if isinstance(packet, TcpPacket) else 0
            row = (*row, packet.options if isinstance(packet, TcpPacket) else b"", d or own)
        self._row(row)

    def _only(self, keep: Callable[[str, int, str, int], bool]) -> None:
        """Only the packets ``keep(src, sport, dst, dport)`` is true of reach the engine (the
        others are still read, counted and numbered as in the whole capture)."""
        inner = self._row

        def row(r: tuple[Any, ...]) -> None:
            if keep(r[2], r[3], r[4], r[5]):
                inner(r)

        self._row = row
        eng = self._engine
        whole = eng.packet

        def packet(p: TcpPacket) -> None:
            if keep(p.src, p.sport, p.dst, p.dport):
                whole(p)

        eng.packet = packet  # type: ignore[method-assign]

    def _tap(self, row: tuple[Any, ...]) -> None:
        """The engine takes the packet; a packet of the wanted connection is kept as well."""
        engine = self._engine
        engine.row(row)
        a, b = (row[2], row[3]), (row[4], row[5])
        track = engine.active.get((a, b) if a <= b else (b, a))
        if track is not None and track.id == self._wanted:
            self._kept.append(row)

    # ------------------------------------------------------------ queries
    def states(self) -> list[ConnectionStates]:
        """Every connection so far, in order of appearance, as if the capture ended now.

        Segments seen in flight are delivered to their receivers' shadows on a copy (the
        monitor itself does not move); see :class:`ConnectionStates` for what "unconfirmed"
        means. After the last packet of a capture these are the states ``tcpfsm monitor``
        reports for it.
        """
        out = []
        for v in self._views():
            d = v.summary
            a, b = d["endpoints"]
            out.append(ConnectionStates(d["id"], (a["addr"], a["port"], b["addr"], b["port"]), tuple(a["states"]),
                                        tuple(b["states"]), *v.unconfirmed))
        return out

    def findings(self) -> list[Finding]:
        """Everything that broke the spec so far, connection by connection, packet order within.

        As :meth:`states`, as if the capture ended now: a finding that came only from
        delivering segments still in flight has ``unconfirmed=True``.
        """
        return [Finding.from_dict(f, connection=v.summary["id"], unconfirmed=i >= v.settled)
                for v in self._views() for i, f in enumerate(v.summary["findings"])]

    def summary(self) -> dict[str, Any]:
        """``{"profile", "packets", "connections"}`` as ``tcpfsm monitor --json`` gives them.

        ``packets`` counts every packet fed: ``read == used + sum(skipped.values())``, with the
        reasons; ``connections`` are the JSON contract's objects (id, conn_state, history,
        findings, endpoints with their states), as if the capture ended now.
        """
        return {"profile": self.profile, "packets": self.counts.to_dict(),
                "connections": copy.deepcopy([v.summary for v in self._views()])}

    def _views(self) -> list[View]:
        if self._over:
            raise RuntimeError("this monitor's connections were finished: make a new Monitor")
        return self._engine.peek()

    # ------------------------------------------------------------ for monitor(path)
    def _feed_pcap_bulk(self, capture: Capture) -> bool:
        """Classic pcap parsed in bulk (numpy), straight into the engine's hot path; False (nothing
        read) when the capture is not classic pcap or this monitor cannot take rows numbered by
        the file."""
        if self.counts.read or self._wanted is not None or capture.kind != "pcap":
            return False
        size = capture.size()
        if size is not None and size < BULK_MIN:
            return False  # a small file: numpy's import would cost more than it saves
        try:
            from tcpfsm.conformance._vectorparse import feed_tcp_bulk  # numpy: only here
        except ImportError:  # without numpy (the capture extra): packet by packet, same answers
            return False

        before = self.counts.tcp
        try:
            return feed_tcp_bulk(capture, self.counts, self._row)  # every TCP segment read is used
        finally:
            self.counts.used += self.counts.tcp - before

    def _finish(self) -> list[ConnectionSummary]:
        """End of the capture, for real: what was in flight arrives; the shadows are let go."""
        self._over = True
        if isinstance(self._engine, MemoMonitor):
            out = [ConnectionSummary(d) for d in self._engine.finish()]
        else:
            out = [ConnectionSummary(c.to_dict(), c) for c in self._engine.finish()]
        if self._wanted is not None and self._kept:
            # the wanted connection's record, rebuilt from its own packets by the plain engine
            # (connections are independent: the same answers as in the whole capture)
            plain = Engine(self.spec, keep_packets=True)
            plain.next_id = self._wanted
            for row in self._kept:
                plain.row(row)
            detail = {c.id: c for c in plain.finish()}.get(self._wanted)
            out = [ConnectionSummary(c.data, detail) if c.id == self._wanted else c for c in out]
            self._kept = []
        return out


_DIRECTIONS: dict[str | int, int] = {"in": 1, "inbound": 1, 1: 1, "out": 2, "outbound": 2, 2: 2}


def _direction(value: str | int | None) -> int:
    """feed()'s ``direction`` as TcpPacket's: 1 inbound, 2 outbound, 0 not said."""
    if value is None or value == 0:
        return 0
    d = _DIRECTIONS.get(value.lower() if isinstance(value, str) else value)
    if d is None:
        raise ValueError(f"direction is 'in' or 'out' (pcapng epb_flags 1 or 2), not {value!r}")
    return d


def _row(packet: Any, number: int, ts: float | None) -> tuple[Any, ...]:
    """TcpPacket's fields, in order, from a parsed header of any of the kinds feed() takes."""
    if isinstance(packet, TcpPacket):
        return (number, packet.ts if ts is None else float(ts), packet.src, packet.sport, packet.dst, packet.dport,
                packet.seq, packet.ack, packet.flags, packet.window, packet.length, packet.checksum_ok, packet.ip_len)
    get: Callable[[str], Any]
    has: Callable[[str], bool]
    if isinstance(packet, Mapping):
        get, has = packet.__getitem__, packet.__contains__
    else:
        get, has = partial(getattr, packet), partial(hasattr, packet)
    missing = [f for f in _FIELDS if not has(f)]
    if missing:
        raise TypeError(f"feed() takes a TcpPacket, a mapping or an object with {', '.join(_FIELDS)}, "
                        f"or raw bytes with linktype=: {type(packet).__name__} has no {', '.join(missing)}")
    flags = get("flags")
    bits = int(Flags.parse(flags)) if isinstance(flags, str) else int(flags)
    ports = int(get("sport")), int(get("dport"))
    window, length = int(get("window")), int(get("length"))
    if not all(0 <= port <= 0xFFFF for port in ports) or window < 0 or length < 0:
        raise ValueError(f"not a TCP header: ports {ports}, window {window}, length {length}")
    if ts is None:
        ts = float(get("ts")) if has("ts") and get("ts") is not None else 0.0
    ok = bool(get("checksum_ok")) if has("checksum_ok") else True
    ip_len = int(get("ip_len") or 0) if has("ip_len") else 0
    return (number, float(ts), str(get("src")), ports[0], str(get("dst")), ports[1], int(get("seq")) % _SEQ_SPACE,
            int(get("ack")) % _SEQ_SPACE, bits & 0x3F, window, length, ok, ip_len)


def monitor(path: str | Path, *, profile: str | None = None, spec: Spec | None = None,
            keep_packets: bool = False, fast: bool = True, connection: int | None = None,
            trie: bool = True, on_finished: Callable[[ConnectionSummary], None] | None = None,
            shard: tuple[int, int] | None = None, keep: Callable[[str, int, str, int], bool] | None = None,
            on_packet: Callable[[Connection, TcpPacket], None] | None = None) -> MonitorReport:
    """Both endpoints' RFC states for every TCP connection of a pcap/pcapng capture.

    A loop over one :class:`Monitor`: every record of the file is fed to it, then the end of
    the capture delivers what was still in flight. ``path`` may be a pipe, a FIFO or
    ``/dev/stdin`` (it is read once, front to back) and gzip, bzip2 or xz compressed.
    ``fast`` (the default) reads classic pcap in bulk and works out connections that behave
    alike once (see ``_memo``; same answers); ``keep_packets`` keeps each connection's
    packets, ``connection=N`` only those of connection N (for a per-connection view). A
    damaged capture gives the results up to the damage and ``error``; an interrupt (Ctrl-C,
    or SIGTERM where the CLI turns it into one) gives them up to there and ``interrupted``.

    ``trie=False`` keeps the bulk reader but works every packet out the long way.
    ``on_finished(summary)`` takes each connection as it ends (idle and done, see
    :data:`LINGER`, or at the end of the capture); those are then not kept in the report, so
    memory follows the open connections. ``shard=(i, n)`` monitors only the connections whose
    4-tuple falls in shard ``i`` of ``n`` (:func:`shard_of`), for ``tcpfsm monitor --jobs``;
    ``keep(src, sport, dst, dport)`` monitors only the packets it is true of (``--host``,
    ``--port``); the others are read and counted. ``on_packet(connection, packet)`` is called
    after each packet with the plain engine's record of its connection (``--packets``).
    """
    sink = None
    if on_finished is not None:
        user = on_finished

        def sink(c: ConnectionSummary) -> None:
            report.streamed += 1
            report.streamed_findings += len(c.findings)
            user(c)

    mon = Monitor(spec, profile=profile, keep_packets=keep_packets, fast=fast, connection=connection,
                  trie=trie, on_finished=sink, on_packet=on_packet)
    if shard is not None:
        index, count = shard
        mon._only(lambda a, ap, b, bp: shard_of(a, ap, b, bp, count) == index)
    if keep is not None:
        mon._only(keep)
    report = MonitorReport(str(path), mon.profile, mon.counts)
    gc_was = gc.isenabled()
    gc.disable()  # millions of short-lived objects, few cycles: the collector only costs time
    try:
        with Capture(path) as capture:
            if not mon._feed_pcap_bulk(capture):
                records = capture.records()
                first = next(records, None)  # pcapng: the interfaces before the first packet are read
                taps = bool(capture.taps)
                if taps:
                    mon._use_taps(capture.taps)
                for linktype, ts, frame in itertools.chain((first,) if first is not None else (), records):
                    mon.feed(frame, linktype=linktype, ts=ts, direction=capture.direction if taps else None)
    except CaptureError as exc:
        report.error = str(exc)
    except OSError as exc:
        report.error = f"{path}: cannot read: {exc.strerror or exc}"
    except KeyboardInterrupt:
        report.interrupted = True
        k = mon.counts
        report.error = f"{path}: interrupted: {k.used:,} of the {k.read:,} packets read were monitored"
    finally:
        if gc_was:
            gc.enable()
    report.connections = mon._finish()
    report.memo = mon.memo
    return report


_CRC: dict[str, int] = {}


def shard_of(src: str, sport: int, dst: str, dport: int, n: int) -> int:
    """The shard (0..n-1) of a packet's connection: the same for both directions and in every
    process (no salted ``hash``)."""
    a = _CRC.get(src)
    if a is None:
        a = _CRC[src] = zlib.crc32(src.encode())
    b = _CRC.get(dst)
    if b is None:
        b = _CRC[dst] = zlib.crc32(dst.encode())
    return ((a ^ b) + (sport ^ dport) * 40503) % n
