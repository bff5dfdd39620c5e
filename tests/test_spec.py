"""The spec loader: every shipped profile is valid; bad specs fail with file:line, all at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpfsm import SpecError, load_spec
from tcpfsm.spec import checklist_rows
from tcpfsm.spec._checks import arrival_events, exclusive

from .conftest import ROOT

BASE = (ROOT / "specs" / "tcp.yaml").read_text()
RFC_STATES = ["CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
              "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"]


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def problems_of(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return [str(p) for p in info.value.problems]


def test_every_profile_is_valid(profile: str) -> None:
    spec = load_spec(profile=profile)
    assert [s.name for s in spec.states] == RFC_STATES
    assert spec.initial == "CLOSED"
    assert all(t.rfc for t in spec.transitions)


def test_guards_of_each_state_event_are_mutually_exclusive(profile: str) -> None:
    spec = load_spec(profile=profile)
    guards = {g.name: g for g in spec.guards}
    for (_state, _event), ts in spec._index.items():
        for i, a in enumerate(ts):
            for b in ts[i + 1:]:
                assert exclusive(a, b, guards), (a.id, b.id)


def test_every_arrival_event_is_covered(profile: str) -> None:
    spec = load_spec(profile=profile)
    for state, event in arrival_events(spec):
        assert spec.candidates(state, event), (state, event)


def test_checklist_rows_all_accounted_for() -> None:
    rows = {r["row"]: r for r in checklist_rows(load_spec())}
    wanted = [f"U{i}" for i in range(1, 16)] + [f"S{i}" for i in range(1, 36)] + [f"T{i}" for i in range(1, 5)]
    for row in wanted:
        assert row in rows, row
        assert rows[row]["transitions"] or rows[row]["why"], row


def test_three_problems_reported_together_with_lines(tmp_path: Path) -> None:
    text = BASE.replace("  - {id: U6, source: LISTEN, event: close, target: CLOSED, rfc: \"3.10.4\",",
                        "  - {id: U6, source: LISTEN, event: close, target: CLOSD, rfc: \"3.10.4\",")
    text = text.replace("  - {id: U7, source: SYN-SENT,", "  - {id: U6, source: SYN-SENT,")
    text = text.replace("  - {id: T1, source: TIME-WAIT, event: timeout_time_wait, target: CLOSED, rfc: \"3.10.8\",",
                        "  - {id: T1, source: TIME-WAIT, event: timeout_time_wait, target: CLOSED,")
    assert text.count("CLOSD") == 1 and "id: U7," not in text
    path = write(tmp_path, text)
    problems = problems_of(path)
    lines = text.splitlines()
    unknown = [p for p in problems if "unknown target state 'CLOSD'" in p]
    dup = [p for p in problems if "duplicate transition id 'U6'" in p]
    rfc = [p for p in problems if "rfc" in p and ("required" in p or "missing RFC" in p)]
    assert unknown and dup and rfc, problems
    for p in (unknown[0], dup[0], rfc[0]):
        m = re.match(rf"{re.escape(str(path))}:(\d+): ", p)
        assert m, p
        assert 0 < int(m.group(1)) <= len(lines)
    assert "CLOSD" in lines[int(re.match(r".*:(\d+): ", unknown[0]).group(1)) - 1]
    assert "id: T1" in lines[int(re.match(r".*:(\d+): ", rfc[0]).group(1)) - 1]


def test_nondeterministic_guards_are_reported(tmp_path: Path) -> None:
    text = BASE.replace('guard: ["not ack_acceptable"],\n     target: same, rfc: "3.10.7.3",',
                        'target: same, rfc: "3.10.7.3",', 1)
    problems = problems_of(write(tmp_path, text))
    assert any("not mutually exclusive" in p and "S7" in p for p in problems), problems


def test_unknown_guard_and_effect_are_reported(tmp_path: Path) -> None:
    text = BASE.replace("guard: [syn_beyond_old]", "guard: [syn_beyond_0ld]").replace(
        "actions: [mark_passive,", "actions: [mark_pasive,")
    problems = problems_of(write(tmp_path, text))
    assert any("unknown guard 'syn_beyond_0ld'" in p for p in problems)
    assert any("unknown action 'mark_pasive'" in p for p in problems)


def test_unreachable_and_two_initials(tmp_path: Path) -> None:
    text = BASE.replace("{name: LISTEN, group: listen,", "{name: LISTEN, initial: true, group: listen,")
    problems = problems_of(write(tmp_path, text))
    assert any("exactly one initial state" in p for p in problems)
    # Remove the only way into CLOSING: it becomes unreachable.
    text = BASE.replace('event: rcv_fin, guard: ["not fin_acked"], target: CLOSING,',
                        'event: rcv_fin, guard: ["not fin_acked"], target: same,')
    problems = problems_of(write(tmp_path, text))
    assert any("state CLOSING is unreachable" in p for p in problems), problems


def test_profile_overlay_errors_name_the_overlay(tmp_path: Path) -> None:
    base = write(tmp_path, BASE, "tcp.yaml")
    overlay = write(tmp_path, f"profile: broken\nbase: {base.name}\nremove: [S99]\nadd:\n"
                    "  - {id: S1, source: CLOSED, event: rcv_rst, target: same, rfc: \"x\"}\n", "broken.yaml")
    problems = problems_of(overlay)
    assert any(p.startswith(f"{overlay}:3:") and "S99" in p for p in problems), problems
    assert any("S1" in p and "exists already" in p for p in problems), problems


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = write(tmp_path, "!!python/object/apply:os.system ['echo pwned']\n")
    problems = problems_of(path)
    assert problems and "not valid YAML" in problems[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_arbitrary_text_never_tracebacks(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    try:
        load_spec(path)
    except SpecError as exc:
        assert exc.problems


LINES = BASE.splitlines()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_specs_never_traceback(tmp_path: Path, data: st.DataObject) -> None:
    lines = list(LINES)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["delete", "dup", "garble", "swap"]))
        if op == "delete":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "garble" and lines[i]:
            j = data.draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + data.draw(st.sampled_from(["", "x", ":", "{", "]", "'", "-"])) + lines[i][j + 1:]
        elif op == "swap":
            k = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[k] = lines[k], lines[i]
    path = write(tmp_path, "\n".join(lines))
    try:
        load_spec(path)
    except SpecError as exc:
        assert all(str(p) for p in exc.problems)


def test_spec_round_trips_through_yaml_safe_load() -> None:
    data = yaml.safe_load(BASE)
    assert {s["name"] for s in data["states"]} == set(RFC_STATES)
