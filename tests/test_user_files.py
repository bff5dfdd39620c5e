"""Off the happy path: a user's own spec, properties, scenarios and captures on every command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tcpfsm import Endpoint, EndpointPair, load_spec, machine_for
from tcpfsm.cli import main
from tcpfsm.render import render_state_diagram

from .conftest import ROOT

TRACES = ROOT / "tests" / "data" / "traces"
RENAMED = "LAST-ACKNOWLEDGE"


@pytest.fixture
def renamed_spec(tmp_path: Path) -> Path:
    """specs/tcp.yaml with LAST-ACK renamed: other state names, the same machine."""
    text = (ROOT / "specs" / "tcp.yaml").read_text()
    path = tmp_path / "renamed.yaml"
    path.write_text(re.sub(r"\bLAST-ACK\b", RENAMED, text))
    return path


def test_a_spec_with_other_state_names_runs_a_handshake_and_a_close(renamed_spec: Path) -> None:
    spec = load_spec(renamed_spec)
    pair = EndpointPair.build(spec)
    pair.handshake()
    assert [str(s) for s in pair.states()] == ["ESTABLISHED", "ESTABLISHED"]
    pair.call("A", "close")
    pair.run()
    pair.call("B", "close")
    # RFC 9293 §3.6: the passive closer that sends its FIN waits for its ACK in LAST-ACK (renamed here)
    assert str(pair.b.state) == RENAMED
    assert pair.b.state is machine_for(spec).State.LAST_ACKNOWLEDGE
    pair.run()
    assert [str(s) for s in pair.states()] == ["TIME-WAIT", "CLOSED"]
    visited = [str(s.target) for ev in pair.trace for s in ev.steps if s.name == "B"]
    assert RENAMED in visited


def test_a_spec_with_other_state_names_draws_and_checks(renamed_spec: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    dot = render_state_diagram(load_spec(renamed_spec), fmt="dot").decode()
    assert RENAMED in dot and "LAST-ACK" not in dot.replace(RENAMED, "")
    out = tmp_path / "renamed.svg"
    assert main(["diagram", "--spec", str(renamed_spec), "-o", str(out)]) == 0
    assert out.read_bytes().lstrip().startswith(b"<?xml")
    capsys.readouterr()
    # properties that name only states this spec has: I1 (the active closer passes TIME-WAIT)
    assert main(["check", "--spec", str(renamed_spec), "--property", "I1", "--property", "I2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {p["name"]: p["verdict"] for p in report["properties"]} == {"I1": "holds", "I2": "holds"}


def test_monitor_with_a_users_spec_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "my.yaml"
    shutil.copy(ROOT / "specs" / "tcp.yaml", mine)
    capture = TRACES / "normal_close_client_v4.pcap"
    assert main(["monitor", "--spec", str(mine), str(capture), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    truth = json.loads((TRACES / "normal_close_client_v4.json").read_text())
    client = next(e for e in truth["endpoints"] if e["kind"] == "conn" and e["role"] == "client")
    states = {e["port"]: e["states"] for e in data["connections"][0]["endpoints"]}
    # the ground truth (kernel-traced) sequence of the client: RFC 9293 §3.6's active close
    assert client["observed"] == ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
    assert states[client["local"][1]] == client["observed"]


def test_check_with_a_users_property_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    props = tmp_path / "my-properties.yaml"
    text = (ROOT / "specs" / "properties.yaml").read_text()
    props.write_text(text.replace("properties:\n", """properties:
  - name: never_closing_both
    title: "both ends in CLOSING together (a witness: simultaneous close, RFC 9293 Figure 13)"
    rfc: "3.6"
    kind: reach
    reach: {state: {A: CLOSING, B: CLOSING}}
