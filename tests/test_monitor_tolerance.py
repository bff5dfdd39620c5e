"""Crafted captures: what real traffic does that the textbook exchange does not.

TCP Fast Open (data on the SYN), keep-alives, a zero-window probe, retransmissions, a
duplicate and a reordered pair: the states come out as for the plain exchange, with no
finding, and the history says what happened (T retransmission, W zero window).
"""

from __future__ import annotations

import socket
from pathlib import Path

import dpkt

from tcpfsm.conformance import monitor

C, S = ("10.0.0.1", 40000), ("10.0.0.2", 80)
CLIENT = ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
SERVER = ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
F = {"S": dpkt.tcp.TH_SYN, "A": dpkt.tcp.TH_ACK, "F": dpkt.tcp.TH_FIN, "R": dpkt.tcp.TH_RST, "P": dpkt.tcp.TH_PUSH}


def seg(src: tuple[str, int], dst: tuple[str, int], flags: str, seq: int, ack: int = 0, data: bytes = b"",
        win: int = 65535) -> bytes:
    tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seq, ack=ack, win=win, data=data,
                       flags=sum(F[c] for c in flags))
    ip = dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]), p=6, data=tcp)
    ip.len = 20 + len(bytes(tcp))
    return bytes(dpkt.ethernet.Ethernet(src=b"\0" * 6, dst=b"\0" * 6, type=0x0800, data=ip))


def write(path: Path, frames: list[bytes]) -> Path:
    with open(path, "wb") as fh:
        w = dpkt.pcap.Writer(fh, linktype=1)
        for i, frame in enumerate(frames):
            w.writepkt(frame, ts=1000.0 + i * 0.01)
    return path


def states(path: Path) -> tuple[list[str], list[str], str, list[object]]:
    report = monitor(path, profile="linux")
    [conn] = report.connections
    a, b = conn.to_dict()["endpoints"]
    return a["states"], b["states"], conn.history, conn.findings


def close(c: int, s: int) -> list[bytes]:
    return [seg(C, S, "FA", c, s), seg(S, C, "A", s, c + 1), seg(S, C, "FA", s, c + 1), seg(C, S, "A", c + 1, s + 1)]


def test_tcp_fast_open(tmp_path: Path) -> None:
    c, s = 1000, 5000
    frames = [seg(C, S, "S", c, data=b"GET / HTTP/1.0\r\n"), seg(S, C, "SA", s, c + 17), seg(C, S, "A", c + 17, s + 1),
              seg(S, C, "PA", s + 1, c + 17, b"HTTP/1.0 200 OK\r\n"), seg(C, S, "A", c + 17, s + 18)]
    frames += close(c + 17, s + 18)
    a, b, history, findings = states(write(tmp_path / "tfo.pcap", frames))
    assert (a, b, findings) == (CLIENT, SERVER, [])
    assert history.startswith("SD")  # the SYN carried data


def test_keepalive_zero_window_retransmission_duplicate_reorder(tmp_path: Path) -> None:
    c, s = 1000, 5000
    frames = [seg(C, S, "S", c), seg(S, C, "SA", s, c + 1), seg(C, S, "A", c + 1, s + 1),
              seg(C, S, "PA", c + 1, s + 1, b"hello"),
              seg(C, S, "PA", c + 1, s + 1, b"hello"),                      # retransmission
              seg(S, C, "A", s + 1, c + 6, win=0),                          # zero window
              seg(C, S, "A", c + 5, s + 1, b"o"),                           # zero-window probe
              seg(S, C, "A", s + 1, c + 6),                                 # window opens
              seg(C, S, "A", c + 5, s + 1),                                 # keep-alive (SEQ = SND.NXT-1)
              seg(S, C, "A", s + 1, c + 6),
              seg(S, C, "PA", s + 4, c + 6, b"lo"),                         # reordered: the later half first
              seg(S, C, "PA", s + 1, c + 6, b"hel"),
              seg(S, C, "PA", s + 1, c + 6, b"hel"),                        # duplicate
              seg(C, S, "A", c + 6, s + 6)]
    frames += close(c + 6, s + 6)
    a, b, history, findings = states(write(tmp_path / "mixed.pcap", frames))
    assert (a, b, findings) == (CLIENT, SERVER, [])
    assert "T" in history and "w" in history
