"""Reading captures: pcap and pcapng, link layers, IPv4/IPv6, TCP headers.

Classic pcap is read here directly (a simple format, and a damaged record is caught at its
number); pcapng through dpkt (pure Python, maintained, and an order of magnitude faster than
scapy's packet objects). The link, IP and TCP headers are read with ``struct``, so a packet
costs a few slices, not an object tree (``_vectorparse`` does the same for whole chunks).
Every packet read is either a TCP segment or skipped with a reason; a damaged file stops with
the packet number and what was read so far.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

LINKTYPES = {1: "ethernet", 113: "linux_sll", 276: "linux_sll2", 101: "raw", 12: "raw", 14: "raw", 0: "null",
             108: "loop", 228: "ipv4", 229: "ipv6"}
_TCP = struct.Struct("!HHIIBBHHH")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")


@dataclass(frozen=True, slots=True)
class TcpPacket:
    """One TCP segment as seen at the capture point (addresses as text, payload length only)."""

    number: int  # 1-based position in the capture
    ts: float
    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    length: int
    checksum_ok: bool
    options: bytes = b""


@dataclass
class Counts:
    """Every packet read is counted: used, or skipped with a reason."""

    read: int = 0
    tcp: int = 0
    used: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    bad_checksum: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def to_dict(self) -> dict[str, object]:
        return {"read": self.read, "tcp": self.tcp, "used": self.used, "skipped": dict(sorted(self.skipped.items())),
                "bad_checksum": self.bad_checksum}


class CaptureError(Exception):
    """The capture cannot be read further; ``packet`` is the number of the packet that failed."""

    def __init__(self, file: str, packet: int, message: str) -> None:
        self.file, self.packet, self.message = file, packet, message
        where = f"packet {packet}" if packet else "file header"
        super().__init__(f"{file}: {where}: {message}")


def _checksum_ok(src: bytes, dst: bytes, segment: memoryview) -> bool:
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(segment))
    data = bytes(pseudo) + bytes(segment)
    if len(data) % 2:
        data += b"\0"
    total = sum(memoryview(data).cast("H"))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


_PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
               b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}
MAX_RECORD = 1 << 18  # larger than any snaplen in use: a bigger caplen means a corrupt record


def _pcap_records(fh: BinaryIO, name: str, order: str, unit: float) -> Iterator[tuple[float, bytes]]:
    """Classic pcap, read directly: a short or absurd record is reported, never yielded."""
    rec = struct.Struct(order + "IIII")
    number = 0
    while True:
        head = fh.read(16)
        if not head:
            return
        number += 1
        if len(head) < 16:
            raise CaptureError(name, number, f"truncated record header ({len(head)} of 16 bytes)")
        sec, frac, caplen, _wirelen = rec.unpack(head)
        if caplen > MAX_RECORD:
            raise CaptureError(name, number, f"corrupt record: captured length {caplen} bytes")
        data = fh.read(caplen)
        if len(data) < caplen:
            raise CaptureError(name, number, f"truncated record ({len(data)} of {caplen} bytes)")
        yield sec + frac * unit, data


_READ_ERRORS: tuple[type[BaseException], ...] = (ValueError, struct.error, OSError, EOFError)


def _open(fh: BinaryIO, name: str) -> tuple[Iterator[tuple[float, bytes]], int, tuple[type[BaseException], ...]]:
    magic = fh.read(4)
    if magic in _PCAP_MAGIC:
        order, unit = _PCAP_MAGIC[magic]
        header = fh.read(20)
        if len(header) < 20:
            raise CaptureError(name, 0, "truncated pcap file header")
        linktype = struct.unpack(order + "I", header[16:20])[0] & 0x0FFFFFFF
        return _pcap_records(fh, name, order, unit), linktype, _READ_ERRORS
    fh.seek(0)
    if magic != b"\x0a\x0d\x0d\x0a":
        raise CaptureError(name, 0, f"not a pcap or pcapng file (magic {magic.hex() or 'empty'})")
    import dpkt  # pcapng only: classic pcap is read here directly

    errors = (*_READ_ERRORS, dpkt.Error)
    try:
        reader = dpkt.pcapng.Reader(fh)
    except errors as exc:
        raise CaptureError(name, 0, f"unreadable pcapng header: {exc}") from None
    return iter(reader), int(reader.datalink()), errors


def capture_records(path: str | Path) -> Iterator[tuple[int, float, bytes]]:
    """Yield (link type, timestamp, frame) for every record of a capture; CaptureError on damage.

    The error carries the number of the record that failed (records are numbered from 1)."""
    name = str(path)
    with open(path, "rb") as fh:
        packets, linktype, errors = _open(fh, name)
        number = 0
        while True:
            try:
                ts, buf = next(packets)
            except StopIteration:
                return
            except CaptureError:
                raise
            except errors as exc:
                raise CaptureError(name, number + 1, f"truncated or corrupt record ({exc})") from None
            number += 1
            yield linktype, float(ts), buf


def link_kind(linktype: int | str) -> str | None:
    """The parser's name for a link type: a DLT number (1, 101, 113, ...) or a name ("ethernet",
    "raw", "linux_sll", ...); None for a number this parser does not know. ValueError for an
    unknown name."""
    if isinstance(linktype, str):
        if linktype not in _KINDS:
            raise ValueError(f"unknown link type {linktype!r} (known: {', '.join(sorted(_KINDS))}, or a DLT number)")
        return linktype
    return LINKTYPES.get(int(linktype))


_KINDS = frozenset(LINKTYPES.values())


def read_tcp(path: str | Path, counts: Counts) -> Iterator[TcpPacket]:
    """Yield the TCP segments of a capture, counting every packet; CaptureError on damage."""
    for number, (linktype, ts, buf) in enumerate(capture_records(path), 1):
        counts.read += 1
        kind = LINKTYPES.get(linktype)
        if kind is None:
            counts.skip(f"unknown link type {linktype}")
            continue
        pkt = _parse(number, ts, memoryview(buf), kind, counts)
        if pkt is not None:
            counts.tcp += 1
            yield pkt


def _parse(number: int, ts: float, buf: memoryview, kind: str, counts: Counts) -> TcpPacket | None:
    off = 0
    ethertype = None
    try:
        if kind == "ethernet":
            ethertype = struct.unpack_from("!H", buf, 12)[0]
            off = 14
            while ethertype in (0x8100, 0x88A8):
                ethertype = struct.unpack_from("!H", buf, off + 2)[0]
                off += 4
        elif kind == "linux_sll":
            ethertype, off = struct.unpack_from("!H", buf, 14)[0], 16
        elif kind == "linux_sll2":
            ethertype, off = struct.unpack_from("!H", buf, 0)[0], 20
        elif kind in ("null", "loop"):
            family = struct.unpack_from("<I" if kind == "null" else "!I", buf, 0)[0]
            if family > 0xFFFF:  # written with the other byte order
                family = struct.unpack_from(">I" if kind == "null" else "<I", buf, 0)[0]
            ethertype = 0x0800 if family == 2 else (0x86DD if family in (10, 24, 28, 30) else None)
            off = 4
        elif kind in ("raw", "ipv4", "ipv6"):
            ethertype = None
        version = buf[off] >> 4 if len(buf) > off else 0
    except (struct.error, IndexError):
        counts.skip("truncated link header")
        return None
    if ethertype is not None and ethertype not in (0x0800, 0x86DD):
        counts.skip("not IP")
        return None
    if version == 4:
        if len(buf) < off + 20:
            counts.skip("truncated IP header")
            return None
        vihl, _tos, total, _id, frag, _ttl, proto, _ck, src, dst = _IPV4.unpack_from(buf, off)
        ihl = (vihl & 0x0F) * 4
        if proto != 6:
            counts.skip("not TCP")
            return None
        if frag & 0x3FFF:
            counts.skip("IP fragment")
            return None
        end = min(off + total, len(buf)) if total else len(buf)
        tcp_off = off + ihl
        src_s, dst_s = socket.inet_ntop(socket.AF_INET, src), socket.inet_ntop(socket.AF_INET, dst)
        src_b, dst_b = src, dst
    elif version == 6:
        if len(buf) < off + 40:
            counts.skip("truncated IP header")
            return None
        plen = struct.unpack_from("!H", buf, off + 4)[0]
        nxt = buf[off + 6]
        if nxt != 6:
            counts.skip("not TCP" if nxt in (17, 58) else "IPv6 extension header")
            return None
        src_b, dst_b = bytes(buf[off + 8:off + 24]), bytes(buf[off + 24:off + 40])
        src_s, dst_s = socket.inet_ntop(socket.AF_INET6, src_b), socket.inet_ntop(socket.AF_INET6, dst_b)
        tcp_off = off + 40
        end = min(tcp_off + plen, len(buf))
    else:
        counts.skip("not IP")
        return None
    if end - tcp_off < 20:
        counts.skip("truncated TCP header")
        return None
    sport, dport, seq, ack, doff, flags, window, _ck, _urg = _TCP.unpack_from(buf, tcp_off)
    hlen = (doff >> 4) * 4
    if hlen < 20 or tcp_off + hlen > end:
        counts.skip("bad TCP header length")
        return None
    segment = buf[tcp_off:end]
    ok = _checksum_ok(bytes(src_b), bytes(dst_b), segment)
    if not ok:
        counts.bad_checksum += 1
    return TcpPacket(number, ts, src_s, sport, dst_s, dport, seq, ack, flags & 0x3F, window,
                     end - tcp_off - hlen, ok, bytes(buf[tcp_off + 20:tcp_off + hlen]))
