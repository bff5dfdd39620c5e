"""Classic pcap parsed in bulk with numpy: the header fields of every IPv4/TCP packet at once.

One pass in Python finds the records (their lengths chain them); the link, IPv4 and TCP
fields are then gathered for all packets with array indexing, and TCP checksums are summed
with ``np.add.reduceat`` over the even and odd bytes. Packets that are not plain IPv4/TCP
(IPv6, fragments, odd headers, other link types' surprises) go through the per-packet parser,
so the counts and skip reasons are exactly those of ``read_tcp``. A damaged record ends the
capture where the per-packet reader would: the packets before it, then CaptureError.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tcpfsm.conformance._packets import LINKTYPES, MAX_RECORD, Capture, CaptureError, Counts, TcpPacket, _parse


def _be16(b: np.ndarray, pos: np.ndarray) -> np.ndarray:
    out: np.ndarray = (b[pos].astype(np.int64) << 8) | b[pos + 1]
    return out


def _be32(b: np.ndarray, pos: np.ndarray) -> np.ndarray:
    out: np.ndarray = (_be16(b, pos) << 16) | _be16(b, pos + 2)
    return out


CHUNK = 2 << 20  # bytes read at a time: memory follows the open connections, not the file
# zeros after a chunk, so that every header field is gathered in range even for a record of
# 0-3 bytes at the end: the link header (at most 20 bytes), IPv4 (at most 60) and TCP's first 20
_PAD = 128


def feed_tcp_bulk(capture: Capture, counts: Counts, feed: Callable[[tuple[Any, ...]], None]) -> bool:
    """Call ``feed(row)`` for every TCP segment (TcpPacket's fields) of an open classic-pcap
    :class:`Capture`, with no generator in the way; False (nothing read) when it is not classic
    pcap. Raises CaptureError like ``read_tcp``."""
    if capture.kind != "pcap":
        return False
    for chunk in _bulk(capture, counts, True):
        i = 0
        try:
            for i, row in enumerate(chunk):  # noqa: B007 - i is read when feed() is interrupted
                feed(row)
        except BaseException:
            # the chunk was counted when it was read: what was never fed is read and skipped,
            # so read == used + skipped still holds after an interrupt
            left = len(chunk) - i
            counts.tcp -= left
            counts.skipped[INTERRUPTED] = counts.skipped.get(INTERRUPTED, 0) + left
            raise
    return True


INTERRUPTED = "not monitored: interrupted"


def read_tcp_bulk(path: str | Path, counts: Counts, *, as_tuples: bool = False) -> Iterator[Any] | None:
    """Like ``read_tcp``; None when the file is not classic pcap (the caller reads it per packet).

    The file is read in chunks of CHUNK bytes. With ``as_tuples`` it yields the fields of
    TcpPacket in order, which the fast monitor turns into a TcpPacket only when it needs one."""
    capture = Capture(path)
    if capture.kind != "pcap":
        capture.close()
        return None

    def rows() -> Iterator[Any]:
        with capture:
            for chunk in _bulk(capture, counts, as_tuples):
                yield from chunk

    return rows()


def _bulk(capture: Capture, counts: Counts, as_tuples: bool) -> Iterator[list[Any]]:
    """The capture chunk by chunk: a list of packets (or field tuples) per chunk."""
    name, order, unit, linktype = capture.name, capture.order, capture.unit, capture.linktype
    caplen_at = struct.Struct(order + "I").unpack_from
    buf = b""
    number = 0  # records before this chunk
    while True:
        capture.number = number
        data = capture.read(CHUNK)
        buf = buf + data if buf else data
        offs: list[int] = []
        lens: list[int] = []
        pos, n, error = 0, len(buf), None
        while pos + 16 <= n:
            caplen = caplen_at(buf, pos + 8)[0]
            if caplen > MAX_RECORD:
                error = CaptureError(name, number + len(offs) + 1,
                                     f"corrupt record: captured length {caplen} bytes")
                break
            if pos + 16 + caplen > n:
                break  # completed by the next chunk (or truncated, at the end)
            offs.append(pos + 16)
            lens.append(caplen)
            pos += 16 + caplen
        if error is None and not data and pos < n:
            missing = n - pos
            if missing < 16:
                error = CaptureError(name, number + len(offs) + 1,
                                     f"truncated record header ({missing} of 16 bytes)")
            else:
                caplen = caplen_at(buf, pos + 8)[0]
                error = CaptureError(name, number + len(offs) + 1,
                                     f"truncated record ({missing - 16} of {caplen} bytes)")
        yield _records(buf, offs, lens, number, order, unit, linktype, counts, as_tuples)
        number += len(offs)
        capture.number = number
        if error:
            raise error
        if not data:
            return
        buf = buf[pos:]


def _records(raw: bytes, offs: list[int], lens: list[int], number: int, order: str, unit: float, linktype: int,
             counts: Counts, as_tuples: bool) -> list[Any]:
    """The records at ``offs`` of one chunk, vectorized."""
    kind = LINKTYPES.get(linktype)
    count = len(offs)
    out: list[Any] = []
    if kind is None:
        counts.read += count
        if count:
            counts.skipped[f"unknown link type {linktype}"] = counts.skipped.get(
                f"unknown link type {linktype}", 0) + count
        return out
    if not count:
        return out
    b = np.concatenate([np.frombuffer(raw, dtype=np.uint8), np.zeros(_PAD, np.uint8)])
    start = np.array(offs, dtype=np.int64)
    end = start + np.array(lens, dtype=np.int64)
    word = np.dtype(order + "u4")
    # the timestamps (seconds, fraction) of every record header, gathered at once
    head = b[np.add.outer(start - 16, np.arange(8))]
    pair = np.ascontiguousarray(head).view(word).reshape(count, 2)
    ts = pair[:, 0].astype(np.float64) + pair[:, 1].astype(np.float64) * unit
    link = {"ethernet": 14, "linux_sll": 16, "linux_sll2": 20, "raw": 0, "ipv4": 0, "null": 4, "loop": 4}.get(kind)
    fast = np.zeros(count, dtype=bool)
    cut = fast
    if link is not None:
        # every gather below stays inside the padded chunk; a field read past its record's end is
        # garbage that `ok` masks (such records go through the per-packet parser)
        ip = start + link
        ok = np.ones(count, dtype=bool)
        if kind == "ethernet":
            ok &= _be16(b, start + 12) == 0x0800
        elif kind == "linux_sll":
            ok &= _be16(b, start + 14) == 0x0800
        elif kind == "linux_sll2":
            ok &= _be16(b, start) == 0x0800
        elif kind in ("null", "loop"):
            ok &= False  # family words of either byte order: leave them to the per-packet parser
        vihl = b[ip]
        ok &= (vihl >> 4) == 4
        ihl = (vihl & 0x0F).astype(np.int64) * 4
        total = _be16(b, ip + 2)
        ok &= (b[ip + 9] == 6) & ((_be16(b, ip + 6) & 0x3FFF) == 0) & (ihl >= 20) & ((total == 0) | (total >= ihl))
        ip_end = np.where(total > 0, ip + total, end)  # where the IP header says the datagram ends
        have = np.minimum(ip_end, end)                 # what the capture kept of it
        tcp = ip + ihl
        ok &= (ip_end - tcp >= 20) & (have - tcp >= 20)  # the fixed TCP header is there
        hlen = (b[tcp + 12] >> 4).astype(np.int64) * 4
        ok &= (hlen >= 20) & (tcp + hlen <= ip_end)
        fast = ok
        cut = have < ip_end
    idx = np.flatnonzero(fast)
    fields: dict[str, list[int]] = {}
    checks: list[bool] = []
    if len(idx):
        t = tcp[idx]
        e = ip_end[idx]
        h = have[idx]
        ipi = ip[idx]
        fields = {
            "src": _be32(b, ipi + 12).tolist(), "dst": _be32(b, ipi + 16).tolist(),
            "sport": _be16(b, t).tolist(), "dport": _be16(b, t + 2).tolist(),
            "seq": _be32(b, t + 4).tolist(), "ack": _be32(b, t + 8).tolist(),
            "flags": (b[t + 13] & 0x3F).astype(np.int64).tolist(), "window": _be16(b, t + 14).tolist(),
            "length": (e - t - hlen[idx]).tolist(),  # the IP header's count, also when the capture is cut
            "ip_len": (e - ipi).tolist(),
        }
        # TCP checksum: the segment's 16-bit words plus the pseudo-header, folded
        even = np.concatenate([b[0::2], np.zeros(1, np.uint8)])
        odd = np.concatenate([b[1::2], np.zeros(1, np.uint8)])
        s_even, e_even = (t + 1) // 2, (h + 1) // 2  # even absolute positions in [t, h)
        s_odd, e_odd = t // 2, h // 2                # odd absolute positions in [t, h)
        sum_even = np.add.reduceat(even, np.ravel(np.column_stack([s_even, e_even])), dtype=np.int64)[::2]
        sum_odd = np.add.reduceat(odd, np.ravel(np.column_stack([s_odd, e_odd])), dtype=np.int64)[::2]
        starts_even = (t % 2) == 0
        high = np.where(starts_even, sum_even, sum_odd)
        low = np.where(starts_even, sum_odd, sum_even)
        src, dst = _be32(b, ipi + 12), _be32(b, ipi + 16)
        total_sum = (high << 8) + low + (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + 6 + (e - t)
        for _ in range(4):
            total_sum = (total_sum & 0xFFFF) + (total_sum >> 16)
        cut_idx = cut[idx]
        counts.cut += int(cut_idx.sum())
        checks = ((total_sum == 0xFFFF) | cut_idx).tolist()  # a cut segment's checksum cannot be checked
        counts.bad_checksum += len(checks) - sum(checks)
    names: dict[int, str] = {}

    def addr(v: int) -> str:
        s = names.get(v)
        if s is None:
            s = names[v] = socket.inet_ntoa(v.to_bytes(4, "big"))
        return s

    fast_list = fast.tolist()
    ts_list = ts.tolist()
    srcs = [addr(v) for v in fields.get("src", [])]
    dsts = [addr(v) for v in fields.get("dst", [])]
    rows = iter(zip(srcs, fields.get("sport", []), dsts, fields.get("dport", []), fields.get("seq", []),
                    fields.get("ack", []), fields.get("flags", []), fields.get("window", []),
                    fields.get("length", []), checks, fields.get("ip_len", []), strict=True))
    mv = memoryview(raw)
    add = out.append
    counts.read += count
    for i in range(count):
        if fast_list[i]:
            row = (number + i + 1, ts_list[i], *next(rows))
            add(row if as_tuples else TcpPacket(*row))
            continue
        maybe = _parse(number + i + 1, ts_list[i], mv[offs[i]:offs[i] + lens[i]], kind, counts)
        if maybe is None:
            continue
        add((maybe.number, maybe.ts, maybe.src, maybe.sport, maybe.dst, maybe.dport, maybe.seq, maybe.ack,
             maybe.flags, maybe.window, maybe.length, maybe.checksum_ok, maybe.ip_len) if as_tuples else maybe)
    counts.tcp += len(out)
    return out
