"""`tcpfsm monitor --format zeek / zeek-json`: Zeek's conn.log, checked against the captures'
own ground truth and against tshark."""

from __future__ import annotations

import collections
import json
import re
import shutil
import subprocess

import pytest

from tcpfsm.cli import main
from tcpfsm.conformance import zeek_uid

from .conformance_helpers import TRACES

BULK = TRACES / "bulk_mixed.pcap"
# Zeek's conn.log columns (Conn::Info in base/protocols/conn/main.zeek, docs.zeek.org), in order
ZEEK = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
        "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
        "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"]


def _zeek(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["monitor", *args, "--format", "zeek"])
    return code, capsys.readouterr().out.splitlines()


def test_bulk_mixed_conn_log(capsys: pytest.CaptureFixture[str]) -> None:
    """2,000 rows; conn_states from bulk_mixed.summary.json's counts per kind (the capture's
    ground truth): normal closes and half closes SF, SO_LINGER 0 RSTO, refused REJ, Linux's
    reset on close with unread data RSTR (the responder resets)."""
    summary = json.loads((TRACES / "bulk_mixed.summary.json").read_text())
    code, lines = _zeek(capsys, str(BULK), "--profile", "linux")
    assert code == 0
    head = [ln for ln in lines if ln.startswith("#")]
    rows = [ln.split("\t") for ln in lines if not ln.startswith("#")]
    assert [h.split("\t")[0].split(" ")[0] for h in head] == ["#separator", "#set_separator", "#empty_field",
                                                              "#unset_field", "#path", "#open", "#fields", "#types",
                                                              "#close"]
    assert head[0] == "#separator \\x09" and head[4] == "#path\tconn"
    assert re.fullmatch(r"#(open|close)\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d", head[5])
    fields = head[6].split("\t")[1:]
    assert fields[:len(ZEEK)] == ZEEK
    per = summary["counts_per_type"]
    assert len(rows) == summary["connections_total"] == 2000
    states = collections.Counter(r[fields.index("conn_state")] for r in rows)
    assert states == {"SF": per["normal_close_client"] + per["normal_close_server"] + per["half_close"],
                      "RSTO": per["abortive_close_linger0"], "REJ": per["connection_refused"],
                      "RSTR": per["close_with_unread_data"]} == {"SF": 1400, "RSTO": 200, "REJ": 200, "RSTR": 200}
    assert all(r[fields.index("proto")] == "tcp" and r[fields.index("service")] == "-" for r in rows)
    uids = [r[1] for r in rows]
    assert len(set(uids)) == 2000 and all(re.fullmatch(r"C[0-9A-Za-z]{17}", u) for u in uids)
    # every packet is in one row: orig_pkts + resp_pkts add up to the capture's 17,600
    assert sum(int(r[fields.index("orig_pkts")]) + int(r[fields.index("resp_pkts")]) for r in rows) == 17600


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (make deps installs it)")
def test_packets_and_bytes_match_tshark(capsys: pytest.CaptureFixture[str]) -> None:
    """Per connection, tshark's conv,tcp frames and bytes: frames = orig_pkts + resp_pkts and
    bytes = orig_ip_bytes + resp_ip_bytes + 14 per frame (the Ethernet header, which Zeek's
    IP-level count leaves out); tshark's own numbers, not tcpfsm's."""
    out = subprocess.run(["tshark", "-n", "-r", str(BULK), "-q", "-z", "conv,tcp"], capture_output=True, text=True,
                         check=True).stdout
    conv = {}
    for ln in out.splitlines():
        m = re.match(r"(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+.*?\s(\d+)\s+([\d,]+) bytes\s+[\d.]+\s+[\d.]+\s*$", ln)
        if m:
            total = re.findall(r"(\d+) ([\d,]+) bytes", ln)[2]  # <-, ->, Total
            conv[frozenset({(m[1], int(m[2])), (m[3], int(m[4]))})] = (int(total[0]), int(total[1].replace(",", "")))
    assert _zeek(capsys, str(BULK), "--profile", "linux")[0] == 0
    lines = _zeek(capsys, str(BULK), "--profile", "linux")[1]
    rows = [ln.split("\t") for ln in lines if not ln.startswith("#")]
    assert len(conv) == len(rows) == 2000
    for r in rows:
        frames, nbytes = conv[frozenset({(r[2], int(r[3])), (r[4], int(r[5]))})]
        pkts = int(r[16]) + int(r[18])
        assert (pkts, int(r[17]) + int(r[19]) + 14 * pkts) == (frames, nbytes), r[:6]


