"""Captures written from the model (tcpfsm.capture): read back by the real tshark, and by
``tcpfsm monitor``, which must infer the states the scenario's endpoints went through.

Two capture points (tcpfsm/capture/_writer.py). At the receivers (the default): a segment is
in the capture when it is delivered; a lost one is not; an injected one is, when it arrives.
At the hosts (pcapng, one interface per host, each packet inbound or outbound): a segment is
there when sent, on its sender's interface, and again at each delivery, on its receiver's.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tcpfsm.base import Flags, Segment
from tcpfsm.capture import ReplayError, Wire, counterexample_pair, pair_frames, scenario_frames, write_capture
from tcpfsm.cli import main
from tcpfsm.runtime import EndpointPair, run_scenario
from tcpfsm.spec import load_scenarios, load_spec

from .conftest import ROOT

SCENARIOS = load_scenarios()
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (make system-deps installs it)")
CHECKSUMS = ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]


def tshark(path: Path, *args: str) -> str:
    """tshark's output on ``path``; fails on any complaint on stderr (but the note about root)."""
    assert TSHARK is not None
    done = subprocess.run([TSHARK, "-r", str(path), *CHECKSUMS, *args], capture_output=True, text=True, timeout=60)
    complaints = [ln for ln in done.stderr.splitlines() if ln.strip() and "Running as user" not in ln]
    assert done.returncode == 0 and not complaints, f"tshark on {path}: rc {done.returncode}: {complaints}"
    return done.stdout


def assert_clean(path: Path) -> None:
    """No malformed packet, no bad checksum, and no expert warning but the one RST segments get
    ("Connection reset (RST)": an RST is what those scenarios are about)."""
    text = tshark(path)
    assert "Malformed" not in text and "INCORRECT" not in text, text
    fields = ("frame.number", "tcp.checksum.status", "ip.checksum.status", "udp.checksum.status",
              "icmpv6.checksum.status", "_ws.malformed", "tcp.flags.reset", "_ws.expert.severity", "_ws.expert.message")
    rows = tshark(path, "-T", "fields", "-E", "aggregator=|", *(x for f in fields for x in ("-e", f)))
    for line in rows.splitlines():
        number, tcp_ok, ip_ok, udp_ok, icmp6_ok, malformed, rst, severities, messages = line.split("\t")
        # Wireshark's checksum status: 0 = bad, 1 = good, 2 = unverified; IPv6 has no header checksum
        assert {tcp_ok, ip_ok, udp_ok, icmp6_ok} <= {"1", ""} and not malformed, line
        assert tcp_ok or udp_ok or icmp6_ok or "ARP" in text.splitlines()[int(number) - 1], line
        warnings = [m for sev, m in zip(severities.split("|"), messages.split("|"), strict=False)
                    if sev and int(sev) >= 0x00600000]  # PI_WARN and above
        assert warnings in ([], ["Connection reset (RST)"]), line
        if warnings:
            assert rst in ("1", "True"), line


