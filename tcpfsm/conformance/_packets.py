"""Reading captures: pcap and pcapng (plain or compressed), link layers, IPv4/IPv6, TCP headers.

Theory of operation
-------------------
A capture is opened once and read front to back (:class:`Capture`), so a pipe, a FIFO,
``/dev/stdin`` or a process substitution reads like a file; gzip, bzip2 and xz are undone
on the way, as tshark does. Both formats are read here directly, with ``struct``: classic
pcap (one link type, records chained by their lengths) and pcapng (sections, each with its
interfaces and their link types and time units; packets in Enhanced, Simple or obsolete
Packet Blocks naming their interface). A damaged file stops with the number of the packet
that could not be read, the byte offset, and what was read so far.

The link, IP and TCP headers are read with ``struct`` too, so a packet costs a few slices,
not an object tree (``_vectorparse`` does the same for whole chunks). Every packet read is
either a TCP segment or skipped with a reason. A segment's payload length is the one its IP
header declares (IPv4 total length, IPv6 payload length), not what the capture kept: a
capture cut by its snaplen still says how many bytes each segment carried, and sequence
space is counted from that. Such a segment is counted as ``cut`` (its checksum cannot be
verified, its options may be missing); one whose fixed TCP header was not captured is skipped.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import socket
import stat
import struct
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, cast

from tcpfsm.base import TcpFsmError

LINKTYPES = {1: "ethernet", 113: "linux_sll", 276: "linux_sll2", 101: "raw", 12: "raw", 14: "raw", 0: "null",
             108: "loop", 228: "ipv4", 229: "ipv6"}
_TCP = struct.Struct("!HHIIBBHHH")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")


@dataclass(frozen=True, slots=True)
class TcpPacket:
    """One TCP segment as seen at the capture point (addresses as text, payload length only).

    ``length`` is the payload length the IP header declares, also when the capture kept
    fewer bytes (a snaplen); ``checksum_ok`` is True when the checksum could not be checked."""

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
    ip_len: int = 0  # the IP datagram's length as its header declares it (IP + TCP headers + payload); 0: unknown
    options: bytes = b""
    direction: int = 0  # where it was seen: 1 inbound at its receiver, 2 outbound at its sender, 0 not said


@dataclass
class Counts:
    """Every packet read is counted: used, or skipped with a reason.

    ``cut``: TCP segments the capture kept only in part (a snaplen): used, with the payload
    length from the IP header and the checksum unchecked."""

    read: int = 0
    tcp: int = 0
    used: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    bad_checksum: int = 0
    cut: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"read": self.read, "tcp": self.tcp, "used": self.used,
                                  "skipped": dict(sorted(self.skipped.items())), "bad_checksum": self.bad_checksum}
        if self.cut:  # only captures cut by a snaplen have it
            out["cut_by_snaplen"] = self.cut
        return out


class CaptureError(TcpFsmError):
    """The capture cannot be read further; ``packet`` is the number of the packet that failed
    (0: the file header)."""

    def __init__(self, file: str, packet: int, message: str) -> None:
        self.file, self.packet, self.message = file, packet, message
        where = f"packet {packet}" if packet else "file header"
        super().__init__(f"{file}: {where}: {message}")

    def __reduce__(self) -> tuple[type[CaptureError], tuple[str, int, str]]:
        return type(self), (self.file, self.packet, self.message)


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
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
MAX_RECORD = 1 << 18  # larger than any snaplen in use: a bigger caplen means a corrupt record
MAX_BLOCK = 1 << 24   # a pcapng block longer than this is corrupt (Wireshark's own limit: 16 MiB)

# compressed captures, undone on the way (the formats tshark reads that the stdlib has)
_COMPRESSED: dict[bytes, str] = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zX": "xz"}
_NOT_READ = {b"\x28\xb5\x2f\xfd": "zstd", b"\x04\x22\x4d\x18": "lz4"}
_DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


class _Prefixed(io.RawIOBase):
    """The bytes already read (the magic), then the rest of the stream: a pipe cannot seek back."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(b))
        b[:len(data)] = data
        return len(data)


def _read(fh: BinaryIO, n: int) -> bytes:
    """``n`` bytes, fewer only at the end of the stream (a pipe delivers them in pieces)."""
    data = fh.read(n)
    if len(data) == n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = fh.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


Record = tuple[int, float, bytes]  # (link type, timestamp, frame)


