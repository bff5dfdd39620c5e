"""Hostile event traces (issue 16, item 12): every reproduction is a malformed line (exit 2) with
its number and the lines before it replayed, or a conforming replay; never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from tcpfsm.cli import main
from tcpfsm.conformance import replay
from tcpfsm.conformance._replay import MAX_LINE

from .hostile_helpers import TRACES

CLIENT = (TRACES / "client.jsonl").read_text(encoding="utf-8").splitlines()
HEAD = ['{"config": {"iss": 1000}}', '{"call": "connect"}', '{"out": {"flags": "SYN", "seq": 1000}}',
        '{"in": {"flags": "SYN,ACK", "seq": 5000, "ack": 1001}}', '{"out": {"flags": "ACK", "seq": 1001, "ack": 5001}}',
        '{"expect": "ESTABLISHED"}']


def _trace(tmp_path: Path, lines: list[str] | bytes) -> Path:
    out = tmp_path / "t.jsonl"
    out.write_bytes(lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode("utf-8"))
    return out


def _malformed_at(tmp_path: Path, lines: list[str] | bytes, line: int, words: str,
                  capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2; the problem names the line; the lines before it were replayed."""
    trace = _trace(tmp_path, lines)
    report = replay(trace)
    assert report.exit_code == 2, report.to_dict()
    [problem] = report.problems
    assert problem.line == line and words in problem.message, str(problem)
    # every record before it replayed: the lines after the config line
    assert [s.line for s in report.steps] == list(range(2, line)), report.to_dict()["steps"]
    assert main(["replay", str(trace)]) == 2
    err = capsys.readouterr().err
    assert f"t.jsonl:{line}:" in err and "Traceback" not in err


def test_data_5_0_is_five_bytes(tmp_path: Path) -> None:
    """The schema takes 5.0 as an integer (JSON Schema: a number with no fraction); so does replay."""
    lines = [*HEAD, '{"call": "send", "data": 5.0}',
             '{"out": {"flags": "PSH,ACK", "seq": 1001, "ack": 5001, "len": 5}}']
    report = replay(_trace(tmp_path, lines))
    assert report.exit_code == 0, report.to_dict()


def test_data_5_5_is_malformed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _malformed_at(tmp_path, [*HEAD, '{"call": "send", "data": 5.5}'], 7, "integer", capsys)


def test_deeply_nested_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _malformed_at(tmp_path, [*HEAD, '{"note": ' + "[" * 100_000 + "]" * 100_000 + "}"], 7, "nested too deeply", capsys)


def test_a_5000_digit_integer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _malformed_at(tmp_path, [*HEAD, '{"in": {"flags": "ACK", "seq": ' + "9" * 5000 + "}}"], 7, "digits", capsys)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_that_are_not_finite(tmp_path: Path, number: str, capsys: pytest.CaptureFixture[str]) -> None:
    _malformed_at(tmp_path, [*HEAD, f'{{"now": {number}}}'], 7, "", capsys)


def test_one_non_utf8_byte_names_its_line_and_the_lines_before_it_replay(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    raw = ("\n".join(HEAD) + "\n").encode() + b'{"note": "caf\xe9"}\n{"call": "close"}\n'
    _malformed_at(tmp_path, raw, 7, "not UTF-8", capsys)


def test_line_numbers_are_an_editors_line_numbers(tmp_path: Path) -> None:
    """U+2028, U+2029, U+0085 inside a string are no line breaks (str.splitlines() says they are)."""
    lines = [HEAD[0], '{"call": "connect", "note": "a\u2028b\u2029c\u0085d"}', *HEAD[2:], '{"expect": "CLOSED"}']
    report = replay(_trace(tmp_path, lines))
    [div] = report.divergences
    assert div.line == 7 and report.lines == 7


def test_a_line_too_long_is_refused_in_bounded_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = _trace(tmp_path, [*HEAD, '{"note": "' + "x" * (4 * MAX_LINE) + '"}'])
    tracemalloc.start()
    try:
        report = replay(trace)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.exit_code == 2 and report.problems[0].line == 7 and "longer than" in report.problems[0].message
    assert peak < 3 * MAX_LINE, peak  # the line is never held whole (4 MiB here; 1 GB in the issue)
    assert len(report.steps) == 5


def test_a_config_line_in_the_middle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _malformed_at(tmp_path, [*HEAD, '{"config": {"profile": "linux"}}'], 7, "config line after", capsys)


def test_an_unknown_flag_is_malformed_not_a_divergence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _malformed_at(tmp_path, [*HEAD, '{"in": {"flags": "SYNN", "seq": 5001}}'], 7, "unknown flags", capsys)


@pytest.mark.parametrize("line, words", [
    ('{"expect": "HALF-OPEN"}', "not a state"),
    ('{"timeout": "keepalive"}', "not a timer"),
    ('{"call": "send"}', "send needs data"),
    ('{"call": "close", "data": 3}', "data goes with send only"),
    ('{"in": {"flags": "ACK", "len": 99999999999}}', "maximum"),
    ('{"now": 1e300}', "maximum"),
    ('[1, 2, 3]', "not an object"),
])
def test_other_lines_that_cannot_be_replayed(tmp_path: Path, line: str, words: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _malformed_at(tmp_path, [*HEAD, line], 7, words, capsys)


@pytest.mark.parametrize("config, words", [
    ('{"config": {"max_retries": 5000}}', "maximum"),
    ('{"config": {"msl": -1}}', "minimum"),
    ('{"config": {"rto": 0}}', "minimum"),
    ('{"config": {"rcv_wnd": 1000000000000}}', "maximum"),
])
def test_config_values_out_of_range(tmp_path: Path, config: str, words: str) -> None:
    report = replay(_trace(tmp_path, [config, *HEAD[1:]]))
    assert report.exit_code == 2 and report.problems[0].line == 1 and words in report.problems[0].message
    assert report.steps == []


def test_a_trace_on_standard_input() -> None:
    done = subprocess.run([sys.executable, "-m", "tcpfsm", "replay", "-", "--json"],
                          input=(TRACES / "client.jsonl").read_bytes(), capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["divergences"] == 0