def test_half_close_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """half_close_v4's ground truth (app_events): the server's recv() got 15 bytes, the
    client's recv() got 'DATA-1\\nDATA-2\\nDATA-3\\n' = 3 x 7 = 21 bytes; every byte was
    captured (pcap_checks), so no content gap: orig_bytes 15, resp_bytes 21, missed_bytes 0."""
    truth = json.loads((TRACES / "half_close_v4.json").read_text())
    recv = [e["what"] for e in truth["app_events"] if e["what"].startswith("recv()")]
    assert recv[0].startswith("recv() -> 15 bytes") and "DATA-1\\nDATA-2\\nDATA-3\\n" in recv[1]
    code, lines = _zeek(capsys, str(TRACES / "half_close_v4.pcap"), "--profile", "linux")
    assert code == 0
    fields = next(ln for ln in lines if ln.startswith("#fields")).split("\t")[1:]
    [row] = [dict(zip(fields, ln.split("\t"), strict=True)) for ln in lines if not ln.startswith("#")]
    assert (row["orig_bytes"], row["resp_bytes"], row["missed_bytes"]) == ("15", "21", "0")
    assert row["conn_state"] == "SF"
    assert int(row["orig_pkts"]) + int(row["resp_pkts"]) == 14  # tcpdump -r half_close_v4.pcap | wc -l
    assert row["tcpfsm_orig_states"].split(",")[0] == "CLOSED"
    assert row["tcpfsm_resp_states"].split(",")[-1] == "CLOSED"


def test_zeek_json_and_uid(capsys: pytest.CaptureFixture[str]) -> None:
    capture = str(TRACES / "normal_close_client_v6.pcap")
    assert main(["monitor", capture, "--format", "zeek-json"]) == 0
    [rec] = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert rec["id.orig_h"] == "::1" and rec["proto"] == "tcp" and "service" not in rec  # unset: left out
    assert rec["conn_state"] == "SF" and rec["tcpfsm_findings"] == []
    # deterministic from the 4-tuple and the first timestamp, different when either differs
    uid = zeek_uid(rec["id.orig_h"], rec["id.orig_p"], rec["id.resp_h"], rec["id.resp_p"], rec["ts"])
    assert rec["uid"] == uid
    assert zeek_uid(rec["id.orig_h"], rec["id.orig_p"], rec["id.resp_h"], rec["id.resp_p"], rec["ts"] + 1) != uid
    assert main(["monitor", capture, "--format", "zeek-json"]) == 0
    assert json.loads(capsys.readouterr().out)["uid"] == uid


def test_findings_column(capsys: pytest.CaptureFixture[str]) -> None:
    """close_with_unread_data under plain RFC 9293: the reset is a finding with rule U9, §3.10.4
    (as tests/test_monitor.py pins from the RFC's CLOSE rule)."""
    code, lines = _zeek(capsys, str(TRACES / "close_with_unread_data_v4.pcap"))
    assert code == 1
    fields = next(ln for ln in lines if ln.startswith("#fields")).split("\t")[1:]
    [row] = [dict(zip(fields, ln.split("\t"), strict=True)) for ln in lines if not ln.startswith("#")]
    assert "rule U9 §3.10.4" in row["tcpfsm_findings"] and "\t" not in row["tcpfsm_findings"]