class Capture:
    """One capture file, opened once and read front to back.

    ``path`` may be a regular file, a pipe, a FIFO, ``/dev/stdin``, and gzip, bzip2 or xz
    compressed. ``kind`` is "pcap" or "pcapng"; for classic pcap the file header is read
    (``order``, ``unit``, ``linktype``). ``records()`` yields (link type, timestamp, frame)
    per packet; CaptureError on damage, with the packet's number. Use it as a context manager.

    pcapng also says where a packet was seen: ``direction`` is the last record's (its
    ``epb_flags``: 1 inbound, 2 outbound, 0 not said), and ``taps`` the addresses the
    section's interfaces declare as their own (``if_IPv4addr``/``if_IPv6addr``), known by the
    time the first packet of an interface is yielded: an interface that names its host's
    address is that host's, and sees both what it sends and what it receives.
    """

    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        self.compression: str | None = None
        self.offset = 0  # bytes read (of the decompressed stream)
        self.number = 0  # packets read
        self.order, self.unit, self.linktype = "<", 1e-6, 0
        self.direction = 0
        self.taps: set[str] = set()
        self._error: str | None = None  # damage met after data was returned: raised by the next read
        # "-" is the standard input; anything else is opened once (a FIFO waits for its writer here)
        self._own = str(path) != "-"
        if self._own:
            self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        else:
            stdin = getattr(sys.stdin, "buffer", None)
            if stdin is None:
                raise CaptureError(self.name, 0, "no standard input to read (give a file)")
            self._file = cast(BinaryIO, stdin)
        self._stream: BinaryIO = self._file
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        magic = self._read_header(4)
        for prefix, kind in _COMPRESSED.items():
            if magic.startswith(prefix):
                self.compression = kind
                raw = io.BufferedReader(_Prefixed(magic, self._file))
                self._stream = _decompressor(kind, raw)
                self.offset = 0
                magic = self._read_header(4)
                break
        if magic in _PCAP_MAGIC:
            self.kind = "pcap"
            self.order, self.unit = _PCAP_MAGIC[magic]
            header = self._read_header(20)
            if len(header) < 20:
                raise CaptureError(self.name, 0, f"truncated pcap file header ({len(header) + 4} of 24 bytes)")
            self.linktype = struct.unpack(self.order + "I", header[16:20])[0] & 0x0FFFFFFF
        elif magic == _PCAPNG_MAGIC:
            self.kind = "pcapng"
            self._magic = magic
        else:
            raise CaptureError(self.name, 0, self._not_a_capture(magic))

    def _not_a_capture(self, magic: bytes) -> str:
        inside = f" inside the {self.compression} data" if self.compression else ""
        if not magic:
            return "empty file" if not self.compression else f"empty {self.compression} data"
        for prefix, kind in _NOT_READ.items():
            if magic.startswith(prefix):
                return f"{kind}-compressed: decompress it first, or through a pipe: {kind} -dc FILE | tcpfsm monitor -"
        return f"not a pcap or pcapng file{inside} (magic {magic.hex()})"

    def _read_header(self, n: int) -> bytes:
        try:
            data = _read(self._stream, n)
        except _DECOMPRESS_ERRORS as exc:
            what = f"{self.compression} data" if self.compression else "file"
            raise CaptureError(self.name, 0, f"cannot read the {what}: {_text(exc)}") from None
        self.offset += len(data)
        return data

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; a read or decompression error is a CaptureError at the next packet.

        Compressed data is read in pieces, so that what was decompressed before damage (a cut
        .gz, say) is returned first and the error comes with the next read: the packets before
        the damage are still monitored."""
        if self._error is not None:  # the packet that could not be completed is the next one
            raise CaptureError(self.name, self.number + 1, self._error)
        if not self.compression:
            try:
                data = _read(self._stream, n)
            except _DECOMPRESS_ERRORS as exc:
                raise self._failed(exc) from None
            self.offset += len(data)
            return data
        parts: list[bytes] = []
        got = 0
        while got < n:
            try:
                # read1: one piece as decompressed (read() would drop it when the next one fails)
                piece = cast(io.BufferedIOBase, self._stream).read1(min(n - got, 1 << 16))
            except _DECOMPRESS_ERRORS as exc:
                self._error = self._failed(exc).message
                if not parts:
                    raise CaptureError(self.name, self.number + 1, self._error) from None
                break
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
            self.offset += len(piece)
        return b"".join(parts)

    def _failed(self, exc: BaseException) -> CaptureError:
        what = f"{self.compression} data" if self.compression else "file"
        return CaptureError(self.name, self.number + 1, f"cannot read the {what} at byte {self.offset}: {_text(exc)}")

    def size(self) -> int | None:
        """The file's size in bytes when it is a regular uncompressed file; None otherwise."""
        if self.compression or not self._own:
            return None
        try:
            st = os.fstat(self._file.fileno())
        except (OSError, ValueError):
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def close(self) -> None:
        try:
            if self._stream is not self._file:
                self._stream.close()
        except _DECOMPRESS_ERRORS:
            pass
        finally:
            if self._own:
                self._file.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def records(self) -> Iterator[Record]:
        return self._pcap_records() if self.kind == "pcap" else self._pcapng_records()

    # ------------------------------------------------------------ classic pcap
    def _pcap_records(self) -> Iterator[Record]:
        """Classic pcap: a short or absurd record is reported, never yielded."""
        rec = struct.Struct(self.order + "IIII")
        name, unit, linktype = self.name, self.unit, self.linktype
        while True:
            head = self.read(16)
            if not head:
                return
            number = self.number + 1
            if len(head) < 16:
                raise CaptureError(name, number, f"truncated record header ({len(head)} of 16 bytes)")
            sec, frac, caplen, _wirelen = rec.unpack(head)
            if caplen > MAX_RECORD:
                raise CaptureError(name, number, f"corrupt record: captured length {caplen} bytes")
            data = self.read(caplen)
            if len(data) < caplen:
                raise CaptureError(name, number, f"truncated record ({len(data)} of {caplen} bytes)")
            self.number = number
            yield linktype, sec + frac * unit, data

    # ------------------------------------------------------------ pcapng
    def _pcapng_records(self) -> Iterator[Record]:
        """pcapng: sections (SHB), their interfaces (IDB: link type, time unit, offset, snaplen),
        and packets (EPB, SPB, the obsolete PB). Other blocks are stepped over."""
        name = self.name
        interfaces: list[tuple[int, float, float, int]] = []  # of the current section
        order = "<"
        last_ts = 0.0
        head = self._magic
        while True:
            start = self.offset - len(head)
            head += self.read(8 - len(head))
            number = self.number + 1
            if not head:
                return
            if len(head) < 8:
                raise CaptureError(name, number, f"truncated pcapng block header at byte {start} "
                                                 f"({len(head)} of 8 bytes)")
            if head[:4] == _PCAPNG_MAGIC:
                bom = self.read(4)
                if len(bom) < 4:
                    raise CaptureError(name, number, f"truncated section header at byte {start}")
                if bom == b"\x4d\x3c\x2b\x1a":
                    order = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    order = ">"
                else:
                    raise CaptureError(name, number, f"section header at byte {start}: bad byte-order magic "
                                                     f"{bom.hex()}")
                btype, blen = 0x0A0D0D0A, struct.unpack(order + "I", head[4:8])[0]
                already = 4
            else:
                btype, blen = struct.unpack(order + "II", head)
                already = 0
            head = b""
            minimum = 28 if btype == 0x0A0D0D0A else 12
            if blen < minimum or blen % 4 or blen > MAX_BLOCK:
                raise CaptureError(name, number, f"corrupt pcapng block at byte {start}: type {btype:#x}, "
                                                 f"length {blen}")
            body = self.read(blen - 12 - already)
            tail = self.read(4) if len(body) == blen - 12 - already else b""
            if len(tail) < 4:
                got = 8 + already + len(body) + len(tail)
                raise CaptureError(name, number, f"truncated pcapng block at byte {start} "
                                                 f"({got} of {blen} bytes)")
            if struct.unpack(order + "I", tail)[0] != blen:
                raise CaptureError(name, number, f"corrupt pcapng block at byte {start}: its trailing length "
                                                 f"{struct.unpack(order + 'I', tail)[0]} is not {blen}")
            if btype == 0x0A0D0D0A:
                major = struct.unpack_from(order + "H", body, 0)[0]
                if major != 1:
                    raise CaptureError(name, number, f"section header at byte {start}: pcapng version {major}, "
                                                     "not 1")
                interfaces = []  # a new section: its own interfaces
            elif btype == 1:  # Interface Description Block
                interfaces.append(self._interface(body, order, start, number))
            elif btype in (6, 2, 3):
                if btype == 3:  # Simple Packet Block: interface 0, no timestamp
                    iface = 0
                    orig = struct.unpack_from(order + "I", body, 0)[0]
                    caplen = min(orig, len(body) - 4)
                    data_at, ts_raw = 4, None
                else:
                    if len(body) < 20:
                        raise CaptureError(name, number, f"corrupt packet block at byte {start}: {blen} bytes")
                    if btype == 6:  # Enhanced Packet Block
                        iface, high, low, caplen, orig = struct.unpack_from(order + "IIIII", body, 0)
                    else:  # the obsolete Packet Block
                        iface, _drops, high, low, caplen, orig = struct.unpack_from(order + "HHIIII", body, 0)
                    data_at, ts_raw = 20, (high << 32) | low
                    if caplen > len(body) - 20:
                        raise CaptureError(name, number, f"packet block at byte {start}: captured length {caplen} "
                                                         f"runs past its block ({len(body) - 20} bytes of data)")
                if iface >= len(interfaces):
                    known = f"0-{len(interfaces) - 1}" if interfaces else "none"
                    raise CaptureError(name, number, f"packet block at byte {start} names interface {iface}, "
                                                     f"which its section does not describe (interfaces: {known})")
                linktype, unit, offset, snaplen = interfaces[iface]
                if btype == 3 and snaplen:
                    caplen = min(caplen, snaplen)
                if ts_raw is not None:
                    last_ts = ts_raw * unit + offset
                self.number = number
                self.direction = _epb_direction(body, data_at + caplen, order) if btype == 6 else 0
                yield linktype, last_ts, body[data_at:data_at + caplen]

    def _interface(self, body: bytes, order: str, start: int, number: int) -> tuple[int, float, float, int]:
        """An Interface Description Block: (link type, time unit, time offset, snaplen)."""
        if len(body) < 8:
            raise CaptureError(self.name, number, f"corrupt interface description block at byte {start}")
        linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
        unit, offset = 1e-6, 0.0
        pos = 8
        while pos + 4 <= len(body):
            code, size = struct.unpack_from(order + "HH", body, pos)
            if code == 0:  # opt_endofopt
                break
            value = body[pos + 4:pos + 4 + size]
            if len(value) < size:
                raise CaptureError(self.name, number, f"interface description block at byte {start}: option {code} "
                                                      "runs past its block")
            if code == 9 and size >= 1:  # if_tsresol: 10^-v, or 2^-v with the high bit set
                v = value[0]
                unit = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
            elif code == 14 and size >= 8:  # if_tsoffset, in seconds
                offset = float(struct.unpack_from(order + "q", value, 0)[0])
            elif code == 4 and size == 8:  # if_IPv4addr: address and netmask
                self.taps.add(socket.inet_ntop(socket.AF_INET, value[:4]))
            elif code == 5 and size == 17:  # if_IPv6addr: address and prefix length
                self.taps.add(socket.inet_ntop(socket.AF_INET6, value[:16]))
            pos += 4 + size + (-size % 4)
        return linktype, unit, offset, snaplen


