"""The streaming monitor's public API: tcpfsm.Monitor, feed/states/findings/summary, the adapters.

Expected states come from the captures' ground truth (what the Linux kernel's sockets went
through, tests/data/traces/*.json) or from RFC 9293 (Figure 5, §3.5, §3.6, §3.10.7.4) where
a test says so; tests that compare two tcpfsm paths (the streaming monitor against
``tcpfsm monitor``) say that they check equivalence, not correctness.
"""

from __future__ import annotations

import doctest
import json
import socket
import struct
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dpkt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tcpfsm
import tcpfsm.conformance
from tcpfsm.cli import main
from tcpfsm.conformance import ConnectionStates, Finding, Monitor, SkippedPacket, TcpPacket, from_dpkt, from_scapy

from .conformance_helpers import TRACES, ground_truth_cases

CAPTURES = sorted(p for p in TRACES.glob("*.pcap") if p.read_bytes()[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"))


# ---------------------------------------------------------------- (a) the acceptance script
def feed_capture(pcap: Path, profile: str) -> tcpfsm.Monitor:
    """The acceptance script: tcpfsm.Monitor.feed and dpkt, nothing else."""
    mon = tcpfsm.Monitor(profile=profile)
    with open(pcap, "rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        for ts, frame in reader:
            mon.feed(frame, linktype=reader.datalink(), ts=ts)
    return mon


def by_endpoint(states: list[ConnectionStates]) -> dict[tuple[str, int], list[list[str]]]:
    out: dict[tuple[str, int], list[list[str]]] = {}
    for c in states:
        a, ap, b, bp = c.four_tuple
        out.setdefault((a, ap), []).append(list(c.originator))
        out.setdefault((b, bp), []).append(list(c.responder))
    return out


def cli_json(pcap: Path, profile: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["monitor", str(pcap), "--profile", profile, "--json"]) in (0, 1)
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def cli_by_endpoint(data: dict[str, Any]) -> dict[tuple[str, int], list[list[str]]]:
    out: dict[tuple[str, int], list[list[str]]] = {}
    for conn in data["connections"]:
        for e in conn["endpoints"]:
            out.setdefault((e["addr"], e["port"]), []).append(e["states"])
    return out


def test_the_captures_are_classic_pcap_with_their_link_types() -> None:
    assert len(CAPTURES) == len(list(TRACES.glob("*.pcap"))) == 14
    for pcap in CAPTURES:
        with open(pcap, "rb") as fh:
            link = dpkt.pcap.Reader(fh).datalink()
        assert link == (101 if ".at_" in pcap.name else 1), pcap.name  # RAW at the relay, else Ethernet


@pytest.mark.parametrize("profile", ["linux", "rfc9293"])
@pytest.mark.parametrize("pcap", CAPTURES, ids=lambda p: p.name)
def test_feed_gives_what_tcpfsm_monitor_gives(pcap: Path, profile: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Equivalence of two tcpfsm paths: Monitor.feed frame by frame against `tcpfsm monitor --json`
    (its bulk reader and memo trie): every endpoint's states, every connection, every count."""
    mon = feed_capture(pcap, profile)
    data = cli_json(pcap, profile, capsys)
    assert by_endpoint(mon.states()) == cli_by_endpoint(data)
    summary = mon.summary()
    assert summary["connections"] == data["connections"]
    assert summary["packets"] == data["packets"] and summary["profile"] == data["profile"] == profile
    assert [f.to_dict() for f in mon.findings()] == [f for c in data["connections"] for f in c["findings"]]


@pytest.mark.parametrize("case", ground_truth_cases(), ids=lambda c: f"{c[1]}:{c[2]}")
def test_feed_matches_the_ground_truth(case: tuple[Path, str, str, list[dict[str, Any]]]) -> None:
    """Correctness: the states the kernel's sockets went through (ground truth JSON)."""
    pcap, _name, _vantage, endpoints = case
    mon = feed_capture(pcap, "linux")
    got = by_endpoint(mon.states())
    for e in endpoints:
        assert got[(e["local"][0], e["local"][1])] == [e["observed"]], e["role"]
    assert mon.findings() == []
    k = mon.summary()["packets"]
    assert k["read"] == k["used"] + sum(k["skipped"].values())


def test_feed_matches_the_ground_truth_of_2000_connections() -> None:
    """Correctness on bulk_mixed.pcap: every connection's client and server states are those
    its kind's sockets go through (bulk_mixed.summary.json, rfc_expected_per_type)."""
    truth = json.loads((TRACES / "bulk_mixed.summary.json").read_text())
    mon = feed_capture(TRACES / "bulk_mixed.pcap", "linux")
    got = {(c.four_tuple[1], c.four_tuple[3]): c for c in mon.states()}
    assert len(got) == truth["connections_total"] == 2000
    for client, server, kind in truth["connections"]:
        want = truth["rfc_expected_per_type"][kind]
        conn = got[(client, server)]
        assert list(conn.originator) == want["client"], kind
        if "server" in want:
            assert list(conn.responder) == want["server"], kind


@pytest.mark.parametrize("pcap", CAPTURES, ids=lambda p: p.name)
def test_from_dpkt_gives_what_raw_frames_give(pcap: Path) -> None:
    """Equivalence of two tcpfsm paths: dpkt's parsed packets through from_dpkt against the
    frames through the monitor's own parser (states, findings, counts, bad checksums)."""
    mon = Monitor(profile="linux")
    with open(pcap, "rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        for ts, frame in reader:
            pkt = dpkt.ethernet.Ethernet(frame) if reader.datalink() == 1 else dpkt.ip.IP(frame)
            mon.feed(from_dpkt(pkt, ts=ts))
    assert mon.summary() == feed_capture(pcap, "linux").summary()


def test_asking_does_not_move_the_monitor() -> None:
    """states(), findings() and summary() work on copies: asking after every packet changes
    nothing (equivalence with a monitor never asked)."""
    for pcap in CAPTURES:
        if "bulk" in pcap.name:
            continue
        mon = Monitor(profile="rfc9293")
        with open(pcap, "rb") as fh:
            reader = dpkt.pcap.Reader(fh)
            for ts, frame in reader:
                mon.feed(frame, linktype=reader.datalink(), ts=ts)
                mon.states()
                mon.findings()
        assert mon.summary() == feed_capture(pcap, "rfc9293").summary(), pcap.name


@pytest.mark.parametrize("fast", [True, False])
def test_the_memo_and_the_plain_engine_answer_alike_while_streaming(fast: bool) -> None:
    """Equivalence of two tcpfsm paths: the memo trie (fast) and the plain engine, asked after
    every packet of every capture."""
    for pcap in CAPTURES:
        if "bulk" in pcap.name:
            continue
        fast_mon, plain = Monitor(profile="linux"), Monitor(profile="linux", fast=False)
        with open(pcap, "rb") as fh:
            reader = dpkt.pcap.Reader(fh)
            for ts, frame in reader:
                for m in (fast_mon, plain):
                    m.feed(frame, linktype=reader.datalink(), ts=ts)
                if fast:
                    assert fast_mon.states() == plain.states(), pcap.name
        assert fast_mon.summary() == plain.summary()


# ---------------------------------------------------------------- (b) raw bytes with a link type
C, S = ("10.0.0.1", 40000), ("10.0.0.2", 80)
C6, S6 = ("2001:db8::1", 40000), ("2001:db8::2", 80)
# RFC 9293 Figure 5 (§3.3.2), the client closing first (§3.6)
CLIENT = ("CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT")
SERVER = ("LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED")
F = {"S": dpkt.tcp.TH_SYN, "A": dpkt.tcp.TH_ACK, "F": dpkt.tcp.TH_FIN, "R": dpkt.tcp.TH_RST, "P": dpkt.tcp.TH_PUSH}


def ip_packet(src: tuple[str, int], dst: tuple[str, int], flags: str, seq: int, ack: int = 0,
              data: bytes = b"") -> bytes:
    """An IPv4 or IPv6 packet with a TCP segment, checksums computed (by dpkt)."""
    tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seq, ack=ack, win=65535, data=data,
                       flags=sum(F[c] for c in flags))
    if ":" in src[0]:
        ip6 = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, src[0]), dst=socket.inet_pton(socket.AF_INET6, dst[0]),
                           nxt=6, hlim=64, data=tcp)
        ip6.plen = len(bytes(tcp))
        return bytes(ip6)
    ip = dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]), p=6, data=tcp)
    ip.len = 20 + len(bytes(tcp))
    return bytes(ip)


