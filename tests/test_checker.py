"""The model checker: golden numbers, both engines, mutants, channels, agreement with Endpoint."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpfsm import Flags, load_spec
from tcpfsm.checker import check
from tcpfsm.checker._search import Config, System
from tcpfsm.cli import main
from tcpfsm.testing import EndpointPair

from .conftest import ROOT

SCHEMA = json.loads((ROOT / "tcpfsm" / "schema" / "check.schema.json").read_text())


def golden_rows() -> list[tuple[int, int, int, int, int, int]]:
    """Section 11 of the reference model (a copy ships in tests/data): K, R, LOSSY, states, transitions, depth."""
    text = (ROOT / "tests" / "data" / "REFERENCE_MODEL.md").read_text()
    table = text.split("## 11. Golden numbers")[1]
    rows = []
    cell = r"\**([\d,]+)\**"  # some rows are bold
    for m in re.finditer(rf"^\| {cell} \| {cell} \| {cell} \| {cell} \| {cell} \| (\d+) \|", table, re.M):
        k, r, lossy, states, trans, depth = m.groups()
        rows.append((int(k), int(r), int(lossy), int(states.replace(",", "")), int(trans.replace(",", "")),
                     int(depth)))
    assert len(rows) == 10
    return rows


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(args)
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, SCHEMA)
    return code, data


@pytest.mark.parametrize("row", golden_rows(), ids=lambda r: f"K{r[0]}R{r[1]}L{r[2]}")
def test_golden_numbers_through_the_command(row: tuple[int, ...], capsys: pytest.CaptureFixture[str]) -> None:
    k, r, lossy, states, transitions, depth = row
    args = ["check", "--model", "reference", "--capacity", str(k), "--retransmissions", str(r), "--json"]
    code, data = run_json(args + (["--lossy"] if lossy else []), capsys)
    assert (data["states"], data["transitions"], data["depth"]) == (states, transitions, depth)
    assert data["complete"] is True
    assert [p["name"] for p in data["properties"]] == ["I1", "I2", "I3", "I4", "D"]
    assert code == 1  # I4 is a witness: always violated


@pytest.mark.parametrize("lossy, expected", [
    (False, {"I1": None, "I2": None, "I3": None, "I4": 8, "D": 5}),
    (True, {"I1": None, "I2": None, "I3": 5, "I4": 8, "D": None}),
])
def test_reference_property_verdicts(lossy: bool, expected: dict, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["check", "--model", "reference", "-k", "2", "-r", "1", "--json"] + (["--lossy"] if lossy else [])
    _, data = run_json(args, capsys)
    for p in data["properties"]:
        want = expected[p["name"]]
        if want is None:
            assert p["verdict"] == "holds" and p["counterexample"] is None, p["name"]
        else:
            assert p["verdict"] == "violated" and len(p["counterexample"]) == want, p["name"]


@pytest.mark.parametrize("k, r, lossy", [(2, 0, 0), (2, 1, 1), (3, 1, 0), (3, 2, 1)])
def test_vector_and_plain_engines_agree(k: int, r: int, lossy: int) -> None:
    a = check(model="reference", capacity=k, retransmissions=r, lossy=bool(lossy), engine="vector")
    b = check(model="reference", capacity=k, retransmissions=r, lossy=bool(lossy), engine="plain")
    assert (a.engine, b.engine) == ("vector", "plain")
    assert (a.stats.states, a.stats.transitions, a.stats.depth) == (b.stats.states, b.stats.transitions, b.stats.depth)
    for va, vb in zip(a.verdicts, b.verdicts, strict=True):
        assert va.verdict == vb.verdict
        assert (len(va.counterexample or []), va.name) == (len(vb.counterexample or []), vb.name)


MUTANTS = {
    "skip_time_wait": "I1",
    "last_ack_ignores_ack": "last_ack_completes",
    "rst_in_syn_received_closes": "rst_returns_listener",
}


@pytest.mark.parametrize("mutant, prop", list(MUTANTS.items()))
def test_every_mutant_fails_and_the_spec_passes(mutant: str, prop: str) -> None:
    bad = check(spec_file=ROOT / "specs" / "mutants" / f"{mutant}.yaml", properties=[prop])
    good = check(properties=[prop])
    assert bad.verdicts[0].verdict == "violated" and bad.verdicts[0].counterexample
    assert good.verdicts[0].verdict == "holds" and good.stats.complete


def test_half_open_holds_reliable_fails_lossy_with_shortest_trace() -> None:
    reliable = check(properties=["I3"])
    lossy = check(properties=["I3"], lossy=True)
    assert reliable.verdicts[0].verdict == "holds"
    v = lossy.verdicts[0]
    assert v.verdict == "violated" and len(v.counterexample) == 5
    assert v.counterexample[-1].event.startswith("LOSE_")  # the aborting side's RST is lost
    assert v.counterexample[-1].ab == () and v.counterexample[-1].ba == ()


def test_tcp_properties_on_a_reliable_channel() -> None:
    props = ["I1", "I2", "I3", "passive_closer_no_time_wait", "simultaneous_close", "handshake_agreement",
             "no_rst_for_rst", "rst_returns_listener", "last_ack_completes"]
    report = check(properties=props)
    assert {v.name: v.verdict for v in report.verdicts} == dict.fromkeys(props, "holds")
    witness = next(v for v in report.verdicts if v.name == "simultaneous_close").counterexample
    assert witness and (witness[-1].a, witness[-1].b) == ("CLOSING", "CLOSING")


def test_liveness_under_fairness() -> None:
    ok = check(properties=["syn_sent_resolves", "eventually_closed"], when_full="drop")
    assert [v.verdict for v in ok.verdicts] == ["holds", "holds"]
    stuck = check(properties=["eventually_closed"])  # blocking sends: the bounded-buffer deadlock
    v = stuck.verdicts[0]
    assert v.verdict == "violated" and "stuck" in v.note


def test_bounds_make_it_inconclusive_never_a_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(["check", "--model", "reference", "-k", "3", "-r", "2", "--lossy", "--max-states", "500",
                           "--property", "I1", "--json"], capsys)
    assert code == 3 and data["complete"] is False
    assert data["properties"][0]["verdict"] == "inconclusive"
    report = check(model="reference", capacity=3, retransmissions=1, max_depth=5, properties=["I2"], engine="plain")
    assert report.verdicts[0].verdict == "inconclusive" and "depth bound" in report.verdicts[0].note


def test_same_inputs_same_counterexample() -> None:
    a = check(model="reference", lossy=True, properties=["I3"])
    b = check(model="reference", lossy=True, properties=["I3"])
    assert [s.to_dict() for s in a.verdicts[0].counterexample] == [s.to_dict() for s in b.verdicts[0].counterexample]


def test_trace_out_writes_a_sequence_chart(tmp_path: Path) -> None:
    out = tmp_path / "cex.dot"
    code = main(["check", "--spec", str(ROOT / "specs" / "mutants" / "skip_time_wait.yaml"), "--property", "I1",
                 "--trace-out", str(out), "-q"])
    assert code == 1
    dot = (tmp_path / "cex-I1.dot").read_text()
    assert "FIN-WAIT-2" in dot and "S33" in dot


# ------------------------------------------------------------ agreement with Endpoint
def replay(spec_path: Path | None, path: list[tuple[str, int]], system: System, control: bool) -> None:
    """Replay a checker path through EndpointPair; states and segments must match at every step."""
    spec = system.cfg.spec
    pair = EndpointPair.build(spec, a_iss=100, b_iss=300, max_retries=system.R, engine="transitions")
    pair.call("A", "connect")
    pair.call("B", "listen")
    fmt = (lambda s: int(s.flags)) if control else (lambda s: (int(s.flags), s.seq, s.ack, s.length))
    for label, state in path:
        event, _, who = label.rpartition("_")
        if event == "RECV":
            pair.deliver("B" if who == "A" else "A")
        elif event == "LOSE":
            pair.lose(who[0])
        elif event in ("CLOSE", "ABORT"):
            pair.call(who, event.lower())
        elif event == "CONNECT":
            pair.call(who, "send")
        else:
            timer = {"TIMEOUT": "retransmit", "TW": "time_wait", "USER_TIMEOUT": "user"}[event]
            ep = pair.endpoint(who)
            if control:
                ep.tcb.timers.setdefault(timer, 0.0)
            pair.timeout(who, timer)
        v = system.view(state)
        segs = system.lm.segments
        assert (str(pair.a.state), str(pair.b.state)) == (v.sa, v.sb), label
        assert [fmt(s) for s in pair.channels["A"]] == [fmt(segs[x]) for x in v.ab], label
        assert [fmt(s) for s in pair.channels["B"]] == [fmt(segs[x]) for x in v.ba], label


def random_path(system: System, rng: random.Random, length: int) -> list[tuple[str, int]]:
    s = system.initial()
    path = []
    for _ in range(length):
        succ = system.successors(s)
        if not succ:
            break
        label, s, _ = rng.choice(succ)
        path.append((label, s))
    return path


@pytest.mark.parametrize("which", ["reference", "rfc9293", "rfc5961"])
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**9), length=st.integers(1, 25), lossy=st.booleans())
def test_random_checker_paths_replay_through_endpoint_pair(which: str, seed: int, length: int, lossy: bool) -> None:
    spec = load_spec(ROOT / "specs" / "reference.yaml") if which == "reference" else load_spec(profile=which)
    from tcpfsm.checker._search import Channel

    system = System(Config(spec, Channel(capacity=2, lossy=lossy), retransmissions=1))
    path = random_path(system, random.Random(seed), length)
    replay(None, path, system, system.lm.control)


def test_every_state_of_a_small_model_replays() -> None:
    """Exhaustive on a small configuration: a shortest path to every reachable state replays."""
    from tcpfsm.checker._properties import load_properties
    from tcpfsm.checker._search import Channel, Search

    spec = load_spec(ROOT / "specs" / "reference.yaml")
    h_a = load_properties().histories["hA"]  # part of the reference state vector
    system = System(Config(spec, Channel(capacity=2), retransmissions=0, histories=(h_a,)))
    search = Search(system, [])
    stats = search.run()
    assert stats.states == 600
    for depth, level in enumerate(search.levels):
        for s in level:
            replay(None, search.path_to(s, depth), system, True)


def test_rfc_spec_small_model_replays_exhaustively() -> None:
    from tcpfsm.checker._search import Channel, Search

    system = System(Config(load_spec(), Channel(capacity=1), retransmissions=0))
    search = Search(system, [])
    search.run()
    for depth, level in enumerate(search.levels):
        for s in level[:40]:
            replay(None, search.path_to(s, depth), system, False)
    assert Flags.SYN  # the flags module is the one the checker formats with


def test_both_active_explores_simultaneous_open() -> None:
    report = check(b_opens="active", properties=["I1", "I2", "handshake_agreement", "no_rst_for_rst"])
    assert report.stats.complete and all(v.verdict == "holds" for v in report.verdicts)
    assert report.initial is not None and (report.initial.a, report.initial.b) == ("SYN-SENT", "SYN-SENT")
