"""The property language (``tcpfsm.spec._properties``) and its two evaluators (``tcpfsm.checker._properties``)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpfsm import load_spec
from tcpfsm.base._errors import SpecError
from tcpfsm.checker import check
from tcpfsm.checker._properties import Fields, View, holds, mask, next_history
from tcpfsm.cli import main
from tcpfsm.spec._properties import (
    All,
    Any,
    ChannelHas,
    ChannelsEmpty,
    History,
    InState,
    Invariant,
    LeadsTo,
    Not,
    Predicate,
    StepProperty,
    load_properties,
    walk,
)

from .conftest import ROOT

SHIPPED = ROOT / "specs" / "properties.yaml"


def write(tmp_path: Path, text: str, name: str = "props.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = """\
history:
  hA:
    of: A
    values: [none, closing]
    rules:
      - {to: closing, enters: FIN-WAIT-1}
properties:
  - name: p1
    kind: invariant
    history: [hA]
    never: {all: [{state: {A: CLOSED}}, {history: {hA: closing}}]}
models:
  tcp:
    open: {A: open_active, B: open_passive}
    properties: [p1]
"""


# ------------------------------------------------------------------ parsing
def test_the_shipped_file_parses_into_typed_frozen_records() -> None:
    props = load_properties()
    i1 = props.properties["I1"]
    assert isinstance(i1, Invariant) and i1.history == ("hA",)
    assert i1.never == All((InState("A", frozenset({"CLOSED"})), History("hA", "closing")))
    assert isinstance(props.properties["no_rst_for_rst"], StepProperty)
    assert props.properties["no_rst_for_rst"].never.receives == 4  # RST, RFC 9293 §3.1
    live = props.properties["syn_sent_resolves"]
    assert isinstance(live, LeadsTo) and live.fairness == ("deliver", "timer", "user")
    assert props.models["reference"].opening == {"A": "open_active", "B": "open_passive"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        i1.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        props.properties["x"] = i1  # type: ignore[index]
    # every node knows where it was written
    assert all(n.file == str(SHIPPED.resolve()) and n.line > 0 for n in walk(i1.never))
    # parsed once: the same records on every load of an unchanged file
    assert load_properties() is props


def test_every_problem_at_once_with_file_and_line(tmp_path: Path) -> None:
    bad = GOOD.replace("  - name: p1\n", """\
  - name: q1
    kind: invariant
    nevr: {state: {A: CLOSED}}
  - name: q2
    kind: invariant
    never: {history: {hA: finished}}
  - name: q3
    kind: invariant
    never: {channel_has: {AB: RSET}}
  - name: q4
    kind: leads_to
    from: {state: {A: SYN-SENT}}
    to: {state: {C: CLOSED}}
    fairness: [deliver, luck]
  - name: q5
    kind: invariant
    never: {stat: {A: CLOSED}}
  - name: p1
