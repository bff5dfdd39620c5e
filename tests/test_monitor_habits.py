"""What tshark and tcpdump users expect of `tcpfsm monitor`: stdin, filters, per-packet rows
with relative sequence numbers, bracketed IPv6, tables that fit 100 columns."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tcpfsm.cli import main

from .conformance_helpers import TRACES

HALF = TRACES / "half_close_v4.pcap"


def test_stdin() -> None:
    data = (TRACES / "normal_close_client_v4.pcap").read_bytes()
    out = subprocess.run([sys.executable, "-m", "tcpfsm", "monitor", "-", "--format", "jsonl"], input=data,
                         capture_output=True, check=True).stdout.decode().splitlines()
    conn, counts = json.loads(out[0]), json.loads(out[-1])
    # 11: `tcpdump -r normal_close_client_v4.pcap | wc -l`
    assert conn["conn_state"] == "SF" and counts["packets"]["read"] == 11


def test_packets_rows_relative_sequence_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    """Relative to each side's ISN as tshark shows them: the SYN and SYN,ACK at 0, the first
    ACK's ack 1 (a SYN takes one sequence number, RFC 9293 §3.4); the client's 15-byte request
    then moves its seq to 16 (`tcpdump -r half_close_v4.pcap`: "length 15")."""
    assert main(["monitor", str(HALF), "--packets"]) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.splitlines() if ln.strip()[:1].isdigit()]
    assert len(rows) == 14
    num, _t, conn, arrow, flags, seq, ack, length = rows[0][:8]
    assert (num, conn, arrow, flags, seq, ack, length) == ("1", "1", ">", "SYN", "0", "-", "0")
    assert rows[1][3:7] == ["<", "SYN,ACK", "0", "1"]
    assert rows[2][3:7] == [">", "ACK", "1", "1"]
    assert rows[3][4:8] == ["PSH,ACK", "1", "1", "15"] and rows[5][4:6] == ["FIN,ACK", "16"]
    # both ends' states after the packet: the client is in SYN-SENT once its SYN is out (§3.10.1)
    assert rows[0][-3:] == ["SYN-SENT", "/", "?"] and rows[-1][-3:] == ["TIME-WAIT", "/", "LAST-ACK"]


def test_absolute_sequence_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    out = subprocess.run(["tcpdump", "-S", "-n", "-r", str(HALF), "-c", "1"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("tcpdump is not installed")
    isn = out.stdout.split("seq ")[1].split(",")[0]  # tcpdump's own reading of the SYN
    assert main(["monitor", str(HALF), "--packets", "--absolute"]) == 0
    first = next(ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("1 "))
    assert first.split()[5] == isn


def test_ipv6_in_brackets_and_100_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", str(TRACES / "normal_close_client_v6.pcap")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any("[::1]:41020 > [::1]:42020" in ln for ln in out)  # RFC 3986 §3.2.2's brackets
    assert main(["monitor", str(TRACES / "bulk_mixed.pcap"), "--profile", "linux"]) == 0
    table = capsys.readouterr().out.splitlines()[1:]  # the first line is the file's packet counts
    assert len(table) > 2000 and max(map(len, table)) <= 100


def test_host_and_port_filter(capsys: pytest.CaptureFixture[str]) -> None:
    """bulk_mixed.summary.json: server port 42904 is the refused kind, 200 connections."""
    summary = json.loads((TRACES / "bulk_mixed.summary.json").read_text())
    port = summary["server_port_of_type"]["connection_refused"]
    assert main(["monitor", str(TRACES / "bulk_mixed.pcap"), "--port", str(port), "--format", "jsonl"]) == 0
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    conns, counts = lines[:-1], lines[-1]
    assert len(conns) == summary["counts_per_type"]["connection_refused"] == 200
    assert {c["conn_state"] for c in conns} == {"REJ"}
    assert counts["packets"]["read"] == 17600  # every packet is still read and counted
    assert main(["monitor", str(TRACES / "bulk_mixed.pcap"), "--host", "10.9.9.9", "--format", "jsonl"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # no connection: the counts line only


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed (make deps installs it)")
def test_bpf_filter(capsys: pytest.CaptureFixture[str]) -> None:
    """tcpdump's own count of the packets the expression selects is the monitor's read count."""
    bulk = str(TRACES / "bulk_mixed.pcap")
    expr = "tcp port 42903"
    want = len(subprocess.run(["tcpdump", "-n", "-r", bulk, expr], capture_output=True, text=True,
                              check=True).stdout.splitlines())
    assert main(["monitor", bulk, "-f", expr, "--format", "jsonl", "--profile", "linux"]) == 0
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert lines[-1]["packets"]["read"] == want
    assert {c["conn_state"] for c in lines[:-1]} == {"RSTO"} and len(lines) - 1 == 200
    assert main(["monitor", bulk, "-f", "tcp port nonsense((", "--json"]) == 2
    assert "--filter" in capsys.readouterr().err


def test_stream_table_and_formats_conflict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", str(HALF), "--stream"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[0] == "1" and "1 connections" in out[-1]  # the row first, the counts at the end
    assert main(["monitor", str(HALF), "--json", "--format", "zeek"]) == 2
