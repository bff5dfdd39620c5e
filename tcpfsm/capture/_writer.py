"""Captures from the model: what two Endpoints exchanged, written as real pcap and pcapng files.

Theory of operation
-------------------
An :class:`~tcpfsm.runtime.EndpointPair`'s trace (a scenario run's, or a counterexample's
replayed) says what each end was asked to do and what crossed the network. It becomes a
capture like this:

* **Where the capture is taken** (``at``). ``"receivers"`` (the default): at the receiving
  end's interface, a segment is written when it is *delivered*. A segment the network lost is
  therefore not in the capture, one it duplicated is there twice, one still in flight when the
  run ends is not there, and an injected segment (an old duplicate, a stray RST) is there when
  it arrives. From that one vantage point a passive observer sees what each end received, but
  not what an end sent that never arrived, nor whether a segment came from the end whose
  addresses it carries. ``"hosts"``: at both hosts' interfaces (pcapng only: one interface
  per host, each declaring its addresses, every packet marked inbound or outbound in its
  ``epb_flags``), as ``dumpcap -i`` on each host and a merge would give: a segment is written
  when its sender sends it (outbound, on the sender's interface) and again each time it is
  delivered (inbound, on the receiver's); a lost segment is there once, outbound; an injected
  one only inbound, so the capture says it is not its source's. Wireshark's TCP analysis,
  which does not look at interfaces, marks each second sighting as a retransmission.
* **When.** A clock starts at :data:`EPOCH`. A user call or an injection happens ``think``
  after the event before it; a segment arrives one way (``rtt / 2``) after it was sent, and
  never before the event before its delivery; a timer fires its spec duration (RFC 9293
  §3.8.1's RTO, §3.6.1's 2MSL, ...: ``timers:`` in the spec, with the endpoint's ``rto`` and
  ``msl``) after the last event of its endpoint, which is when the spec's transitions
  (re)start the timers the scenarios fire.
* **What.** Each segment is an Ethernet II frame with an IPv4 (or IPv6) header and the TCP
  header of the segment itself: ports, SEQ, ACK, control bits and window as the Endpoint
  sent them; checksums computed (see ``_frames``). In pcapng each packet carries a comment:
  the rule (transition id) that sent it and the rule the receiver took on it, each with its
  RFC section.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dpkt

from tcpfsm.base import Segment, TcpFsmError
from tcpfsm.capture._frames import Host, IpIds, doc_mac, tcp_frame
from tcpfsm.runtime import Endpoint, EndpointPair, ScenarioRun, Step, TraceEvent

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: a fixed start, so that a capture is reproducible
RTT = 0.050  # seconds, a continental round trip
THINK = 0.001  # seconds between an event and the user call or injection after it
FORMATS = ("pcap", "pcapng")
LINKTYPE_ETHERNET = 1


@dataclass(frozen=True)
class Frame:
    """One packet of a capture: its timestamp, the frame's bytes and, for pcapng, a comment.

    ``sender``/``receiver`` name the hosts (for the layers view); ``application`` describes
    the payload above TCP or UDP when there is one worth naming (an HTTP or DNS message):
    (protocol, lines)."""

    ts: float
    data: bytes
    comment: str = ""
    sender: str = ""
    receiver: str = ""
    application: tuple[str, tuple[str, ...]] | None = None
    via: str = ""  # the router between sender and receiver, when the frame is captured on one side of it
    tap: Host | None = None  # captured at this host's interface (a capture at the hosts, pcapng)
    direction: int = 0  # there: 1 inbound, 2 outbound (pcapng epb_flags bits 0-1); 0 unknown


TAPS = ("receivers", "hosts")
INBOUND, OUTBOUND = 1, 2  # pcapng epb_flags' direction values


def capture_format(path: str | Path) -> str:
    """``pcap`` or ``pcapng``, from the file's suffix; ValueError for anything else."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"{path}: a capture is written as .pcap or .pcapng, not {suffix or 'no suffix'!r}")
    return suffix


