"""The capture monitor: real Linux captures against ground truth, link types, accounting, damage."""

from __future__ import annotations

import collections
import json
import struct
from pathlib import Path

import dpkt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpfsm.cli import main
from tcpfsm.conformance import monitor

from .conformance_helpers import TRACES, ground_truth_cases, states_by_endpoint


@pytest.mark.parametrize("case", ground_truth_cases(), ids=lambda c: f"{c[1]}:{c[2]}")
def test_linux_profile_matches_ground_truth(case: tuple[Path, str, str, list[dict]]) -> None:
    pcap, _name, _vantage, endpoints = case
    report = monitor(pcap, profile="linux")
    got = states_by_endpoint(report)
    for e in endpoints:
        assert got[(e["local"][0], e["local"][1])] == e["observed"], e["role"]
    assert report.error is None
    assert not [f for c in report.connections for f in c.findings]
    k = report.packets
    assert k.read == k.used + sum(k.skipped.values())


@pytest.mark.parametrize("case", ground_truth_cases(), ids=lambda c: f"{c[1]}:{c[2]}")
def test_rfc9293_flags_only_what_breaks_it(case: tuple[Path, str, str, list[dict]]) -> None:
    pcap, name, _vantage, _endpoints = case
    report = monitor(pcap, profile="rfc9293")
    findings = [f for c in report.connections for f in c.findings]
    if name == "close_with_unread_data_v4":
        assert len(findings) == 1
        f = findings[0]
        assert f.transition == "U9" and f.rfc == "3.10.4" and f.packet == 6
        assert "unread" in f.what
    else:
        assert findings == []


def test_bulk_mixed_counts() -> None:
    summary = json.loads((TRACES / "bulk_mixed.summary.json").read_text())
    report = monitor(TRACES / "bulk_mixed.pcap", profile="linux")
    assert len(report.connections) == summary["connections_total"] == 2000
    states = collections.Counter(c.conn_state for c in report.connections)
    per = summary["counts_per_type"]
    assert states == {"SF": per["normal_close_client"] + per["normal_close_server"] + per["half_close"],
                      "RSTO": per["abortive_close_linger0"], "RSTR": per["close_with_unread_data"],
                      "REJ": per["connection_refused"]}
    k = report.packets
    assert k.read == 17600 == k.used + sum(k.skipped.values())
    assert k.bad_checksum == summary["tshark"]["tcp_checksum_status"]["bad"]


