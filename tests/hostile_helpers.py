"""Builders for hostile captures: snaplen cuts, pcapng with several interfaces and sections, SPBs.

Written from the formats' own documents (pcap: the tcpdump file format; pcapng: RFC draft
draft-ietf-opsawg-pcapng), not from the reader under test: the records are read with dpkt
and written here with ``struct``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dpkt

ROOT = Path(__file__).resolve().parent.parent
TRACES = ROOT / "tests" / "data" / "traces"
CAPTURES = sorted(TRACES.glob("*.pcap"))
SMALL = [p for p in CAPTURES if "bulk" not in p.name]

ETHERNET, RAW, SLL, NULL = 1, 101, 113, 0


@dataclass(frozen=True)
class Record:
    ts: float
    frame: bytes
    linktype: int


def records(path: Path) -> list[Record]:
    """The records of a classic pcap file, read with dpkt (the reference reader)."""
    with open(path, "rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        link = reader.datalink()
        return [Record(ts, bytes(buf), link) for ts, buf in reader]


def ip_of(rec: Record) -> bytes:
    """The IP datagram of a record (Ethernet or raw IP captures)."""
    return rec.frame[14:] if rec.linktype == ETHERNET else rec.frame


def relink(ip: bytes, linktype: int) -> bytes:
    """An IP datagram under another link layer."""
    v6 = ip[0] >> 4 == 6
    if linktype == ETHERNET:
        return b"\0" * 12 + struct.pack("!H", 0x86DD if v6 else 0x0800) + ip
    if linktype == SLL:
        return struct.pack("!HHH8sH", 0, 772, 6, b"\0" * 8, 0x86DD if v6 else 0x0800) + ip
    if linktype == NULL:
        return struct.pack("<I", 30 if v6 else 2) + ip
    return ip


def pcap_bytes(recs: list[tuple[float, bytes, int]], linktype: int, *, snaplen: int = 262144,
               big_endian: bool = False) -> bytes:
    """Classic pcap: (ts, captured bytes, original length) per record."""
    e = ">" if big_endian else "<"
    out = [struct.pack(e + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)]
    for ts, data, wirelen in recs:
        sec = int(ts)
        out.append(struct.pack(e + "IIII", sec, round((ts - sec) * 1e6), len(data), wirelen) + data)
    return b"".join(out)


def cut_pcap(path: Path, snaplen: int) -> bytes:
    """What ``editcap -F pcap -s SNAPLEN`` writes: every record cut to SNAPLEN bytes, the
    original length kept (cross-checked against editcap by hand)."""
    recs = records(path)
    return pcap_bytes([(r.ts, r.frame[:snaplen], len(r.frame)) for r in recs], recs[0].linktype if recs else 1,
                      snaplen=snaplen)


# ------------------------------------------------------------------ pcapng

def _pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def block(btype: int, body: bytes, e: str = "<") -> bytes:
    body = _pad(body)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def shb(e: str = "<") -> bytes:
    return block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1), e)


def idb(linktype: int, e: str = "<", *, snaplen: int = 0, tsresol: int | None = None) -> bytes:
    opts = b""
    if tsresol is not None:
        opts = struct.pack(e + "HH", 9, 1) + bytes([tsresol]) + b"\0\0\0" + struct.pack(e + "HH", 0, 0)
    return block(1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts, e)


def epb(iface: int, ts: float, data: bytes, e: str = "<", *, wirelen: int | None = None,
        units: float = 1e6) -> bytes:
    t = round(ts * units)
    return block(6, struct.pack(e + "IIIII", iface, t >> 32, t & 0xFFFFFFFF, len(data),
                                len(data) if wirelen is None else wirelen) + data, e)


def spb(data: bytes, e: str = "<", *, wirelen: int | None = None) -> bytes:
    return block(3, struct.pack(e + "I", len(data) if wirelen is None else wirelen) + data, e)


def pcapng_of(path: Path, *, e: str = "<") -> bytes:
    """A classic capture as a one-interface pcapng."""
    recs = records(path)
    out = [shb(e), idb(recs[0].linktype if recs else 1, e)]
    out += [epb(0, r.ts, r.frame, e) for r in recs]
    return b"".join(out)


def block_offsets(data: bytes) -> list[int]:
    """Where each pcapng block starts (little-endian sections), and the end."""
    offs, pos = [], 0
    while pos < len(data):
        offs.append(pos)
        pos += struct.unpack_from("<I", data, pos + 4)[0]
    return [*offs, len(data)]


def states(report: Any) -> dict[tuple[str, int], list[str]]:
    got = {}
    for conn in report.connections:
        for e in conn.to_dict()["endpoints"]:
            got[(e["addr"], e["port"])] = e["states"]
    return got


def findings(report: Any) -> set[tuple[int, str, str]]:
    return {(f.packet, f.endpoint, f.what) for c in report.connections for f in c.findings}


def accounted(report: Any) -> bool:
    k = report.packets
    return bool(k.read == k.used + sum(k.skipped.values()) and k.used == k.tcp)
