"""``tcpfsm walk http-get``: the seed's walk, checked with the real tshark, the monitor and h11.

Expected values come from the RFCs (the handshake's ACK = ISS+1, RFC 9293 §3.5 Figure 6; the
close's states, Figure 12 and §3.6), from the documentation address ranges (RFC 5737,
RFC 7042), from tshark's reading of the capture, and from h11 parsing the bytes back.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import h11
import jsonschema
import pytest

from tcpfsm.base._resources import schema_path
from tcpfsm.capture import layers_of
from tcpfsm.cli import main
from tcpfsm.spec import available_profiles
from tcpfsm.walk import walk

from .test_capture_writer import assert_clean

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (make system-deps installs it)")


def tshark(path: Path, *args: str) -> list[list[str]]:
    assert TSHARK is not None
    done = subprocess.run([TSHARK, "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                           "-o", "udp.check_checksum:TRUE", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [ln.split("\t") for ln in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("walk") / "walk.pcapng"
    assert main(["walk", "http-get", "--pcap", str(out)]) == 0
    return out


@needs_tshark
def test_the_protocol_column_shows_arp_dns_tcp_http_in_order(capture: Path) -> None:
    protocols = [r[0] for r in tshark(capture, "-T", "fields", "-e", "_ws.col.Protocol")]
    firsts = list(dict.fromkeys(protocols))
    assert firsts == ["ARP", "DNS", "TCP", "HTTP"], protocols
    assert protocols[:4] == ["ARP", "ARP", "DNS", "DNS"]  # request and reply, query and answer


@needs_tshark
def test_tshark_lists_every_step_of_the_walk(capture: Path) -> None:
    assert_clean(capture)
    info = [r[0] for r in tshark(capture, "-T", "fields", "-e", "_ws.col.Info")]
    assert info[0].startswith("Who has 192.0.2.1? Tell 192.0.2.10")  # the gateway, RFC 5737 TEST-NET-1
    assert info[1] == "192.0.2.1 is at 00:00:5e:00:53:01"  # RFC 7042 §2.1.1 documentation MAC
    assert "Standard query 0x5eed A www.example.com" in info[2]
    assert "Standard query response 0x5eed A www.example.com A 203.0.113.80" in info[3]
    flags = [r[0].replace("\u00b7", "") for r in tshark(capture, "-Y", "tcp", "-T", "fields", "-e", "tcp.flags.str")]
    assert flags[:3] == ["S", "AS", "A"]  # the 3-way handshake
    assert any(i.startswith("GET / HTTP/1.1") for i in info)
    assert any(i.startswith("HTTP/1.1 200 OK") for i in info)
    # the 4-way close: the client's FIN and the server's ACK, the server's FIN and the client's ACK
    assert flags[-4:] == ["AF", "A", "AF", "A"]


@needs_tshark
def test_the_handshake_acknowledges_isn_plus_one(capture: Path) -> None:
    """RFC 9293 §3.5 Figure 6: the SYN,ACK's ACK is the client's ISS+1; the ACK's, the server's ISS+1."""
    rows = tshark(capture, "-Y", "tcp", "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields",
                  "-e", "tcp.seq", "-e", "tcp.ack")
    (syn_seq, _), (synack_seq, synack_ack), (ack_seq, ack_ack) = rows[:3]
    assert int(synack_ack) == (int(syn_seq) + 1) % 2**32
    assert int(ack_ack) == (int(synack_seq) + 1) % 2**32 and int(ack_seq) == int(syn_seq) + 1


@needs_tshark
def test_the_frames_go_through_the_gateway(capture: Path) -> None:
    """The client's frames to the server go to the gateway's MAC, the IP header names the server
    (the seed: the destination MAC is the router's); the server's arrive with a lower TTL."""
    rows = tshark(capture, "-Y", "tcp", "-T", "fields", "-e", "eth.dst", "-e", "ip.dst", "-e", "ip.src", "-e", "ip.ttl")
    sent = [r for r in rows if r[2] == "192.0.2.10"]
    got = [r for r in rows if r[1] == "192.0.2.10"]
    assert {(r[0], r[1]) for r in sent} == {("00:00:5e:00:53:01", "203.0.113.80")}
    assert {r[3] for r in sent} == {"64"} and all(int(r[3]) < 64 for r in got)


def test_the_monitor_infers_both_ends_states_and_skips_arp_and_dns(capture: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Figure 12's close, the client closing first; the TIME-WAIT expiry sends nothing, so the
    capture ends in TIME-WAIT. ARP is not IP; DNS is UDP: both skipped, with those reasons."""
    capsys.readouterr()
    assert main(["monitor", str(capture), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [conn] = report["connections"]
    ends = {e["role"]: e for e in conn["endpoints"]}
    assert ends["originator"]["addr"] == "192.0.2.10"
    assert ends["originator"]["states"] == ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
                                            "TIME-WAIT"]
    assert ends["responder"]["states"] == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK",
                                           "CLOSED"]
    assert report["packets"]["skipped"] == {"not IP": 2, "not TCP": 2}
    assert conn["findings"] == []


@needs_tshark
def test_h11_parses_the_get_and_the_response_out_of_the_capture(capture: Path) -> None:
    payloads = [bytes.fromhex(r[1]) for r in tshark(capture, "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.srcport",
                                                      "-e", "tcp.payload")]
    request, response = payloads
    server = h11.Connection(h11.SERVER)
    server.receive_data(request)
    req = server.next_event()
    assert isinstance(req, h11.Request) and req.method == b"GET" and req.target == b"/"
    assert dict(req.headers)[b"host"] == b"www.example.com"
    assert isinstance(server.next_event(), h11.EndOfMessage)
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "www.example.com")]))
    client.send(h11.EndOfMessage())
    client.receive_data(response)
    resp = client.next_event()
    assert isinstance(resp, h11.Response) and resp.status_code == 200
    body = client.next_event()
    assert isinstance(body, h11.Data) and int(dict(resp.headers)[b"content-length"]) == len(body.data)
    assert b"<title>Example Domain</title>" in body.data
    assert isinstance(client.next_event(), h11.EndOfMessage)


