"""The seed note's walk: a browser fetches ``http://HOST/``, through all four layers.

Theory of operation
-------------------
Four hosts on a small network with documentation addresses (RFC 5737; MACs from RFC 7042
§2.1.1): the **client** (192.0.2.10) and its **gateway** (192.0.2.1) share one Ethernet link;
the **DNS resolver** (198.51.100.53) and the **web server** (203.0.113.80) are beyond the
gateway. The capture is taken where a student would run Wireshark: on the client's interface.
So every frame the client sends goes to the gateway's MAC (the IP header names the far host),
and every frame it receives comes from the gateway's MAC, its TTL lowered by the routers it
crossed. In order:

1. **ARP** (link layer, RFC 826): the client knows the gateway's IP address (its route) but
   not its MAC, so it broadcasts a request; the gateway answers.
2. **DNS** (RFC 1035) over UDP: the client asks the resolver for HOST's A record; the
   answer gives the server's address.
3. **TCP** (RFC 9293): two of the spec's Endpoints, the client's and the server's, joined by
   a timed network (one way: half the round trip): the 3-way handshake (SYN with the ISS,
   SYN,ACK with ACK = ISS+1, ACK), the request and the response with their ACKs, the 4-way
   close the client starts, and TIME-WAIT, which ends when its 2MSL timer fires. Nothing of
   this part is scripted: the endpoints' outputs are what is sent; the applications only call
   OPEN, SEND and CLOSE, so any profile can be walked.
4. **HTTP/1.1** (RFC 9112): the GET and the 200 response are built and parsed by h11, the
   sans-IO HTTP library, on both sides: bytes in, events out, as the Endpoint does for TCP.

With ``ipv6`` the same walk runs over IPv6 with RFC 3849 addresses (2001:db8::/32): NDP's
neighbor solicitation and advertisement (RFC 4861) take ARP's place, and the query is for AAAA.

The ISS is the Endpoint's own choice, RFC 6528's clock plus keyed hash (with a fixed key so
the walk is reproducible). The TIME-WAIT expiry sends no packet, so the capture ends with the
last ACK; the walk's timeline records the expiry.
"""

from __future__ import annotations

import dataclasses
import heapq
from dataclasses import dataclass, field
from typing import Any

import h11

from tcpfsm.base import Segment
from tcpfsm.capture import EPOCH, Frame, Host, doc_mac
from tcpfsm.capture._frames import (
    BROADCAST_MAC,
    DEFAULT_TTL,
    IpIds,
    arp_frame,
    dns_answer,
    dns_query,
    ndp_frame,
    solicited_node,
    tcp_frame,
    udp_frame,
)
from tcpfsm.capture._writer import rfc_text
from tcpfsm.runtime import Endpoint, Step, TraceEvent
from tcpfsm.spec import Spec, resolve_spec

WALKS = {"http-get": "A browser fetches http://HOST/: ARP, DNS, the TCP handshake, HTTP GET and 200, the close, "
                     "TIME-WAIT"}
DEFAULT_HOST = "www.example.com"  # RFC 2606 §3: reserved for documentation
PAGE = (b"<!doctype html>\n<html><head><title>Example Domain</title></head>\n"
        b"<body><h1>Example Domain</h1><p>Fetched through all four layers.</p></body></html>\n")