def exchange(c: tuple[str, int] = C, s: tuple[str, int] = S) -> list[bytes]:
    """Handshake, a request and its answer, the client closes first: IP packets."""
    x, y = 1000, 5000
    return [ip_packet(c, s, "S", x), ip_packet(s, c, "SA", y, x + 1), ip_packet(c, s, "A", x + 1, y + 1),
            ip_packet(c, s, "PA", x + 1, y + 1, b"GET /\r\n"), ip_packet(s, c, "PA", y + 1, x + 8, b"200 OK\r\n"),
            ip_packet(c, s, "FA", x + 8, y + 9), ip_packet(s, c, "A", y + 9, x + 9),
            ip_packet(s, c, "FA", y + 9, x + 9), ip_packet(c, s, "A", x + 9, y + 10)]


def _ethertype(ip: bytes) -> int:
    return 0x0800 if ip[0] >> 4 == 4 else 0x86DD


LINKS: dict[str, tuple[int | str, Any]] = {
    "ethernet": (1, lambda ip: b"\0" * 12 + struct.pack("!H", _ethertype(ip)) + ip),
    "ethernet by name": ("ethernet", lambda ip: b"\0" * 12 + struct.pack("!H", _ethertype(ip)) + ip),
    "802.1Q": (1, lambda ip: b"\0" * 12 + struct.pack("!HHH", 0x8100, 7, _ethertype(ip)) + ip),
    "raw": (101, lambda ip: ip),
    "raw by name": ("raw", lambda ip: ip),
    "linux_sll": (113, lambda ip: struct.pack("!HHH8sH", 0, 772, 6, b"\0" * 8, _ethertype(ip)) + ip),
    "linux_sll2": (276, lambda ip: struct.pack("!HHIHBB8s", _ethertype(ip), 0, 1, 772, 0, 6, b"\0" * 8) + ip),
    "null": (0, lambda ip: struct.pack("<I", 2 if ip[0] >> 4 == 4 else 30) + ip),
    "loop": (108, lambda ip: struct.pack("!I", 2 if ip[0] >> 4 == 4 else 30) + ip),
}


