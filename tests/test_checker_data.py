"""The users' data in the checker: the DATA move, the sequence and delivery properties, their language.

Expected values come from RFC 9293: an acknowledgment never covers what the peer has not sent
(§3.4; §3.10.7.4 fifth drops an ACK of something not yet sent), text is delivered in sequence
(§3.10.7.4 seventh) and a FIN is taken only after all the text before it (eighth), so in
CLOSE-WAIT, LAST-ACK, CLOSING and TIME-WAIT every byte the peer sent before its FIN is delivered.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpfsm import SpecError
from tcpfsm.base._resources import specs_dir
from tcpfsm.checker import Channel, MoveTable, check
from tcpfsm.checker._local import DATA_BYTES, LocalModel, Numbers
from tcpfsm.checker._properties import Fields, View, holds, mask
from tcpfsm.cli import main
from tcpfsm.spec import load_spec
from tcpfsm.spec._properties import BeyondPeer, Delivered, load_properties

PROPS = load_properties()
DATA_PAIR = ["no_phantom_ack", "data_delivered_in_order"]
FIN_TAKEN = ("CLOSE-WAIT", "LAST-ACK", "CLOSING", "TIME-WAIT")


# ------------------------------------------------------------------ the move
def test_the_data_move_comes_from_the_spec_send_call_and_the_option() -> None:
    spec = load_spec()
    assert "DATA_A" not in MoveTable.build(spec, Channel()).by_label
    table = MoveTable.build(spec, Channel(), data=2)
    move, _ = table.parse("DATA_B")
    assert (move.kind, move.arg, move.who, move.fairness) == ("data", "send", "B", "user")


def test_a_user_sends_its_bytes_in_order_within_the_budget() -> None:
    lm = LocalModel(load_spec(), data=2)
    a = lm.open("A", "open_active")
    b = lm.open("B", "open_passive")
    syn_ack = lm.receive(b.local, a.sent[0])
    ack = lm.receive(a.local, syn_ack.sent[0])  # A: ESTABLISHED
    assert lm.state_name(ack.local) == "ESTABLISHED"
    first = lm.data(ack.local)
    assert first is not None and [lm.segments[s].payload for s in first.sent] == [DATA_BYTES[:1]]
    second = lm.data(first.local)
    assert second is not None and [lm.segments[s].payload for s in second.sent] == [DATA_BYTES[1:2]]
    assert lm.data(second.local) is None  # the budget: two SEND calls
    n = lm.numbers(second.local)
    assert (n.sent_first, n.sent_total) == (0, 2)
    # B takes the two bytes in order: they are delivered, RCV.NXT covers them
    got = lm.receive(lm.receive(syn_ack.local, ack.sent[0]).local, first.sent[0])
    got = lm.receive(got.local, second.sent[0])
    nb = lm.numbers(got.local)
    assert (nb.delivered_start, nb.delivered_len) == (0, 2) and nb.rcv_nxt == n.snd_nxt


def test_data_needs_the_full_projection() -> None:
    with pytest.raises(SpecError, match="control projection"):
        check(model="reference", data=1)
    with pytest.raises(SpecError) as err:
        check(model="reference", properties=["no_phantom_ack"])
    [problem] = err.value.problems
    lines = Path(PROPS.file).read_text().splitlines()
    line = next(i for i, ln in enumerate(lines, 1) if "never: {beyond_peer: {A:" in ln)
    assert Path(problem.file).name == "properties.yaml" and problem.line == line


# ------------------------------------------------------------------ the properties on the RFC specs
@pytest.mark.parametrize("chan", [{}, {"reordering": True}, {"lossy": True}], ids=["reliable", "reorder", "lossy"])
def test_the_data_pair_holds_on_rfc9293_with_data(chan: dict[str, bool]) -> None:
    report = check(profile="rfc9293", data=1, properties=DATA_PAIR, **chan)
    assert {v.name: v.verdict for v in report.verdicts} == dict.fromkeys(DATA_PAIR, "holds")
    assert report.stats.complete


def _fin_taken_early(tmp_path: Path) -> Path:
    """specs/tcp.yaml as it was before SHLD-31 holding: no out-of-order step, and a FIN is taken
    whatever text is missing before it."""
    text = (specs_dir() / "tcp.yaml").read_text()
    step = re.search(r"\n *- \{event: rcv_out_of_order[^\n]*\}", text)
    guard = "{name: fin_follows, predicate: fin_in_sequence,"
    assert step is not None and guard in text, "the spec no longer has the out-of-order step this mutant removes"
    path = tmp_path / "fin_taken_early.yaml"
    path.write_text(text.replace(step.group(0), "").replace(guard, "{name: fin_follows, predicate: fin_follows,"))
    return path


@pytest.mark.parametrize("engine", ["vector", "plain"])
def test_a_fin_taken_before_the_data_is_found(tmp_path: Path, engine: str) -> None:
    report = check(spec_file=_fin_taken_early(tmp_path), data=1, reordering=True, engine=engine,
                   properties=["data_delivered_in_order"], max_depth=6)  # a shortest one is found at depth 6
    [v] = report.verdicts
    assert v.verdict == "violated" and v.counterexample is not None
    last = v.counterexample[-1]
    assert last.a in FIN_TAKEN or last.b in FIN_TAKEN  # the FIN was taken, a byte before it was not delivered
    assert any(step.event.startswith("DATA_") for step in v.counterexample)
    assert len(v.counterexample) == 6  # B sends a byte and closes; A takes the FIN first


def test_the_cli_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--data", "1", "--channel", "reorder", "--property", "data_delivered_in_order", "-q"]) == 0
    out = capsys.readouterr().out
    assert "data 1" in out.splitlines()[0] and "holds" in out
    assert main(["check", "--data", "27", "-q"]) == 2
    assert main(["check", "--model", "reference", "--data", "1", "-q"]) == 2
    capsys.readouterr()
    assert main(["check", "--help"]) == 0
    assert "--data 1 --channel reorder" in capsys.readouterr().out


# ------------------------------------------------------------------ the language
@pytest.mark.parametrize(("yaml", "message"), [
    ("{beyond_peer: {A: SND.UNA}}", "one of RCV.NXT, SEG.ACK"),
    ("{beyond_peer: {C: RCV.NXT}}", "unknown endpoint 'C'"),
    ("{delivered: {B: most}}", "one of prefix, all"),
    ("{delivered: []}", "maps A and/or B"),
])
def test_bad_numeric_predicates_are_reported_with_file_and_line(tmp_path: Path, yaml: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"properties:\n  - name: x\n    kind: invariant\n    never: {yaml}\n")
    with pytest.raises(SpecError) as err:
        load_properties(path)
    [problem] = err.value.problems
    assert message in problem.message and problem.line == 4 and problem.file == str(path)


def test_the_shipped_properties_parse_to_the_numeric_nodes() -> None:
    nodes = PROPS.numeric_nodes(PROPS.properties["no_phantom_ack"])
    assert {(n.who, n.variable) for n in nodes if isinstance(n, BeyondPeer)} == \
        {(w, v) for w in "AB" for v in ("RCV.NXT", "SEG.ACK")}
    nodes = PROPS.numeric_nodes(PROPS.properties["data_delivered_in_order"])
    assert {(n.who, n.extent) for n in nodes if isinstance(n, Delivered)} == \
        {("A", "prefix"), ("B", "prefix"), ("A", "all"), ("B", "all")}


def _numbers(iss: int, irs: int, snd_nxt: int, rcv_nxt: int, synced: int = 1, sent: tuple[int, int] = (0, 0),
             delivered: tuple[int, int] = (0, 0)) -> Numbers:
    return Numbers(iss, irs, snd_nxt, rcv_nxt, synced, *sent, *delivered)


def test_beyond_peer_and_delivered_by_the_rfc() -> None:
    a = _numbers(100, 300, 101, 302)  # A has received B's SYN (300) and one byte
    b = _numbers(300, 100, 302, 101, sent=(0, 1))
    view = View("ESTABLISHED", "ESTABLISHED", {}, (0x10,), (), {"A": a, "B": b}, {"AB": (302,), "BA": ()})
    assert not holds(BeyondPeer("A", "RCV.NXT"), view) and not holds(BeyondPeer("A", "SEG.ACK"), view)
    ahead = View("ESTABLISHED", "ESTABLISHED", {}, (0x10,), (), {"A": a._replace(rcv_nxt=303), "B": b},
                 {"AB": (303,), "BA": ()})
    assert holds(BeyondPeer("A", "RCV.NXT"), ahead) and holds(BeyondPeer("A", "SEG.ACK"), ahead)
    other = {"A": a._replace(irs=999, rcv_nxt=2000), "B": b}  # not B's incarnation: nothing to compare
    assert not holds(BeyondPeer("A", "RCV.NXT"), View("ESTABLISHED", "LISTEN", {}, (), (), other, {"AB": (), "BA": ()}))
    # delivery: nothing yet is a prefix, not all; the byte B sent delivered is all of it
    none_yet = View("ESTABLISHED", "ESTABLISHED", {}, (), (), {"A": a, "B": b}, {"AB": (), "BA": ()})
    assert holds(Delivered("A", "prefix"), none_yet) and not holds(Delivered("A", "all"), none_yet)
    got = {"A": a._replace(delivered_start=0, delivered_len=1), "B": b}
    assert holds(Delivered("A", "all"), View("CLOSE-WAIT", "FIN-WAIT-1", {}, (), (), got, {"AB": (), "BA": ()}))
    out_of_order = {"A": a._replace(delivered_start=-1, delivered_len=2), "B": b._replace(sent_total=2)}
    assert not holds(Delivered("A", "prefix"), View("ESTABLISHED", "ESTABLISHED", {}, (), (), out_of_order,
                                                    {"AB": (), "BA": ()}))


SEQ = st.integers(0, 2**32 - 1)
NEAR = st.sampled_from([0, 1, 2, 3, 2**31 - 1, 2**31, 2**32 - 1])


@st.composite
def number_pairs(draw: st.DrawFn) -> tuple[Numbers, Numbers]:
    base = draw(SEQ)
    near = [(base + draw(NEAR)) % 2**32 for _ in range(4)]
    sent_first = draw(st.integers(0, 2))
    total = sent_first + draw(st.integers(0, 2))
    x = _numbers(near[0], near[1], near[0], near[2], draw(st.integers(0, 1)),
                 delivered=(draw(st.integers(-1, 3)), draw(st.integers(0, 3))))
    y = _numbers(draw(st.sampled_from([near[1], near[3]])), near[0], near[3], near[1], 1, sent=(sent_first, total))
    return x, y


PREDICATES = [BeyondPeer(w, v) for w in "AB" for v in ("RCV.NXT", "SEG.ACK")] + \
    [Delivered(w, e) for w in "AB" for e in ("prefix", "all")]


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(st.tuples(number_pairs(), st.lists(st.tuples(st.sampled_from([0x10, 0x04, 0x14, 0x01]), SEQ),
                                                         max_size=2)), min_size=1, max_size=8))
def test_the_two_evaluators_agree_on_the_numeric_nodes(batch: list) -> None:
    """Python over one view, numpy over a batch: the same answers (local id i = state i's A, ...)."""
    nums = [n for (x, y), _ in batch for n in (x, y)]
    segs = [(0, 0)] + [s for _, chan in batch for s in chan]
    sid = 1
    slots: list[list[int]] = []
    for _, chan in batch:
        slots.append(list(range(sid, sid + len(chan))) + [0] * (2 - len(chan)))
        sid += len(chan)
    views = [View("ESTABLISHED", "ESTABLISHED", {}, tuple(b for b, _ in chan), (), {"A": x, "B": y},
                  {"AB": tuple(a for _, a in chan), "BA": ()}) for (x, y), chan in batch]
    fields = Fields(len(batch), {"A": np.arange(0, 2 * len(batch), 2), "B": np.arange(1, 2 * len(batch), 2)},
                    ["ESTABLISHED"] * len(nums), {}, {},
                    {"AB": [np.array([s[j] for s in slots]) for j in range(2)],
                     "BA": [np.zeros(len(batch), dtype=np.int64)] * 2},
                    np.array([b for b, _ in segs]),
                    numbers={f: np.array([getattr(n, f) for n in nums], dtype=np.int64) for f in Numbers._fields},
                    seg_ack=np.array([a for _, a in segs], dtype=np.int64))
    for p in PREDICATES:
        assert mask(p, fields).tolist() == [holds(p, v) for v in views], p
