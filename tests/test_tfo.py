"""TCP Fast Open (RFC 7413), the ``tfo`` profile over ``linux``: data on the SYN by cookie, the
passive side that accepts it, data in SYN-RECEIVED, and Linux's deferred connect.

Expected values come from RFC 7413 §4.2.2 ("TCP Fast Open", steps 1-5) and the Linux functions
named (tcp_fastopen_defer_connect, tcp_try_fastopen, tcp_rcv_fastopen_synack); the cookie is the
endpoint's ``tfo_cookie`` setting (§4.1: a client holds one, a server finds it valid)."""

from __future__ import annotations

import socket
from pathlib import Path

import dpkt
import pytest

from tcpfsm import Endpoint, load_spec
from tcpfsm.base import Flags, Segment
from tcpfsm.base._resources import specs_dir
from tcpfsm.conformance import monitor

REQ, RESP = b"GET / HTTP/1.0\r\n", b"HTTP/1.0 200 OK\r\n"
C_ISS, S_ISS = 1000, 5000


def tfo(**kw: object) -> Endpoint:
    return Endpoint(profile="tfo", **kw)  # type: ignore[arg-type]


def test_active_open_with_a_cookie_puts_the_data_on_the_syn() -> None:
    """§4.2.2 step 1: "The client sends a SYN with data and the cookie in the Fast Open option"; the
    data takes sequence space after the SYN's (RFC 9293 §3.4: SEG.LEN counts SYN and text)."""
    c = tfo(iss=C_ISS, tfo_cookie=True)
    [syn] = c.connect(REQ)
    assert (syn.flags, syn.seq, syn.payload) == (Flags.SYN, C_ISS, REQ)
    assert c.state_name == "SYN-SENT" and c.tcb.snd_nxt == C_ISS + 1 + len(REQ)
    assert c.last_steps[-1].transition == "TF1"


def test_without_a_cookie_the_data_waits_for_the_handshake() -> None:
    """§4.2.1: without a cookie the SYN requests one and carries no data; the data is sent once
    ESTABLISHED, as RFC 9293 §3.10.2 queues a SEND in SYN-SENT."""
    c = tfo(iss=C_ISS)
    [syn] = c.connect(REQ)
    assert (syn.flags, syn.length, c.tcb.snd_nxt) == (Flags.SYN, 0, C_ISS + 1)
    out = c.receive(Segment(seq=S_ISS, ack=C_ISS + 1, flags=Flags.SYN | Flags.ACK))
    assert [(s.flags, s.seq, s.payload) for s in out] == [(Flags.ACK, C_ISS + 1, None),
                                                           (Flags.ACK | Flags.PSH, C_ISS + 1, REQ)]


def test_a_valid_cookie_delivers_the_syn_data_and_acknowledges_it() -> None:
    """§4.2.2 step 2a: "If the cookie is valid, the server sends a SYN-ACK acknowledging both the SYN
    and the data. The server then delivers the data to the application." (Linux tcp_try_fastopen)"""
    s = tfo(iss=S_ISS, tfo_cookie=True)
    s.listen()
    [synack] = s.receive(Segment(seq=C_ISS, flags=Flags.SYN, payload=REQ))
    assert (synack.flags, synack.seq, synack.ack) == (Flags.SYN | Flags.ACK, S_ISS, C_ISS + 1 + len(REQ))
    assert s.state_name == "SYN-RECEIVED" and s.read() == REQ and s.tcb.fast_open


def test_an_invalid_cookie_drops_the_syn_data() -> None:
    """§4.2.2 step 2b: "Otherwise, the server drops the data and sends a SYN-ACK acknowledging only
    the SYN sequence number"; the data is not delivered later either (Linux ignores it)."""
    s = tfo(iss=S_ISS)
    s.listen()
    [synack] = s.receive(Segment(seq=C_ISS, flags=Flags.SYN, payload=REQ))
    assert synack.ack == C_ISS + 1
    s.receive(Segment(seq=C_ISS + 1, ack=S_ISS + 1, flags=Flags.ACK))
    assert s.state_name == "ESTABLISHED" and s.read() == b""


def test_the_server_sends_data_in_syn_received() -> None:
    """§4.2.2 step 3: "If the server accepts the data in the SYN packet, it may send the response
    data before the handshake finishes"; RFC 9293 alone queues it (U5, §3.10.2)."""
    s = tfo(iss=S_ISS, tfo_cookie=True)
    s.listen()
    s.receive(Segment(seq=C_ISS, flags=Flags.SYN, payload=REQ))
    [data] = s.send(RESP)
    assert (data.flags, data.seq, data.ack, data.payload) == (Flags.ACK | Flags.PSH, S_ISS + 1,
                                                              C_ISS + 1 + len(REQ), RESP)
    assert s.state_name == "SYN-RECEIVED" and s.last_steps[-1].transition == "TF6"
    plain = tfo(iss=S_ISS)  # no Fast Open child: the SEND waits (U5)
    plain.listen()
    plain.receive(Segment(seq=C_ISS, flags=Flags.SYN))
    assert plain.send(RESP) == [] and plain.tcb.queued == len(RESP)


