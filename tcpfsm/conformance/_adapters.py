"""Adapters: other libraries' parsed packets as the records ``Monitor.feed`` takes.

Each library is imported only when its adapter is called, so tcpfsm needs neither. What is
not a TCP segment comes back as a :class:`SkippedPacket` with the reason the capture reader
would give, so that feeding every packet keeps the numbering and the accounting of a capture.
"""

from __future__ import annotations

import importlib
import socket
from typing import Any

from tcpfsm.conformance._packets import Counts, TcpPacket, _checksum_ok, _parse
from tcpfsm.conformance._stream import SkippedPacket


def from_dpkt(packet: Any, ts: float = 0.0) -> TcpPacket | SkippedPacket:
    """A dpkt packet (``dpkt.ethernet.Ethernet``, ``dpkt.sll.SLL``, ``dpkt.ip.IP``,
    ``dpkt.ip6.IP6``, ... whatever wraps the IP layer) as a :class:`TcpPacket` for
    ``Monitor.feed``; a :class:`SkippedPacket` when it carries no TCP segment the monitor can
    use (not IP, not TCP, an IP fragment, an IPv6 extension header, a truncated TCP header).

    ``ts`` is the capture time (``dpkt.pcap.Reader`` yields it beside the frame). The payload
    length is the one the IP header declares, as for capture files: a frame cut by a snaplen
    still counts its bytes (and its checksum is left unchecked). The TCP checksum is verified
    (RFC 9293 §3.1, over the pseudo-header); a bad one is counted, not refused, as offloading
    leaves many unfinished in captures.
    """
    try:
        import dpkt
    except ImportError:  # pragma: no cover - dpkt is in the capture extra
        raise ImportError("from_dpkt needs dpkt: pip install 'tcpfsm[capture]'") from None

    ip = packet
    while not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
        ip = getattr(ip, "data", None)
        if not isinstance(ip, dpkt.Packet):
            return SkippedPacket("not IP")
    if isinstance(ip, dpkt.ip.IP):
        if ip.p != 6:
            return SkippedPacket("not TCP")
        if ip.mf or ip.offset:  # more fragments, or an offset
            return SkippedPacket("IP fragment")
        family = socket.AF_INET
        # the length the IP header declares (0: segmentation offload, the frame is the datagram)
        room = ip.len - ip.hl * 4 if ip.len else None
        ip_total = ip.len or len(bytes(ip))
    else:
        frag = ip.extension_hdrs.get(44) if hasattr(ip, "extension_hdrs") else None
        if frag is not None and (frag.frag_off or frag.m_flag):
            return SkippedPacket("IP fragment")
        if getattr(ip, "p", ip.nxt) != 6:
            return SkippedPacket("not TCP")
        family = socket.AF_INET6
        ext = sum(len(bytes(h)) for h in getattr(ip, "all_extension_headers", ()))
        room = ip.plen - ext if ip.plen else None
        ip_total = 40 + ip.plen if ip.plen else len(bytes(ip))
    tcp = ip.data
    if not isinstance(tcp, dpkt.tcp.TCP):
        have = len(bytes(tcp)) if isinstance(tcp, bytes | dpkt.Packet) else 0
        cut = have < 20 and (room is None or room >= 20)
        return SkippedPacket("TCP header cut by the snaplen" if cut and room is not None else "truncated TCP header")
    hlen = tcp.off * 4
    raw = bytes(tcp)
    length = room - hlen if room is not None else len(tcp.data)
    if length < 0:
        return SkippedPacket("bad TCP header length")
    cut = len(raw) < hlen + length  # the capture kept less than the IP header declares (a snaplen)
    ok = True if cut else _checksum_ok(bytes(ip.src), bytes(ip.dst), memoryview(raw[:hlen + length]))
    return TcpPacket(0, float(ts), socket.inet_ntop(family, ip.src), tcp.sport, socket.inet_ntop(family, ip.dst),
                     tcp.dport, tcp.seq, tcp.ack, tcp.flags & 0x3F, tcp.win, length, ok,
                     ip_total, bytes(tcp.opts))


def from_scapy(packet: Any, ts: float | None = None) -> TcpPacket | SkippedPacket:
    """A scapy packet (``Ether()/IP()/TCP()``, ``IPv6()/TCP()``, one read by ``rdpcap`` or
    ``sniff``) as a :class:`TcpPacket` for ``Monitor.feed``; a :class:`SkippedPacket` when it
    carries no TCP segment the monitor can use.

    The IP layer's bytes go through the capture reader's own parser, so lengths, checksums
    (RFC 9293 §3.1) and skip reasons are those of a capture file. ``ts`` defaults to the
    packet's ``time``.
    """
    try:  # by name: scapy is the caller's own, and no dependency of tcpfsm (nor of its type check)
        IP = importlib.import_module("scapy.layers.inet").IP
        IPv6 = importlib.import_module("scapy.layers.inet6").IPv6
        NoPayload = importlib.import_module("scapy.packet").NoPayload
    except ImportError:  # pragma: no cover
        raise ImportError("from_scapy needs scapy: pip install scapy") from None

    layer = packet
    while not isinstance(layer, IP | IPv6):
        if layer is None or isinstance(layer, NoPayload):
            return SkippedPacket("not IP")
        layer = layer.payload
    when = float(ts) if ts is not None else float(getattr(packet, "time", 0.0) or 0.0)
    counts = Counts()
    parsed = _parse(0, when, memoryview(bytes(layer)), "raw", counts)
    if parsed is None:
        return SkippedPacket(next(iter(counts.skipped)))
    return parsed
