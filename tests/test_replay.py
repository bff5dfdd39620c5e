"""Event-trace replay: conforming traces pass, divergences name the line, bad lines never traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpfsm.cli import main
from tcpfsm.conformance import replay

from .conformance_helpers import TRACES

CLIENT = TRACES / "client.jsonl"


def test_the_client_trace_conforms(capsys: pytest.CaptureFixture[str]) -> None:
    report = replay(CLIENT)
    assert report.exit_code == 0 and not report.divergences
    assert [s.after for s in report.steps][-1] == "CLOSED"
    assert main(["replay", str(CLIENT)]) == 0
    assert "0 divergence(s)" in capsys.readouterr().out


def test_a_wrong_expectation_is_a_divergence_with_the_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = CLIENT.read_text().splitlines()
    lines[12] = '{"out": {"flags": "ACK", "seq": 1002, "ack": 5003}}'
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    report = replay(bad)
    [div] = report.divergences
    assert div.line == 13 and "ack 5003 != 5002" in div.divergence
    assert main(["replay", str(bad), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    step12 = next(s for s in data["steps"] if s["line"] == 12)
    assert {"id": "S33", "rfc": "3.10.7.4"} in step12["transitions"]


def test_a_state_expectation_and_a_refused_call(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"call": "listen"}\n{"expect": "SYN-SENT"}\n{"call": "listen"}\n')
    report = replay(trace)
    assert [s.line for s in report.divergences] == [2, 3]
    assert "connection already exists" in report.divergences[1].divergence


def test_profile_changes_the_verdict(tmp_path: Path) -> None:
    trace = tmp_path / "syn.jsonl"
    trace.write_text("\n".join([
        '{"config": {"iss": 100}}', '{"call": "connect"}', '{"out": {"flags": "SYN", "seq": 100}}',
        '{"in": {"flags": "SYN,ACK", "seq": 300, "ack": 101}}', '{"out": {"flags": "ACK", "seq": 101, "ack": 301}}',
        '{"in": {"flags": "SYN", "seq": 305}}', '{"out": {"flags": "ACK", "seq": 101, "ack": 301}}',
        '{"expect": "ESTABLISHED"}']) + "\n")
    assert replay(trace, profile="rfc9293").exit_code == 0   # challenge ACK, stays
    assert replay(trace, profile="rfc793").exit_code == 1    # an in-window SYN resets


def test_malformed_line_stops_with_its_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "broken.jsonl"
    trace.write_text('{"call": "connect"}\n{"call": "jump"}\n{"call": "close"}\n')
    report = replay(trace)
    assert report.exit_code == 2 and report.problems[0].line == 2
    assert len(report.steps) == 1  # the lines before it were replayed
    assert main(["replay", str(trace)]) == 2
    assert ":2: not a trace line" in capsys.readouterr().err


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_traces_never_traceback(tmp_path: Path, data: st.DataObject) -> None:
    lines = CLIENT.read_text().splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["drop", "dup", "garble", "swap", "number"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "number":
            lines[i] = lines[i].replace("1", str(data.draw(st.integers(-5, 2**33))), 1)
        elif lines[i]:
            k = data.draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:k] + data.draw(st.sampled_from(['"', "{", "}", ":", ",", "x", ""])) + lines[i][k + 1:]
        if not lines:
            break
    trace = tmp_path / "m.jsonl"
    trace.write_text("\n".join(lines) + "\n")
    report = replay(trace)
    assert report.exit_code in (0, 1, 2)
    json.dumps(report.to_dict())


def test_a_refused_call_names_its_own_rule(tmp_path) -> None:  # type: ignore[no-untyped-def]
    trace = tmp_path / "refused.jsonl"
    trace.write_text('{"config": {"iss": 1000}}\n{"call": "listen"}\n{"call": "listen"}\n')
    report = replay(trace)
    refused = report.steps[-1]
    # RFC 9293 §3.10.1: OPEN in LISTEN is "error: connection already exists" (row U4)
    assert refused.divergence and "connection already exists" in refused.divergence
    assert refused.transitions == [("U4", "3.10.1")]