""", 1))
    assert main(["check", "--properties", str(props), "--property", "never_closing_both", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [verdict] = report["properties"]
    # RFC 9293 §3.6 Figure 13: a simultaneous close passes CLOSING on both sides, so it is reachable
    assert verdict["name"] == "never_closing_both" and verdict["verdict"] == "holds"
    assert verdict["counterexample"][-1]["A"] == "CLOSING" and verdict["counterexample"][-1]["B"] == "CLOSING"


def test_simulate_a_users_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "my-scenarios.yaml"
    mine.write_text("""scenarios:
  refused:
    title: "an active OPEN to a closed port is refused"
    rfc: "3.10.7.1"
    steps:
      - {at: A, call: connect}
      - {deliver: A}
      - {deliver: B}
      - {expect: {A: CLOSED, B: CLOSED}}
""")
    assert main(["simulate", "--scenarios", str(mine), "refused", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # §3.10.7.1: a SYN to CLOSED draws <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; §3.10.7.3 the RST closes
    assert data["final"] == {"A": "CLOSED", "B": "CLOSED"} and not data["failures"]
    assert any(r["transition"] == "S8" for r in data["steps"])
    assert main(["simulate", "--scenarios", str(mine), "--list"]) == 0
    assert "refused" in capsys.readouterr().out


def test_internal_errors_exit_4_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import tcpfsm.cli._spec as spec_cli

    def broken(_spec: object) -> dict[str, object]:
        raise RuntimeError("induced for the test")

    monkeypatch.setattr(spec_cli, "spec_to_dict", broken)
    assert main(["spec", "show", "--json"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("internal error: RuntimeError: induced for the test")
    assert "Traceback" not in err and "--debug" in err
    assert main(["--debug", "spec", "show", "--json"]) == 4
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for code, meaning in (("0", "ok"), ("1", "findings"), ("2", "usage or input error"), ("3", "inconclusive"),
                          ("4", "internal error")):
        assert re.search(rf"^\s+{code}\s+{meaning}", out, re.M), (code, out)


def test_python_dash_m_and_the_samples() -> None:
    done = subprocess.run([sys.executable, "-m", "tcpfsm", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "0.1.0" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "tcpfsm", "samples"], capture_output=True, text=True, check=True)
    paths = [Path(line) for line in listed.stdout.splitlines()]
    assert {p.name for p in paths} >= {"normal_close_client_v4.pcap", "client.jsonl"}
    for p in paths:  # the shipped samples are the test data, byte for byte
        assert p.read_bytes() == (TRACES / p.name).read_bytes()


def test_snapshot_restore_and_clone_are_independent() -> None:
    a, b = Endpoint(100, name="A"), Endpoint(300, name="B")
    b.listen()
    [syn] = a.connect()
    [synack] = b.receive(syn)
    [ack] = a.receive(synack)
    b.receive(ack)
    snap = a.snapshot()
    assert hash(snap) == hash(a.snapshot()) and snap == a.snapshot()
    twin = a.clone()
    [fin] = a.close()  # RFC 9293 §3.10.4: CLOSE in ESTABLISHED sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK>
    assert str(fin) == "FIN,ACK seq=101 ack=301" and str(a.state) == "FIN-WAIT-1"
    assert str(twin.state) == "ESTABLISHED" and twin.tcb.snd_nxt == 101  # untouched by a's CLOSE
    [fin2] = twin.close()
    assert fin2 == fin
    a.restore(snap)
    assert str(a.state) == "ESTABLISHED" and a.snapshot() == snap
    assert snap.tcb_value("snd_nxt") == 101 and snap.replace(snd_nxt=5).tcb_value("snd_nxt") == 5


def test_resync_and_join_midstream() -> None:
    ep = Endpoint(name="mid")
    ep.join_midstream(snd_nxt=5000, rcv_nxt=9000)
    assert str(ep.state) == "ESTABLISHED" and ep.tcb.iss == 4999 and ep.tcb.irs == 8999
    [ack] = ep.receive(__import__("tcpfsm").Segment(seq=9000, ack=5000, flags=16, length=10))
    # §3.10.7.4 seventh: in-order text advances RCV.NXT and is acknowledged <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    assert (ack.seq, ack.ack) == (5000, 9010)
    ep.resync(rcv_nxt=9500, snd_nxt=5100)
    assert (ep.tcb.rcv_nxt, ep.tcb.snd_nxt) == (9500, 5100)
