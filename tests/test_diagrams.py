"""Diagrams: DOT content against the spec, real Graphviz renders, the committed files fresh."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tcpfsm import available_profiles, load_spec
from tcpfsm.cli import main
from tcpfsm.render import catalogue, render, stale
from tcpfsm.render._sequence import chart_dot
from tcpfsm.render._state import CLIENT, SERVER, STYLES, node_id, to_dot, to_mermaid
from tcpfsm.render._trace import scenario_chart
from tcpfsm.runtime import run_scenario
from tcpfsm.spec import load_scenarios

from .conftest import ROOT

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT and not os.environ.get("CI"),
                               reason="Graphviz `dot` is not installed (make test installs it)")

EDGE = re.compile(r'^\s*(\w+) -> (\w+) \[(.*)\]$')


def edges_of(dot: str) -> list[tuple[str, str, str]]:
    out = []
    for line in dot.splitlines():
        m = EDGE.match(line)
        if m and "invis" not in m.group(3):
            out.append((m.group(1), m.group(2), m.group(3)))
    return out


def test_full_diagram_has_every_state_and_every_state_changing_transition_once(profile: str) -> None:
    """Every state-changing (source, transition) is drawn once: as an arrow, or as a row of the
    exceptional-exits panel (RST, ABORT, timeouts, give-ups into CLOSED), whose rows name their
    source states and, with --show-ids, their transition ids."""
    spec = load_spec(profile=profile)
    dot = to_dot(spec, only="all", show_ids=True)
    for st in spec.states:
        assert re.search(rf'^\s*{node_id(st.name)} \[label="?{re.escape(st.name)}', dot, re.M), st.name
    drawn: dict[tuple[str, str, str], int] = {}
    initial = node_id(spec.initial)
    for src, dst, attrs in edges_of(dot):
        if src == "exits":
            continue
        m = re.search(r'label="((?:[^"\\]|\\.)*)"', attrs)
        lines = m.group(1).split("\\n") if m else re.findall(r'<font color="[^"]*">([^<]*)</font>', attrs)
        for line in lines:
            tid = line.split(" ", 1)[0]
            key = (src, initial if dst == f"{initial}__bottom" else dst, tid)
            drawn[key] = drawn.get(key, 0) + 1
    panel = re.search(r"^\s*exits \[label=<(.*)>", dot, re.M)
    assert panel is not None
    for row in re.findall(r"<b>[^<]*</b>\s*\(([^)]*)\)</font>.*?from (.*?)<br align=\"left\"/></font>",
                          panel.group(1)):
        ids, sources = row[0].split(", "), re.split(r", |<br align=\"left\"/>", row[1])
        for s in sources:
            for tid in ids:
                t = spec.transition(tid)
                if s in t.sources:
                    drawn[(node_id(s), initial, tid)] = drawn.get((node_id(s), initial, tid), 0) + len(
                        [e for e in t.events if t.changes_state(s)])
    changing = {}
    for s, _e, t in spec.edges():
        if t.changes_state(s):  # a transition with several events (U3: OPEN or SEND) has a line per event
            key = (node_id(s), node_id(t.target_from(s)), t.id)
            changing[key] = changing.get(key, 0) + 1
    assert {k: v for k, v in drawn.items() if k[0] != k[1]} == changing


def test_the_all_diagram_reads_at_screen_size_and_draws_time_waits_loop() -> None:
    """RFC 9293 §3.10.7.4, TIME-WAIT, eighth step: "The only thing that can arrive in this state
    is a retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout." That
    self-loop is drawn with Figure 5's wording (the edge RFC 9293 Figure 5 has no room for)."""
    dot = (ROOT / "diagrams" / "tcp-rfc9293-all.dot").read_text()
    loop = re.search(r"^\s*TIME_WAIT -> TIME_WAIT \[label=<(.*)>", dot, re.M)
    assert loop is not None and "rcv FIN / snd ACK, restart 2MSL" in loop.group(1)
    png = (ROOT / "diagrams" / "tcp-rfc9293-all.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk (PNG spec §11.2.2)
    assert width <= 2000 and height <= 2000, (width, height)


def test_labels_guards_gives_the_precise_form() -> None:
    """``--labels guards``: the event and the guards that pick the row (RFC 9293 §3.10.7.4's
    FIN-WAIT-1 ACK step: "if our FIN is now acknowledged, then enter FIN-WAIT-2")."""
    spec = load_spec()
    figure = {(s, d): a for s, d, a in edges_of(to_dot(spec, only="normal"))}
    guards = {(s, d): a for s, d, a in edges_of(to_dot(spec, only="normal", labels="guards"))}
    assert 'label="rcv ACK of FIN"' in figure[("FIN_WAIT_1", "FIN_WAIT_2")]
    assert "acks our fin" in guards[("FIN_WAIT_1", "FIN_WAIT_2")]
    with pytest.raises(ValueError, match="--labels"):
        to_dot(spec, labels="jargon")


def test_diff_legend_names_only_colours_it_draws() -> None:
    from tcpfsm.render._state import DIFF_STYLES, diff_dot

    rfc1337, rfc9293 = load_spec(profile="rfc1337"), load_spec()
    dot = diff_dot(rfc9293, rfc1337)
    legend = re.search(r"^\s*legend \[label=<(.*)>", dot, re.M).group(1)
    body = dot.replace(legend, "")
    for status, style in DIFF_STYLES.items():
        assert (style["color"] in legend) == (style["color"] in body), status
    # rfc1337 (RFC 1337 §3) moves TIME-WAIT's RST from S17 (removed there) to S17b (added), and
    # changes no row's guard or actions: the legend has no "changed" entry
    assert "+ added in rfc1337" in legend and "- only in rfc9293" in legend and "~ changed" not in legend


def test_diff_self_loops_are_one_loop_a_state() -> None:
    """Several loops on one state struck through each other's labels: one loop a state, a line each."""
    from tcpfsm.render._state import diff_dot

    dot = diff_dot(load_spec(profile="rfc793"), load_spec())
    loops = [s for s, d, _ in edges_of(dot) if s == d]
    assert loops and len(loops) == len(set(loops))


def test_normal_paths_are_styled_apart_with_labels() -> None:
    dot = to_dot(load_spec(), only="normal")
    edges = {(s, d): a for s, d, a in edges_of(dot)}
    client = edges[("SYN_SENT", "ESTABLISHED")]
    server = edges[("LISTEN", "SYN_RECEIVED")]
    assert f'penwidth={STYLES[CLIENT]["penwidth"]}' in client and "style=solid" in client
    assert "style=dashed" in server and STYLES[SERVER]["color"] in server
    assert 'label="rcv SYN / snd SYN,ACK"' in server
    assert 'label="active OPEN / snd SYN"' in edges[("CLOSED", "SYN_SENT")]
    assert "legend" in dot and "generated by `tcpfsm diagram`" in dot.splitlines()[0]
    # no RST / timeout edges on the normal diagram
    assert "user timeout" not in dot and "ABORT" not in dot


def test_dot_is_deterministic_and_sorted() -> None:
    spec = load_spec()
    assert to_dot(spec) == to_dot(spec)
    order = {node_id(n): i for i, n in enumerate(spec.state_names)}
    order[f"{node_id(spec.initial)}__bottom"] = order[node_id(spec.initial)]  # Figure 5's second CLOSED box
    pairs = [(order[s], order[d]) for s, d, _ in edges_of(to_dot(spec)) if s != "exits"]
    assert pairs == sorted(pairs)


def test_highlight_fades_the_rest() -> None:
    dot = to_dot(load_spec(), highlight="TIME-WAIT")
    assert re.search(r'TIME_WAIT \[label="TIME-WAIT".*fillcolor="#ffe08a"', dot)
    assert re.search(r'LISTEN \[label=LISTEN.*fontcolor="#b0b0b0"', dot)
    with pytest.raises(ValueError, match="unknown state"):
        to_dot(load_spec(), highlight="TIME_WAIT_X")


def test_mermaid_has_all_states(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "--format", "mermaid"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == "stateDiagram-v2"
    for st in load_spec().states:
        assert f'state "{st.name}" as {node_id(st.name)}' in out
    assert "CLOSED --> SYN_SENT : active OPEN / snd SYN" in to_mermaid(load_spec())


def test_diff_colours_added_and_removed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "--diff", "rfc793", "rfc9293", "--show-ids"]) == 0
    dot = capsys.readouterr().out
    assert "+ S20 " in dot  # added in rfc9293: the challenge ACK
    assert "- S21 " in dot and "+ S22 " in dot
    assert "added in rfc9293" in dot and "only in rfc793" in dot