@dataclass(frozen=True)
class Network:
    """The hosts and the path's figures: one-way delays (s) and routers crossed (the TTL)."""

    client: Host = Host("client", doc_mac(0x0A), "192.0.2.10")  # noqa: RUF009 - a frozen value
    gateway: Host = Host("gateway", doc_mac(0x01), "192.0.2.1")  # noqa: RUF009 - a frozen value
    resolver: Host = Host("resolver", doc_mac(0x35), "198.51.100.53")  # noqa: RUF009 - a frozen value
    server: Host = Host("server", doc_mac(0x50), "203.0.113.80")  # noqa: RUF009 - a frozen value
    client_port: int = 49152  # the first dynamic port (RFC 6335 §6)
    dns_client_port: int = 53000
    lan_one_way: float = 0.0002
    resolver_one_way: float = 0.008
    server_one_way: float = 0.020
    resolver_hops: int = 3
    server_hops: int = 6

    @classmethod
    def ipv6(cls) -> Network:
        """The same network with RFC 3849's documentation prefix, 2001:db8::/32."""
        return cls(Host("client", doc_mac(0x0A), "2001:db8:1::10"), Host("gateway", doc_mac(0x01), "2001:db8:1::1"),
                   Host("resolver", doc_mac(0x35), "2001:db8:2::53"), Host("server", doc_mac(0x50), "2001:db8:3::80"))


@dataclass(frozen=True)
class Moment:
    """A line of the walk's timeline: when (seconds from the start), who, what."""

    t: float
    who: str
    what: str


@dataclass
class WalkRun:
    """A walk: the capture's frames, the TCP endpoints' trace, the timeline and the HTTP messages."""

    name: str
    host: str
    profile: str
    network: Network
    frames: list[Frame] = field(default_factory=list)
    trace: list[TraceEvent] = field(default_factory=list)
    trace_times: list[float] = field(default_factory=list)  # seconds from the start, one per trace event
    timeline: list[Moment] = field(default_factory=list)
    states: dict[str, list[str]] = field(default_factory=dict)
    request: bytes = b""
    response: bytes = b""
    client_iss: int = 0
    server_iss: int = 0
    start: float = EPOCH

    def to_dict(self) -> dict[str, Any]:
        return {"walk": self.name, "host": self.host, "profile": self.profile,
                "hosts": {h.name: {"ip": h.ip, "mac": h.mac} for h in
                          (self.network.client, self.network.gateway, self.network.resolver, self.network.server)},
                "iss": {"client": self.client_iss, "server": self.server_iss},
                "states": self.states,
                "timeline": [{"t": round(m.t, 6), "who": m.who, "what": m.what} for m in self.timeline]}


def _step_text(s: Step) -> str:
    change = f"{s.source} -> {s.target}" if s.source != s.target else f"stays {s.source}"
    cite = rfc_text(s.rfc)
    return f"{s.transition} {s.event} {change}" + (f" ({cite})" if cite else "")


def _http_lines(raw: bytes) -> tuple[str, ...]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = tuple(x.decode("latin-1") for x in head.split(b"\r\n"))
    body = raw[len(head) + 4:]
    return (*lines, f"({len(body)} B body)") if body else lines


