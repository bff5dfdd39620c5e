"""Every ``--json`` output of the CLI validates against the JSON Schema shipped for it.

The outputs are real: each command runs through ``tcpfsm.cli.main`` on shipped profiles,
scenarios, traces and captures, and on inputs made here to reach the other shapes (a
diverging and a malformed trace, a damaged capture, a scenario that fails). The schemas are
loaded the way an installed tcpfsm finds them (``schema_path``).
"""

from __future__ import annotations

import json
import re
import struct
from functools import cache
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest

from tcpfsm.base._resources import schema_path
from tcpfsm.cli import cli, main
from tcpfsm.spec import available_profiles, load_scenarios

from .conftest import ROOT

TRACES = ROOT / "tests" / "data" / "traces"
CAPTURES = sorted(TRACES.glob("*.pcap"))

# the schema of each command's --json output (what its --json help names)
OUTPUT_SCHEMAS = {
    "spec show": "spec-show.schema.json",
    "simulate": "simulate.schema.json",
    "check": "check.schema.json",
    "replay": "replay.schema.json",
    "monitor": "monitor.schema.json",
    "walk": "walk.schema.json",
    "explain": "explain.schema.json",  # validated in tests/test_incarnations.py (a slow run)
    "glossary": "glossary.schema.json",
    "packetdrill": "packetdrill.schema.json",  # validated in tests/test_packetdrill.py
}
# --json outputs without a schema yet (move each to OUTPUT_SCHEMAS, with a test, once it has one)
WITHOUT_SCHEMA = {"spec vocabulary"}
# the schemas of inputs: spec files and profiles, event traces
INPUT_SCHEMAS = {"spec.schema.json", "trace.schema.json"}
# what `tcpfsm export json` writes (validated in tests/test_export_machine.py)
EXPORT_SCHEMAS = {"machine.schema.json"}
SHIPPED = set(OUTPUT_SCHEMAS.values()) | INPUT_SCHEMAS | EXPORT_SCHEMAS


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def problems(data: Any, name: str) -> list[str]:
    """Every validation error of ``data`` against schema ``name``, as `path: message`."""
    errors = sorted(validator(name).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors]


def run(args: list[str], capsys: pytest.CaptureFixture[str], schema: str) -> tuple[int, dict[str, Any]]:
    """Run the command, parse its stdout as JSON and validate it; fail with every error."""
    code = main(args)
    out = capsys.readouterr().out
    try:
        data = json.loads(out)
    except json.JSONDecodeError as exc:
        pytest.fail(f"tcpfsm {' '.join(args)} (exit {code}): stdout is not JSON ({exc}):\n{out[:2000]}")
    errors = problems(data, schema)
    assert not errors, (f"tcpfsm {' '.join(args)}: {len(errors)} error(s) against {schema}:\n  "
                        + "\n  ".join(errors[:30]))
    return code, data


# ------------------------------------------------------------ the schemas themselves
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)  # raises SchemaError with the reason
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://tcpfsm.invalid/schema/{name}"
    assert schema["title"] and schema["type"] == "object"


def _json_options(group: click.Group, prefix: str = "") -> dict[str, str]:
    """Every command of the CLI with a --json option: its name and the option's help."""
    found: dict[str, str] = {}
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            found.update(_json_options(cmd, full + " "))
            continue
        for param in cmd.params:
            if isinstance(param, click.Option) and "--json" in param.opts:
                found[full] = param.help or ""
    return found


def test_every_shipped_schema_is_named_and_every_json_output_has_one() -> None:
    shipped = {p.name for p in schema_path("check.schema.json").parent.glob("*.json")}
    assert shipped == SHIPPED, (f"schemas shipped but not tested: {sorted(shipped - SHIPPED)}; "
                                f"tested but not shipped: {sorted(SHIPPED - shipped)}")
    helps = _json_options(cli)
    missing = {cmd: text for cmd, text in helps.items() if cmd not in OUTPUT_SCHEMAS and cmd not in WITHOUT_SCHEMA}
    assert not missing, f"--json outputs without a schema test here: {missing}"
    for cmd, schema in OUTPUT_SCHEMAS.items():
        assert cmd in helps, f"tcpfsm {cmd} has no --json option any more"
        named = re.findall(r"tcpfsm/schema/([\w.-]+\.json)", helps[cmd])
        assert named == [schema], f"tcpfsm {cmd} --json help should name tcpfsm/schema/{schema}: {helps[cmd]!r}"
    for cmd in WITHOUT_SCHEMA & set(helps):
        named = re.findall(r"tcpfsm/schema/([\w.-]+\.json)", helps[cmd])
        assert not named, f"tcpfsm {cmd} --json now names {named}: move it to OUTPUT_SCHEMAS and test its output"


