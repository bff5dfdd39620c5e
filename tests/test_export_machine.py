"""``tcpfsm export json`` and ``tcpfsm export scxml``: one endpoint's machine for other tools.

The JSON is validated by its schema (tcpfsm/schema/machine.schema.json); the SCXML is parsed with
Python's XML parser and checked against the structure the W3C SCXML Recommendation (2015)
requires: root ``scxml`` in the namespace http://www.w3.org/2005/07/scxml with version="1.0",
an ``initial`` naming a child state, unique state ids, every transition's target a state id.
Expected facts about the machine come from RFC 9293 Figure 5 and §3.10.7 (cited per test).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from tcpfsm import available_profiles
from tcpfsm.base._resources import schema_path
from tcpfsm.cli import main
from tcpfsm.export import machine_json, machine_scxml
from tcpfsm.spec import resolve_spec

NS = "{http://www.w3.org/2005/07/scxml}"
TNS = "{https://github.com/tcpfsm/tcpfsm/scxml}"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_path("machine.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("profile", available_profiles())
def test_json_of_every_profile_is_valid(profile: str) -> None:
    data = machine_json(resolve_spec(profile=profile))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(data)]
    assert not errors, errors[:10]
    names = {s["name"] for s in data["states"]}
    assert data["initial"] in names
    assert all(t["source"] in names and t["target"] in names for t in data["transitions"])


def test_json_has_the_rfc_handshake_rows() -> None:
    """RFC 9293 Figure 5: LISTEN --rcv SYN / snd SYN,ACK--> SYN-RECEIVED; SYN-SENT --rcv SYN,ACK /
    snd ACK--> ESTABLISHED (§3.10.7.3)."""
    data = machine_json(resolve_spec())
    edges = {(t["source"], t["target"]): t for t in data["transitions"]}
    listen = edges[("LISTEN", "SYN-RECEIVED")]
    assert listen["sends"] and listen["sends"][0]["ctl"] == "SYN,ACK" and listen["rfc"].startswith("3.10.7")
    established = edges[("SYN-SENT", "ESTABLISHED")]
    assert [s["ctl"] for s in established["sends"]] == ["ACK"]
    assert data["initial"] == "CLOSED"  # Figure 5: the fictional CLOSED state is where a connection starts
    ids = [t["id"] for t in data["transitions"]]
    spec_ids = [t.id for t in resolve_spec().transitions]
    assert set(ids) <= set(spec_ids)


@pytest.mark.parametrize("profile", available_profiles())
def test_scxml_is_well_formed_and_structured(profile: str) -> None:
    text = machine_scxml(resolve_spec(profile=profile))
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{NS}scxml" and root.get("version") == "1.0"
    states = root.findall(f"{NS}state")
    ids = [s.get("id") for s in states]
    assert len(ids) == len(set(ids)) and root.get("initial") in ids
    for s in states:
        for t in s.findall(f"{NS}transition"):
            assert t.get("event")
            assert t.get("target") is None or t.get("target") in ids
            assert t.get(f"{TNS}id")


def test_scxml_time_wait_leaves_on_the_2msl_timer() -> None:
    """RFC 9293 Figure 5: TIME-WAIT --Timeout=2MSL / delete TCB--> CLOSED."""
    spec = resolve_spec()
    timer_events = {e.name for e in spec.events if e.timer == "time_wait"}  # the spec's 2MSL timer
    assert timer_events
    root = ET.fromstring(machine_scxml(spec).encode("utf-8"))
    tw = next(s for s in root.findall(f"{NS}state") if s.get("id") == "TIME-WAIT")
    assert any(t.get("target") == "CLOSED" and t.get("event") in timer_events for t in tw.findall(f"{NS}transition"))


def test_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.json"
    assert main(["export", "json", "--profile", "rfc793", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["profile"] == "rfc793"
    assert main(["export", "scxml"]) == 0
    assert ET.fromstring(capsys.readouterr().out.encode("utf-8")).tag == f"{NS}scxml"
