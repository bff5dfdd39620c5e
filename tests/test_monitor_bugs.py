"""The monitor's bugs on real Linux captures (issue 12, item 7), each on a crafted capture.

Every capture is written as a pcap (dpkt) and monitored three ways that must agree (ARCHITECTURE.md,
"Fast paths and their twins"): the bulk reader with the memo trie, the bulk reader without it,
and the per-packet monitor. The expected states come from RFC 9293 and from what Linux does
(function names cited), never from tcpfsm's output.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import dpkt
import pytest

from tcpfsm.conformance import Monitor, monitor

C, S = ("10.0.0.1", 40000), ("10.0.0.2", 80)
ME = ("127.0.0.1", 5000)
FLAGS = {"SYN": dpkt.tcp.TH_SYN, "ACK": dpkt.tcp.TH_ACK, "FIN": dpkt.tcp.TH_FIN, "RST": dpkt.tcp.TH_RST,
         "PSH": dpkt.tcp.TH_PUSH}

Pkt = tuple[float, tuple[str, int], tuple[str, int], str, int, int, int]


def _frame(a: tuple[str, int], b: tuple[str, int], flags: str, seq: int, ack: int, length: int) -> bytes:
    bits = 0
    for f in flags.split(","):
        bits |= FLAGS[f]
    tcp = dpkt.tcp.TCP(sport=a[1], dport=b[1], seq=seq, ack=ack, flags=bits, win=65535, data=b"x" * length)
    ip = dpkt.ip.IP(src=socket.inet_aton(a[0]), dst=socket.inet_aton(b[0]), p=dpkt.ip.IP_PROTO_TCP, data=tcp)
    ip.len = 20 + len(bytes(tcp))
    return bytes(dpkt.ethernet.Ethernet(src=b"\0" * 6, dst=b"\0" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def _pcap(tmp_path: Path, packets: list[Pkt]) -> Path:
    path = tmp_path / "crafted.pcap"
    with open(path, "wb") as fh:
        w = dpkt.pcap.Writer(fh, linktype=1)
        for ts, a, b, flags, seq, ack, length in packets:
            w.writepkt(_frame(a, b, flags, seq, ack, length), ts=ts)
    return path


def _run(tmp_path: Path, packets: list[Pkt], profile: str = "linux") -> list[dict[str, Any]]:
    """The connections (states per endpoint, findings' rules), the same three ways."""
    path = _pcap(tmp_path, packets)
    outs = []
    for kw in ({}, {"trie": False}, {"fast": False}):
        report = monitor(path, profile=profile, **kw)  # type: ignore[arg-type]
        assert report.error is None
        outs.append([{"states": [(e["addr"], e["port"], tuple(e["states"])) for e in c.to_dict()["endpoints"]],
                      "findings": [f.transition for f in c.findings]} for c in report.connections])
    assert outs[0] == outs[1] == outs[2]
    # and fed packet by packet to a streaming Monitor (the memo and the plain engine)
    for fast in (True, False):
        mon = Monitor(profile=profile, fast=fast)
        for ts, a, b, flags, seq, ack, length in packets:
            mon.feed({"ts": ts, "src": a[0], "sport": a[1], "dst": b[0], "dport": b[1], "seq": seq, "ack": ack,
                      "flags": flags, "window": 65535, "length": length})
        got = [[(c.four_tuple[0], c.four_tuple[1], c.originator), (c.four_tuple[2], c.four_tuple[3], c.responder)]
               for c in mon.states()]
        assert got == [c["states"] for c in outs[0]]
    return outs[0]


HANDSHAKE: list[Pkt] = [(0.0, C, S, "SYN", 100, 0, 0), (0.001, S, C, "SYN,ACK", 300, 101, 0),
                        (0.002, C, S, "ACK", 101, 301, 0)]
CLIENT = ("CLOSED", "SYN-SENT", "ESTABLISHED")
SERVER = ("LISTEN", "SYN-RECEIVED", "ESTABLISHED")


def test_a_bare_rst_shows_its_sender_received_the_data_it_answers(tmp_path: Path) -> None:
    """The client close()s (FIN), the server ACKs it and sends data; the orphaned client resets.

    Linux tcp_rcv_state_process (TCP_FIN_WAIT1/2, RCV_SHUTDOWN and new data: "RFC 1122 says we
    MUST send a reset", RFC 9293 §3.6.1 SHLD-3) answers through tcp_v4_send_reset, whose RST
    takes its SEQ from the answered segment's ACK field and carries no ACK (RFC 9293 §3.10.7.1:
    "If the incoming segment has an ACK field, the reset takes its sequence number from the ACK
    field of the segment": <SEQ=SEG.ACK><CTL=RST>). So the RST shows the client received the
    ACK of its FIN (FIN-WAIT-2) and the data, though it carries no ACK of its own.
    """
    conns = _run(tmp_path, [*HANDSHAKE, (1.0, C, S, "FIN,ACK", 101, 301, 0), (1.001, S, C, "ACK", 301, 102, 0),
                            (1.5, S, C, "PSH,ACK", 301, 102, 10), (1.501, C, S, "RST", 102, 0, 0)])
    [c] = conns
    assert c["states"] == [(*C, (*CLIENT, "FIN-WAIT-1", "FIN-WAIT-2", "CLOSED")),
                           (*S, (*SERVER, "CLOSE-WAIT", "CLOSED"))]
    assert c["findings"] == ["L2"]  # the linux profile's own "data after close()" (SHLD-3 reset)


def test_a_bare_rst_without_a_matching_segment_is_no_evidence(tmp_path: Path) -> None:
    """An RST whose SEQ is no pending segment's ACK proves nothing arrived: the client aborted
    in FIN-WAIT-1 (RFC 9293 §3.10.5: ABORT; Linux's active reset would be RST,ACK)."""
    conns = _run(tmp_path, [*HANDSHAKE, (1.0, C, S, "FIN,ACK", 101, 301, 0), (1.001, S, C, "ACK", 301, 102, 0),
                            (1.002, C, S, "RST", 101, 0, 0)])
    assert conns[0]["states"][0] == (*C, (*CLIENT, "FIN-WAIT-1", "CLOSED"))


@pytest.mark.parametrize("gap", [69.0, 3.0])
def test_the_orphan_fin_wait_2_timer_is_inferred_from_a_fin_meeting_a_reset(tmp_path: Path, gap: float) -> None:
    """The client close()s; the server ACKs its FIN, and much later sends its own FIN, which the
    client answers with a bare RST <SEQ=SEG.ACK>: the reply of a closed port (RFC 9293 §3.10.7.1).

    Linux: an orphan in FIN-WAIT-2 stays tcp_fin_timeout seconds (tcp_rcv_state_process arms it
    for a SOCK_DEAD socket; net.ipv4.tcp_fin_timeout, the profile's declared `fin_timeout`, 60 s),
    then the socket is gone. A gap of 69 s passes the declared duration: the timer fires by capture
    time. A gap of 3 s does not (the capture's host had tcp_fin_timeout=2): the reset shows the
    socket gone all the same, and the FIN-WAIT-2 timer is the profile's only way there.
    """
    conns = _run(tmp_path, [*HANDSHAKE, (1.0, C, S, "FIN,ACK", 101, 301, 0), (1.001, S, C, "ACK", 301, 102, 0),
                            (1.0 + gap, S, C, "FIN,ACK", 301, 102, 0), (1.0 + gap + 1e-4, C, S, "RST", 102, 0, 0)])
    [c] = conns
    assert c["states"] == [(*C, (*CLIENT, "FIN-WAIT-1", "FIN-WAIT-2", "CLOSED")),
                           (*S, (*SERVER, "CLOSE-WAIT", "LAST-ACK", "CLOSED"))]
    assert c["findings"] == []


def test_rfc9293_has_no_fin_wait_2_timer_and_says_so(tmp_path: Path) -> None:
    """The same capture under RFC 9293, which has no FIN-WAIT-2 timer (ambiguity A4): the reset
    shows the client left FIN-WAIT-2 without the peer's FIN, a finding (§3.10.7.4), and the FIN
    is not taken into TIME-WAIT (a TIME-WAIT end would acknowledge it, not reset)."""
    [c] = _run(tmp_path, [*HANDSHAKE, (1.0, C, S, "FIN,ACK", 101, 301, 0), (1.001, S, C, "ACK", 301, 102, 0),
                          (4.0, S, C, "FIN,ACK", 301, 102, 0), (4.0001, C, S, "RST", 102, 0, 0)], "rfc9293")
    assert c["states"][0] == (*C, (*CLIENT, "FIN-WAIT-1", "FIN-WAIT-2", "CLOSED"))
    assert c["findings"] == [""]  # "FIN-WAIT-2 left without a FIN": no rule of the spec's


def test_a_half_closed_fin_wait_2_is_not_timed_out(tmp_path: Path) -> None:
    """After a FIN the peer's FIN, acknowledged, ends in TIME-WAIT however long it took: a FIN
    answered with an ACK is no reset (RFC 9293 §3.10.7.4, FIN-WAIT-2: "Enter the TIME-WAIT state")."""
    conns = _run(tmp_path, [*HANDSHAKE, (1.0, C, S, "FIN,ACK", 101, 301, 0), (1.001, S, C, "ACK", 301, 102, 0),
                            (100.0, S, C, "FIN,ACK", 301, 102, 0), (100.0001, C, S, "ACK", 102, 302, 0)])
    assert conns[0]["states"][0] == (*C, (*CLIENT, "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"))


def test_a_self_connect_is_one_endpoint_receiving_its_own_segments(tmp_path: Path) -> None:
    """connect() to its own address and port: the SYN comes back to the sender (RFC 9293 §3.5,
    Figure 8, simultaneous open with itself): SYN-SENT -> SYN-RECEIVED on its own SYN (it sends
    SYN,ACK <SEQ=ISS><ACK=ISS+1>), ESTABLISHED on its own SYN,ACK; Linux then ACKs (as in
    tcp_rcv_synsent_state_process's simultaneous open). Both ends of the 4-tuple are that socket."""
    conns = _run(tmp_path, [(0.0, ME, ME, "SYN", 1000, 0, 0), (0.001, ME, ME, "SYN,ACK", 1000, 1001, 0),
                            (0.002, ME, ME, "ACK", 1001, 1001, 0)])
    [c] = conns
    states = ("CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED")
    assert c["states"] == [(*ME, states), (*ME, states)]
    assert c["findings"] == []


def _server_closes_first(then: float) -> list[Pkt]:
    return [*HANDSHAKE, (1.0, S, C, "FIN,ACK", 301, 101, 0), (1.001, C, S, "ACK", 101, 302, 0),
            (1.002, C, S, "FIN,ACK", 101, 302, 0), (1.003, S, C, "ACK", 302, 102, 0),
            # Linux's ISS for the reopened connection: tw_snd_nxt + 65535 + 2 (tcp_timewait_state_process)
            (then, C, S, "SYN", 5000, 0, 0), (then + 0.001, S, C, "SYN,ACK", 302 + 65537, 5001, 0),
            (then + 0.002, C, S, "ACK", 5001, 302 + 65538, 0)]


def test_a_syn_reopening_time_wait_is_the_time_wait_endpoints(tmp_path: Path) -> None:
    """The server closed first and is in TIME-WAIT; the client's new SYN (higher SEQ) reopens
    the 4-tuple: RFC 9293 §3.10.7.4 / RFC 6191 §2 (the spec's S22; the linux profile: a listener
    takes it, TCP_TW_SYN) take TIME-WAIT to SYN-RECEIVED. A new connection record (as Zeek counts
    them) whose responder starts in TIME-WAIT, not in LISTEN."""
    first, second = _run(tmp_path, _server_closes_first(2.0))
    assert first["states"] == [(*C, (*CLIENT, "CLOSE-WAIT", "LAST-ACK", "CLOSED")),
                               (*S, (*SERVER, "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"))]
    assert second["states"] == [(*C, CLIENT), (*S, ("TIME-WAIT", "SYN-RECEIVED", "ESTABLISHED"))]
    assert first["findings"] == second["findings"] == []


def test_a_syn_after_2msl_meets_a_closed_endpoint(tmp_path: Path) -> None:
    """The TIME-WAIT timer's deadline (2 MSL, RFC 9293 §3.4.2 MUST-13; the spec's `time_wait`)
    has passed by the new SYN's capture time: TIME-WAIT was over, the listener answers."""
    _first, second = _run(tmp_path, _server_closes_first(1.003 + 2 * 120.0 + 1))
    assert second["states"] == [(*C, CLIENT), (*S, SERVER)]


def test_the_retransmission_timer_is_not_fired_by_capture_time(tmp_path: Path) -> None:
    """A SYN retransmitted 3 s later: the capture shows the retransmission (RFC 9293 §3.8.1), so
    the RTO is not fired by the clock (it would count retries and could give up, §3.8.3)."""
    conns = _run(tmp_path, [(0.0, C, S, "SYN", 100, 0, 0), (3.0, C, S, "SYN", 100, 0, 0),
                            (3.001, S, C, "SYN,ACK", 300, 101, 0), (3.002, C, S, "ACK", 101, 301, 0)])
    assert conns[0]["states"] == [(*C, CLIENT), (*S, SERVER)]


def test_the_memo_trie_keeps_time_where_a_timer_may_have_run_out(tmp_path: Path) -> None:
    """Three connections with the same packets relative to their first sequence numbers; in the
    third, the server's retransmitted FIN comes after 2 MSL (RFC 9293 §3.4.2): the client's
    TIME-WAIT was over, the FIN meets a CLOSED end (§3.10.7.1). In the others it meets TIME-WAIT,
    which acknowledges it and restarts the 2 MSL timeout (§3.10.7.4, TIME-WAIT). The trie, whose
    paths carry no times, must not give the third the second's answer."""
    def conn(c: tuple[str, int], t: float, later: float) -> list[Pkt]:
        return [(t, c, S, "SYN", 100, 0, 0), (t + 0.001, S, c, "SYN,ACK", 300, 101, 0),
                (t + 0.002, c, S, "ACK", 101, 301, 0), (t + 1, c, S, "FIN,ACK", 101, 301, 0),
                (t + 1.001, S, c, "ACK", 301, 102, 0), (t + 1.002, S, c, "FIN,ACK", 301, 102, 0),
                # the client's ACK of it is lost before the capture point: the server retransmits
                (t + 1.002 + later, S, c, "FIN,ACK", 301, 102, 0)]
    c2, c3 = ("10.0.0.1", 40001), ("10.0.0.1", 40002)  # the first makes the trie's path, the second its end
    first, second, third = _run(tmp_path, conn(C, 0.0, 1.0) + conn(c2, 10.0, 1.0) + conn(c3, 20.0, 2 * 120.0 + 10))
    closing = (*CLIENT, "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT")
    assert first["states"][0] == (*C, closing)
    assert second["states"][0] == (*c2, closing)
    assert third["states"][0] == (*c3, (*closing, "CLOSED"))