""")
    path = write(tmp_path, bad)
    with pytest.raises(SpecError) as err:
        load_properties(path)
    found = {(p.line, p.message) for p in err.value.problems}
    text = "\n".join(f"{p.line}: {p.message}" for p in err.value.problems)
    lines = bad.splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, ln in enumerate(lines, 1) if fragment in ln)

    assert (line_of("nevr:"), "property 'q1' (invariant): unknown key 'nevr'") in found, text
    assert (line_of("finished"), "property 'q2': unknown history value hA=finished") in found, text
    assert any(ln == line_of("RSET") and "unknown TCP flag 'RSET'" in m for ln, m in found), text
    assert (line_of("C: CLOSED"), "property 'q4': unknown endpoint 'C' in `state:`") in found, text
    assert (line_of("luck"), "property 'q4': unknown fairness class 'luck'") in found, text
    assert (line_of("stat:"), "property 'q5': unknown predicate 'stat'") in found, text
    assert all(p.file == str(path.resolve()) for p in err.value.problems)


def test_unknown_states_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("{state: {A: CLOSED}}", "{state: {A: [CLOSED, CLOSD]}}")
                 .replace("enters: FIN-WAIT-1", "enters: FIN-WAIT-ONE"))
    spec = load_spec()
    props = load_properties(path)  # states are the spec's business: parsing alone accepts them
    missing = props.missing_states(props.properties["p1"], spec.state_names)
    assert sorted((p.line, p.message) for p in missing) == [
        (6, "property p1: history hA (`enters:`) names state 'FIN-WAIT-ONE', which the spec lacks"),
        (11, "property p1: `state:` of A names state 'CLOSD', which the spec lacks"),
    ]
    with pytest.raises(SpecError) as err:  # strict: against one spec's states
        load_properties(path, states=spec.state_names)
    assert {p.line for p in err.value.problems} == {6, 11}
    assert "ESTABLISHED" in err.value.problems[0].hint


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    first = load_properties(path)
    path.write_text(GOOD.replace("kind: invariant", "kind: reach").replace("never:", "reach:") + "\n")
    assert load_properties(path).properties["p1"].kind == "reach" and first.properties["p1"].kind == "invariant"


def test_nodes_compare_and_hash_by_meaning_not_by_place() -> None:
    a = InState("A", frozenset({"CLOSED", "LISTEN"}), file="x.yaml", line=3)
    b = InState("A", frozenset({"LISTEN", "CLOSED"}), file="y.yaml", line=9)
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert a != InState("B", frozenset({"CLOSED", "LISTEN"}))
    assert All((a, ChannelsEmpty())) == All((b, ChannelsEmpty(line=4)))
    assert All((a,)) != Any((a,)) and Not(a) != a
    assert ChannelHas("AB", 4) != ChannelHas("BA", 4) and History("hA", "x") != History("hB", "x")
    props = load_properties()
    # I4 and the reach witness name the same kind of thing; the shipped I1 and a copy are equal
    assert props.properties["I1"] == dataclasses.replace(props.properties["I1"], line=1)


# ------------------------------------------------------------------ the two evaluators agree
STATES = ("CLOSED", "LISTEN", "SYN-SENT", "ESTABLISHED", "TIME-WAIT")
HIST = {"hA": ("none", "closing", "time_wait"), "hB": ("none", "passive_close")}
SEG_BITS = (0, 0x02, 0x12, 0x10, 0x04, 0x11, 0x14)  # id 0: no segment; SYN, SYN+ACK, ACK, RST, FIN+ACK, RST+ACK
K = 3


def predicates() -> st.SearchStrategy[Predicate]:
    """Random trees over the language's nodes (and the shipped properties' own predicates); a leaf alone often."""
    leaves = st.one_of(
        st.builds(InState, st.sampled_from("AB"), st.frozensets(st.sampled_from(STATES), max_size=3)),
        st.sampled_from([History(h, v) for h, vs in HIST.items() for v in vs]),
        st.just(ChannelsEmpty()),
        st.builds(ChannelHas, st.sampled_from(("AB", "BA")), st.sampled_from((1, 2, 4, 16, 0x14, 0x12, 0x11))),
        st.sampled_from([n for p in load_properties().properties.values() for n in p.predicates()
                         if not any(isinstance(x, History) and x.name not in HIST for x in walk(n))]),
    )
    return st.one_of(leaves, st.recursive(leaves, lambda sub: st.one_of(
        st.builds(All, st.lists(sub, max_size=3).map(tuple)),
        st.builds(Any, st.lists(sub, max_size=3).map(tuple)),
        st.builds(Not, sub)), max_leaves=8))


state_tuples = st.tuples(st.integers(0, len(STATES) - 1), st.integers(0, len(STATES) - 1),
                         st.integers(0, 2), st.integers(0, 1),
                         st.lists(st.integers(1, len(SEG_BITS) - 1), max_size=K),
                         st.lists(st.integers(1, len(SEG_BITS) - 1), max_size=K))


@settings(max_examples=500, deadline=None)
@given(pred=predicates(), batch=st.lists(state_tuples, min_size=1, max_size=16))
def test_python_and_numpy_evaluators_agree(pred: Predicate, batch: list[tuple]) -> None:
    views = [View(STATES[a], STATES[b], {"hA": HIST["hA"][ha], "hB": HIST["hB"][hb]},
                  tuple(SEG_BITS[x] for x in ab), tuple(SEG_BITS[x] for x in ba))
             for a, b, ha, hb, ab, ba in batch]

    def slots(i: int) -> list[np.ndarray]:  # slot j of channel i (0: AB) of every state; 0 is empty
        return [np.array([t[4 + i][j] if j < len(t[4 + i]) else 0 for t in batch]) for j in range(K)]

    fields = Fields(len(batch), {"A": np.array([t[0] for t in batch]), "B": np.array([t[1] for t in batch])},
                    STATES, {"hA": np.array([t[2] for t in batch]), "hB": np.array([t[3] for t in batch])},
                    HIST, {"AB": slots(0), "BA": slots(1)}, np.array(SEG_BITS))
    assert mask(pred, fields).tolist() == [holds(pred, v) for v in views]


def test_history_rules_as_in_the_reference_model() -> None:
    h_a = load_properties().histories["hA"]
    none, closing, time_wait, cut_short = range(4)
    # REFERENCE_MODEL.md section 3: closing when A enters FIN-WAIT-1, time_wait in TIME-WAIT
    assert next_history(h_a, none, "close", 0, "ESTABLISHED", "FIN-WAIT-1") == closing
    assert next_history(h_a, closing, "recv", 0x11, "FIN-WAIT-2", "TIME-WAIT") == time_wait
    assert next_history(h_a, closing, "abort", 0, "FIN-WAIT-1", "CLOSED") == cut_short
    assert next_history(h_a, closing, "recv", 0x04, "FIN-WAIT-1", "CLOSED") == cut_short
    assert next_history(h_a, closing, "recv", 0x04, "FIN-WAIT-1", "FIN-WAIT-1") == closing  # RFC 5961: ignored
    assert next_history(h_a, time_wait, "recv", 0x10, "TIME-WAIT", "TIME-WAIT") == time_wait


# ------------------------------------------------------------------ a spec with other state names
RENAMED = "LAST-ACKNOWLEDGE"


@pytest.fixture
def renamed_spec(tmp_path: Path) -> Path:
    """specs/tcp.yaml with LAST-ACK renamed: the passive closer's last state (RFC 9293 §3.6) has another name."""
    path = tmp_path / "renamed.yaml"
    path.write_text(re.sub(r"\bLAST-ACK\b", RENAMED, (ROOT / "specs" / "tcp.yaml").read_text()))
    return path