def _chart(name: str) -> str:
    return chart_dot(scenario_chart(run_scenario(load_scenarios()[name])))


def _marks(dot: str, who: str) -> list[str]:
    return re.findall(rf'^\s*{who}_\d+ \[label=<.*?<b>([A-Z0-9-]+)</b>', dot, re.M)


def test_simultaneous_close_chart_shows_closing_on_both_lifelines() -> None:
    dot = _chart("simultaneous-close")
    for who in ("A", "B"):
        states = _marks(dot, who)
        i = states.index("FIN-WAIT-1")
        assert states[i:i + 3] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT"], states


def test_handshake_chart_shows_iss_plus_one() -> None:
    dot = _chart("handshake")
    assert 'label="SYN seq=100"' in dot and 'label="SYN,ACK seq=300 ack=101"' in dot
    assert 'label="ACK seq=101 ack=301"' in dot


def test_lost_segment_ends_in_a_cross() -> None:
    dot = _chart("time-wait-retransmitted-fin")
    assert re.search(r'net_\d+ \[label="\u00d7"', dot)
    assert 'arrowhead=none color="#c62828"' in dot or "arrowhead=none" in dot


@needs_dot
def test_real_graphviz_renders_svg_and_png() -> None:
    dot = to_dot(load_spec(), only="normal")
    svg = render(dot, "svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<title>TIME_WAIT</title>" in svg
    assert render(_chart("handshake"), "png")[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_cli_writes_files(tmp_path: Path) -> None:
    assert main(["diagram", "--only", "normal", "-o", str(tmp_path / "t.svg")]) == 0
    assert (tmp_path / "t.svg").read_text().count("<g id=\"node") >= 11
    assert main(["simulate", "simultaneous-close", "--chart", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_committed_diagrams_are_fresh() -> None:
    assert stale(ROOT / "diagrams") == []
    assert len(catalogue()) == len(available_profiles()) * 2 + 1 + 1 + 5 + 1  # ... + encapsulation.dot


def test_check_fails_after_a_spec_edit(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copytree(ROOT / "diagrams", tmp_path / "diagrams")
    spec = tmp_path / "specs" / "tcp.yaml"
    spec.write_text(spec.read_text().replace('label: "Timeout=2MSL"', 'label: "2 MSL expired"'))
    cmd = [sys.executable, "-m", "tcpfsm", "diagram", "--check", "-o", str(tmp_path / "diagrams")]
    done = subprocess.run([*cmd, "--specs", str(tmp_path / "specs")], capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    assert "tcp-rfc9293-normal.dot" in done.stderr and "regenerate with" in done.stderr
    clean = subprocess.run([*cmd, "--specs", str(ROOT / "specs")], capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stderr


def test_time_axis_shows_rtts_and_2msl(tmp_path: Path) -> None:
    """RFC 9293 §3.4.2: MSL is 2 minutes, so TIME-WAIT's wait is 2 x 120 s = 240 s; the chart's
    segments take 50 ms each way (a 100 ms RTT, by construction of the axis)."""
    out = tmp_path / "close.dot"
    assert main(["simulate", "close", "--chart", str(out), "--time"]) == 0
    dot = out.read_text()
    assert re.search(r'wait_\d+ \[label="\u22ee 2MSL timeout: \+240 s"', dot), dot
    assert 'label="t=100 ms"' in dot  # the SYN,ACK arrives one RTT after the SYN left


def test_connection_chart_numbers_are_relative_by_default() -> None:
    """RFC 9293 §3.4: the SYN carries the ISN and is acknowledged with ISN+1; relative to each
    side's ISN the handshake reads SYN seq=0, SYN,ACK seq=0 ack=1, ACK seq=1 ack=1."""
    from tcpfsm.base._resources import samples_path
    from tcpfsm.conformance import monitor
    from tcpfsm.render import connection_chart

    report = monitor(samples_path("normal_close_client_v4.pcap"), connection=1)
    [conn] = [c.detail for c in report.connections if c.detail is not None]
    rel = [m.label for m in connection_chart(conn).messages[:3]]
    assert rel == ["#1 SYN seq=0 len=0", "#2 SYN,ACK seq=0 ack=1 len=0", "#3 ACK seq=1 ack=1 len=0"]
    absolute = [m.label for m in connection_chart(conn, absolute=True).messages[:2]]
    first = conn.packets[0][2]
    assert absolute[0] == f"#1 SYN seq={first.seq} len=0" and f"ack={first.seq + 1}" in absolute[1]
    marks = [mk.text for mk in connection_chart(conn).marks]
    for state in ("SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"):
        assert any(state in text for text in marks), (state, marks)