def test_the_host_option_reaches_dns_and_http(tmp_path: Path) -> None:
    run = walk(host="www.example.org")
    assert b"Host: www.example.org\r\n" in run.request
    assert b"\x03www\x07example\x03org\x00" in run.frames[2].data  # RFC 1035 §3.1's labels in the query


@pytest.mark.parametrize("profile", available_profiles())
def test_every_profile_walks_to_time_wait_and_its_expiry(profile: str) -> None:
    """The TCP part is the profile's Endpoints: each ends with the client through TIME-WAIT, which
    lasts 2MSL (RFC 9293 §3.4.2's MSL of 2 minutes: 240 s), and the server CLOSED."""
    run = walk(profile=profile)
    assert run.states["client"][-2:] == ["TIME-WAIT", "CLOSED"]
    assert run.states["server"][-1] == "CLOSED"
    entered = next(m.t for m in run.timeline if m.who == "client" and "-> TIME-WAIT" in m.what)
    expired = next(m.t for m in run.timeline if m.who == "client" and "TIME-WAIT -> CLOSED" in m.what)
    assert expired - entered == pytest.approx(240.0)
    assert run.response.startswith(b"HTTP/1.1 200 OK\r\n")


@needs_tshark
def test_layers_print_every_packets_four_layers_with_the_sizes_tshark_reads(capture: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["walk", "http-get", "--layers"]) == 0
    out = capsys.readouterr().out
    packets = re.split(r"\n(?=#\d+  t=)", out[out.index("#1  t="):])
    rows = tshark(capture, "-T", "fields", "-e", "frame.len", "-e", "tcp.len", "-e", "udp.length")
    assert len(packets) >= len(rows)
    for text, (frame_len, tcp_len, udp_len) in zip(packets, rows, strict=False):
        for layer, osi in (("Application", "OSI 7"), ("Transport", "OSI 4"), ("Internet", "OSI 3"),
                           ("Link", "OSI 2")):
            assert re.search(rf"^    {layer} +{osi}", text, re.M), (layer, text)
        assert "(encapsulation" in text and "(decapsulation" in text
        assert f"= {frame_len} B frame" in text  # the Ethernet frame as tshark measures it
        if tcp_len and int(tcp_len):
            assert f"{tcp_len} B message" in text  # the HTTP message is the TCP payload
        if udp_len:
            assert f"= {udp_len} B datagram" in text  # the UDP datagram, header included (RFC 768)
    get = next(p for p in packets if "GET / HTTP/1.1" in p)
    # going down: application, transport, internet, link; going up: link first
    down = [get.index(f"    {x} ") for x in ("Application", "Transport", "Internet", "Link")]
    assert down == sorted(down)
    up = get[get.index("(decapsulation"):]
    assert [up.index(f"    {x} ") for x in ("Link", "Internet", "Transport", "Application")] == sorted(
        up.index(f"    {x} ") for x in ("Link", "Internet", "Transport", "Application"))


