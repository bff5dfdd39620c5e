"""A frame's headers layer by layer, in the TCP/IP model's four layers with the OSI names beside.

The four layers are RFC 1122's (§1.1.3): application, transport, internet, link (the seed
note's "network access"). Going down at the sender each adds its header (encapsulation: data
or message, segment or datagram, packet, frame); going up at the receiver each reads and
strips its own (decapsulation). ARP belongs to the link layer (RFC 1122 §2.3.2): its frames
carry no internet or transport header. The headers are read back out of the frame's bytes
with dpkt, so what is shown is what was written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dpkt

from tcpfsm.capture._frames import ip_text, mac_text
from tcpfsm.capture._writer import Frame

# (layer, OSI layers beside it, its unit of data)
MODEL = (("Application", "OSI 7 application, 6 presentation, 5 session", "message"),
         ("Transport", "OSI 4 transport", "segment"),
         ("Internet", "OSI 3 network", "packet"),
         ("Link", "OSI 2 data link, 1 physical", "frame"))
_OSI = {name: osi for name, osi, _ in MODEL}
_UNIT = {name: unit for name, _, unit in MODEL}
_TCP_FLAGS = (("SYN", 0x02), ("FIN", 0x01), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10), ("URG", 0x20))


@dataclass(frozen=True)
class Layer:
    """One layer's part of a frame: the protocol, the header bytes it adds, the size of its
    unit (header and what it carries), and the header fields worth reading."""

    name: str  # Application, Transport, Internet, Link
    protocol: str  # HTTP, DNS, TCP, UDP, IPv4, IPv6, ARP, Ethernet II; "" when the frame has none
    header: int
    size: int
    fields: tuple[tuple[str, str], ...] = ()
    note: str = ""
    pdu: str = ""  # the unit's name when it is not the layer's usual one (UDP's datagram)

    @property
    def osi(self) -> str:
        return _OSI[self.name]

    @property
    def unit(self) -> str:
        return self.pdu or _UNIT[self.name]

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.name, "osi": self.osi, "unit": self.unit, "protocol": self.protocol or None,
                "header_bytes": self.header, "bytes": self.size, "fields": dict(self.fields),
                "note": self.note or None}


@dataclass(frozen=True)
class PacketLayers:
    """A packet's four layers, application first (the order the sender builds them in)."""

    number: int
    ts: float
    sender: str
    receiver: str
    layers: tuple[Layer, ...]
    comment: str = ""
    via: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "ts": round(self.ts, 6), "sender": self.sender, "receiver": self.receiver,
                "via": self.via or None, "layers": [x.to_dict() for x in self.layers], "comment": self.comment or None}


def _flags(bits: int) -> str:
    return ",".join(n for n, b in _TCP_FLAGS if bits & b) or "none"


def _application(frame: Frame, protocol: str, payload: bytes) -> Layer:
    if frame.application is not None:
        proto, lines = frame.application
        return Layer("Application", proto, len(payload), len(payload), tuple((f"line {i}", ln) for i, ln in
                                                                              enumerate(lines, 1)))
    if not payload:
        return Layer("Application", "", 0, 0, note=f"no data: this {protocol} segment carries control only")
    return Layer("Application", "data", len(payload), len(payload), (("bytes", str(len(payload))),))


