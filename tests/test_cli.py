"""The CLI as a function: main(argv) -> exit code, output checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tcpfsm.cli import main

from .conftest import ROOT


def test_validate_every_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "validate", "--all"]) == 0
    out = capsys.readouterr().out
    for p in ("rfc9293", "rfc793", "rfc5961", "rfc1337"):
        assert f"ok: {p} " in out


def test_validate_bad_spec_exits_2_naming_all_three(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "specs" / "tcp.yaml").read_text()
    text = text.replace("id: U6, source: LISTEN, event: close, target: CLOSED,",
                        "id: U6, source: LISTEN, event: close, target: CLOSD,")
    text = text.replace("  - {id: U7, source: SYN-SENT,", "  - {id: U6, source: SYN-SENT,")
    text = text.replace('event: timeout_time_wait, target: CLOSED, rfc: "3.10.8",', "event: timeout_time_wait, "
                        "target: CLOSED,")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    assert main(["spec", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:" in err
    assert "unknown target state 'CLOSD'" in err and "duplicate transition id 'U6'" in err and "'rfc'" in err


def test_show_json_lists_states_and_checklist(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["states"]) == 11
    rows = {r["row"] for r in data["checklist"]}
    assert {f"U{i}" for i in range(1, 16)} | {f"S{i}" for i in range(1, 36)} | {f"T{i}" for i in range(1, 5)} <= rows
    for r in data["checklist"]:
        assert r["transitions"] or r["why"]


def test_simulate_simultaneous_close(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "simultaneous-close", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for who in ("A", "B"):
        states = [(s["from"], s["to"]) for s in data["steps"] if s["endpoint"] == who and s["from"] != s["to"]]
        assert ("FIN-WAIT-1", "CLOSING") in states and ("CLOSING", "TIME-WAIT") in states


def test_simulate_handshake_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "handshake"]) == 0
    out = capsys.readouterr().out
    assert "SYN,ACK seq=300 ack=101" in out and "ACK seq=101 ack=301" in out
    assert "LISTEN -> SYN-RECEIVED" in out and "S5" in out and "§3.10.7.2" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "no-such-scenario"]) == 2
    assert main(["spec", "validate", "--profile", "nope"]) == 2
    assert "known profiles" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "Examples:" in capsys.readouterr().out


def test_unwritable_output_is_a_message_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["simulate", "handshake", "--chart", str(blocker / "sub" / "c.svg")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