def test_the_output_schemas_are_closed(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown key or a missing one is an error: the schemas describe the whole contract."""
    _, data = run(["replay", str(TRACES / "client.jsonl"), "--json"], capsys, "replay.schema.json")
    assert problems({**data, "extra": 1}, "replay.schema.json")
    assert problems({k: v for k, v in data.items() if k != "lines"}, "replay.schema.json")
    step = dict(data["steps"][0], extra=1)
    assert problems({**data, "steps": [step]}, "replay.schema.json")
    _, sim = run(["simulate", "handshake", "--json"], capsys, "simulate.schema.json")
    row = {k: v for k, v in sim["steps"][0].items() if k != "dropped"}
    assert problems({**sim, "steps": [row]}, "simulate.schema.json")
    assert problems({**sim, "final": {"A": "CLOSED"}}, "simulate.schema.json")


# ------------------------------------------------------------ spec show
@pytest.mark.parametrize("profile", available_profiles())
def test_spec_show_every_profile(profile: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run(["spec", "show", "--profile", profile, "--json"], capsys, "spec-show.schema.json")
    assert code == 0 and data["profile"] == profile
    ids = {t["id"] for t in data["transitions"]}
    assert len(ids) == len(data["transitions"]), "transition ids are unique"
    for row in data["checklist"]:
        assert set(row["transitions"]) <= ids, f"checklist row {row['row']} names unknown transitions"
    states = {s["name"] for s in data["states"]}
    assert all(set(t["sources"]) <= states and t["target"] in states | {"same"} for t in data["transitions"])


@pytest.mark.parametrize("file", ["tcp.yaml", "reference.yaml", "mutants/skip_time_wait.yaml"])
def test_spec_show_spec_files(file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run(["spec", "show", str(ROOT / "specs" / file), "--json"], capsys, "spec-show.schema.json")
    assert code == 0 and data["file"].endswith(file)


# ------------------------------------------------------------ simulate
@pytest.mark.parametrize("scenario", list(load_scenarios()))
def test_simulate_every_scenario(scenario: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run(["simulate", scenario, "--json"], capsys, "simulate.schema.json")
    assert code == 0 and data["failures"] == [], data["failures"]
    assert data["scenario"] == scenario and data["steps"]


def test_simulate_on_another_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run(["simulate", "close", "--profile", "linux", "--json"], capsys, "simulate.schema.json")
    assert code == 0 and data["profile"] == "linux"


def test_simulate_the_network_a_refused_call_and_a_failure(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text("""\
scenarios:
  network-and-errors:
    title: "loss, duplication, a refused call and a crash"
    endpoints: {A: {iss: 100}, B: {iss: 300}}
    steps:
      - {at: B, call: listen}
      - {at: A, call: connect}
      - {duplicate: A}
      - {lose: A}
      - {run: all}
      - {at: A, call: listen}
      - {crash: B}
      - {expect: {A: ESTABLISHED, B: ESTABLISHED}}
""")
    code, data = run(["simulate", "--scenarios", str(scenarios), "network-and-errors", "--json"], capsys,
                     "simulate.schema.json")
    assert code == 1 and len(data["failures"]) == 2
    events = [r["event"] for r in data["steps"]]
    assert {"duplicate", "lose", "error"} <= set(events)
    assert data["final"] == {"A": "ESTABLISHED", "B": "CLOSED"}


# ------------------------------------------------------------ check
CHECKS = [
    # (arguments, exit code, {property: verdict} for some of them)
    ([], 0, {"I1": "holds", "simultaneous_close": "holds"}),            # a reach property's witness
    (["--lossy", "--property", "I3"], 1, {"I3": "violated"}),
    (["--model", "reference"], 1, {"I4": "violated", "D": "violated", "I1": "holds"}),  # the vector engine
    (["--channel", "dup", "--channel", "reorder", "-k", "1"], 1, {"simultaneous_close": "violated"}),
    (["--b-opens", "active", "--property", "I2"], 0, {"I2": "holds"}),
    (["--property", "syn_sent_resolves", "--when-full", "drop"], 0, {"syn_sent_resolves": "holds"}),
    (["--property", "eventually_closed"], 1, {"eventually_closed": "violated"}),  # liveness: a stuck state
    (["--max-states", "10"], 3, {"I1": "inconclusive"}),
    (["--property", "eventually_closed", "--max-states", "10"], 3, {"eventually_closed": "inconclusive"}),
    (["--engine", "plain", "--model", "reference", "--max-depth", "3"], 3, {"I1": "inconclusive"}),
    # incarnations: every step and segment carries them (RFC 9293 closes TIME-WAIT on an RST, A2)
    (["--reopen", "1", "--reopen-iss", "clock", "--property", "no_time_wait_assassination"], 1,
     {"no_time_wait_assassination": "violated"}),
]


@pytest.mark.parametrize(("args", "exit_code", "verdicts"), CHECKS, ids=[" ".join(c[0]) or "default" for c in CHECKS])
def test_check(args: list[str], exit_code: int, verdicts: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run(["check", *args, "--json"], capsys, "check.schema.json")
    got = {p["name"]: p["verdict"] for p in data["properties"]}
    assert code == exit_code and {k: got.get(k) for k in verdicts} == verdicts, (code, got)
    assert data["complete"] is (data["stopped"] is None)
    for p in data["properties"]:
        if p["verdict"] == "violated" and p["kind"] != "reach":
            assert p["counterexample"] is not None, p


def test_glossary(capsys: pytest.CaptureFixture[str]) -> None:
    _, data = run(["glossary", "--json"], capsys, "glossary.schema.json")
    assert {"ISN", "MSL", "TIME-WAIT"} <= {t["term"] for t in data["terms"]}
    _, one = run(["glossary", "MSL", "--json"], capsys, "glossary.schema.json")
    assert one["terms"] and all("MSL" in (t["term"], *t["also"]) or "MSL" in t["term"] for t in one["terms"])


def test_check_schema_ties_verdicts_to_their_paths(capsys: pytest.CaptureFixture[str]) -> None:
    """No shipped configuration ends in a fair cycle, so the cycle's shape is checked on a real
    stuck-state counterexample given a loop: allowed on a violated leads_to only."""
    _, data = run(["check", "--property", "eventually_closed", "--property", "I1", "--json"], capsys,
                  "check.schema.json")
    live, safety = data["properties"]
    looped = dict(live, cycle=live["counterexample"][-2:], note="a fair cycle that never reaches the goal")
    assert not problems({**data, "properties": [looped, safety]}, "check.schema.json")
    assert problems({**data, "properties": [live, dict(safety, cycle=looped["cycle"])]}, "check.schema.json")
    inconclusive = dict(safety, verdict="inconclusive", note="bound reached: state bound 10",
                        counterexample=looped["cycle"])
    assert problems({**data, "properties": [live, inconclusive]}, "check.schema.json")


# ------------------------------------------------------------ replay
def test_replay_the_shipped_trace(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run(["replay", str(TRACES / "client.jsonl"), "--json"], capsys, "replay.schema.json")
    assert code == 0 and data["divergences"] == 0 and data["problems"] == []
    assert data["steps"][-1]["to"] == "CLOSED"
    code, data = run(["replay", str(TRACES / "client.jsonl"), "--profile", "linux", "--json"], capsys,
                     "replay.schema.json")
    assert code == 0 and data["profile"] == "linux"


def test_replay_a_diverging_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "diverging.jsonl"
    trace.write_text("\n".join([
        '{"config": {"iss": 1000}}',
        "# a comment",
        '{"call": "connect"}',
        '{"out": {"flags": "SYN", "seq": 999}}',                    # the wrong SEQ
        '{"expect": "ESTABLISHED"}',                                 # the wrong state
        '{"in": {"flags": "SYN,ACK", "seq": 5000, "ack": 1001}}',
        '{"call": "listen"}',                                        # refused in ESTABLISHED
        '{"in": {"flags": "ACK", "seq": 4000, "ack": 1001}}',        # dropped; its ACK never in the trace
    ]) + "\n")
    code, data = run(["replay", str(trace), "--json"], capsys, "replay.schema.json")
    assert code == 1 and data["problems"] == []
    assert data["divergences"] == sum(1 for s in data["steps"] if s["divergence"]) == 4
    assert data["steps"][-1]["event"] == "end"
    assert any(x.startswith("(dropped: ") for s in data["steps"] for x in s["sent"])


@pytest.mark.parametrize(("lines", "where"), [
    (['{"config": {"iss": 1000}}', '{"call": "connect"}', '{"out": {"flags": "SYN", "seq": -1}}'], ":3: "),
    (['{"call": "connect"}', '{"out": {"flags": "SYN"'], ":2: "),        # not JSON
    (['{"config": {"profile": "nope"}}', '{"call": "connect"}'], ":1: "),  # an unknown profile
], ids=["not-a-trace-line", "not-json", "unknown-profile"])
def test_replay_a_malformed_trace(lines: list[str], where: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "malformed.jsonl"
    trace.write_text("\n".join(lines) + "\n")
    code, data = run(["replay", str(trace), "--json"], capsys, "replay.schema.json")
    assert code == 2 and len(data["problems"]) == 1 and where in data["problems"][0], data["problems"]


def test_replay_an_unreadable_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run(["replay", str(tmp_path / "missing.jsonl"), "--json"], capsys, "replay.schema.json")
    assert code == 2 and data["lines"] == 0 and data["steps"] == [] and "cannot read" in data["problems"][0]


# ------------------------------------------------------------ monitor
@pytest.mark.parametrize("profile", [None, "linux"])
@pytest.mark.parametrize("capture", CAPTURES, ids=[p.name for p in CAPTURES])
def test_monitor_every_capture(capture: Path, profile: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["monitor", str(capture), "--json", *(["--profile", profile] if profile else [])]
    code, data = run(args, capsys, "monitor.schema.json")
    findings = sum(len(c["findings"]) for c in data["connections"])
    assert code == (1 if findings else 0) and data["error"] is None
    assert data["profile"] == (profile or "rfc9293") and data["connections"]
    assert [c["id"] for c in data["connections"]] == sorted(c["id"] for c in data["connections"])
    k = data["packets"]
    assert k["read"] == k["tcp"] + sum(k["skipped"].values()) and k["used"] == k["tcp"]


def test_monitor_one_connection(capsys: pytest.CaptureFixture[str]) -> None:
    capture = TRACES / "close_with_unread_data_v4.pcap"
    code, data = run(["monitor", str(capture), "--connection", "1", "--json"], capsys, "monitor.schema.json")
    assert code == 1 and [c["id"] for c in data["connections"]] == [1] and data["connections"][0]["findings"]


def _raw_ip_capture(path: Path) -> None:
    """A pcap (raw IP) with a SYN nobody answers, a UDP datagram and a truncated last record."""
    def ipv4(proto: int, payload: bytes) -> bytes:
        return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                           bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + payload

    syn = ipv4(6, struct.pack("!HHIIBBHHH", 40000, 80, 100, 0, 5 << 4, 0x02, 65535, 0, 0))
    udp = ipv4(17, struct.pack("!HHHH", 5353, 5353, 8, 0))
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    for i, pkt in enumerate((syn, udp), 1):
        out += struct.pack("<IIII", i, 0, len(pkt), len(pkt)) + pkt
    out += struct.pack("<IIII", 3, 0, 60, 60) + syn[:10]  # cut short
    path.write_bytes(out)


def test_monitor_a_damaged_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = tmp_path / "damaged.pcap"
    _raw_ip_capture(capture)
    code, data = run(["monitor", str(capture), "--json"], capsys, "monitor.schema.json")
    assert code == 2 and data["error"] and "packet 3" in data["error"]
    assert data["packets"]["read"] == 2 and data["packets"]["skipped"] == {"not TCP": 1}
    [conn] = data["connections"]
    assert conn["conn_state"] == "S0" and conn["endpoints"][1]["states"] == []