@pytest.mark.parametrize("ends", [(C, S), (C6, S6)], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("link", list(LINKS))
def test_feed_raw_bytes_with_a_link_type(link: str, ends: tuple[tuple[str, int], tuple[str, int]]) -> None:
    """Correctness: RFC 9293's client and server paths, whatever the link layer."""
    linktype, wrap = LINKS[link]
    mon = Monitor()
    for i, ip in enumerate(exchange(*ends)):
        mon.feed(wrap(ip), linktype=linktype, ts=100.0 + i)
    [conn] = mon.states()
    assert conn.four_tuple == (*ends[0], *ends[1])
    assert (conn.originator, conn.responder) == (CLIENT, SERVER)
    assert mon.findings() == []
    k = mon.summary()["packets"]
    assert k == {"read": 9, "tcp": 9, "used": 9, "skipped": {}, "bad_checksum": 0}


def test_every_kind_of_record_gives_the_same_answer() -> None:
    """TcpPacket, a mapping, an object, flags as text: the same connection as the raw bytes."""
    counts = tcpfsm.conformance.Counts()
    from tcpfsm.conformance._packets import _parse

    packets = [_parse(0, 0.0, memoryview(ip), "raw", counts) for ip in exchange()]
    assert all(isinstance(p, TcpPacket) for p in packets)
    fields = ("src", "sport", "dst", "dport", "seq", "ack", "flags", "window", "length")
    shapes = {
        "TcpPacket": list(packets),
        "mapping": [{f: getattr(p, f) for f in fields} for p in packets],
        "object": [SimpleNamespace(**{f: getattr(p, f) for f in fields}) for p in packets],
        "flags as text": [dict({f: getattr(p, f) for f in fields}, flags=str(tcpfsm.Flags(p.flags)))
                          for p in packets],
    }
    for name, records in shapes.items():
        mon = Monitor()
        for r in records:
            mon.feed(r)
        [conn] = mon.states()
        assert (conn.originator, conn.responder) == (CLIENT, SERVER), name
        assert mon.summary()["packets"]["used"] == 9


def test_feed_refuses_misuse_without_counting_it() -> None:
    mon = Monitor()
    with pytest.raises(TypeError, match="linktype"):
        mon.feed(exchange()[0])
    with pytest.raises(ValueError, match="unknown link type 'token-ring'"):
        mon.feed(exchange()[0], linktype="token-ring")
    with pytest.raises(TypeError, match="no window, length"):
        mon.feed({"src": "a", "sport": 1, "dst": "b", "dport": 2, "seq": 0, "ack": 0, "flags": 2})
    with pytest.raises(TypeError, match="already parsed"):
        mon.feed(SkippedPacket("not IP"), linktype=1)
    with pytest.raises(ValueError, match="not a TCP header"):
        mon.feed({"src": "a", "sport": 70000, "dst": "b", "dport": 2, "seq": 0, "ack": 0, "flags": 2, "window": 0,
                  "length": 0})
    assert mon.summary()["packets"]["read"] == 0
    mon.feed(b"\0" * 40, linktype=147)  # DLT_USER0: read, and skipped with the reason
    mon.feed(SkippedPacket("not IP"))
    assert mon.summary()["packets"] == {"read": 2, "tcp": 0, "used": 0, "bad_checksum": 0,
                                        "skipped": {"not IP": 1, "unknown link type 147": 1}}


def test_the_spec_is_chosen_by_resolve_spec(tmp_path: Path) -> None:
    assert Monitor().profile == "rfc9293" and Monitor(profile="linux").profile == "linux"
    spec = tcpfsm.load_spec(profile="rfc793")
    assert Monitor(spec).spec is spec
    assert Monitor(tcpfsm.spec.profile_path("rfc1337")).profile == "rfc1337"
    with pytest.raises(tcpfsm.SpecError):
        Monitor(spec, profile="linux")


# ---------------------------------------------------------------- (c) the "unconfirmed" flags
# After each packet of normal_close_client_v4.pcap (C = client 41010, S = server 42010): each
# end's latest state and whether it is unconfirmed. The rule (ConnectionStates): a segment seen
# going to an end counts for its state only as if the capture ended now, until that end
# acknowledges it; its own segments confirm its own moves. The states follow RFC 9293 Figure 5.
NORMAL_CLOSE = [
    # packet: (client's latest, unconfirmed), (server's latest, unconfirmed)
    ("C>S SYN", ("SYN-SENT", False), (None, False)),              # its own SYN; the server not heard from
    ("S>C SYN,ACK", ("ESTABLISHED", True), ("SYN-RECEIVED", False)),  # the SYN,ACK may not have arrived
    ("C>S ACK", ("ESTABLISHED", False), ("ESTABLISHED", True)),   # the client's ACK covers the SYN,ACK
    ("C>S data", ("ESTABLISHED", False), ("ESTABLISHED", True)),
    ("S>C ACK", ("ESTABLISHED", False), ("ESTABLISHED", False)),  # the server acknowledges ACK and data
    ("S>C data", ("ESTABLISHED", False), ("ESTABLISHED", False)),  # data moves no state
    ("C>S ACK", ("ESTABLISHED", False), ("ESTABLISHED", False)),
    ("C>S FIN", ("FIN-WAIT-1", False), ("CLOSE-WAIT", True)),     # §3.10.4 CLOSE; §3.10.7.4 eighth: FIN
    ("S>C ACK", ("FIN-WAIT-2", True), ("CLOSE-WAIT", False)),     # the server's ACK covers the FIN
    ("S>C FIN", ("TIME-WAIT", True), ("LAST-ACK", False)),
    ("C>S ACK", ("TIME-WAIT", False), ("CLOSED", True)),          # nothing from the server ever again
]


def test_unconfirmed_follows_the_wire_packet_by_packet() -> None:
    mon = Monitor(profile="linux")
    with open(TRACES / "normal_close_client_v4.pcap", "rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        for (ts, frame), (what, client, server) in zip(reader, NORMAL_CLOSE, strict=True):
            mon.feed(frame, linktype=reader.datalink(), ts=ts)
            [conn] = mon.states()
            got_client = (conn.originator[-1] if conn.originator else None, conn.originator_unconfirmed)
            got_server = (conn.responder[-1] if conn.responder else None, conn.responder_unconfirmed)
            assert (got_client, got_server) == (client, server), what
    assert (conn.originator, conn.responder) == (CLIENT, SERVER)


@pytest.mark.parametrize("capture, client, server", [
    # §3.10.7.4 second check: an RST in a synchronized state → CLOSED; the reset end cannot confirm it
    ("abortive_close_linger0_v4", False, True),
    # §3.10.7.3: an acceptable RST,ACK in SYN-SENT → CLOSED; the refusing side sent it: its own
    ("connection_refused_v4", True, False),
])
def test_an_rst_leaves_its_receiver_unconfirmed(capture: str, client: bool, server: bool) -> None:
    mon = feed_capture(TRACES / f"{capture}.pcap", "linux")
    [conn] = mon.states()
    assert conn.originator[-1] == conn.responder[-1] == "CLOSED"
    assert (conn.originator_unconfirmed, conn.responder_unconfirmed) == (client, server)


def test_states_are_frozen_records() -> None:
    [conn] = feed_capture(TRACES / "half_close_v4.pcap", "linux").states()
    with pytest.raises(AttributeError):
        conn.originator = ()  # type: ignore[misc]
    assert hash(conn) == hash(ConnectionStates(conn.id, conn.four_tuple, conn.originator, conn.responder,
                                               conn.originator_unconfirmed, conn.responder_unconfirmed))


def test_findings_name_the_rule_the_rfc_and_the_connection() -> None:
    """RFC 9293 §3.10.4: CLOSE sends a FIN; the Linux server resets instead (unread data)."""
    mon = feed_capture(TRACES / "close_with_unread_data_v4.pcap", "rfc9293")
    [f] = mon.findings()
    assert isinstance(f, Finding)
    assert (f.connection, f.packet, f.transition, f.rfc, f.unconfirmed) == (1, 6, "U9", "3.10.4", False)
    assert "unread" in f.what
    assert feed_capture(TRACES / "close_with_unread_data_v4.pcap", "linux").findings() == []


# ---------------------------------------------------------------- (d) garbage is counted, never raised
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([0, 1, 12, 14, 101, 108, 113, 147, 228, 229, 276]),
                          st.binary(max_size=80)), max_size=25),
       st.lists(st.fixed_dictionaries({
           "src": st.sampled_from(["10.0.0.1", "10.0.0.2"]), "sport": st.sampled_from([1, 2]),
           "dst": st.sampled_from(["10.0.0.1", "10.0.0.2"]), "dport": st.sampled_from([1, 2]),
           "seq": st.integers(0, 2**32 - 1), "ack": st.integers(0, 2**32 - 1), "flags": st.integers(0, 0x3F),
           "window": st.integers(0, 65535), "length": st.integers(0, 3000)}), max_size=25),
       st.booleans())
