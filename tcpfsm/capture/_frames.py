"""Frames on the wire: hosts with documentation addresses, and Ethernet frames built with dpkt.

Why dpkt: it is already the ``capture`` extra's dependency (the monitor's adapter reads dpkt
packets), it is small and pure Python, and it builds every header this package writes
(Ethernet II, ARP, IPv4, IPv6, UDP, TCP, DNS) with the checksums computed when a header is
packed: an IPv4 header checksum, and the TCP and UDP checksums over the IPv4 or IPv6 pseudo
header (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1). scapy would do the same at ten times the
import time and a far larger dependency.

Addresses come from the documentation ranges only: IPv4 from RFC 5737 (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24), IPv6 from RFC 3849 (2001:db8::/32), MAC addresses from the
IANA unicast range for documentation, 00:00:5E:00:53:00 to 00:00:5E:00:53:FF (RFC 7042 §2.1.1).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import dpkt

from tcpfsm.base import Segment

# RFC 7042 §2.1.1: 00-00-5E-00-53-00 through 00-00-5E-00-53-FF are for documentation
DOC_MAC_PREFIX = "00:00:5e:00:53:"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ZERO_MAC = "00:00:00:00:00:00"
DEFAULT_TTL = 64  # RFC 1700's recommended default, what Linux and macOS send (net.ipv4.ip_default_ttl)
MAX_WINDOW = 0xFFFF  # the header's 16-bit window field; no window scaling is negotiated (RFC 7323 §2)


def doc_mac(n: int) -> str:
    """The ``n``-th documentation MAC address, 00:00:5e:00:53:NN (RFC 7042 §2.1.1)."""
    if not 0 <= n <= 0xFF:
        raise ValueError(f"a documentation MAC ends in one byte, 0 to 255, not {n}")
    return f"{DOC_MAC_PREFIX}{n:02x}"


def mac_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


@dataclass(frozen=True)
class Host:
    """One interface of a host: a name for people, its MAC and its IP address (v4 or v6)."""

    name: str
    mac: str
    ip: str

    @property
    def version(self) -> int:
        return int(ipaddress.ip_address(self.ip).version)

    @property
    def ip_bytes(self) -> bytes:
        return ipaddress.ip_address(self.ip).packed


def ip_text(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


class IpIds:
    """Each host's IPv4 Identification counter (RFC 6864 §4.1: unique per source and flow while
    fragments may exist; a counter per host does that)."""

    def __init__(self, start: int = 0x1000) -> None:
        self._next: dict[str, int] = {}
        self._start = start

    def take(self, host: Host) -> int:
        n = self._next.get(host.ip, self._start + 0x100 * (len(self._next)))
        self._next[host.ip] = (n + 1) & 0xFFFF
        return n & 0xFFFF


def ip_packet(src: Host, dst: Host, proto: int, payload: dpkt.Packet, *, ttl: int = DEFAULT_TTL,
              ip_id: int = 0) -> dpkt.Packet:
    """An IPv4 (DF set, as stacks doing path MTU discovery send, RFC 1191) or IPv6 packet."""
    if src.version != dst.version:
        raise ValueError(f"{src.name} ({src.ip}) and {dst.name} ({dst.ip}) are not of one IP version")
    if src.version == 4:
        pkt = dpkt.ip.IP(src=src.ip_bytes, dst=dst.ip_bytes, p=proto, ttl=ttl, id=ip_id, df=1,
                         data=payload)
        pkt.len = 20 + len(bytes(payload))
        return pkt
    pkt6 = dpkt.ip6.IP6(src=src.ip_bytes, dst=dst.ip_bytes, nxt=proto, hlim=ttl, data=payload)
    pkt6.plen = len(bytes(payload))
    return pkt6


def ethernet(src_mac: str, dst_mac: str, payload: dpkt.Packet, ethertype: int) -> bytes:
    """An Ethernet II frame (no FCS: captures hold frames without it, as the NIC hands them up)."""
    return bytes(dpkt.ethernet.Ethernet(src=mac_bytes(src_mac), dst=mac_bytes(dst_mac), type=ethertype,
                                        data=payload))


def _ethertype(host: Host) -> int:
    return int(dpkt.ethernet.ETH_TYPE_IP if host.version == 4 else dpkt.ethernet.ETH_TYPE_IP6)


def tcp_header(seg: Segment, sport: int, dport: int, payload: bytes) -> dpkt.tcp.TCP:
    """The TCP header of ``seg`` (RFC 9293 §3.1): its ports, SEQ, ACK, control bits, window, data.

    The window is the segment's, capped at the header's 16 bits (no window scaling is negotiated)."""
    return dpkt.tcp.TCP(sport=sport, dport=dport, seq=seg.seq, ack=seg.ack if seg.bits & 0x10 else 0,
                        flags=seg.bits, win=min(seg.window, MAX_WINDOW), off=5, data=payload)


def segment_payload(seg: Segment) -> bytes:
    """The segment's bytes; a segment known by its length only carries that many zero octets."""
    if seg.payload is not None:
        return seg.payload
    return bytes(seg.length)