def test_json_output_matches_its_schema(capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads(schema_path("walk.schema.json").read_text())
    for args in ([], ["--layers"]):
        capsys.readouterr()
        assert main(["walk", "http-get", "--json", *args]) == 0
        data = json.loads(capsys.readouterr().out)
        jsonschema.validate(data, schema)
        assert data["hosts"]["client"]["mac"].startswith("00:00:5e:00:53:")
        assert ("layers" in data["packets"][0]) == bool(args)
    bad = dict(data, packets=[dict(data["packets"][0], layers=[])])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_chart_and_bad_capture_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "walk.svg"
    assert main(["walk", "http-get", "--chart", str(chart)]) == 0
    assert "<svg" in chart.read_text()
    assert main(["walk", "http-get", "--pcap", str(tmp_path / "walk.cap")]) == 2
    assert main(["walk", "no-such-walk"]) == 2


def test_the_encapsulation_diagram_nests_the_gets_headers() -> None:
    """diagrams/encapsulation.dot is the GET's frame: Ethernet 14 B, IPv4 20 B, TCP 20 B in front
    of the HTTP message (RFC 894, RFC 791 §3.1, RFC 9293 §3.1: headers without options)."""
    from tcpfsm.render import walk_encapsulation_dot

    run = walk()
    number, frame = next((i, f) for i, f in enumerate(run.frames, 1) if f.application and f.sender == "client"
                         and f.application[0] == "HTTP")
    msg = len(run.request)
    dot = walk_encapsulation_dot()
    for text in (f"HTTP message, {msg} B", "TCP header, 20 B", f"= {msg + 20} B segment", "IPv4 header, 20 B",
                 f"= {msg + 40} B packet", "Ethernet II header, 14 B", f"= {msg + 54} B frame"):
        assert text in dot, text
    assert len(frame.data) == msg + 54 and layers_of(frame, number).layers[0].size == msg


def test_the_package_docstring_example_runs() -> None:
    import doctest

    import tcpfsm.walk

    result = doctest.testmod(tcpfsm.walk, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0


@needs_tshark
def test_the_ipv6_walk_uses_ndp_and_aaaa(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """RFC 3849 addresses; NDP's solicitation goes to the gateway's solicited-node group (RFC 4291
    §2.7.1: ff02::1:ff00:1 for ...::1) with hop limit 255 (RFC 4861 §7.1.1); DNS asks for AAAA."""
    out = tmp_path / "walk6.pcapng"
    assert main(["walk", "http-get", "--ipv6", "--pcap", str(out)]) == 0
    assert_clean(out)
    protocols = [r[0] for r in tshark(out, "-T", "fields", "-e", "_ws.col.Protocol")]
    assert list(dict.fromkeys(protocols)) == ["ICMPv6", "DNS", "TCP", "HTTP"]
    ndp = tshark(out, "-Y", "icmpv6", "-T", "fields", "-e", "ipv6.dst", "-e", "ipv6.hlim", "-e", "icmpv6.type",
                 "-e", "icmpv6.checksum.status")
    assert ndp == [["ff02::1:ff00:1", "255", "135", "1"], ["2001:db8:1::10", "255", "136", "1"]]
    assert "AAAA 2001:db8:3::80" in tshark(out, "-Y", "dns.flags.response == 1", "-T", "fields", "-e",
                                           "_ws.col.Info")[0][0]
    capsys.readouterr()
    assert main(["monitor", str(out), "--json"]) == 0
    [conn] = json.loads(capsys.readouterr().out)["connections"]
    assert [e["states"][-1] for e in conn["endpoints"]] == ["TIME-WAIT", "CLOSED"]