def test_garbage_is_counted_as_read_and_skipped(frames: list[tuple[int, bytes]], headers: list[dict[str, Any]],
                                                fast: bool) -> None:
    mon = Monitor(profile="linux", fast=fast)
    for (linktype, frame), ip in zip(frames, exchange() * 3, strict=False):
        mon.feed(frame, linktype=linktype)
        mon.feed(ip, linktype="raw")
    for h in headers:
        mon.feed(h)
    k = mon.summary()["packets"]
    assert k["read"] == k["used"] + sum(k["skipped"].values()) == 2 * min(len(frames), 27) + len(headers)
    assert all(0 < f.packet <= k["read"] for f in mon.findings())
    json.dumps(mon.summary())


# ---------------------------------------------------------------- adapters
def test_from_dpkt_reads_ip_layers_and_says_why_it_skips() -> None:
    frame = b"\0" * 12 + b"\x08\x00" + exchange()[0]
    eth = dpkt.ethernet.Ethernet(frame)
    p = from_dpkt(eth, ts=1.5)
    assert isinstance(p, TcpPacket)
    assert (p.src, p.sport, p.dst, p.dport, p.seq, p.flags, p.length, p.ts, p.checksum_ok) == (
        "10.0.0.1", 40000, "10.0.0.2", 80, 1000, int(tcpfsm.Flags.SYN), 0, 1.5, True)
    assert from_dpkt(eth.data, ts=1.5) == p  # from the IP layer itself
    six = from_dpkt(dpkt.ip6.IP6(exchange(C6, S6)[3]))
    assert isinstance(six, TcpPacket) and six.src == "2001:db8::1" and six.length == len(b"GET /\r\n")
    udp = dpkt.ip.IP(src=b"\1\2\3\4", dst=b"\1\2\3\5", p=17, data=dpkt.udp.UDP(sport=1, dport=2))
    assert from_dpkt(udp) == SkippedPacket("not TCP")
    assert from_dpkt(dpkt.ethernet.Ethernet(type=0x0806, data=dpkt.arp.ARP())) == SkippedPacket("not IP")
    frag = dpkt.ip.IP(bytes(dpkt.ip.IP(src=b"\1\2\3\4", dst=b"\1\2\3\5", p=6, mf=1, data=b"\0" * 20)))
    assert from_dpkt(frag) == SkippedPacket("IP fragment")


