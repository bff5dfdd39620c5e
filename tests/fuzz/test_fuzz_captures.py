"""Captures under fire: byte mutations, truncation at every offset, snaplen cuts, interface
mixes, Simple Packet Blocks (pcap and pcapng, plain and gzip'ed)."""

from __future__ import annotations

import gzip
import json
import struct
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tcpfsm.conformance import Counts, monitor, read_tcp
from tcpfsm.conformance._vectorparse import read_tcp_bulk

from ..hostile_helpers import (
    ETHERNET,
    NULL,
    RAW,
    SLL,
    SMALL,
    TRACES,
    accounted,
    block_offsets,
    cut_pcap,
    epb,
    findings,
    idb,
    ip_of,
    pcap_bytes,
    pcapng_of,
    records,
    relink,
    shb,
    spb,
    states,
)

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PROFILES = ("linux", "rfc9293")


@cache
def _full(capture: Path, profile: str) -> Any:
    return monitor(capture, profile=profile)


def _check_report(report: Any) -> None:
    """What holds of every report, damaged or not."""
    assert accounted(report), report.packets.to_dict()
    assert report.exit_code in (0, 1, 2)
    if report.error:
        assert report.exit_code == 2
        assert "packet" in report.error or "file header" in report.error, report.error
        assert "()" not in report.error and report.error.split(": ")[-1].strip(), report.error
    json.dumps(report.to_dict())


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_byte_mutations(tmp_path: Path, data: st.DataObject) -> None:
    src = data.draw(st.sampled_from(SMALL))
    kind = data.draw(st.sampled_from(["pcap", "pcapng", "pcapng-be", "gzip"]))
    raw = bytearray(src.read_bytes() if kind in ("pcap", "gzip") else pcapng_of(src, e=">" if kind == "pcapng-be"
                                                                                 else "<"))
    for _ in range(data.draw(st.integers(1, 6))):
        if not raw:
            break
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "zero", "ones", "dup"]))
        i = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[i] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[i:]
        elif op == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=16))
        elif op == "dup":
            j = data.draw(st.integers(i, min(len(raw), i + 64)))
            raw[j:j] = raw[i:j]
        else:
            raw[i:i + 4] = (b"\0" if op == "zero" else b"\xff") * 4
    out = tmp_path / "m.cap"
    out.write_bytes(gzip.compress(bytes(raw)) if kind == "gzip" else bytes(raw))
    report = monitor(out, profile=data.draw(st.sampled_from(PROFILES)))
    _check_report(report)
    if kind == "pcap":  # the bulk reader agrees with the per-packet one, damage and all
        slow, fast, errors = Counts(), Counts(), []
        for reader, counts in ((read_tcp, slow), (lambda p, c: read_tcp_bulk(p, c) or read_tcp(p, c), fast)):
            try:
                n = sum(1 for _ in reader(out, counts))
            except Exception as exc:  # CaptureError: compared below
                n, _ = -1, errors.append(str(exc))
            errors.append(str(n))
        assert slow.to_dict() == fast.to_dict() and errors[: len(errors) // 2] == errors[len(errors) // 2:]


def _record_ends(data: bytes) -> list[int]:
    ends, pos = [24], 24
    while pos + 16 <= len(data):
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
        ends.append(pos)
    return ends


def test_truncation_at_every_offset(tmp_path: Path) -> None:
    """Every cut of a small capture, classic and pcapng: the packets before the cut, and an error
    naming the next one unless the cut falls between records."""
    src = TRACES / "normal_close_client_v4.pcap"
    out = tmp_path / "cut"
    ng = pcapng_of(src)
    # (bytes, where the file may end, where each packet ends): pcap's header is 24 bytes; the
    # pcapng's first blocks are its section header (28 bytes) and interface (20)
    for data, bounds, ends in ((src.read_bytes(), _record_ends(src.read_bytes()), _record_ends(src.read_bytes())[1:]),
                               (ng, block_offsets(ng)[1:], block_offsets(ng)[3:])):
        for n in range(1, len(data)):
            out.write_bytes(data[:n])
            report = monitor(out)
            _check_report(report)
            complete = sum(1 for e in ends if e <= n)
            assert report.packets.read == complete, n
            assert (report.error is None) == (n in bounds), (n, report.error)
            if report.error and n > bounds[0]:
                assert f"packet {complete + 1}" in report.error, (n, report.error)


@settings(FUZZ, max_examples=80)
@given(capture=st.sampled_from(SMALL), snaplen=st.integers(1, 160), ng=st.booleans(),
       profile=st.sampled_from(PROFILES))
def test_snaplen_cuts(tmp_path: Path, capture: Path, snaplen: int, ng: bool, profile: str) -> None:
    out = tmp_path / "cut"
    if ng:
        recs = records(capture)
        out.write_bytes(shb() + idb(recs[0].linktype, snaplen=snaplen)
                        + b"".join(epb(0, r.ts, r.frame[:snaplen], wirelen=len(r.frame)) for r in recs))
    else:
        out.write_bytes(cut_pcap(capture, snaplen))
    full, cut = _full(capture, profile), monitor(out, profile=profile)
    _check_report(cut)
    assert cut.error is None
    assert findings(cut) <= findings(full)  # never a finding the full capture does not have
    if not cut.packets.skipped:
        assert states(cut) == states(full)
    else:  # these captures' headers are all alike: either every TCP header was captured or none
        assert cut.packets.used == 0 and len(cut.packets.skipped) == 1


LINKS = (ETHERNET, RAW, SLL, NULL)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_interface_mixes(tmp_path: Path, data: st.DataObject) -> None:
    a, b = data.draw(st.lists(st.sampled_from(SMALL), min_size=2, max_size=2, unique=True))
    assume(a.name.split(".")[0] != b.name.split(".")[0])  # two vantage points of one scenario share a 4-tuple
    sa, sb = states(_full(a, "linux")), states(_full(b, "linux"))
    assume(not set(sa) & set(sb))
    links = data.draw(st.lists(st.sampled_from(LINKS), min_size=2, max_size=2))
    order = data.draw(st.sampled_from(["<", ">"]))
    sections = data.draw(st.booleans())
    queues = [[(0, relink(ip_of(r), links[0]), r.ts) for r in records(a)],
              [(1, relink(ip_of(r), links[1]), r.ts) for r in records(b)]]
    body = []
    while queues[0] or queues[1]:
        q = queues[data.draw(st.integers(0, 1))] if queues[0] and queues[1] else (queues[0] or queues[1])
        body.append(q.pop(0))
    if sections:  # a's packets in one section, b's in a second one with its own interface 0
        blob = (shb(order) + idb(links[0], order) + b"".join(epb(0, ts, f, order) for i, f, ts in body if i == 0)
                + shb() + idb(links[1]) + b"".join(epb(0, ts, f) for i, f, ts in body if i == 1))
    else:
        blob = shb(order) + idb(links[0], order) + idb(links[1], order) + b"".join(
            epb(i, ts, f, order) for i, f, ts in body)
    out = tmp_path / "mix.pcapng"
    out.write_bytes(blob)
    report = monitor(out, profile="linux")
    _check_report(report)
    assert report.error is None and report.packets.skipped == {}
    assert states(report) == {**sa, **sb}


@settings(FUZZ, max_examples=30)
@given(capture=st.sampled_from(SMALL), data=st.data())
def test_simple_packet_blocks(tmp_path: Path, capture: Path, data: st.DataObject) -> None:
    recs = records(capture)
    as_spb = data.draw(st.lists(st.booleans(), min_size=len(recs), max_size=len(recs)))
    out = tmp_path / "spb.pcapng"
    out.write_bytes(shb() + idb(recs[0].linktype) + b"".join(spb(r.frame) if s else epb(0, r.ts, r.frame)
                                                             for r, s in zip(recs, as_spb, strict=True)))
    report = monitor(out, profile="linux")
    _check_report(report)
    assert report.packets.read == len(recs) and states(report) == states(_full(capture, "linux"))


@settings(FUZZ, max_examples=60)
@given(sizes=st.lists(st.integers(0, 70), min_size=1, max_size=12), data=st.data())
def test_tiny_and_odd_records_bulk_equals_per_packet(tmp_path: Path, sizes: list[int], data: st.DataObject) -> None:
    recs = records(TRACES / "normal_close_client_v4.pcap")
    rows = [(r.ts, r.frame, len(r.frame)) for r in recs]
    for size in sizes:
        at = data.draw(st.integers(0, len(rows)))
        rows.insert(at, (1.0, data.draw(st.binary(min_size=size, max_size=size)), size))
    out = tmp_path / "odd.pcap"
    out.write_bytes(pcap_bytes(rows, data.draw(st.sampled_from([ETHERNET, RAW, SLL, NULL]))))
    slow, fast = Counts(), Counts()
    a = [(p.number, p.length, p.checksum_ok) for p in read_tcp(out, slow)]
    b = [(p.number, p.length, p.checksum_ok) for p in read_tcp_bulk(out, fast) or []]
    assert a == b and slow.to_dict() == fast.to_dict() and slow.read == len(rows)