def test_syn_data_not_acknowledged_is_sent_again_with_the_ack() -> None:
    """§4.2.2 step 4: "The client sends an ACK acknowledging the SYN and the server data. If the
    client's data is not acknowledged, the client retransmits the data in the ACK packet."
    (Linux tcp_rcv_fastopen_synack: one segment, no separate pure ACK.)"""
    c = tfo(iss=C_ISS, tfo_cookie=True)
    c.connect(REQ)
    out = c.receive(Segment(seq=S_ISS, ack=C_ISS + 1, flags=Flags.SYN | Flags.ACK))
    assert [(s.flags, s.seq, s.ack, s.payload) for s in out] == [(Flags.ACK | Flags.PSH, C_ISS + 1, S_ISS + 1, REQ)]
    assert c.state_name == "ESTABLISHED" and c.tcb.snd_nxt == C_ISS + 1 + len(REQ)
    assert c.last_steps[0].transition == "TF4"


def test_a_whole_fast_open_conversation() -> None:
    """Steps 1-5 end to end: the request rides on the SYN, the response leaves in SYN-RECEIVED,
    the client's ACK covers SYN,ACK and response; then an ordinary close (RFC 9293 §3.6)."""
    c, s = tfo(iss=C_ISS, tfo_cookie=True), tfo(iss=S_ISS, tfo_cookie=True)
    s.listen()
    [syn] = c.connect(REQ)
    [synack] = s.receive(syn)
    [resp] = s.send(RESP)
    [ack] = c.receive(synack)
    assert c.receive(resp)[0].ack == S_ISS + 1 + len(RESP) and c.read() == RESP
    assert s.receive(ack) == [] and s.state_name == "ESTABLISHED" and s.read() == REQ
    [fin] = c.close()
    [fin_ack] = s.receive(fin)
    c.receive(fin_ack)
    [last] = s.close()
    c.receive(last)
    assert (c.state_name, s.state_name) == ("TIME-WAIT", "LAST-ACK")


def test_deferred_connect_sends_nothing_until_the_first_send() -> None:
    """Linux TCP_FASTOPEN_CONNECT (tcp_fastopen_defer_connect): with a cookie, connect() returns
    with the socket in SYN-SENT and nothing sent; the first write sends the SYN with its data."""
    c = tfo(iss=C_ISS, tfo_cookie=True, fastopen_connect=True)
    assert c.connect() == [] and c.state_name == "SYN-SENT" and c.armed_timers == {}
    [syn] = c.send(REQ)
    assert (syn.flags, syn.seq, syn.payload) == (Flags.SYN, C_ISS, REQ)
    assert "retransmit" in c.armed_timers and c.last_steps[-1].transition == "TF5"
    c.send(b"more")  # the SYN is out: a later SEND waits for ESTABLISHED (U5)
    assert c.tcb.queued == 4


def test_deferred_connect_without_a_cookie_sends_the_syn_at_once() -> None:
    """tcp_fastopen_defer_connect defers only when a cookie is cached; else the SYN (a cookie
    request, §4.2.1) leaves at connect()."""
    c = tfo(iss=C_ISS, fastopen_connect=True)
    [syn] = c.connect()
    assert (syn.flags, syn.length) == (Flags.SYN, 0)


def test_connect_data_in_rfc9293_is_a_send_in_syn_sent() -> None:
    """RFC 9293 has no data on an active OPEN's SYN: data given to connect() is queued as SEND in
    SYN-SENT is (§3.10.2) and leaves with the ACK of the SYN,ACK (§3.10.7.3)."""
    c = Endpoint(C_ISS)
    [syn] = c.connect(REQ)
    assert syn.length == 0 and c.tcb.queued == len(REQ)
    out = c.receive(Segment(seq=S_ISS, ack=C_ISS + 1, flags=Flags.SYN | Flags.ACK))
    assert out[-1].payload == REQ