def _epb_direction(body: bytes, end: int, order: str) -> int:
    """An Enhanced Packet Block's direction from its ``epb_flags`` option (bits 0-1: 1 inbound,
    2 outbound); 0 when it has none (or a damaged option list: the packet is still used)."""
    pos = end + (-end % 4)
    while pos + 4 <= len(body):
        code, size = struct.unpack_from(order + "HH", body, pos)
        if code == 0:
            break
        if code == 2 and size == 4 and pos + 8 <= len(body):
            direction = int(struct.unpack_from(order + "I", body, pos + 4)[0]) & 3
            return direction if direction in (1, 2) else 0
        pos += 4 + size + (-size % 4)
    return 0


def _decompressor(kind: str, raw: BinaryIO) -> BinaryIO:
    """A reader of the decompressed bytes (closed by Capture.close)."""
    if kind == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == "bzip2":
        return cast(BinaryIO, bz2.BZ2File(raw))
    return cast(BinaryIO, lzma.LZMAFile(raw))


def _text(exc: BaseException) -> str:
    """An exception as words: its message, or its kind when it has none."""
    words = str(exc).strip()
    return words if words else type(exc).__name__


def capture_records(path: str | Path) -> Iterator[Record]:
    """Yield (link type, timestamp, frame) for every record of a capture; CaptureError on damage.

    The error carries the number of the record that failed (records are numbered from 1)."""
    with Capture(path) as cap:
        yield from cap.records()


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