def write_capture(path: str | Path, frames: Iterable[Frame], *, fmt: str | None = None,
                  application: str = "tcpfsm") -> Path:
    """Write ``frames`` to ``path`` (Ethernet link type): ``fmt`` pcap or pcapng, from the
    suffix by default. pcapng keeps each frame's comment (an Enhanced Packet Block option).

    Frames captured at hosts' interfaces (``Frame.tap``, from ``pair_frames(at="hosts")``) need
    pcapng: one Interface Description Block per host, named after it, with its MAC and IP
    address (``if_MACaddr``, ``if_IPv4addr``/``if_IPv6addr``), and each packet's direction in
    its ``epb_flags``; classic pcap has no interfaces to say which host saw a packet."""
    out = Path(path)
    kind = fmt or capture_format(out)
    if kind not in FORMATS:
        raise ValueError(f"capture format is one of {', '.join(FORMATS)}, not {kind!r}")
    frames = list(frames)
    taps = list(dict.fromkeys(f.tap for f in frames if f.tap is not None))
    if taps and any(f.tap is None for f in frames):
        raise ValueError("every frame of a capture taken at the hosts names the host that saw it (Frame.tap)")
    if taps and kind == "pcap":
        raise ValueError(f"{out}: a capture taken at both hosts is written as .pcapng (classic pcap has no "
                         "interfaces to say which host saw each packet)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        if kind == "pcap":
            writer = dpkt.pcap.Writer(fh, snaplen=65535, linktype=LINKTYPE_ETHERNET)
            for f in frames:
                writer.writepkt(f.data, ts=f.ts)
            return out
        shb = dpkt.pcapng.SectionHeaderBlockLE(opts=[
            # dpkt encodes text= for comments only: other text options go as data
            dpkt.pcapng.PcapngOptionLE(code=dpkt.pcapng.PCAPNG_OPT_SHB_USERAPPL, data=application.encode()),
            dpkt.pcapng.PcapngOptionLE(code=dpkt.pcapng.PCAPNG_OPT_ENDOFOPT)])
        idbs = [_interface(h) for h in taps] if taps else [_interface(None)]
        ng = dpkt.pcapng.Writer(fh, shb=shb, idb=idbs)
        index = {h: i for i, h in enumerate(taps)}
        for f in frames:
            opts = [dpkt.pcapng.PcapngOptionLE(code=dpkt.pcapng.PCAPNG_OPT_COMMENT, text=f.comment)] if f.comment \
                else []
            if f.direction:
                opts.append(dpkt.pcapng.PcapngOptionLE(code=_EPB_FLAGS, data=f.direction.to_bytes(4, "little")))
            us = round(f.ts * 1e6)
            ng.writepkt(dpkt.pcapng.EnhancedPacketBlockLE(
                iface_id=index.get(f.tap, 0) if f.tap is not None else 0, ts_high=us >> 32, ts_low=us & 0xFFFFFFFF,
                caplen=len(f.data), pkt_len=len(f.data), pkt_data=f.data,
                opts=[*opts, dpkt.pcapng.PcapngOptionLE(code=dpkt.pcapng.PCAPNG_OPT_ENDOFOPT)]))
    return out


_EPB_FLAGS = 2  # the Enhanced Packet Block's epb_flags option (pcapng §4.3.1): direction in bits 0-1


def _interface(host: Host | None) -> Any:
    """One Interface Description Block: ``tcpfsm0`` for a single vantage point, else the host's
    own interface, declaring its MAC and its address (a /24 or a /64: the documentation nets)."""
    ng = dpkt.pcapng
    opts = [ng.PcapngOptionLE(code=ng.PCAPNG_OPT_IF_NAME, data=(f"{host.name}-eth0" if host else "tcpfsm0").encode())]
    if host is not None:
        opts.append(ng.PcapngOptionLE(code=ng.PCAPNG_OPT_IF_MACADDR, data=bytes.fromhex(host.mac.replace(":", ""))))
        if host.version == 4:
            opts.append(ng.PcapngOptionLE(code=ng.PCAPNG_OPT_IF_IPV4ADDR, data=host.ip_bytes + b"\xff\xff\xff\x00"))
        else:
            opts.append(ng.PcapngOptionLE(code=ng.PCAPNG_OPT_IF_IPV6ADDR, data=host.ip_bytes + bytes((64,))))
    opts += [ng.PcapngOptionLE(code=ng.PCAPNG_OPT_IF_TSRESOL, data=b"\x06"),
             ng.PcapngOptionLE(code=ng.PCAPNG_OPT_ENDOFOPT)]
    return dpkt.pcapng.InterfaceDescriptionBlockLE(snaplen=65535, linktype=LINKTYPE_ETHERNET, opts=opts)


# ----------------------------------------------------------------------------- a pair's trace
@dataclass(frozen=True)
class Wire:
    """Where the two ends of a pair sit: hosts A and B on one Ethernet link, and their ports."""

    a: Host = Host("A", doc_mac(0x0A), "192.0.2.10")  # noqa: RUF009 - a frozen value
    b: Host = Host("B", doc_mac(0x0B), "192.0.2.11")  # noqa: RUF009 - a frozen value
    a_port: int = 49152  # the first dynamic port (RFC 6335 §6)
    b_port: int = 50000  # a port with no well-known protocol: the payload shows as data

    @classmethod
    def ipv6(cls) -> Wire:
        return cls(Host("A", doc_mac(0x0A), "2001:db8::a"), Host("B", doc_mac(0x0B), "2001:db8::b"))


def rfc_text(rfc: str) -> str:
    """A spec's ``rfc:`` as a citation: "3.10.7.4" is RFC 9293's section; others name their RFC."""
    if not rfc:
        return ""
    return rfc if rfc[0].isalpha() else f"RFC 9293 §{rfc}"


def _step_text(s: Step) -> str:
    change = f"{s.source} -> {s.target}" if s.source != s.target else f"stays {s.source}"
    cite = rfc_text(s.rfc)
    return f"{s.transition} {s.event} {change}" + (f" ({cite})" if cite else "")


@dataclass
class _InFlight:
    seg: Segment
    sent_at: float
    origin: str  # the rule that sent it, as text
    data: bytes = b""  # the frame as it left its sender (a capture at the hosts: the same bytes arrive)


@dataclass
class _Clock:
    now: float = 0.0
    last: dict[str, float] = field(default_factory=dict)  # each endpoint's last event
    last_send: dict[str, float] = field(default_factory=dict)  # each endpoint's last segment sent
    armed: dict[tuple[str, str], float] = field(default_factory=dict)  # (endpoint, timer) -> when (re)started
    retries: dict[tuple[str, str], int] = field(default_factory=dict)

    def saw(self, pair: EndpointPair, ev: TraceEvent) -> None:
        """Note when the event's transitions (re)start timers (``start:``/``restart:`` actions)."""
        for step in ev.steps:
            try:
                actions = pair.endpoint(str(step.name)).spec.transition(step.transition).actions
            except (StopIteration, KeyError, ValueError):
                continue
            for a in actions:
                if a.kind in ("start", "restart"):
                    self.armed[(str(step.name), str(a.arg))] = self.now

    def fires(self, who: str, timer: str) -> float:
        """When ``who``'s ``timer`` was armed: by a start/restart action, else (a timer armed while
        data is unacknowledged) by the last segment ``who`` sent, else its last event."""
        return self.armed.get((who, timer), self.last_send.get(who, self.last.get(who, 0.0)))


def timer_length(ep: Endpoint, timer: str, retries: int = 0) -> float:
    """The timer's duration as the spec declares it (``timers:``), with ``ep``'s settings."""
    d = ep.compiled.durations.get(timer)
    if d is None:
        return 0.0
    if d.seconds is not None:
        return float(d.seconds)
    base = getattr(ep, str(d.param), None)
    if base is None:
        return 0.0
    return float(base) * d.times * (2 ** retries if d.backoff else 1)


def pair_frames(pair: EndpointPair, *, wire: Wire | None = None, rtt: float = RTT, think: float = THINK,
                start: float = EPOCH, trace: Sequence[TraceEvent] | None = None, at: str = "receivers") -> list[Frame]:
    """The frames of ``pair``'s trace, captured ``at`` the receivers (one frame a delivered or
    injected segment, at its arrival) or at the hosts (a sent segment at its sender, outbound,
    and each delivery at its receiver, inbound): see the module's theory of operation."""
    if at not in TAPS:
        raise ValueError(f"a capture is taken at one of {', '.join(TAPS)}, not {at!r}")
    wire = wire or Wire()
    hosts = {str(pair.a.name): (wire.a, wire.a_port), str(pair.b.name): (wire.b, wire.b_port)}
    at_hosts = at == "hosts"
    flight: dict[str, deque[_InFlight]] = {n: deque() for n in hosts}
    clock = _Clock()
    ids = IpIds()
    frames: list[Frame] = []
    one_way = rtt / 2

    def build(sender: str, receiver: str, seg: Segment) -> bytes:
        (src, sport), (dst, dport) = hosts[sender], hosts[receiver]
        return tcp_frame(src, dst, seg, seg.src_port or sport, seg.dst_port or dport, ip_id=ids.take(src))

    def sent_by(ev: TraceEvent, who: str) -> None:
        clock.saw(pair, ev)
        origin = [(seg, _step_text(s)) for s in ev.steps for seg in s.sent]
        peer = next(n for n in hosts if n != who)
        for seg in ev.sent:
            text = next((t for x, t in origin if x is seg), "") or \
                next((t for x, t in origin if x == seg), "")
            data = b""
            if at_hosts:
                data = build(who, peer, seg)
                frames.append(Frame(start + clock.now, data, f"{who} sent it: {text}" if text else f"{who} sent it",
                                    hosts[who][0].name, hosts[peer][0].name, tap=hosts[who][0], direction=OUTBOUND))
            flight[who].append(_InFlight(seg, clock.now, text, data))
            clock.last_send[who] = clock.now

    def frame(sender: str, receiver: str, seg: Segment, comment: str, data: bytes = b"") -> None:
        src, dst = hosts[sender][0], hosts[receiver][0]
        frames.append(Frame(start + clock.now, data or build(sender, receiver, seg), comment, src.name, dst.name,
                            tap=dst if at_hosts else None, direction=INBOUND if at_hosts else 0))

    def take(who: str, seg: Segment | None) -> _InFlight:
        q = flight[who]
        for i, item in enumerate(q):
            if item.seg == seg:
                del q[i]
                return item
        return _InFlight(seg or Segment(), clock.now, "")  # a trace built by hand: sent out of view

    for ev in trace if trace is not None else pair.trace:
        if ev.kind == "call":
            clock.now += think
            clock.last[ev.who] = clock.now
            clock.retries.clear()
            sent_by(ev, ev.who)
        elif ev.kind == "timeout":
            ep = pair.endpoint(ev.who)
            n = clock.retries.get((ev.who, ev.detail), 0)
            clock.now = max(clock.now + think, clock.fires(ev.who, ev.detail) + timer_length(ep, ev.detail, n))
            clock.retries[(ev.who, ev.detail)] = n + 1
            clock.last[ev.who] = clock.now
            sent_by(ev, ev.who)
        elif ev.kind == "deliver":
            item = take(ev.who, ev.segment)
            clock.now = max(clock.now + think, item.sent_at + one_way)
            clock.last[ev.to] = clock.now
            took = "; ".join(_step_text(s) for s in ev.steps) or "no transition"
            sent = f"{ev.who} sent it: {item.origin}" if item.origin else f"{ev.who} sent it"
            frame(ev.who, ev.to, item.seg, f"{ev.to} received it: {took}" if at_hosts
                  else f"{sent}. {ev.to} received it: {took}", item.data)
            sent_by(ev, ev.to)
        elif ev.kind == "lose":
            take(ev.who, ev.segment)
        elif ev.kind == "duplicate":
            assert ev.segment is not None
            original = next((x for x in flight[ev.who] if x.seg == ev.segment), None)
            flight[ev.who].append(_InFlight(ev.segment, clock.now, "a copy the network made"
                                            + (f" of: {original.origin}" if original and original.origin else ""),
                                            original.data if original else b""))
        elif ev.kind == "inject":
            clock.now += think
            clock.last[ev.to] = clock.now
            assert ev.segment is not None
            took = "; ".join(_step_text(s) for s in ev.steps) or "no transition"
            frame(ev.who, ev.to, ev.segment, f"injected ({ev.detail}), as if from {ev.who}. {ev.to} received it: "
                  f"{took}")
            sent_by(ev, ev.to)
        elif ev.kind == "crash":
            clock.now += think
            clock.last[ev.who] = clock.now
    return frames


def scenario_frames(run: ScenarioRun, *, ipv6: bool = False, rtt: float = RTT, at: str = "receivers") -> list[Frame]:
    """The frames of a scenario run (:func:`tcpfsm.runtime.run_scenario`), captured ``at`` the
    receivers or the hosts."""
    return pair_frames(run.pair, wire=Wire.ipv6() if ipv6 else Wire(), rtt=rtt, at=at)


def write_scenario(run: ScenarioRun, path: str | Path, *, ipv6: bool = False, rtt: float = RTT,
                   at: str = "receivers") -> Path:
    """Write a scenario run as a capture (.pcap or .pcapng by suffix; at the hosts: .pcapng)."""
    return write_capture(path, scenario_frames(run, ipv6=ipv6, rtt=rtt, at=at),
                         application=f"tcpfsm simulate {run.scenario.name}")


# ----------------------------------------------------------------------------- counterexamples
class ReplayError(TcpFsmError):
    """A counterexample the Endpoints cannot re-enact step for step (the checker's abstraction
    took a move the concrete endpoints do not: then no capture is written)."""


def counterexample_pair(report: Any, verdict: Any) -> EndpointPair:
    """Re-enact a checker counterexample on an EndpointPair built as the checker builds its
    endpoints (ISS 100 and 300, R retransmissions, no challenge-ACK throttle), checking each
    step's states against the counterexample's. ReplayError when a step does not match."""
    from tcpfsm.checker import MoveTable
    from tcpfsm.checker._moves import REOPEN_ISS_STEP

    spec = report.spec
    r = int(report.retransmissions)
    settings: dict[str, Any] = {"max_retries": r, "max_syn_retries": r, "challenge_ack_limit": None,
                                "iss_secret": b"tcpfsm-checker"}
    pair = EndpointPair(Endpoint(100, spec=spec, name="A", **settings), Endpoint(300, spec=spec, name="B", **settings))
    moves = MoveTable.build(spec, report.channel, int(getattr(report, "data", 0) or 0),
                            int(getattr(report, "reopen", 0) or 0))
    latest_iss = {"A": 100, "B": 300}  # the latest ISS each endpoint's TCBs used: what a reopen starts from
    init = report.initial
    opens = {"SYN-SENT": "connect", "LISTEN": "listen"}
    for who, state in sorted((("A", init.a), ("B", init.b)), key=lambda x: x[1] != "LISTEN"):
        if state in opens:
            pair.call(who, opens[state])
    _expect(pair, 0, "initial", init.a, init.b)
    steps = list(verdict.counterexample or [])
    for n, st in enumerate(steps, 1):
        try:
            move, index = moves.parse(st.event)
        except KeyError as exc:
            raise ReplayError(f"counterexample step {n}: {exc.args[0]}") from None
        try:
            if move.kind == "recv":
                pair.deliver("B" if move.who == "A" else "A", index)
            elif move.kind == "user":
                pair.call(move.who, move.arg)
            elif move.kind == "data":
                pair.call(move.who, "send", 1)
            elif move.kind == "timer":
                pair.timeout(move.who, move.arg)
            elif move.kind == "lose":
                pair.lose(move.channel[0], index)
            elif move.kind == "dup":
                pair.duplicate(move.channel[0], 0)
            elif move.kind == "reopen":  # the same 4-tuple opened again: a fresh Endpoint (checker/_local.py)
                iss = (latest_iss[move.who] + (REOPEN_ISS_STEP if move.arg == "clock" else 0)) % (1 << 32)
                fresh = Endpoint(iss, spec=spec, name=move.who, **settings)
                if move.who == "A":
                    pair.a = fresh
                else:
                    pair.b = fresh
                pair.call(move.who, "connect" if move.who == "A" else "listen")
            else:
                raise ReplayError(f"counterexample step {n}: {st.event} ({move.kind}) is not replayed on endpoints")
        except (IndexError, TcpFsmError) as exc:
            if isinstance(exc, ReplayError):
                raise
            raise ReplayError(f"counterexample step {n} ({st.event}): the endpoints refuse it: {exc}") from None
        _expect(pair, n, st.event, st.a, st.b)
        for who in ("A", "B"):
            latest_iss[who] = pair.endpoint(who).tcb.iss or latest_iss[who]
    return pair


def _expect(pair: EndpointPair, n: int, event: str, a: str, b: str) -> None:
    got = (pair.a.state_name, pair.b.state_name)
    if got != (a, b):
        raise ReplayError(f"counterexample step {n} ({event}): the checker has A {a}, B {b}; the endpoints "
                          f"replaying it are in A {got[0]}, B {got[1]}")


def write_counterexample(report: Any, verdict: Any, path: str | Path, *, ipv6: bool = False,
                         rtt: float = RTT, at: str = "receivers") -> Path:
    """Write one verdict's counterexample as a capture (.pcap or .pcapng by suffix; at the
    hosts: .pcapng)."""
    pair = counterexample_pair(report, verdict)
    return write_capture(path, pair_frames(pair, wire=Wire.ipv6() if ipv6 else Wire(), rtt=rtt, at=at),
                         application=f"tcpfsm check: counterexample of {verdict.name}")
