"""``tcpfsm packetdrill``: packetdrill's script language read, run against the socket layer and
the spec, line by line.

The scripts in tests/data/packetdrill/ are the project's own (none is copied from packetdrill's
GPL-2.0 repository); the packets they expect are what Linux sends, each script citing the kernel
function or RFC sentence it follows. Here the runner itself is tested: a crafted divergence is
reported with its line and its rule, a syntax error with file:line (exit 2), and what the model
cannot run is counted as not modelled, never dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tcpfsm.cli import main
from tcpfsm.packetdrill import Packet, ScriptError, Syscall, parse_script, run_text

from .conftest import ROOT
from .test_schemas import problems

SCRIPTS = sorted((ROOT / "tests" / "data" / "packetdrill").glob("*.pkt"))

HANDSHAKE = """\
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
+0    < S 0:0(0) win 65535
+0    > S. 0:0(0) ack 1
+.1   < . 1:1(0) ack 1 win 514
+0    accept(3, ..., ...) = 4
"""


def test_the_scripts_cover_the_lifecycle() -> None:
    names = {p.stem for p in SCRIPTS}
    for needed in ("handshake-passive", "handshake-active", "simultaneous-open", "close-active", "close-passive",
                   "close-half", "rst-refused", "rst-established", "close-unread", "close-data-after",
                   "time-wait", "tfo-server", "tfo-client", "listener-close", "rst-before-accept", "linger-abort"):
        assert needed in names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_each_script_passes_on_linux(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["packetdrill", str(script), "--profile", "linux", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert not problems(data, "packetdrill.schema.json")
    [result] = data["scripts"]
    assert code == 0, result["divergence"]
    counts = result["counts"]
    assert counts["read"] == counts["run"] + counts["not_modelled"] + counts["not_run"]
    assert counts["diverged"] == 0 and counts["not_run"] == 0


def test_all_scripts_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packetdrill", *map(str, SCRIPTS), "--profile", "linux"]) == 0
    out = capsys.readouterr().out
    assert f"{len(SCRIPTS)} of {len(SCRIPTS)} script(s) pass" in out


def test_a_crafted_divergence_names_its_line_and_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The script expects a FIN on close() with unread data; Linux (tcp_close, data_was_unread) and
    the linux profile reset instead: the divergence is line 10, naming the rule that sent the RST."""
    script = tmp_path / "unread-fin.pkt"
    script.write_text(HANDSHAKE + "+0 < P. 1:101(100) ack 1 win 514\n+0 > . 1:1(0) ack 101\n"
                      "+0 close(4) = 0\n+0 > F. 1:1(0) ack 101\n+0 < . 1:1(0) ack 2 win 514\n")
    assert main(["packetdrill", str(script), "--profile", "linux"]) == 1
    out = capsys.readouterr().out
    assert f"{script}:11: divergence" in out and "flags RST,ACK where the script has FIN,ACK" in out
    assert main(["packetdrill", str(script), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert not problems(data, "packetdrill.schema.json")
    div = data["scripts"][0]["divergence"]
    assert div["line"] == 11 and div["actual"] == "R. 1:1(0) ack 101"
    [rule] = div["rules"]
    assert rule["rule"] and rule["ref"] and "CLOSED" in rule["what"]  # the spec row that sent the reset
    assert data["scripts"][0]["lines"][-1]["status"] == "not_run"


def test_a_divergence_on_a_call_result_and_on_silence() -> None:
    # read() of 100 bytes when only 50 arrived returns 50 (tcp_recvmsg)
    r = run_text(HANDSHAKE + "+0 < P. 1:51(50) ack 1 win 514\n+0 > . 1:1(0) ack 51\n+0 read(4, ..., 100) = 100\n")
    [div] = [x for x in r.lines if x.status == "divergence"]
    assert div.line == 10 and div.actual == "50"
    # nothing is sent after a bare ACK in ESTABLISHED (RFC 9293 §3.10.7.4): the rule is named
    r = run_text(HANDSHAKE + "+0 < . 1:1(0) ack 1 win 514\n+0 > . 1:1(0) ack 1\n")
    [div] = [x for x in r.lines if x.status == "divergence"]
    assert div.line == 9 and div.actual == "nothing" and "after" in div.message


def test_a_blocking_call_that_never_returns() -> None:
    r = run_text("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n0...1 connect(3, ..., ...) = 0\n+0 > S 0:0(0)\n")
    [div] = [x for x in r.lines if x.status == "divergence"]
    assert div.line == 2 and "never returned" in div.message
    # without "...", a call that would block is a divergence at once
    r = run_text(HANDSHAKE + "+0 read(4, ..., 10) = 10\n")
    assert [x.line for x in r.lines if x.status == "divergence"] == [8]


def test_what_the_model_does_not_run_is_counted_by_reason() -> None:
    text = ("--tolerance_usecs=10000\n"
            "`sysctl -q net.ipv4.tcp_timestamps=0`\n"
            + HANDSHAKE +
            "+0 %{ assert tcpi_state == 1 }%\n"
            "+0 poll([{fd=4, events=POLLOUT, revents=POLLOUT}], 1, 0) = 1\n"
            "+0 setsockopt(4, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0\n"
            "+0 < udp (10)\n")
    r = run_text(text)
    c = r.counts()
    assert r.passed and c["read"] == c["run"] + c["not_modelled"] + c["not_run"]
    assert c["not_modelled_by_reason"] == {"python block": 1, "script option": 1, "setsockopt SO_KEEPALIVE": 1,
                                           "shell command": 1, "syscall poll": 1, "udp packet": 1}
    assert [x.line for x in r.lines if x.status == "not_modelled"] == [1, 2, 10, 11, 12, 13]


@pytest.mark.parametrize(("text", "line", "words"), [
    ("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:5(0) win 1\n", 2, "0:5 is 5 byte(s), not the (0)"),
    ("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\n+0 < S 0:0(0) bogus 1\n", 3, "unknown packet field"),
    ("socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", 1, "needs a time"),
    ("0 socket(..., SOCK_STREAM) = maybe\n", 1, "bad result"),
    ("0 socket(...)\n", 1, "not a packet"),
    ("/* a comment\nover lines */\n0 %{ unclosed\n", 3, "not closed"),
    # an unclosed /* would hide every later line: an error at its line, never a silent drop
    ("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n/* oops\n+0 bind(3, ..., ...) = 0\n", 2, "comment is not closed"),
])
def test_syntax_errors_name_file_and_line(text: str, line: int, words: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ScriptError) as err:
        parse_script(text, "x.pkt")
    assert err.value.line == line and words in str(err.value) and str(err.value).startswith(f"x.pkt:{line}:")
    script = tmp_path / "bad.pkt"
    script.write_text(text)
    assert main(["packetdrill", str(script)]) == 2
    assert f"{script}:{line}:" in capsys.readouterr().err


def test_parse_times_packets_and_calls() -> None:
    s = parse_script("// c\n0.100 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 // trailing\n"
                     "+.1~+.2 > P. 1:1001(1000) ack 1 win 257 <nop,nop,TS val 1 ecr 2>\n"
                     "*  < [ect0] F. 5:5(0) ack 9\n"
                     "0.2...0.3 read(4, ..., 10) = -1 ECONNRESET (Connection reset by peer)\n")
    a, b, c, d = s.events
    assert a.line == 2 and a.time is not None and (a.time.start, a.time.relative) == (0.1, False)
    assert isinstance(b.body, Packet) and b.time is not None and b.time.relative and b.time.end == 0.2
    assert (b.body.flags, b.body.start, b.body.end, b.body.length) == ("P.", 1, 1001, 1000)
    assert (b.body.ack, b.body.win) == (1, 257)
    assert b.body.options == "nop,nop,TS val 1 ecr 2"
    assert c.time is not None and c.time.any and isinstance(c.body, Packet) and c.body.ecn == "ect0"
    assert d.time is not None and d.time.blocking and isinstance(d.body, Syscall)
    assert (d.body.name, d.body.args, d.body.result, d.body.errno) == ("read", ("4", "...", "10"), -1, "ECONNRESET")


def test_tfo_runs_on_the_tfo_overlay_only_when_asked_for_by_the_script() -> None:
    script = next(p for p in SCRIPTS if p.stem == "tfo-server")
    from tcpfsm.packetdrill import run_script

    r = run_script(script)
    assert r.profile == "tfo" and r.passed
    assert "tfo profile" in r.lines[0].notes[-1]
    # on RFC 9293 there is no Fast Open: setsockopt(TCP_FASTOPEN) is not modelled and the SYN's data
    # is not acknowledged by the SYN,ACK (RFC 9293 §3.10.7.2 holds it for ESTABLISHED)
    r = run_script(script, profile="rfc9293")
    assert not r.passed
    assert "setsockopt TCP_FASTOPEN" in r.counts()["not_modelled_by_reason"]


def test_the_scripts_tell_linux_from_rfc9293(capsys: pytest.CaptureFixture[str]) -> None:
    """Where Linux departs from RFC 9293's text the scripts diverge on rfc9293, at the rule that
    differs: close() with unread data (RFC 9293 U9 sends FIN; Linux tcp_close resets), SO_LINGER
    {1, 0} (RFC 9293 §3.10.5's RST has no ACK bit; Linux's active reset has one), data after close
    (SHLD-3's second clause is a SHOULD the base spec does not take), a pure retransmitted SYN to a
    request (RFC 9293 §3.10.7.4 ACKs it as unacceptable; Linux tcp_check_req sends the SYN,ACK again)."""
    assert main(["packetdrill", *map(str, SCRIPTS), "--profile", "rfc9293", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert not problems(data, "packetdrill.schema.json")
    diverged = {Path(s["script"]).stem: s["divergence"] for s in data["scripts"] if s["divergence"]}
    assert {"close-unread", "linger-abort", "close-data-after", "tfo-server", "tfo-client",
            "syn-retransmit-request"} <= set(diverged)
    assert diverged["syn-retransmit-request"]["rules"][0]["rule"] == "S13c"
    assert diverged["close-unread"]["rules"][0]["rule"] == "U9"
    assert diverged["linger-abort"]["message"].startswith("flags RST where the script has RST,ACK [rule U14")
    assert "handshake-passive" not in diverged and "time-wait" not in diverged


def test_tcp_fastopen_set_before_listen_applies_at_listen() -> None:
    """Linux's do_tcp_setsockopt takes TCP_FASTOPEN in TCP_CLOSE as well as TCP_LISTEN
    (``(1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN)``), and listen() then opens the Fast Open
    queue: a SYN with a valid cookie and data is answered with ack 11 (RFC 7413 §4.2.2 step 2a)."""
    text = ("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
            "+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [1], 4) = 0\n"
            "+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
            "+0 < S 0:10(10) win 65535 <mss 1460,FO 0123456789abcdef,nop,nop>\n"
            "+0 > S. 0:0(0) ack 11\n"
            "+0 accept(3, ..., ...) = 4\n+0 read(4, ..., 100) = 10\n")
    r = run_text(text)
    assert r.profile == "tfo" and r.passed, [x.message for x in r.lines if x.message]
    assert r.counts()["not_modelled"] == 0


def test_a_wrong_so_error_shows_the_values_compared() -> None:
    """getsockopt(SO_ERROR) returns 0 and writes the pending error (sock_getsockopt's SO_ERROR:
    sock_error()); a divergence is on that value, so expected/actual name it, not the return 0."""
    r = run_text("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                 "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0\n")
    bad = r.lines[1]
    assert bad.status == "divergence"
    assert (bad.expected, bad.actual) == ("SO_ERROR ECONNREFUSED", "SO_ERROR 0")


def test_the_help_says_the_default_profile_is_linux(capsys: pytest.CaptureFixture[str]) -> None:
    """The shared --profile help says rfc9293 is the default; here it is linux (run_script's
    default), so the command's own text must say so, with its examples."""
    assert main(["packetdrill", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "The profile is linux here unless --profile" in out and "tcpfsm packetdrill close.pkt -v" in out


def test_a_script_of_which_nothing_runs_is_inconclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Lines the model cannot run are counted, never taken as passed: a script of which no line
    ran compared nothing, so it is inconclusive (exit 3), not a pass; with a passing script
    beside it the run is still inconclusive, and a divergence (exit 1) outranks both."""
    only = tmp_path / "only.pkt"
    only.write_text("`sysctl -q net.ipv4.tcp_fin_timeout=2`\n--tolerance_usecs=10000\n")
    good = tmp_path / "good.pkt"
    good.write_text(HANDSHAKE)
    bad = tmp_path / "bad.pkt"
    bad.write_text(HANDSHAKE + "+0 > F. 1:1(0) ack 1\n")
    assert main(["packetdrill", str(only)]) == 3
    assert capsys.readouterr().out.startswith("INCONCLUSIVE")
    assert main(["packetdrill", str(only), str(good), "--json"]) == 3
    data = json.loads(capsys.readouterr().out)
    assert not problems(data, "packetdrill.schema.json")
    assert data["verdict"] == "inconclusive" and [s["verdict"] for s in data["scripts"]] == ["inconclusive", "pass"]
    assert data["summary"] == {"scripts": 2, "passed": 1, "diverged": 0, "inconclusive": 1}
    assert main(["packetdrill", str(only), str(bad)]) == 1


def test_an_icmp_line_is_not_modelled_and_says_where_icmp_is() -> None:
    """The socket layer has no ICMP input; the runtime has (Endpoint.icmp_error, RFC 1122
    §4.2.3.9, in the icmp profile): the message must not claim there is none."""
    r = run_text(HANDSHAKE + "+0 < icmp unreachable port_unreachable\n")
    line = r.lines[-1]
    assert (line.status, line.reason) == ("not_modelled", "icmp packet")
    assert "icmp_error()" in line.message and "yet" not in line.message


def test_a_blocking_connect_gives_up_after_linux_s_six_syn_retransmissions() -> None:
    """Linux retransmits an unanswered SYN tcp_syn_retries = TCP_SYN_RETRIES = 6 times
    (include/net/tcp.h; ip-sysctl.rst: "63 seconds till the last retransmission ... the final
    timeout ... will happen at 127 seconds", before 6.5's tcp_syn_linear_timeouts) and
    tcp_write_err ends the blocking connect() with ETIMEDOUT. The call returns at 127 s, before
    the line at 127 s runs (so close(3) still finds its descriptor)."""
    times = "".join(f"{t} > S 0:0(0)\n" for t in (1, 3, 7, 15, 31, 63))
    r = run_text("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                 "+0...127 connect(3, ..., ...) = -1 ETIMEDOUT (Connection timed out)\n"
                 "* > S 0:0(0)\n" + times + "127 close(3) = 0\n")
    assert r.passed, [(x.line, x.message) for x in r.lines if x.status == "divergence"]
    assert not any("also sent" in n for x in r.lines for n in x.notes)  # no seventh retransmission
