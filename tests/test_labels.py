"""Transition labels (``label:``): every state-changing row of every shipped spec and profile has one,
in RFC 9293 Figure 5's words where the figure has the edge; labels are presentation, never behaviour."""

from __future__ import annotations

from tcpfsm import available_profiles, load_spec
from tcpfsm.base._resources import specs_dir
from tcpfsm.render._state import edge_label

# RFC 9293 §3.3.2, Figure 5 ("TCP Connection State Diagram"): the figure's edge labels, event part
# (before the slash), for the edges the figure draws. Hand-copied from the figure.
FIGURE_5 = {
    ("CLOSED", "LISTEN"): "passive OPEN",
    ("CLOSED", "SYN-SENT"): "active OPEN",
    ("LISTEN", "SYN-RECEIVED"): "rcv SYN",
    ("SYN-SENT", "SYN-RECEIVED"): "rcv SYN",
    ("SYN-RECEIVED", "ESTABLISHED"): "rcv ACK of SYN",
    ("SYN-SENT", "ESTABLISHED"): "rcv SYN,ACK",
    ("ESTABLISHED", "FIN-WAIT-1"): "CLOSE",
    ("ESTABLISHED", "CLOSE-WAIT"): "rcv FIN",
    ("FIN-WAIT-1", "FIN-WAIT-2"): "rcv ACK of FIN",
    ("FIN-WAIT-1", "CLOSING"): "rcv FIN",
    ("FIN-WAIT-2", "TIME-WAIT"): "rcv FIN",
    ("CLOSING", "TIME-WAIT"): "rcv ACK of FIN",
    ("CLOSE-WAIT", "LAST-ACK"): "CLOSE",
    ("LAST-ACK", "CLOSED"): "rcv ACK of FIN",
    ("TIME-WAIT", "CLOSED"): "Timeout=2MSL",
    ("LISTEN", "CLOSED"): "CLOSE",
    ("SYN-SENT", "CLOSED"): "CLOSE",
}


def test_every_state_changing_row_has_a_label(profile: str) -> None:
    spec = load_spec(profile=profile)
    missing = [f"{t.id} ({t.file.rsplit('/', 1)[-1]}:{t.line})" for t in spec.transitions
               if not t.label.strip() and any(t.changes_state(s) for s in t.sources)]
    assert missing == [], f"add `label:` to {', '.join(missing)}"


def test_profiles_cover_every_shipped_profile() -> None:
    on_disk = {p.stem for p in (specs_dir() / "profiles").glob("*.yaml")}
    assert on_disk == set(available_profiles())


def test_the_figure_5_edges_carry_figure_5s_words() -> None:
    spec = load_spec()
    for (source, target), words in FIGURE_5.items():
        labels = {t.label for s, _e, t in spec.edges() if s == source and t.target_from(s) == target
                  and t.id in (*spec.diagram.client_path, *spec.diagram.server_path, *spec.diagram.figure)}
        assert words in labels, (source, target, labels)


def test_time_waits_retransmitted_fin_reads_as_figure_5_would_write_it() -> None:
    """RFC 9293 §3.10.7.4, TIME-WAIT: "Acknowledge it, and restart the 2 MSL timeout"."""
    spec = load_spec()
    rows = {edge_label(spec, t, e) for s, e, t in spec.edges() if s == "TIME-WAIT" and t.id in ("S29", "S29b")}
    assert rows == {"rcv FIN / snd ACK, restart 2MSL"}


def test_a_label_changes_no_behaviour() -> None:
    """The same spec with every label removed runs every scenario to the same trace."""
    import tempfile
    from pathlib import Path

    from tcpfsm.runtime import run_scenario
    from tcpfsm.spec import load_scenarios

    text = (specs_dir() / "tcp.yaml").read_text()
    import re

    head, rows = text.split("\ntransitions:", 1)
    bare = head + "\ntransitions:" + re.sub(r'label: "[^"]*",\s*', "", rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "tcp.yaml"
        path.write_text(bare)
        unlabelled = load_spec(path)
        assert not [t.id for t in unlabelled.transitions if t.label], "the test removes every transition label"
        labelled = load_spec(specs_dir() / "tcp.yaml")
        for name, sc in load_scenarios().items():
            a = [e.to_dict() for e in run_scenario(sc, labelled).pair.trace]
            b = [e.to_dict() for e in run_scenario(sc, unlabelled).pair.trace]
            assert a == b, name


def test_labels_make_no_spec_mutants() -> None:
    """tests/mutation edits targets, guards and actions only: no mutant touches a label's text."""
    import re

    from tests.mutation.generate import generate

    path = specs_dir() / "tcp.yaml"
    text = path.read_text()
    labels = [(m.start(), m.end()) for m in re.finditer(r'label: "[^"]*"', text)]
    assert labels
    for m in generate(path):
        assert not any(m.start < end and start < m.end for start, end in labels), m.id