def test_from_scapy_with_packets_built_in_scapy() -> None:
    """Correctness: RFC 9293's client and server paths, the packets built with scapy."""
    scapy_all = pytest.importorskip("scapy.all", reason="scapy is not installed (pip install scapy)")
    Ether, IP, IPv6, TCP, UDP, ARP, Raw = (scapy_all.Ether, scapy_all.IP, scapy_all.IPv6, scapy_all.TCP,
                                           scapy_all.UDP, scapy_all.ARP, scapy_all.Raw)

    def seg(src: tuple[str, int], dst: tuple[str, int], flags: str, seq: int, ack: int = 0, data: bytes = b"") -> Any:
        layer = IPv6(src=src[0], dst=dst[0]) if ":" in src[0] else IP(src=src[0], dst=dst[0])
        pkt = Ether() / layer / TCP(sport=src[1], dport=dst[1], flags=flags, seq=seq, ack=ack, window=65535)
        return pkt / Raw(data) if data else pkt

    for c, s in ((C, S), (C6, S6)):
        x, y = 1000, 5000
        packets = [seg(c, s, "S", x), seg(s, c, "SA", y, x + 1), seg(c, s, "A", x + 1, y + 1),
                   seg(c, s, "PA", x + 1, y + 1, b"GET /\r\n"), seg(s, c, "PA", y + 1, x + 8, b"200 OK\r\n"),
                   seg(c, s, "FA", x + 8, y + 9), seg(s, c, "A", y + 9, x + 9), seg(s, c, "FA", y + 9, x + 9),
                   seg(c, s, "A", x + 9, y + 10), Ether() / IP() / UDP(), Ether() / ARP()]
        mon = Monitor()
        for pkt in packets:
            mon.feed(from_scapy(pkt))
        [conn] = mon.states()
        assert (conn.originator, conn.responder) == (CLIENT, SERVER)
        assert mon.summary()["packets"] == {"read": 11, "tcp": 9, "used": 9, "bad_checksum": 0,
                                            "skipped": {"not IP": 1, "not TCP": 1}}
    # a dissected frame (as rdpcap or sniff gives): the same record as the monitor's own parser
    frame = b"\0" * 12 + b"\x08\x00" + exchange()[3]
    assert from_scapy(Ether(frame), ts=2.0) == from_dpkt(dpkt.ethernet.Ethernet(frame), ts=2.0)