def tcp_frame(src: Host, dst: Host, seg: Segment, sport: int, dport: int, *, src_mac: str | None = None,
              dst_mac: str | None = None, ttl: int = DEFAULT_TTL, ip_id: int = 0) -> bytes:
    """An Ethernet frame carrying ``seg`` from ``src`` to ``dst``, checksums computed by dpkt.

    ``src_mac``/``dst_mac`` are the link's ends when they are not the hosts' own (a gateway
    between them: the frame goes to the next hop's MAC while the IP header names the server)."""
    tcp = tcp_header(seg, sport, dport, segment_payload(seg))
    ip = ip_packet(src, dst, dpkt.ip.IP_PROTO_TCP, tcp, ttl=ttl, ip_id=ip_id)
    return ethernet(src_mac or src.mac, dst_mac or dst.mac, ip, _ethertype(src))


def udp_frame(src: Host, dst: Host, sport: int, dport: int, payload: bytes, *, src_mac: str | None = None,
              dst_mac: str | None = None, ttl: int = DEFAULT_TTL, ip_id: int = 0) -> bytes:
    """An Ethernet frame carrying one UDP datagram (RFC 768)."""
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = 8 + len(payload)
    ip = ip_packet(src, dst, dpkt.ip.IP_PROTO_UDP, udp, ttl=ttl, ip_id=ip_id)
    return ethernet(src_mac or src.mac, dst_mac or dst.mac, ip, _ethertype(src))


def arp_frame(op: str, sender: Host, target_ip: str, target_mac: str | None = None) -> bytes:
    """An ARP request (broadcast, target MAC unknown: zeros) or reply (RFC 826), IPv4 over Ethernet."""
    if op not in ("request", "reply"):
        raise ValueError(f"ARP op is 'request' or 'reply', not {op!r}")
    request = op == "request"
    tha = ZERO_MAC if request else (target_mac or ZERO_MAC)
    arp = dpkt.arp.ARP(hrd=dpkt.arp.ARP_HRD_ETH, pro=dpkt.arp.ARP_PRO_IP, hln=6, pln=4,
                       op=dpkt.arp.ARP_OP_REQUEST if request else dpkt.arp.ARP_OP_REPLY,
                       sha=mac_bytes(sender.mac), spa=sender.ip_bytes, tha=mac_bytes(tha),
                       tpa=ipaddress.ip_address(target_ip).packed)
    dst = BROADCAST_MAC if request else (target_mac or BROADCAST_MAC)
    return ethernet(sender.mac, dst, arp, dpkt.ethernet.ETH_TYPE_ARP)