def test_default_properties_naming_missing_states_are_left_out_with_a_note(
        renamed_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = check(spec_file=renamed_spec)
    assert [x.name for x in report.left_out] == ["last_ack_completes"]
    note = report.left_out[0].note
    assert "LAST-ACK" in note and re.search(r"properties\.yaml:\d+", note), note
    assert "last_ack_completes" not in {v.name for v in report.verdicts}
    assert all(v.verdict == "holds" for v in report.verdicts) and report.exit_code == 0
    assert main(["check", "--spec", str(renamed_spec), "-q"]) == 0
    capsys.readouterr()
    assert main(["check", "--spec", str(renamed_spec), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [x["name"] for x in data["left_out"]] == ["last_ack_completes"] and "LAST-ACK" in data["left_out"][0]["note"]
    assert check().left_out == []  # the shipped spec has every state the properties name


def test_asked_for_by_name_a_missing_state_is_an_error_with_file_and_line(
        renamed_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SpecError) as err:
        check(spec_file=renamed_spec, properties=["last_ack_completes"])
    [problem] = err.value.problems
    line = next(i for i, ln in enumerate(SHIPPED.read_text().splitlines(), 1) if "B: LAST-ACK" in ln)
    assert Path(problem.file).name == "properties.yaml" and problem.line == line
    assert "'LAST-ACK'" in problem.message and RENAMED in problem.hint
    assert main(["check", "--spec", str(renamed_spec), "--property", "last_ack_completes", "-q"]) == 2
    assert f"properties.yaml:{line}" in capsys.readouterr().err