# ---------------------------------------------------------------- the module's example, the package's names
def test_the_conformance_example_runs() -> None:
    result = doctest.testmod(tcpfsm.conformance, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


def test_the_public_names() -> None:
    for name in ("Monitor", "ConnectionStates", "SkippedPacket", "TcpPacket", "from_dpkt", "from_scapy"):
        assert getattr(tcpfsm, name) is getattr(tcpfsm.conformance, name)
        assert name in tcpfsm.__all__ and name in tcpfsm.conformance.__all__ and name in dir(tcpfsm)
        assert getattr(tcpfsm, name).__doc__
    for method in ("feed", "states", "findings", "summary"):
        assert getattr(Monitor, method).__doc__


def test_tcpfsm_and_the_monitor_need_neither_numpy_nor_dpkt() -> None:
    frames = [b"\0" * 12 + b"\x08\x00" + ip for ip in exchange()]
    code = f"""
import sys
sys.modules["numpy"] = sys.modules["dpkt"] = None  # not installed
import tcpfsm
mon = tcpfsm.Monitor()
for frame in {frames!r}:
    mon.feed(frame, linktype=1)
[conn] = mon.states()
print(conn.originator[-1], conn.responder[-1])
from tcpfsm.conformance import monitor
print(monitor({str(TRACES / "half_close_v4.pcap")!r}, profile="linux").packets.read)
print(sorted(m for m in ("numpy", "dpkt") if sys.modules.get(m) is not None))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:3] == ["TIME-WAIT CLOSED", "14", "[]"]


# ---------------------------------------------------------------- captures taken at the hosts
def test_a_capture_at_the_hosts_tells_lost_and_injected_segments_apart() -> None:
    """Fed by hand as dumpcap on two hosts would see it (Monitor(taps=...), feed(direction=)):
    A's SYN leaves A and arrives at B; B's SYN,ACK leaves B and is lost; an RST with A's
    addresses arrives at B without ever leaving A. RFC 9293 §3.10.7.2: LISTEN + SYN -> SYN-RECEIVED
    (sends SYN,ACK); §3.10.7.4 (MUST-11 context, first check): an acceptable RST in a
    SYN-RECEIVED that came from LISTEN returns it to LISTEN. A never received the SYN,ACK, so
    A stays SYN-SENT (§3.10.7.3 is never reached)."""
    a, b = "192.0.2.10", "192.0.2.11"
    syn = {"src": a, "sport": 49152, "dst": b, "dport": 80, "seq": 100, "ack": 0, "flags": "SYN", "window": 65535,
           "length": 0}
    synack = {"src": b, "sport": 80, "dst": a, "dport": 49152, "seq": 300, "ack": 101, "flags": "SYN,ACK",
              "window": 65535, "length": 0}
    rst = {**syn, "seq": 101, "flags": "RST"}
    mon = Monitor(taps=[a, b])
    for pkt, where, ts in ((syn, "out", 0.0), (syn, "in", 0.025), (synack, "out", 0.025), (rst, "in", 0.5)):
        mon.feed(pkt, ts=ts, direction=where)
    [c] = mon.states()
    assert c.originator == ("CLOSED", "SYN-SENT")
    assert c.responder == ("LISTEN", "SYN-RECEIVED", "LISTEN")
    assert mon.findings() == []
    # seen between the ends, the same four packets would be A's SYN, its retransmission, B's SYN,ACK
    # delivered to A and A's own RST: A would be taken out of SYN-SENT
    between = Monitor()
    for pkt, _where, ts in ((syn, "out", 0.0), (syn, "in", 0.025), (synack, "out", 0.025), (rst, "in", 0.5)):
        between.feed(pkt, ts=ts)
    assert between.states()[0].originator != ("CLOSED", "SYN-SENT")


def test_direction_needs_taps_and_is_in_or_out() -> None:
    pkt = {"src": "192.0.2.10", "sport": 1, "dst": "192.0.2.11", "dport": 2, "seq": 1, "ack": 0, "flags": "SYN",
           "window": 1, "length": 0}
    with pytest.raises(ValueError, match="taps="):
        Monitor().feed(pkt, direction="in")
    with pytest.raises(ValueError, match="'in' or 'out'"):
        Monitor(taps=["192.0.2.10"]).feed(pkt, direction="sideways")
    mon = Monitor(taps=["192.0.2.10"])
    mon.feed(pkt, direction="outbound")
    assert mon.counts.read == mon.counts.used == 1


def test_the_pcapng_reader_gives_each_interfaces_address_and_each_packets_direction(tmp_path: Path) -> None:
    """pcapng (draft-ietf-opsawg-pcapng §4.2): if_IPv4addr (code 4) is an address and a netmask,
    if_IPv6addr (code 5) an address and a prefix length; §4.3.1: epb_flags (code 2) bits 0-1 are
    the direction, 01 inbound, 10 outbound."""
    from tcpfsm.conformance._packets import Capture

    ng = dpkt.pcapng
    idb4 = ng.InterfaceDescriptionBlockLE(linktype=1, snaplen=65535, opts=[
        ng.PcapngOptionLE(code=4, data=socket.inet_aton("192.0.2.10") + b"\xff\xff\xff\x00"),
        ng.PcapngOptionLE(code=0)])
    idb6 = ng.InterfaceDescriptionBlockLE(linktype=1, snaplen=65535, opts=[
        ng.PcapngOptionLE(code=5, data=socket.inet_pton(socket.AF_INET6, "2001:db8::b") + b"\x40"),
        ng.PcapngOptionLE(code=0)])
    path = tmp_path / "two.pcapng"
    with path.open("wb") as fh:
        w = ng.Writer(fh, idb=[idb4, idb6])
        for iface, flags in ((0, 2), (1, 1), (1, None)):
            opts = [ng.PcapngOptionLE(code=2, data=struct.pack("<I", flags))] if flags is not None else []
            w.writepkt(ng.EnhancedPacketBlockLE(iface_id=iface, pkt_data=b"\x00" * 14, caplen=14, pkt_len=14,
                                                opts=[*opts, ng.PcapngOptionLE(code=0)]))
    with Capture(path) as cap:
        directions = [cap.direction for _ in cap.records()]
        assert cap.taps == {"192.0.2.10", "2001:db8::b"}
    assert directions == [2, 1, 0]