def dns_query(qid: int, name: str, *, ipv6: bool = False) -> bytes:
    """A recursive DNS query for ``name``'s A (or AAAA) record (RFC 1035 §4.1, RD set)."""
    q = dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_AAAA if ipv6 else dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN)
    return bytes(dpkt.dns.DNS(id=qid, op=dpkt.dns.DNS_RD, qd=[q], an=[], ns=[], ar=[]))


def dns_answer(qid: int, name: str, address: str, *, ttl: int = 300) -> bytes:
    """The resolver's answer: QR, RD and RA set, the question echoed, one A or AAAA record."""
    ip = ipaddress.ip_address(address)
    rtype = dpkt.dns.DNS_AAAA if ip.version == 6 else dpkt.dns.DNS_A
    q = dpkt.dns.DNS.Q(name=name, type=rtype, cls=dpkt.dns.DNS_IN)
    rr = dpkt.dns.DNS.RR(name=name, type=rtype, cls=dpkt.dns.DNS_IN, ttl=ttl, rdata=ip.packed)
    return bytes(dpkt.dns.DNS(id=qid, op=dpkt.dns.DNS_QR | dpkt.dns.DNS_RD | dpkt.dns.DNS_RA, qd=[q], an=[rr],
                              ns=[], ar=[]))


def solicited_node(ip: str) -> tuple[str, str]:
    """The solicited-node multicast address of ``ip`` (RFC 4291 §2.7.1: ff02::1:ff plus its low
    24 bits) and the Ethernet group MAC it maps to (RFC 2464 §7: 33:33 plus its low 32 bits)."""
    low = ipaddress.IPv6Address(ip).packed[-3:]
    group = ipaddress.IPv6Address(bytes.fromhex("ff0200000000000000000001ff") + low)
    return str(group), "33:33:" + ":".join(f"{b:02x}" for b in group.packed[-4:])


def ndp_frame(op: str, sender: Host, target_ip: str, target: Host | None = None) -> bytes:
    """IPv6's ARP: a Neighbor Solicitation to the target's solicited-node group, or the target's
    solicited Neighbor Advertisement (RFC 4861 §4.3, §4.4), with the link-layer address option
    (§4.6.1); hop limit 255, as §7.1.1 requires."""
    target_bytes = ipaddress.IPv6Address(target_ip).packed
    if op == "solicit":
        group, group_mac = solicited_node(target_ip)
        body = bytes(4) + target_bytes + b"\x01\x01" + mac_bytes(sender.mac)  # option 1: source link-layer
        icmp = dpkt.icmp6.ICMP6(type=dpkt.icmp6.ND_NEIGHBOR_SOLICIT, code=0, data=body)
        ip = dpkt.ip6.IP6(src=sender.ip_bytes, dst=ipaddress.IPv6Address(group).packed, nxt=dpkt.ip.IP_PROTO_ICMP6,
                          hlim=255, data=icmp)
        ip.plen = len(bytes(icmp))
        return ethernet(sender.mac, group_mac, ip, dpkt.ethernet.ETH_TYPE_IP6)
    if op != "advertise" or target is None:
        raise ValueError("NDP op is 'solicit', or 'advertise' with the host that asked")
    flags = (0x80 | 0x40 | 0x20).to_bytes(1, "big") + bytes(3)  # router, solicited, override
    body = flags + sender.ip_bytes + b"\x02\x01" + mac_bytes(sender.mac)  # option 2: target link-layer
    icmp = dpkt.icmp6.ICMP6(type=dpkt.icmp6.ND_NEIGHBOR_ADVERT, code=0, data=body)
    ip = dpkt.ip6.IP6(src=sender.ip_bytes, dst=target.ip_bytes, nxt=dpkt.ip.IP_PROTO_ICMP6, hlim=255, data=icmp)
    ip.plen = len(bytes(icmp))
    return ethernet(sender.mac, target.mac, ip, dpkt.ethernet.ETH_TYPE_IP6)