class _Walker:
    """The TCP and HTTP part: two Endpoints, two h11 connections, a timed network."""

    def __init__(self, run: WalkRun, spec: Spec, msl: float, t0: float, ids: IpIds) -> None:
        net = run.network
        self.run, self.net = run, net
        self.secret = b"tcpfsm walk"
        self.client = Endpoint(spec=spec, name="client", local_port=net.client_port, remote_port=80, msl=msl,
                               iss_secret=self.secret, now=t0)
        self.server = Endpoint(spec=spec, name="server", local_port=80, remote_port=net.client_port, msl=msl,
                               iss_secret=self.secret, now=t0)
        self.h_client = h11.Connection(h11.CLIENT)
        self.h_server = h11.Connection(h11.SERVER)
        self.now = t0
        self.queue: list[tuple[float, int, str, Segment, str]] = []  # (arrival, n, receiver, segment, origin)
        self.outgoing: dict[int, int] = {}  # queue entry -> the index of its frame (sent by the client)
        self.n = 0
        self.ids = ids  # each host's IPv4 Identification counter, shared with the DNS exchange
        self.requested = self.responded = self.closing = self.server_closed = False
        self.states = {"client": [self.client.state_name], "server": [self.server.state_name]}

    # -- bookkeeping
    def ep(self, who: str) -> Endpoint:
        return self.client if who == "client" else self.server

    def note(self, who: str, what: str) -> None:
        self.run.timeline.append(Moment(self.now - self.run.start, who, what))

    def record(self, kind: str, who: str, detail: str, seg: Segment | None, to: str = "") -> None:
        ep = self.ep(to or who)
        steps = tuple(ep.last_steps)
        sent = tuple(x for s in steps for x in s.sent)
        self.run.trace.append(TraceEvent(kind, who, detail, seg, steps, sent, to))
        self.run.trace_times.append(self.now - self.run.start)
        for s in steps:
            trail = self.states[str(s.name)]
            if str(s.target) != trail[-1]:
                trail.append(str(s.target))
                self.note(str(s.name), f"{s.source} -> {s.target} ({s.transition}, {rfc_text(s.rfc)})")
        origin = {id(x): _step_text(s) for s in steps for x in s.sent}
        for x in sent:
            self.transmit(to or who, x, origin.get(id(x), ""))

    def transmit(self, sender: str, seg: Segment, origin: str) -> None:
        receiver = "server" if sender == "client" else "client"
        self.n += 1
        if sender == "client":  # captured as it leaves the client; what the server did is added on arrival
            self.frame(seg, f"client sent it: {origin}" if origin else "client sent it", outgoing=True)
            self.outgoing[self.n] = len(self.run.frames) - 1
        heapq.heappush(self.queue, (self.now + self.net.server_one_way, self.n, receiver, seg, origin))

    def frame(self, seg: Segment, comment: str, *, outgoing: bool) -> None:
        net = self.net
        if outgoing:
            data = tcp_frame(net.client, net.server, seg, seg.src_port or net.client_port, seg.dst_port or 80,
                             dst_mac=net.gateway.mac, ip_id=self.ids.take(net.client))
            who, to = "client", "server"
        else:
            data = tcp_frame(net.server, net.client, seg, seg.src_port or 80, seg.dst_port or net.client_port,
                             src_mac=net.gateway.mac, ttl=DEFAULT_TTL - net.server_hops,
                             ip_id=self.ids.take(net.server))
            who, to = "server", "client"
        app = None
        if seg.payload:
            app = ("HTTP", _http_lines(seg.payload))
        self.run.frames.append(Frame(self.now, data, comment, who, to, app, via=net.gateway.name))
        arrow = "sends" if outgoing else "receives"
        self.note("client", f"packet {len(self.run.frames)}: {arrow} {seg}" + (f" ({app[1][0]})" if app else ""))

    # -- the applications: OPEN, SEND, CLOSE, and h11 on the bytes
    def call(self, who: str, method: str, *args: Any) -> None:
        ep = self.ep(who)
        getattr(ep, method)(*args)
        self.record("call", who, method, None)

    def applications(self) -> None:
        c, s = self.client, self.server
        if not self.requested and c.state_name == "ESTABLISHED":
            self.requested = True
            req = self.h_client.send(h11.Request(method="GET", target="/", headers=[
                ("Host", self.run.host), ("User-Agent", "tcpfsm-walk/0.1"), ("Accept", "text/html")]))
            req += self.h_client.send(h11.EndOfMessage())
            self.run.request = req
            self.note("client", f"HTTP: GET / (h11 builds {len(req)} B) -> SEND")
            self.call("client", "send", req)
        data = s.read()
        if data:
            self.h_server.receive_data(data)
            self._server_events()
        data = c.read()
        if data:
            self.h_client.receive_data(data)
            while True:
                ev = self.h_client.next_event()
                if ev is h11.NEED_DATA or isinstance(ev, h11.ConnectionClosed) or ev is h11.PAUSED:
                    break
                if isinstance(ev, h11.Response):
                    self.note("client", f"HTTP: {ev.status_code} {ev.reason.decode()} parsed by h11")
                if isinstance(ev, h11.EndOfMessage) and not self.closing:
                    self.closing = True
                    self.h_client.send(h11.ConnectionClosed())
                    self.note("client", "the page is in: CLOSE")
                    self.call("client", "close")
        if not self.server_closed and s.state_name == "CLOSE-WAIT":
            self.server_closed = True
            self.h_server.receive_data(b"")  # the peer's FIN: h11 sees the end of the stream
            self._server_events()
            self.note("server", "the client closed its side (FIN): CLOSE")
            self.call("server", "close")

    def _server_events(self) -> None:
        while True:
            ev = self.h_server.next_event()
            if ev is h11.NEED_DATA or ev is h11.PAUSED or isinstance(ev, h11.ConnectionClosed):
                return
            if isinstance(ev, h11.Request):
                self.note("server", f"HTTP: {ev.method.decode()} {ev.target.decode()} parsed by h11")
            if isinstance(ev, h11.EndOfMessage) and not self.responded:
                self.responded = True
                resp = self.h_server.send(h11.Response(status_code=200, reason=b"OK", headers=[
                    ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE))),
                    ("Server", "tcpfsm-walk/0.1")]))
                resp += self.h_server.send(h11.Data(data=PAGE)) + self.h_server.send(h11.EndOfMessage())
                self.run.response = resp
                self.note("server", f"HTTP: 200 OK (h11 builds {len(resp)} B) -> SEND")
                self.call("server", "send", resp)

    # -- the network and the timers
    def go(self, limit: int = 200) -> None:
        self.call("server", "listen")
        self.call("client", "connect")
        self.run.client_iss, self.run.server_iss = self.client.tcb.iss, 0
        for _ in range(limit):
            self.applications()
            deadlines = [(d, who) for who in ("client", "server")
                         if (d := self.ep(who).next_deadline()) is not None]
            nxt_arrival = self.queue[0][0] if self.queue else None
            nxt_timer = min(deadlines) if deadlines else None
            if nxt_arrival is None and nxt_timer is None:
                return
            if nxt_arrival is not None and (nxt_timer is None or nxt_arrival <= nxt_timer[0]):
                t, n, receiver, seg, origin = heapq.heappop(self.queue)
                self.now = t
                self.client.now = self.server.now = t
                sender = "server" if receiver == "client" else "client"
                ep = self.ep(receiver)
                ep.receive(seg)
                if receiver == "server" and seg.bits & 0x02 and not self.run.server_iss:
                    self.run.server_iss = self.server.tcb.iss
                took = "; ".join(_step_text(s) for s in ep.last_steps) or "no transition"
                if receiver == "client":  # captured as it reaches the client
                    self.frame(seg, (f"server sent it: {origin}. " if origin else "server sent it. ")
                               + f"client received it: {took}", outgoing=False)
                elif n in self.outgoing:
                    i = self.outgoing.pop(n)
                    f = self.run.frames[i]
                    self.run.frames[i] = dataclasses.replace(f, comment=f"{f.comment}. server received it: {took}")
                self.record("deliver", sender, "", seg, receiver)
            else:
                assert nxt_timer is not None
                deadline, who = nxt_timer
                self.now = deadline
                ep = self.ep(who)
                due = sorted((d, n) for n, d in ep.armed_timers.items() if d <= deadline)[0][1]
                self.client.now = self.server.now = deadline
                self.note(who, f"timer {due} fires ({self._timer_words(ep, due)})")
                ep.timeout(due)
                self.record("timeout", who, due, None)
        raise RuntimeError(f"the walk did not end in {limit} events")

    def _timer_words(self, ep: Endpoint, timer: str) -> str:
        d = ep.compiled.durations.get(timer)
        if d is not None and d.param == "msl":
            return f"{d.times:g} x MSL = {d.times * ep.msl:g} s after it was armed"
        return "its duration ran out"