def _rewrite(src: Path, dst: Path, linktype: int, wrap) -> None:  # type: ignore[no-untyped-def]
    """Re-encapsulate a capture's IP packets under another link type."""
    with open(src, "rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        packets = [(ts, bytes(buf)) for ts, buf in reader]
        src_link = reader.datalink()
    with open(dst, "wb") as out:
        writer = dpkt.pcap.Writer(out, linktype=linktype)
        for ts, buf in packets:
            ip = buf[14:] if src_link == 1 else buf
            writer.writepkt(wrap(ip), ts=ts)


LINKS = {
    "raw": (101, lambda ip: ip),
    "sll": (113, lambda ip: struct.pack("!HHH8sH", 0, 772, 6, b"\0" * 8, 0x0800 if ip[0] >> 4 == 4 else 0x86DD) + ip),
    "sll2": (276, lambda ip: struct.pack("!HHIHBB8s", 0x0800 if ip[0] >> 4 == 4 else 0x86DD, 0, 1, 772, 0, 6,
                                         b"\0" * 8) + ip),
    "null": (0, lambda ip: struct.pack("<I", 2 if ip[0] >> 4 == 4 else 30) + ip),
}


@pytest.mark.parametrize("link", list(LINKS))
@pytest.mark.parametrize("capture", ["normal_close_client_v4", "normal_close_client_v6"])
def test_link_types_give_the_same_answer(tmp_path: Path, link: str, capture: str) -> None:
    linktype, wrap = LINKS[link]
    out = tmp_path / f"{capture}.{link}.pcap"
    _rewrite(TRACES / f"{capture}.pcap", out, linktype, wrap)
    a, b = monitor(TRACES / f"{capture}.pcap", profile="linux"), monitor(out, profile="linux")
    assert states_by_endpoint(a) == states_by_endpoint(b)
    assert b.packets.used == a.packets.used


def test_pcapng(tmp_path: Path) -> None:
    out = tmp_path / "c.pcapng"
    with open(TRACES / "half_close_v4.pcap", "rb") as fh, open(out, "wb") as dst:
        writer = dpkt.pcapng.Writer(dst, linktype=1)
        for ts, buf in dpkt.pcap.Reader(fh):
            writer.writepkt(buf, ts=ts)
    assert states_by_endpoint(monitor(out, profile="linux")) == states_by_endpoint(
        monitor(TRACES / "half_close_v4.pcap", profile="linux"))


def test_unknown_link_type_is_counted_not_raised(tmp_path: Path) -> None:
    out = tmp_path / "odd.pcap"
    _rewrite(TRACES / "normal_close_client_v4.pcap", out, 147, lambda ip: ip)  # DLT_USER0
    report = monitor(out)
    assert report.packets.read == 11 and report.packets.skipped == {"unknown link type 147": 11}
    assert report.connections == []


def test_tuple_reused_after_time_wait_is_a_new_connection(tmp_path: Path) -> None:
    out = tmp_path / "twice.pcap"
    with open(TRACES / "normal_close_client_v4.pcap", "rb") as fh:
        packets = [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(fh)]
    with open(out, "wb") as dst:
        w = dpkt.pcap.Writer(dst, linktype=1)
        for ts, buf in packets:
            w.writepkt(buf, ts=ts)
        for ts, buf in packets:  # the same 4-tuple again, later, with the same numbers
            w.writepkt(buf, ts=ts + 100)
    report = monitor(out, profile="linux")
    assert [c.conn_state for c in report.connections] == ["SF", "SF"]
    assert [c.first_packet for c in report.connections] == [1, 12]


def test_mid_stream_start(tmp_path: Path) -> None:
    out = tmp_path / "mid.pcap"
    with open(TRACES / "half_close_v4.pcap", "rb") as fh:
        packets = [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(fh)][3:]  # no handshake
    with open(out, "wb") as dst:
        w = dpkt.pcap.Writer(dst, linktype=1)
        for ts, buf in packets:
            w.writepkt(buf, ts=ts)
    report = monitor(out, profile="linux")
    [conn] = report.connections
    assert conn.midstream and conn.conn_state == "OTH"
    ends = [e["states"] for e in conn.to_dict()["endpoints"]]
    assert ends[0] == ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
    assert ends[1] == ["ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]


def test_truncated_capture_gives_partial_results_and_the_packet_number(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = (TRACES / "half_close_v4.pcap").read_bytes()
    out = tmp_path / "cut.pcap"
    out.write_bytes(data[: len(data) - 30])
    report = monitor(out, profile="linux")
    assert report.error and "packet 14" in report.error
    assert report.packets.read == 13 and len(report.connections) == 1
    assert main(["monitor", str(out), "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["packets"]["read"] == 13
    assert "packet 14" in captured.err and "partial" in captured.err


def test_not_a_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_text("hello")
    assert main(["monitor", str(junk)]) == 2
    assert "not a pcap or pcapng file" in capsys.readouterr().err
    assert main(["monitor", str(tmp_path / "missing.pcap")]) == 2


CAPTURES = sorted(TRACES.glob("*.pcap"))
SMALL = [p for p in CAPTURES if "bulk" not in p.name]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_captures_never_traceback(tmp_path: Path, data: st.DataObject) -> None:
    src = data.draw(st.sampled_from(SMALL))
    raw = bytearray(src.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "zero"]))
        i = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[i] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[i:]
        elif op == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=16))
        else:
            raw[i:i + 4] = b"\0\0\0\0"
        if not raw:
            break
    out = tmp_path / "m.pcap"
    out.write_bytes(bytes(raw))
    report = monitor(out, profile=data.draw(st.sampled_from(["linux", "rfc9293"])))
    k = report.packets
    assert k.read == k.used + sum(k.skipped.values())
    json.dumps(report.to_dict())


def test_connection_view_and_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "c.dot"
    code = main(["monitor", str(TRACES / "simultaneous_close.at_a.pcap"), "-p", "linux", "--connection", "1",
                 "--chart", str(chart)])
    assert code == 0
    out = capsys.readouterr().out
    assert "#1 " in out and "FIN-WAIT-1 > CLOSING > TIME-WAIT" in out
    assert "FIN,ACK" in chart.read_text()


def test_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", str(TRACES / "connection_refused_v4.pcap"), "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("id,orig,resp,conn_state") and ",REJ," in lines[1]


@pytest.mark.parametrize("profile", ["linux", "rfc9293"])
def test_fast_path_gives_exactly_the_plain_monitors_answers(profile: str) -> None:
    """The memo trie is an optimization: every capture, every field, identical."""
    for pcap in CAPTURES:
        fast, plain = monitor(pcap, profile=profile), monitor(pcap, profile=profile, fast=False)
        assert [c.to_dict() for c in fast.connections] == [c.to_dict() for c in plain.connections], pcap.name
        assert fast.packets.to_dict() == plain.packets.to_dict()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bulk_parser_equals_the_per_packet_parser(tmp_path: Path, data: st.DataObject) -> None:
    """Same packets, fields, checksums, counts and errors, on real and on damaged captures."""
    from tcpfsm.conformance._packets import CaptureError, Counts, read_tcp
    from tcpfsm.conformance._vectorparse import read_tcp_bulk

    src = data.draw(st.sampled_from(CAPTURES))
    raw = bytearray(src.read_bytes())
    for _ in range(data.draw(st.integers(0, 3))):
        if len(raw) <= 25:
            break
        i = data.draw(st.integers(24, len(raw) - 1))
        if data.draw(st.booleans()):
            raw[i] ^= data.draw(st.integers(1, 255))
        else:
            del raw[i:]
    out = tmp_path / "p.pcap"
    out.write_bytes(bytes(raw))

    def collect(reader):  # type: ignore[no-untyped-def]
        counts = Counts()
        got, err = [], None
        try:
            for p in reader(out, counts):
                got.append(p)
        except CaptureError as exc:
            err = str(exc)
        return got, counts.to_dict(), err

    slow = collect(read_tcp)
    fast = collect(lambda path, counts: read_tcp_bulk(path, counts) or read_tcp(path, counts))
    assert fast[1] == slow[1] and fast[2] == slow[2]
    assert [(p.number, p.src, p.sport, p.dst, p.dport, p.seq, p.ack, p.flags, p.window, p.length, p.checksum_ok)
            for p in fast[0]] == [(p.number, p.src, p.sport, p.dst, p.dport, p.seq, p.ack, p.flags, p.window,
                                   p.length, p.checksum_ok) for p in slow[0]]


@pytest.mark.parametrize("capture, drop", [("half_close_v4", 7), ("normal_close_client_v4", 4),
                                           ("normal_close_server_v4", 6)])
def test_capture_loss_is_tolerated(tmp_path: Path, capture: str, drop: int) -> None:
    """A data segment missing from the capture: same states, no findings, a gap in the history."""
    out = tmp_path / "lossy.pcap"
    with open(TRACES / f"{capture}.pcap", "rb") as fh:
        packets = [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(fh)]
    with open(out, "wb") as dst:
        w = dpkt.pcap.Writer(dst, linktype=1)
        for i, (ts, buf) in enumerate(packets, 1):
            if i != drop:
                w.writepkt(buf, ts=ts)
    full, lossy = monitor(TRACES / f"{capture}.pcap", profile="linux"), monitor(out, profile="linux")
    assert states_by_endpoint(lossy) == states_by_endpoint(full)
    assert not [f for c in lossy.connections for f in c.findings]
    assert "g" in lossy.connections[0].history.lower()
