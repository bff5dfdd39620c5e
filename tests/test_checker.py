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
from tcpfsm.checker import Channel, check
from tcpfsm.checker._driver import Search
from tcpfsm.checker._search import Config, PlainExpander, System
from tcpfsm.cli import main
from tcpfsm.spec._properties import load_properties
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
    "give_up_returns_listener": "I3",  # ambiguity A11, decided by this counterexample
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
    pair = EndpointPair.build(spec, a_iss=100, b_iss=300, max_retries=system.R,
                              max_syn_retries=system.R, challenge_ack_limit=None, engine="transitions")
    pair.call("A", "connect")
    pair.call("B", "listen")
    fmt = (lambda s: int(s.flags)) if control else (lambda s: (int(s.flags), s.seq, s.ack, s.length))
    for label, state in path:
        move, position = system.moves.parse(label)  # the move table both engines label moves from
        if move.kind == "recv":
            pair.deliver("B" if move.who == "A" else "A", position)
        elif move.kind == "lose":
            pair.lose(move.channel[0], position)
        elif move.kind == "user":
            pair.call(move.who, move.arg)
        else:
            ep = pair.endpoint(move.who)
            if control:
                ep.tcb.timers.setdefault(move.arg, 0.0)
            pair.timeout(move.who, move.arg)
        v = system.view(state)
        d = system.decode(state)
        segs = system.lm.segments
        assert (str(pair.a.state), str(pair.b.state)) == (v.sa, v.sb), label
        assert [fmt(s) for s in pair.channels["A"]] == [fmt(segs[x]) for x in d.ab], label
        assert [fmt(s) for s in pair.channels["B"]] == [fmt(segs[x]) for x in d.ba], label
        assert list(v.ab) == [s.bits for s in pair.channels["A"]], label  # the evaluator's view: control bits


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
    system = System(Config(spec, Channel(capacity=2, lossy=lossy), retransmissions=1))
    path = random_path(system, random.Random(seed), length)
    replay(None, path, system, system.lm.control)


def test_every_state_of_a_small_model_replays() -> None:
    """Exhaustive on a small configuration: a shortest path to every reachable state replays."""
    spec = load_spec(ROOT / "specs" / "reference.yaml")
    h_a = load_properties().histories["hA"]  # part of the reference state vector
    system = System(Config(spec, Channel(capacity=2), retransmissions=0, histories=(h_a,)))
    search = Search(PlainExpander(system), [])
    stats = search.run()
    assert stats.states == 600
    for depth, level in enumerate(search.levels):
        for s in level:
            replay(None, search.path_to(s, depth), system, True)


def test_rfc_spec_small_model_replays_exhaustively() -> None:
    system = System(Config(load_spec(), Channel(capacity=1), retransmissions=0))
    search = Search(PlainExpander(system), [])
    search.run()
    for depth, level in enumerate(search.levels):
        for s in level[:40]:
            replay(None, search.path_to(s, depth), system, False)
    assert Flags.SYN  # the flags module is the one the checker formats with


def test_both_active_explores_simultaneous_open() -> None:
    report = check(b_opens="active", properties=["I1", "I2", "handshake_agreement", "no_rst_for_rst"])
    assert report.stats.complete and all(v.verdict == "holds" for v in report.verdicts)
    assert report.initial is not None and (report.initial.a, report.initial.b) == ("SYN-SENT", "SYN-SENT")