# IPv6 extension headers walked to find TCP (RFC 8200 §4): hop-by-hop, routing, destination
# options (each a length in 8-byte units), and the fragment header (8 bytes)
_IPV6_EXTENSIONS = frozenset((0, 43, 60))
_IPV6_FRAGMENT = 44


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
    except struct.error:
        counts.skip("truncated link header")
        return None
    if ethertype is not None and ethertype not in (0x0800, 0x86DD):
        counts.skip("not IP")
        return None
    if len(buf) <= off:
        counts.skip("truncated IP header")
        return None
    version = buf[off] >> 4
    captured = len(buf)
    if version == 4:
        if captured < off + 20:
            counts.skip("truncated IP header")
            return None
        vihl, _tos, total, _id, frag, _ttl, proto, _ck, src, dst = _IPV4.unpack_from(buf, off)
        ihl = (vihl & 0x0F) * 4
        if ihl < 20 or (total and total < ihl):
            counts.skip("bad IP header length")
            return None
        if proto != 6:
            counts.skip("not TCP")
            return None
        if frag & 0x3FFF:
            counts.skip("IP fragment")
            return None
        end = off + total if total else captured  # total 0: segmentation offload, the frame is the datagram
        tcp_off = off + ihl
        src_b, dst_b = bytes(src), bytes(dst)
        family = socket.AF_INET
    elif version == 6:
        if captured < off + 40:
            counts.skip("truncated IP header")
            return None
        plen = struct.unpack_from("!H", buf, off + 4)[0]
        nxt = buf[off + 6]
        tcp_off = off + 40
        end = tcp_off + plen if plen else captured  # 0: a jumbogram or offload
        for _ in range(8):  # a longer chain of extension headers is no packet anyone sends
            if nxt not in _IPV6_EXTENSIONS and nxt != _IPV6_FRAGMENT:
                break
            if tcp_off + 8 > min(end, captured):
                counts.skip("truncated IPv6 extension header")
                return None
            if nxt == _IPV6_FRAGMENT:
                if struct.unpack_from("!H", buf, tcp_off + 2)[0] & 0xFFF9:  # an offset or more fragments
                    counts.skip("IP fragment")
                    return None
                nxt, tcp_off = buf[tcp_off], tcp_off + 8
            else:
                nxt, tcp_off = buf[tcp_off], tcp_off + 8 + buf[tcp_off + 1] * 8
        if nxt != 6:
            counts.skip("not TCP" if nxt not in _IPV6_EXTENSIONS and nxt != _IPV6_FRAGMENT
                        else "IPv6 extension header")
            return None
        src_b, dst_b = bytes(buf[off + 8:off + 24]), bytes(buf[off + 24:off + 40])
        family = socket.AF_INET6
    else:
        counts.skip("not IP")
        return None
    have = min(end, captured)  # what the capture kept of the IP datagram
    if end - tcp_off < 20:
        counts.skip("truncated TCP header")  # the IP header itself leaves no room for it
        return None
    if have - tcp_off < 20:
        counts.skip("TCP header cut by the snaplen")
        return None
    sport, dport, seq, ack, doff, flags, window, _ck, _urg = _TCP.unpack_from(buf, tcp_off)
    hlen = (doff >> 4) * 4
    if hlen < 20 or tcp_off + hlen > end:
        counts.skip("bad TCP header length")
        return None
    src_s, dst_s = socket.inet_ntop(family, src_b), socket.inet_ntop(family, dst_b)
    if have < end:  # cut by the snaplen: the length is the IP header's; the checksum cannot be checked
        counts.cut += 1
        options = bytes(buf[tcp_off + 20:tcp_off + hlen]) if tcp_off + hlen <= have else b""
        return TcpPacket(number, ts, src_s, sport, dst_s, dport, seq, ack, flags & 0x3F, window,
                         end - tcp_off - hlen, True, end - off, options)
    ok = _checksum_ok(src_b, dst_b, buf[tcp_off:end])
    if not ok:
        counts.bad_checksum += 1
    return TcpPacket(number, ts, src_s, sport, dst_s, dport, seq, ack, flags & 0x3F, window,
                     end - tcp_off - hlen, ok, end - off, bytes(buf[tcp_off + 20:tcp_off + hlen]))