def test_settings_can_change_at_any_time_and_survive_a_fresh_endpoint() -> None:
    c = tfo(iss=C_ISS)
    c.set_fast_open(cookie=True)
    assert c.connect(REQ)[0].payload == REQ
    assert c.fresh().tcb.tfo_cookie
    with pytest.raises(TypeError, match="tfo_cookie"):
        c.set_fast_open(cookie=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fastopen_connect"):
        Endpoint(fastopen_connect="yes")  # type: ignore[arg-type]


def test_the_overlay_stacks_on_rfc9293_too(tmp_path: Path) -> None:
    """The overlay patches only rows of the base spec, so the same file with `base: rfc9293` is Fast
    Open over RFC 9293 (one base per overlay: the user's copy names the other base)."""
    text = (specs_dir() / "profiles" / "tfo.yaml").read_text()
    mine = tmp_path / "tfo_rfc9293.yaml"
    mine.write_text(text.replace("profile: tfo\n", "profile: tfo_rfc9293\n").replace("base: linux\n",
                                                                                     "base: rfc9293\n"))
    spec = load_spec(mine)
    c, s = Endpoint(C_ISS, spec=spec, tfo_cookie=True), Endpoint(S_ISS, spec=spec, tfo_cookie=True)
    s.listen()
    [synack] = s.receive(c.connect(REQ)[0])
    assert synack.ack == C_ISS + 1 + len(REQ) and s.read() == REQ


# --------------------------------------------------------------------- the monitor
C, S = ("10.0.0.1", 40000), ("10.0.0.2", 80)
F = {"S": dpkt.tcp.TH_SYN, "A": dpkt.tcp.TH_ACK, "F": dpkt.tcp.TH_FIN, "P": dpkt.tcp.TH_PUSH}


def frame(src: tuple[str, int], dst: tuple[str, int], flags: str, seq: int, ack: int = 0, data: bytes = b"") -> bytes:
    tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seq, ack=ack, win=65535, data=data,
                       flags=sum(F[c] for c in flags))
    ip = dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]), p=6, data=tcp)
    ip.len = 20 + len(bytes(tcp))
    return bytes(dpkt.ethernet.Ethernet(src=b"\0" * 6, dst=b"\0" * 6, type=0x0800, data=ip))


def states(tmp_path: Path, frames: list[bytes]) -> tuple[list[str], list[str], list[object]]:
    path = tmp_path / "tfo.pcap"
    with open(path, "wb") as fh:
        w = dpkt.pcap.Writer(fh, linktype=1)
        for i, f in enumerate(frames):
            w.writepkt(f, ts=1000.0 + i * 0.01)
    [conn] = monitor(path, profile="tfo").connections
    a, b = conn.to_dict()["endpoints"]
    return a["states"], b["states"], conn.findings


def test_monitor_server_data_in_syn_received_is_counted_once(tmp_path: Path) -> None:
    """The known bug: the server's response in SYN-RECEIVED (§4.2.2 step 3) was queued by the shadow
    and then, after the catch-up of its sequence numbers, sent again, so the server's FIN looked
    like a retransmission and its CLOSE was never applied. Now the shadow sends it (TF6) and the
    server closes first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT (RFC 9293 §3.6, Figure 5)."""
    c, s, n, m = C_ISS, S_ISS, len(REQ), len(RESP)
    frames = [frame(C, S, "S", c, data=REQ), frame(S, C, "SA", s, c + 1 + n),
              frame(S, C, "PA", s + 1, c + 1 + n, RESP),
              frame(C, S, "A", c + 1 + n, s + 1), frame(C, S, "A", c + 1 + n, s + 1 + m),
              frame(S, C, "FA", s + 1 + m, c + 1 + n), frame(C, S, "A", c + 1 + n, s + 2 + m),
              frame(C, S, "FA", c + 1 + n, s + 2 + m), frame(S, C, "A", s + 2 + m, c + 2 + n)]
    a, b, findings = states(tmp_path, frames)
    assert findings == []
    assert a == ["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    assert b == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]


def test_monitor_syn_data_refused_by_the_server(tmp_path: Path) -> None:
    """§4.2.2 steps 2b and 4 on the wire: the SYN,ACK acknowledges only the SYN (the cookie was not
    valid), and the client sends its data again with the ACK; no finding."""
    c, s, n = C_ISS, S_ISS, len(REQ)
    frames = [frame(C, S, "S", c, data=REQ), frame(S, C, "SA", s, c + 1),
              frame(C, S, "PA", c + 1, s + 1, REQ), frame(S, C, "A", s + 1, c + 1 + n),
              frame(C, S, "FA", c + 1 + n, s + 1), frame(S, C, "A", s + 1, c + 2 + n),
              frame(S, C, "FA", s + 1, c + 2 + n), frame(C, S, "A", c + 2 + n, s + 2)]
    a, b, findings = states(tmp_path, frames)
    assert findings == []
    assert a == ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
    assert b == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