# ------------------------------------------------------------ one move table, one layout, one driver
def test_one_move_table_from_the_spec_events() -> None:
    from tcpfsm.checker import MoveTable

    ref = MoveTable.build(load_spec(ROOT / "specs" / "reference.yaml"), Channel(lossy=True))
    # REFERENCE_MODEL.md section 9: the event order
    assert [lab for m in ref.moves for lab in m.labels] == [
        "RECV_A", "CLOSE_A", "ABORT_A", "CONNECT_A", "TIMEOUT_A", "TW_A",
        "RECV_B", "CLOSE_B", "ABORT_B", "CONNECT_B", "TIMEOUT_B", "TW_B", "LOSE_AB", "LOSE_BA"]
    assert [ref.fairness(x) for x in ("RECV_B", "CONNECT_A", "TW_B", "LOSE_BA")] == ["deliver", "user", "timer", "loss"]
    rfc = MoveTable.build(load_spec(), Channel(capacity=2, reordering=True, duplicating=True))
    assert rfc.of("A")[0].labels == ("RECV_A", "RECV1_A") and "USER_TIMEOUT_A" in rfc.by_label
    assert [m.labels[0] for m in rfc.network] == ["DUP_AB", "DUP_BA"]
    # a timer a profile adds is a move too: Linux's FIN-WAIT-2 timer (tcp_fin_timeout)
    linux = MoveTable.build(load_spec(profile="linux"), Channel())
    assert linux.parse("FIN_WAIT_2_TIMEOUT_B")[0].arg == "fin_wait_2"
    assert linux.timer_event("retransmit") == "timeout" and linux.call_event("send") == "connect"


@settings(max_examples=200, deadline=None)
@given(states=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 2), st.integers(0, 2),
                                 st.integers(0, 3), st.lists(st.integers(1, 9), max_size=3),
                                 st.lists(st.integers(1, 9), max_size=3)), min_size=2, max_size=20))
def test_both_layouts_round_trip_and_order_states_alike(states: list[tuple]) -> None:
    from tcpfsm.checker._layout import Layout

    generous, tight = Layout.generous(3, 1), Layout.tight(41, 10, 2, (4,), 3)
    assert tight.total_bits == 6 + 6 + 2 + 2 + 2 + 4 * 3 * 2
    for la, lb, ra, rb, h, ab, ba in states:
        for lay in (generous, tight):
            assert lay.unpack(lay.pack(la, lb, ra, rb, h, tuple(ab), tuple(ba))) == (la, lb, ra, rb, h, tuple(ab),
                                                                                    tuple(ba))
    def order(lay: Layout) -> list[int]:
        packed = [lay.pack(la, lb, ra, rb, h, tuple(ab), tuple(ba)) for la, lb, ra, rb, h, ab, ba in states]
        return sorted(range(len(states)), key=lambda i: (packed[i], i))
    assert order(generous) == order(tight)


STEP_PROPERTIES = """  - name: syn_answered_with_ack
    title: "a SYN is answered with an ACK (expected violated: the SYN,ACK of the handshake)"
    kind: step
    never: {receives: SYN, sends: ACK}
  - name: fin_wait_1_to_closing
    title: "FIN-WAIT-1 never goes to CLOSING (expected violated: a simultaneous close)"
    kind: step
    never: {from: FIN-WAIT-1, to: CLOSING}
  - name: never_rst_for_fin
    title: "no FIN is answered with an RST (expected violated: a FIN,ACK reaching a CLOSED end)"
    kind: step
    never: {receives: FIN, sends: RST}
"""


def test_engines_agree_on_step_properties_each_found_apart(tmp_path: Path) -> None:
    props = tmp_path / "props.yaml"
    props.write_text((ROOT / "specs" / "properties.yaml").read_text().replace("properties:\n", "properties:\n"
                                                                                + STEP_PROPERTIES, 1))
    names = ["syn_answered_with_ack", "fin_wait_1_to_closing", "never_rst_for_fin", "no_rst_for_rst", "I1"]
    runs = [check(model="reference", properties=names, properties_file=props, engine=e) for e in ("vector", "plain")]
    assert [r.engine for r in runs] == ["vector", "plain"]
    for r in runs:
        got = {v.name: (v.verdict, len(v.counterexample or [])) for v in r.verdicts}
        # RFC 9293 §3.5 Figure 6: B's first move answers A's SYN with SYN,ACK; Figure 13: FIN-WAIT-1 -> CLOSING;
        # §3.10.7.1: a segment that reaches CLOSED draws an RST (A closes in SYN-SENT, B's FIN,ACK arrives)
        assert got == {"syn_answered_with_ack": ("violated", 1), "fin_wait_1_to_closing": ("violated", 6),
                       "never_rst_for_fin": ("violated", 5), "no_rst_for_rst": ("holds", 0),
                       "I1": ("holds", 0)}, (r.engine, got)
        cex = next(v for v in r.verdicts if v.name == "fin_wait_1_to_closing").counterexample
        assert cex is not None and "CLOSING" in (cex[-1].a, cex[-1].b)