def walk(name: str = "http-get", *, host: str = DEFAULT_HOST, spec: Spec | None = None, profile: str | None = None,
         network: Network | None = None, ipv6: bool = False, msl: float = 120.0, start: float = EPOCH) -> WalkRun:
    """Run a walk (``http-get``: see the module's theory of operation) and return its frames,
    the TCP trace, the timeline and both ends' state sequences."""
    if name not in WALKS:
        raise ValueError(f"unknown walk {name!r}; known: {', '.join(WALKS)}")
    the_spec = resolve_spec(spec, profile=profile)
    net = network or (Network.ipv6() if ipv6 else Network())
    run = WalkRun(name, host, the_spec.profile or the_spec.name, net, start=start)
    now = start
    ids = IpIds()

    def at(t: float) -> float:
        return start + t

    # 1. ARP (IPv6: NDP) for the gateway (the client's route to anything off the link)
    t = 2 * net.lan_one_way
    if net.client.version == 4:
        run.frames.append(Frame(at(0.0), arp_frame("request", net.client, net.gateway.ip),
                                f"ARP request: who has {net.gateway.ip} (the gateway)? tell {net.client.ip}",
                                "client", "broadcast"))
        run.timeline.append(Moment(0.0, "client", f"packet 1: ARP: who has {net.gateway.ip}? (to {BROADCAST_MAC})"))
        run.frames.append(Frame(at(t), arp_frame("reply", net.gateway, net.client.ip, net.client.mac),
                                f"ARP reply: {net.gateway.ip} is at {net.gateway.mac}", "gateway", "client"))
        run.timeline.append(Moment(t, "gateway", f"packet 2: ARP: {net.gateway.ip} is at {net.gateway.mac}"))
    else:
        group = solicited_node(net.gateway.ip)
        run.frames.append(Frame(at(0.0), ndp_frame("solicit", net.client, net.gateway.ip),
                                f"NDP neighbor solicitation: who has {net.gateway.ip} (the gateway)?",
                                "client", f"{group[0]} (solicited-node group)"))
        run.timeline.append(Moment(0.0, "client", f"packet 1: NDP: who has {net.gateway.ip}? (to {group[0]})"))
        run.frames.append(Frame(at(t), ndp_frame("advertise", net.gateway, net.client.ip, net.client),
                                f"NDP neighbor advertisement: {net.gateway.ip} is at {net.gateway.mac}",
                                "gateway", "client"))
        run.timeline.append(Moment(t, "gateway", f"packet 2: NDP: {net.gateway.ip} is at {net.gateway.mac}"))
    # 2. DNS: the server's address
    qid = 0x5EED
    t += 0.0005
    rtype = "A" if net.server.version == 4 else "AAAA"
    q = dns_query(qid, host, ipv6=net.server.version == 6)
    run.frames.append(Frame(at(t), udp_frame(net.client, net.resolver, net.dns_client_port, 53, q,
                                             dst_mac=net.gateway.mac, ip_id=ids.take(net.client)),
                            f"DNS query {qid:#06x}: {rtype} {host}?", "client", "resolver",
                            ("DNS", (f"query id {qid:#06x}", f"question: {host} {rtype} IN", "recursion desired")),
                            via=net.gateway.name))
    run.timeline.append(Moment(t, "client", f"packet 3: DNS: {rtype} {host}? (to {net.resolver.ip})"))
    t += 2 * net.resolver_one_way
    a = dns_answer(qid, host, net.server.ip)
    run.frames.append(Frame(at(t), udp_frame(net.resolver, net.client, 53, net.dns_client_port, a,
                                             src_mac=net.gateway.mac, ttl=DEFAULT_TTL - net.resolver_hops,
                                             ip_id=ids.take(net.resolver)),
                            f"DNS answer {qid:#06x}: {host} {rtype} {net.server.ip}", "resolver", "client",
                            ("DNS", (f"response id {qid:#06x}", f"question: {host} {rtype} IN",
                                     f"answer: {host} {rtype} {net.server.ip} (TTL 300 s)")), via=net.gateway.name))
    run.timeline.append(Moment(t, "resolver", f"packet 4: DNS: {host} is {net.server.ip}"))
    # 3, 4. TCP and HTTP
    now = at(t + 0.0005)
    walker = _Walker(run, the_spec, msl, now, ids)
    walker.go()
    run.states = walker.states
    return run