def layers_of(frame: Frame, number: int = 1) -> PacketLayers:
    """Read ``frame``'s headers back with dpkt, one :class:`Layer` per TCP/IP layer."""
    eth = dpkt.ethernet.Ethernet(frame.data)
    link = Layer("Link", "Ethernet II", 14, len(frame.data),
                 (("source MAC", mac_text(eth.src)), ("destination MAC", mac_text(eth.dst)),
                  ("type", f"{eth.type:#06x}")))
    upper: list[Layer] = []
    inner = eth.data
    if isinstance(inner, dpkt.arp.ARP):
        op = "request" if inner.op == dpkt.arp.ARP_OP_REQUEST else "reply"
        what = (f"who has {ip_text(inner.tpa)}? tell {ip_text(inner.spa)}" if op == "request"
                else f"{ip_text(inner.spa)} is at {mac_text(inner.sha)}")
        upper = [Layer("Application", "", 0, 0, note="ARP has no application data"),
                 Layer("Transport", "", 0, 0, note="ARP has no transport header"),
                 Layer("Internet", "", 0, 0, note="ARP is part of the link layer (RFC 1122 §2.3.2)"),
                 ]
        link = Layer("Link", "Ethernet II", 14, len(frame.data), (*link.fields, ("ARP", f"{op}: {what}")),
                     note=f"carries a {len(bytes(inner))} B ARP message (RFC 826)")
        return PacketLayers(number, frame.ts, frame.sender, frame.receiver, (*upper, link), frame.comment, frame.via)
    if isinstance(inner, dpkt.ip.IP):
        ip_layer = Layer("Internet", "IPv4", inner.hl * 4, inner.len,
                         (("source", ip_text(inner.src)), ("destination", ip_text(inner.dst)),
                          ("TTL", str(inner.ttl)), ("protocol", str(inner.p)), ("id", f"{inner.id:#06x}")))
    elif isinstance(inner, dpkt.ip6.IP6):
        ip_layer = Layer("Internet", "IPv6", 40, 40 + inner.plen,
                         (("source", ip_text(inner.src)), ("destination", ip_text(inner.dst)),
                          ("hop limit", str(inner.hlim)), ("next header", str(inner.nxt))))
    else:
        raise ValueError(f"packet {number}: not IP or ARP (Ethernet type {eth.type:#06x})")
    seg = inner.data
    if isinstance(seg, dpkt.icmp6.ICMP6) and seg.type in (dpkt.icmp6.ND_NEIGHBOR_SOLICIT,
                                                          dpkt.icmp6.ND_NEIGHBOR_ADVERT):
        body = bytes(seg)[8:]
        target = ip_text(body[:16])
        what = (f"neighbor solicitation: who has {target}?" if seg.type == dpkt.icmp6.ND_NEIGHBOR_SOLICIT
                else f"neighbor advertisement: {target} is at {mac_text(body[18:24])}")
        ip_layer = Layer("Internet", "IPv6", 40, ip_layer.size,
                         (*ip_layer.fields, ("NDP", what)),
                         note=f"carries a {len(bytes(seg))} B ICMPv6 NDP message: IPv6's ARP (RFC 4861)")
        return PacketLayers(number, frame.ts, frame.sender, frame.receiver,
                            (Layer("Application", "", 0, 0, note="NDP has no application data"),
                             Layer("Transport", "", 0, 0, note="NDP has no transport header"), ip_layer, link),
                            frame.comment, frame.via)
    if isinstance(seg, dpkt.tcp.TCP):
        transport = Layer("Transport", "TCP", seg.off * 4, seg.off * 4 + len(seg.data),
                          (("ports", f"{seg.sport} -> {seg.dport}"), ("seq", str(seg.seq)), ("ack", str(seg.ack)),
                           ("flags", _flags(seg.flags)), ("window", str(seg.win))))
        app = _application(frame, "TCP", bytes(seg.data))
    elif isinstance(seg, dpkt.udp.UDP):
        transport = Layer("Transport", "UDP", 8, seg.ulen, (("ports", f"{seg.sport} -> {seg.dport}"),
                                                            ("length", str(seg.ulen))), pdu="datagram")
        app = _application(frame, "UDP", bytes(seg.data))
    else:
        raise ValueError(f"packet {number}: IP protocol {getattr(inner, 'p', getattr(inner, 'nxt', '?'))} is "
                         "neither TCP nor UDP")
    return PacketLayers(number, frame.ts, frame.sender, frame.receiver, (app, transport, ip_layer, link),
                        frame.comment, frame.via)


def _fields(layer: Layer) -> str:
    if not layer.protocol:
        return f"({layer.note})"
    if layer.name == "Application":
        return " | ".join(v for _, v in layer.fields) if layer.fields else layer.note
    return ", ".join(f"{k} {v}" for k, v in layer.fields)


def _size(layer: Layer) -> str:
    if not layer.protocol:
        return ""
    if layer.name == "Application":
        return f"{layer.size} B {layer.unit}"
    carried = layer.size - layer.header
    return f"{layer.header} B header + {carried} B = {layer.size} B {layer.unit}"


def layers_text(packets: Iterable[PacketLayers], *, start: float | None = None) -> str:
    """Every packet: its layers going down at the sender, then going up at the receiver."""
    lines: list[str] = []
    width = max(len(name) for name, _, _ in MODEL)
    osi_w = max(len(osi) for _, osi, _ in MODEL)
    for p in packets:
        t0 = p.ts if start is None else start
        start = t0
        lines.append(f"#{p.number}  t={p.ts - t0:.6f} s  {p.sender} -> {p.receiver}")
        if p.comment:
            lines.append(f"  ({p.comment})")
        lines.append(f"  down at {p.sender} (encapsulation: each layer adds its header)")
        for x in p.layers:
            proto = x.protocol or "-"
            lines.append(f"    {x.name:<{width}}  {x.osi:<{osi_w}}  {proto:<11} {_size(x):<34} {_fields(x)}".rstrip())
        if p.via:
            lines.append(f"  via {p.via} (routing: it strips the Ethernet header, reads the IP destination, lowers "
                         "the TTL by one and puts on a new Ethernet header for the next hop)")
        lines.append(f"  up at {p.receiver} (decapsulation: each layer reads and strips its header)")
        for x in reversed(p.layers):
            if not x.protocol:
                continue
            if x.name == "Application":
                lines.append(f"    {x.name:<{width}}  {x.protocol}: reads the {x.size} B {x.unit}")
            else:
                lines.append(f"    {x.name:<{width}}  {x.protocol}: strips {x.header} B, hands "
                             f"{x.size - x.header} B up")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