@pytest.mark.parametrize("engine", ["vector", "plain"])
def test_ctrl_c_keeps_partial_figures(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tcpfsm.checker._fast import VectorExpander

    cls = VectorExpander if engine == "vector" else PlainExpander
    real = cls.expand
    calls = []

    def expand(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, "expand", expand)
    report = check(model="reference", capacity=3, retransmissions=2, lossy=True, engine=engine, properties=["I1"])
    s = report.stats
    assert s.stopped == "interrupted (Ctrl-C)" and not s.complete and 0 < s.states < 54857 and s.transitions > 0
    assert report.verdicts[0].verdict == "inconclusive" and report.exit_code == 3


@pytest.mark.parametrize("engine", ["vector", "plain"])
def test_state_and_time_bounds_in_both_engines(engine: str) -> None:
    report = check(model="reference", capacity=3, retransmissions=2, lossy=True, engine=engine, max_states=1000,
                   properties=["I2"])
    assert report.stats.stopped == "state bound 1,000" and report.verdicts[0].verdict == "inconclusive"
    assert 1000 <= report.stats.states < 54857
    report = check(model="reference", capacity=3, retransmissions=2, lossy=True, engine=engine, timeout=0.0,
                   properties=["I2"])
    assert report.stats.stopped == "time bound 0 s" and report.verdicts[0].verdict == "inconclusive"


@pytest.mark.slow
def test_an_outgrown_encoding_is_inconclusive_naming_the_limit() -> None:
    """lossy + dup + reorder at -k 2: every duplicated old SYN that reaches a listener is a new
    connection, so the segments outgrow the plain engine's 8-bit ids: the search stops there as at
    a bound (exit 3 when nothing was found), never an internal error (issue 9)."""
    report = check(lossy=True, duplicating=True, reordering=True, properties=["I1"])
    assert not report.stats.complete and "encoding limit" in report.stats.stopped
    assert report.verdicts[0].verdict == "inconclusive" and report.exit_code == 3


def test_counterexample_tables_name_events_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    """Tables say what happened (issue 14), with the terse label beside it and alone in --json."""
    from tcpfsm.checker import MoveTable

    spec = load_spec(profile="rfc9293")
    moves = MoveTable.build(spec, Channel(capacity=2, lossy=True, duplicating=True, reordering=True), 1, 1)
    words = {label: moves.describe(label, spec) for m in moves.moves for label in m.labels}
    assert words["RECV_B"] == "B receives" and words["RECV1_A"] == "A receives (segment 2 in flight)"
    assert words["LOSE_BA"] == "segment B->A lost" and words["CLOSE_A"] == "A calls CLOSE"
    assert words["TW_A"] == "A: 2MSL timeout" and words["TIMEOUT_B"] == "B: RTO"  # the spec's event labels
    assert words["REOPEN_WRAP_B"] == "B opens the 4-tuple again (the old ISS again)"
    assert main(["check", "--lossy", "--property", "I3", "-q"]) == 1
    assert "segment B->A lost (LOSE_BA)" in capsys.readouterr().out


def test_the_json_says_how_long_the_vector_tables_took(capsys: pytest.CaptureFixture[str]) -> None:
    """`tables_seconds`: the part of the search the vector engine spent running the spec's
    Endpoint to fill its lazy tables (benchmarks/checker.py compares pan with it apart); the
    plain engine builds its tables inside its moves and reports none."""
    schema = json.loads((ROOT / "tcpfsm" / "schema" / "check.schema.json").read_text())
    code, data = run_json(["check", "--lossy", "-k", "2", "--property", "I1", "--engine", "vector", "--json", "-q"],
                          capsys)
    jsonschema.validate(data, schema)
    assert code == 0 and data["engine"] == "vector" and 0 < data["tables_seconds"] <= data["seconds"]
    code, data = run_json(["check", "--property", "I1", "--engine", "plain", "--json", "-q"], capsys)
    jsonschema.validate(data, schema)
    assert code == 0 and "tables_seconds" not in data