def monitored(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    capsys.readouterr()
    code = main(["monitor", str(path), "--json", *extra])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return dict(json.loads(out))


def by_address(report: dict[str, object], wire: Wire) -> dict[str, list[str]]:
    """Each end's states over every connection of the capture, in order (A's address, B's). A
    connection that begins where the end's previous one left off (a SYN reopening TIME-WAIT,
    S22: the same endpoint goes on) does not repeat that state."""
    names = {wire.a.ip: "A", wire.b.ip: "B"}
    out: dict[str, list[str]] = {"A": [], "B": []}
    for conn in report["connections"]:  # type: ignore[attr-defined]
        for end in conn["endpoints"]:
            trail, states = out[names[end["addr"]]], list(end["states"])
            trail.extend(states[1:] if trail and states and states[0] == trail[-1] else states)
    return out


def model_states(pair: EndpointPair) -> dict[str, list[str]]:
    """Each end's states as the Endpoints went through them, with what a capture cannot show by
    its nature taken off (hand-stated rules, one per RFC reason):

    * the passive OPEN sends nothing (RFC 9293 §3.10.1: "no segment"): the CLOSED before LISTEN
      is on no wire, and a monitor starts a responder that answers a SYN with SYN,ACK in LISTEN;
    * a timer that sends nothing, at the end (the 2MSL timeout deletes the TCB, RFC 9293
      §3.10.8): the last state it enters is on no wire.

    A crash takes its end to CLOSED, as RFC 9293 §3.5.2's Figure 9 draws it ("1. (CRASH)" then
    "2. CLOSED"): all state lost, the TCB gone.
    """
    out: dict[str, list[str]] = {}
    silent_end: dict[str, bool] = {}
    for ev in pair.trace:
        if ev.kind == "crash" and ev.who in out and out[ev.who][-1] != "CLOSED":
            out[ev.who].append("CLOSED")
            silent_end[ev.who] = False
        for s in ev.steps:
            trail = out.setdefault(str(s.name), [str(s.source)])
            if str(s.target) != trail[-1]:
                trail.append(str(s.target))
                silent_end[str(s.name)] = ev.kind == "timeout" and not s.sent
    for who, trail in out.items():
        if trail[:2] == ["CLOSED", "LISTEN"]:
            del trail[0]
        if silent_end.get(who):
            trail.pop()
    return out


# What a capture taken at the receivers cannot show, scenario by scenario: the ends whose state
# sequences the monitor cannot infer, and why. The test checks that exactly these differ (so an
# entry that starts to round-trip must be taken off) and that every other end matches. A capture
# at the hosts shows all three: what was sent and never arrived is there, outbound, on its
# sender's interface; an injected segment arrives at its receiver's interface without leaving
# its source's.
UNSEEN = {
    "listener-reset": ({"B"}, "B's SYN,ACK is still in flight when the scenario ends and the RST that returns B to "
                              "LISTEN is injected: no segment B sent is ever delivered, so none is in the capture"),
    "active-syn-received-reset": ({"A"}, "A's SYN and SYN,ACK are never delivered (the scenario ends with them in "
                                         "flight): the capture holds nothing A sent"),
    "syn-in-time-wait": ({"A"}, "the new SYN is injected with A's addresses: on the wire it is A's own new OPEN "
                                "(a SYN carries nothing but the 4-tuple to say whose it is), which A's endpoint "
                                "never made"),
}

# Scenarios whose captures carry a finding, and why (the monitor is right to report it).
FINDINGS = {
    "half-open": "A opens again from ESTABLISHED: its connection was lost (RFC 9293 §3.5.2, Figure 9)",
    "old-duplicate-syn": "the old duplicate SYN is injected with A's addresses: the monitor takes it for A's "
                         "own OPEN, and A's real SYN for a second OPEN in a connection that exists",
}
# At the hosts the old duplicate SYN is seen arriving at B without leaving A: not A's OPEN
FINDINGS_AT_HOSTS = {"half-open": FINDINGS["half-open"]}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_round_trips_through_a_capture(name: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    run = run_scenario(SCENARIOS[name])
    frames = scenario_frames(run)
    delivered = sum(ev.kind in ("deliver", "inject") for ev in run.pair.trace)
    assert len(frames) == delivered  # the capture point: every segment that arrived, nothing else
    for suffix in ("pcap", "pcapng"):
        path = write_capture(tmp_path / f"{name}.{suffix}", frames)
        report = monitored(path, capsys)
        assert report["packets"]["read"] == delivered  # type: ignore[index]
        assert report["packets"]["bad_checksum"] == 0  # type: ignore[index]
        got, want = by_address(report, Wire()), model_states(run.pair)
        differ = {who for who in ("A", "B") if got[who] != want.get(who, [])}
        unseen, why = UNSEEN.get(name, (set(), ""))
        assert differ == unseen, f"{name} ({suffix}): monitor {got}, endpoints {want}; expected gaps: {why or 'none'}"
        findings = [f for c in report["connections"] for f in c["findings"]]  # type: ignore[attr-defined]
        assert bool(findings) == (name in FINDINGS), (name, findings, FINDINGS.get(name))


def sent_segments(pair: EndpointPair) -> int:
    """Every segment an endpoint sent: a user call's, a timer's, a reply to a delivery."""
    return sum(len(ev.sent) for ev in pair.trace if ev.kind in ("call", "timeout", "deliver", "inject"))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_round_trips_through_a_capture_at_the_hosts(name: str, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Captured at both hosts' interfaces, every scenario's states come back, for both ends."""
    run = run_scenario(SCENARIOS[name])
    frames = scenario_frames(run, at="hosts")
    arrivals = sum(ev.kind in ("deliver", "inject") for ev in run.pair.trace)
    assert len(frames) == sent_segments(run.pair) + arrivals  # each send once, each arrival once
    assert {f.direction for f in frames} <= {1, 2} and all(f.tap is not None for f in frames)
    path = write_capture(tmp_path / f"{name}.pcapng", frames)
    report = monitored(path, capsys)
    assert report["packets"]["read"] == len(frames)  # type: ignore[index]
    got, want = by_address(report, Wire()), model_states(run.pair)
    assert got == want, f"{name}: monitor {got}, endpoints {want}"
    findings = [f for c in report["connections"] for f in c["findings"]]  # type: ignore[attr-defined]
    assert bool(findings) == (name in FINDINGS_AT_HOSTS), (name, findings)


@needs_tshark
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_tshark_reads_every_scenario_capture_clean(name: str, tmp_path: Path) -> None:
    frames = scenario_frames(run_scenario(SCENARIOS[name]))
    for suffix in ("pcap", "pcapng"):
        path = write_capture(tmp_path / f"{name}.{suffix}", frames)
        assert_clean(path)
        assert len(tshark(path).splitlines()) == len(frames)
    at_hosts = scenario_frames(run_scenario(SCENARIOS[name]), at="hosts")
    assert_clean(write_capture(tmp_path / f"{name}-hosts.pcapng", at_hosts))


@needs_tshark
def test_a_capture_at_the_hosts_names_each_interface_and_direction(tmp_path: Path) -> None:
    """listener-reset at the hosts: A's SYN leaves A (outbound on A's interface) and arrives at B
    (inbound on B's); B's SYN,ACK leaves B and, still in flight at the end, never arrives; the
    injected RST arrives at B without leaving A. pcapng's epb_flags direction: 1 in, 2 out."""
    frames = scenario_frames(run_scenario(SCENARIOS["listener-reset"]), at="hosts")
    path = write_capture(tmp_path / "lr.pcapng", frames)
    out = tshark(path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.packet_flags_direction",
                 "-e", "tcp.flags.str")
    got = [(r[0], int(r[1], 16), r[2].replace("\u00b7", "")) for r in (ln.split("\t") for ln in out.splitlines())]
    assert got == [("A-eth0", 2, "S"), ("B-eth0", 1, "S"), ("B-eth0", 2, "AS"), ("B-eth0", 1, "R")]


def test_a_capture_at_the_hosts_is_pcapng_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = scenario_frames(run_scenario(SCENARIOS["handshake"]), at="hosts")
    with pytest.raises(ValueError, match=r"written as \.pcapng"):
        write_capture(tmp_path / "h.pcap", frames)
    with pytest.raises(ValueError, match="taken at one of receivers, hosts"):
        scenario_frames(run_scenario(SCENARIOS["handshake"]), at="middle")
    assert main(["simulate", "handshake", "--pcap", str(tmp_path / "h.pcap"), "--capture-at", "hosts"]) == 2
    assert "written as .pcapng" in capsys.readouterr().err
    assert main(["simulate", "handshake", "--capture-at", "hosts", "--pcap", str(tmp_path / "h.pcap")]) == 2
    assert "written as .pcapng" in capsys.readouterr().err
    assert main(["monitor", str(write_capture(tmp_path / "h.pcapng", frames)), "-f", "tcp"]) == 2
    assert "losing which host saw each packet" in capsys.readouterr().err


@needs_tshark
def test_the_handshake_on_the_wire_is_figure_6(tmp_path: Path) -> None:
    """RFC 9293 §3.5 Figure 6 with the scenario's ISSs (A 100, B 300): <SEQ=100><CTL=SYN>,
    <SEQ=300><ACK=101><CTL=SYN,ACK>, <SEQ=101><ACK=301><CTL=ACK>; one way is half the 50 ms RTT."""
    path = write_capture(tmp_path / "h.pcapng", scenario_frames(run_scenario(SCENARIOS["handshake"])))
    rows = [ln.split("\t") for ln in tshark(path, "-T", "fields", "-e", "tcp.seq_raw", "-e", "tcp.ack_raw",
                                            "-e", "tcp.flags.str", "-e", "tcp.srcport", "-e", "tcp.dstport",
                                            "-e", "tcp.window_size_value", "-e", "frame.time_relative",
                                            "-e", "ip.src", "-e", "eth.src").splitlines()]
    assert [(r[0], r[1]) for r in rows] == [("100", "0"), ("300", "101"), ("101", "301")]
    assert [r[2].replace("\u00b7", "") for r in rows] == ["S", "AS", "A"]
    assert [(r[3], r[4]) for r in rows] == [("49152", "50000"), ("50000", "49152"), ("49152", "50000")]
    assert {r[5] for r in rows} == {"65535"}
    assert [round(float(r[6]), 6) for r in rows] == [0.0, 0.025, 0.05]
    assert [r[7] for r in rows] == ["192.0.2.10", "192.0.2.11", "192.0.2.10"]  # RFC 5737 TEST-NET-1
    assert rows[0][8].startswith("00:00:5e:00:53:")  # RFC 7042 §2.1.1's documentation MACs


@needs_tshark
def test_pcapng_comments_name_each_packets_rule_and_section(tmp_path: Path) -> None:
    """The SYN comes from the spec's rule for an active OPEN in CLOSED (RFC 9293 §3.10.1) and is
    taken by its rule for a SYN in LISTEN (§3.10.7.2): both named in the first packet's comment."""
    spec = load_spec()
    opening = next(t for t in spec.transitions if "CLOSED" in t.sources and "open_active" in t.events)
    listen = next(t for t in spec.transitions if "LISTEN" in t.sources and "rcv_syn" in t.events)
    path = write_capture(tmp_path / "h.pcapng", scenario_frames(run_scenario(SCENARIOS["handshake"])))
    comments = tshark(path, "-T", "fields", "-e", "frame.comment").splitlines()
    assert len(comments) == 3 and all("RFC 9293 §" in c for c in comments)
    assert f"{opening.id} open_active CLOSED -> SYN-SENT (RFC 9293 §3.10.1)" in comments[0]
    assert f"{listen.id} rcv_syn LISTEN -> SYN-RECEIVED (RFC 9293 §3.10.7.2)" in comments[0]
    plain = write_capture(tmp_path / "h.pcap", scenario_frames(run_scenario(SCENARIOS["handshake"])))
    assert tshark(plain, "-T", "fields", "-e", "frame.comment").split() == []  # classic pcap has none


@needs_tshark
def test_timestamps_follow_the_rto_and_2msl(tmp_path: Path) -> None:
    """The retransmitted FIN comes one RTO after the first (RFC 6298 §2.1: an initial RTO of 1 s,
    the Endpoint's default); a new SYN after TIME-WAIT comes 2MSL after TIME-WAIT began (RFC 9293
    §3.4.2: MSL of 2 minutes, so 240 s)."""
    path = write_capture(tmp_path / "r.pcap", scenario_frames(run_scenario(SCENARIOS["time-wait-retransmitted-fin"])))
    fins = [ln.split("\t") for ln in tshark(path, "-Y", "tcp.flags.fin == 1 && tcp.srcport == 50000", "-T", "fields",
                                            "-e", "frame.time_relative").splitlines()]
    assert len(fins) == 2 and float(fins[1][0]) - float(fins[0][0]) == pytest.approx(1.0, abs=0.03)

    pair = EndpointPair()
    pair.handshake()
    pair.call("A", "close")
    pair.run()
    pair.call("B", "close")
    pair.run()  # A's ACK of B's FIN: A is in TIME-WAIT from here
    pair.timeout("A", "time_wait")
    pair.call("A", "connect")
    pair.deliver("A")
    path = write_capture(tmp_path / "tw.pcap", pair_frames(pair))
    rows = [ln.split("\t") for ln in tshark(path, "-T", "fields", "-e", "frame.time_relative", "-e",
                                            "tcp.flags.syn", "-e", "tcp.flags.ack").splitlines()]
    last_ack, new_syn = float(rows[-2][0]), float(rows[-1][0])
    assert rows[-1][1] in ("1", "True")
    # the ACK arrives one way after A sent it; A entered TIME-WAIT when it sent it
    assert new_syn - (last_ack - 0.025) == pytest.approx(240.0 + 0.025, abs=0.01)


@needs_tshark
def test_ipv6_captures_read_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """RFC 3849's documentation prefix; the TCP checksum over the IPv6 pseudo-header (RFC 8200 §8.1)."""
    run = run_scenario(SCENARIOS["close"])
    path = write_capture(tmp_path / "v6.pcapng", scenario_frames(run, ipv6=True))
    assert_clean(path)
    assert set(tshark(path, "-T", "fields", "-e", "ipv6.src").split()) == {"2001:db8::a", "2001:db8::b"}
    assert by_address(monitored(path, capsys), Wire.ipv6()) == model_states(run.pair)


def test_bytes_given_are_the_bytes_written(tmp_path: Path) -> None:
    pair = EndpointPair()
    pair.handshake()
    pair.call("A", "send", b"hello, layers")
    pair.run()
    frames = pair_frames(pair)
    assert frames[3].data.endswith(b"hello, layers")


# ----------------------------------------------------------------------------- counterexamples
# (checker options, property): counterexamples whose captures round-trip, and one that cannot
ROUND_TRIPS = [
    ({"spec_file": str(ROOT / "specs/mutants/skip_time_wait.yaml")}, "I1"),
    ({"lossy": True}, "last_ack_completes"),
    ({"b_opens": "active", "lossy": True}, "simultaneous_close"),
    ({"spec_file": str(ROOT / "specs/mutants/last_ack_ignores_ack.yaml")}, "last_ack_completes"),
]


@pytest.mark.parametrize(("options", "prop"), ROUND_TRIPS)
def test_counterexamples_round_trip(options: dict[str, object], prop: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tcpfsm.checker import check

    report = check(properties=[prop], **options)  # type: ignore[arg-type]
    [verdict] = [v for v in report.verdicts if v.counterexample]
    pair = counterexample_pair(report, verdict)  # checks the states of every step against the checker's
    spec_args = ["--spec", str(options["spec_file"])] if "spec_file" in options else []
    for at in ("receivers", "hosts"):
        path = write_capture(tmp_path / f"cex-{at}.pcapng", pair_frames(pair, at=at))
        assert by_address(monitored(path, capsys, *spec_args), Wire()) == model_states(pair), at
        if TSHARK:
            assert_clean(path)


def test_a_silent_close_in_syn_sent_is_a_gap_the_test_names(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """rst_in_syn_received_closes' counterexample starts with A's CLOSE in SYN-SENT, which sends
    nothing (RFC 9293 §3.10.4: "delete the TCB"): the monitor cannot see A go CLOSED and takes
    A's RST to B's SYN,ACK for an established A's. A's states differ, B's do not."""
    from tcpfsm.checker import check

    mutant = str(ROOT / "specs/mutants/rst_in_syn_received_closes.yaml")
    report = check(spec_file=mutant, properties=["rst_returns_listener"])
    [verdict] = [v for v in report.verdicts if v.counterexample]
    assert verdict.counterexample[0].event == "CLOSE_A"
    pair = counterexample_pair(report, verdict)
    got = by_address(monitored(write_capture(tmp_path / "c.pcap", pair_frames(pair)), capsys, "--spec", mutant),
                     Wire())
    want = model_states(pair)
    assert got["B"] == want["B"] and got["A"] != want["A"]


def test_a_counterexample_that_does_not_replay_says_where(tmp_path: Path) -> None:
    from tcpfsm.checker import check

    report = check(spec_file=str(ROOT / "specs/mutants/skip_time_wait.yaml"), properties=["I1"])
    [verdict] = [v for v in report.verdicts if v.counterexample]
    wrong = type(verdict)(verdict.name, verdict.title, verdict.kind, verdict.verdict,
                          [*verdict.counterexample[:-1], type(verdict.counterexample[-1])(
                              verdict.counterexample[-1].event, "ESTABLISHED", "LAST-ACK", (), (), {})])
    with pytest.raises(ReplayError, match=r"step 8 \(RECV_A\): the checker has A ESTABLISHED"):
        counterexample_pair(report, wrong)


# ----------------------------------------------------------------------------- the CLI
@needs_tshark
def test_simulate_pcap_and_check_trace_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "close.pcapng"
    assert main(["simulate", "close", "--pcap", str(out)]) == 0
    assert_clean(out)
    cex = tmp_path / "cex.pcap"
    code = main(["check", "-q", "--spec", str(ROOT / "specs/mutants/skip_time_wait.yaml"), "--property", "I1",
                 "--trace-out", str(cex)])
    assert code == 1  # I1 is violated: a finding
    written = tmp_path / "cex-I1.pcap"
    assert written.is_file() and not cex.exists()
    assert_clean(written)


def test_simulate_layers_prints_four_layers_per_packet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "handshake", "--layers"]) == 0
    out = capsys.readouterr().out
    for layer, osi in (("Application", "OSI 7"), ("Transport", "OSI 4"), ("Internet", "OSI 3"),
                       ("Link", "OSI 2")):
        assert sum(bool(re.match(rf"    {layer} +{osi}", ln)) for ln in out.splitlines()) == 3  # down, per packet
    assert out.count("(encapsulation") == 3 and out.count("(decapsulation") == 3
    assert "flags SYN,ACK" in out and "seq 300, ack 101" in out  # Figure 6's SYN,ACK


def test_bad_capture_names_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "close", "--pcap", str(tmp_path / "x.txt")]) == 2
    assert ".pcap or .pcapng" in capsys.readouterr().err
    assert main(["check", "-q", "--trace-out", str(tmp_path / "x.pcapx")]) == 2
    assert main(["simulate", "close", "--layers", "--json"]) == 2


def test_injected_segments_are_written_as_from_the_peer() -> None:
    pair = EndpointPair()
    pair.call("B", "listen")
    pair.inject("B", Segment(seq=90, flags=Flags.SYN), "old duplicate SYN")
    [frame] = pair_frames(pair)
    assert "injected (old duplicate SYN), as if from A" in frame.comment


def test_the_package_docstring_example_runs() -> None:
    import doctest

    import tcpfsm.capture

    result = doctest.testmod(tcpfsm.capture, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0


def test_the_cli_names_the_writers_capture_points() -> None:
    """The CLI spells the choices without importing dpkt (start-up); they are the writer's."""
    from tcpfsm.capture._writer import TAPS
    from tcpfsm.cli._walk import CAPTURE_POINTS

    assert CAPTURE_POINTS == TAPS
