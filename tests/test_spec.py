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

from .conftest import ROOT, problems_of

BASE = (ROOT / "specs" / "tcp.yaml").read_text()
RFC_STATES = ["CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
              "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"]


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


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
        "actions: [mark_passive]", "actions: [mark_pasive]")
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


# ------------------------------------------------------------------ the strict loader
def line_no(problem: str) -> int:
    m = re.match(r".*?:(\d+): ", problem)
    assert m, problem
    return int(m.group(1))


def line_with(text: str, needle: str) -> int:
    """The 1-based line of the (unique) line of ``text`` that contains ``needle``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


U2_SEND = "actions: [choose_iss, {send: {ctl: SYN, seq: SND.NXT}}, queue_data]}"


def test_an_unknown_ctl_flag_is_a_problem_and_validate_exits_2(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # `ctl: SYNN` used to validate and send a segment without flags
    text = BASE.replace(U2_SEND, U2_SEND.replace("ctl: SYN,", "ctl: SYNN,"))
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{line_with(text, 'id: U2,')}: ")
    assert "unknown TCP flag 'SYNN'" in problems[0] and "SYN, FIN, RST, PSH, ACK, URG" in problems[0]
    from tcpfsm.cli import main

    assert main(["spec", "validate", str(path)]) == 2
    assert "unknown TCP flag 'SYNN'" in capsys.readouterr().err


def test_unknown_send_sources_are_problems_with_the_allowed_names(tmp_path: Path) -> None:
    s5 = "{send: {ctl: \"SYN,ACK\", seq: SND.NXT, ack: RCV.NXT}}]}"
    bad = s5.replace("SND.NXT", "SND.NXX").replace("RCV.NXT", "RCV.NXX")
    head = "actions: [record_syn, hold, choose_iss, "
    text = BASE.replace(head + s5, head + bad)
    path = write(tmp_path, text)
    problems = problems_of(path)
    where = f"{path}:{line_with(text, 'id: S5,')}: transition S5: "
    assert any(p.startswith(where) and "unknown SEQ source 'SND.NXX'" in p and "SND.NXT, ISS, SEG.ACK, ZERO" in p
               for p in problems), problems
    assert any(p.startswith(where) and "unknown ACK source 'RCV.NXX'" in p and "SEG.SEQ+SEG.LEN" in p
               for p in problems), problems


def test_unknown_arrival_flags_are_problems(tmp_path: Path) -> None:
    step = "      - {event: rcv_syn_ack, flags: [SYN, ACK]}"
    text = BASE.replace(step, "      - {event: rcv_syn_ack, flags: [SYN, AKC], without: [RTS]}")
    path = write(tmp_path, text)
    problems = problems_of(path)
    at = f"{path}:{line_with(text, 'flags: [SYN, AKC]')}: "
    assert any(p.startswith(at) and "unknown TCP flag 'AKC'" in p for p in problems), problems
    assert any(p.startswith(at) and "unknown TCP flag 'RTS'" in p for p in problems), problems


def test_unknown_action_kinds_and_timers_are_problems(tmp_path: Path) -> None:
    text = BASE.replace('actions: [{notice: "closing"}, delete_tcb]}', 'actions: [{notise: "closing"}, delete_tcb]}', 1)
    text = text.replace("{stop: all}, {start: time_wait}]}", "{stop: all}, {start: all}]}", 1)
    problems = problems_of(write(tmp_path, text))
    assert any("unknown action kind 'notise'" in p and "send, notice, error" in p for p in problems), problems
    assert any("start: unknown timer 'all'" in p for p in problems), problems


@pytest.mark.parametrize(("text", "expected"), [
    ("<SEQ=SND.NXT><CTL=RST>", "<SEQ=SND.NXT><CTL=RST>"),
    ("<SEQ=SEG.ACK><CTL=RST>", "<SEQ=SEG.ACK><CTL=RST>"),
    # RFC 9293 §3.10.7.1 writes the zero SEQ as 0
    ("<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>", "<SEQ=ZERO><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"),
    ("<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>", "<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"),
    ("<SEQ=SND.NXT> <ACK=RCV.NXT> <CTL=ACK,PSH> +data", "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=PSH,ACK> +data"),
])
def test_the_rfc_send_notation_reads_into_the_same_send(text: str, expected: str) -> None:
    from tcpfsm.spec._send import parse_send

    report: list[tuple[str, str]] = []
    send = parse_send(text, report)
    assert report == [] and send is not None
    assert str(send) == expected
    again = parse_send({"ctl": str(send.ctl), "seq": send.seq, **({"ack": send.ack} if send.ack else {}),
                        "data": send.data}, report)
    assert again == send and report == []


@pytest.mark.parametrize(("text", "message"), [
    ("<SEQ=SND.NXT><CTL=RTS>", "unknown TCP flag 'RTS'"),
    ("<SEQ=SND.NXX><CTL=RST>", "unknown SEQ source 'SND.NXX'"),
    ("<SEQ=SND.NXT><ACK=RCV.NXX><CTL=ACK>", "unknown ACK source 'RCV.NXX'"),
    ("<CTL=RST><SEQ=SEG.ACK>", "out of order"),
    ("<SEQ=SND.NXT><ACK=RCV.NXT>", "no <CTL=...>"),
    ("<ACK=RCV.NXT><CTL=ACK>", "no <SEQ=...>"),
    ("<SEQ=SND.NXT><WND=0><CTL=ACK>", "unknown field <WND=...>"),
    ("<SEQ=SND.NXT><SEQ=ISS><CTL=ACK>", "given twice"),
    ("<SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST>", "must set the ACK bit"),
    ("SEQ=SND.NXT, CTL=ACK", "expected <SEQ=...>"),
    ("__import__('os').system('true')", "expected <SEQ=...>"),
])
def test_bad_rfc_send_notation_is_a_file_line_problem(tmp_path: Path, text: str, message: str) -> None:
    old = '{send: {ctl: RST, seq: SEG.ACK}}, {drop: "unacceptable ACK in SYN-RECEIVED"}'
    spec_text = BASE.replace(old, old.replace("{ctl: RST, seq: SEG.ACK}", f'"{text}"'))
    assert spec_text != BASE
    path = write(tmp_path, spec_text)
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{line_with(spec_text, 'id: S24,')}: transition S24: "), problems
    assert message in problems[0], problems


RFC_3_5_2_SYNCHRONIZED = ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"]


def test_named_state_sets_expand_to_the_rfcs_lists() -> None:
    spec = load_spec(ROOT / "specs" / "tcp.yaml")
    # RFC 9293 §3.5.2: "a synchronized state (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING,
    # LAST-ACK, TIME-WAIT)" and "any non-synchronized state (LISTEN, SYN-SENT, SYN-RECEIVED)"
    assert list(spec.state_set("synchronized")) == RFC_3_5_2_SYNCHRONIZED
    assert list(spec.state_set("non_synchronized")) == ["LISTEN", "SYN-SENT", "SYN-RECEIVED"]
    # §3.10.7.4 "Otherwise": SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK,
    # TIME-WAIT (the RST check, S18, and the ACK-bit-off drop, X3)
    otherwise = ["SYN-RECEIVED", *RFC_3_5_2_SYNCHRONIZED]
    assert list(spec.transition("S18").sources) == otherwise
    assert list(spec.transition("X3").sources) == otherwise
    # §3.10.7.4 fifth, the ACK of something not yet sent, in ESTABLISHED .. TIME-WAIT
    assert list(spec.transition("S25").sources) == RFC_3_5_2_SYNCHRONIZED
    # §3.10.1 OPEN: "Otherwise, return error: connection already exists" - every state but CLOSED;
    # §3.10.8 the user timeout, in any state with a TCB
    assert list(spec.transition("U4").sources) == RFC_STATES[1:]
    assert list(spec.transition("T2").sources) == RFC_STATES[1:]
    assert list(spec.transition("U4b").sources) == RFC_STATES[2:]


def test_set_problems_are_reported_with_lines(tmp_path: Path) -> None:
    text = BASE.replace("  non_synchronized: [LISTEN, SYN-SENT, SYN-RECEIVED]",
                        "  non_synchronized: [LISTEN, SYN-SENT, SYN-RECIEVED, loop]\n  loop: [non_synchronized]")
    text = text.replace("source: [SYN-RECEIVED, synchronized], event: rcv_rst",
                        "source: [ESTABLISHED, SYN-RECEIVED, synchronized], event: rcv_rst")
    text = text.replace("source: [SYN-RECEIVED, synchronized], event: rcv_without_ack",
                        "source: [SYN-RECEIVED, synchronised], event: rcv_without_ack")
    path = write(tmp_path, text)
    problems = problems_of(path)
    sets_line = line_with(text, "non_synchronized: [LISTEN")
    assert any(p.startswith(f"{path}:{sets_line}:") and "unknown state or set 'SYN-RECIEVED'" in p
               for p in problems), problems
    assert any("set 'non_synchronized' includes itself (non_synchronized -> loop -> non_synchronized)" in p
               for p in problems), problems
    assert any(p.startswith(f"{path}:{line_with(text, 'id: S18,')}:") and "lists ESTABLISHED twice (via set "
               "'synchronized')" in p for p in problems), problems
    assert any(p.startswith(f"{path}:{line_with(text, 'id: X3,')}:") and "unknown source state or set "
               "'synchronised'" in p and "sets: non_synchronized" in p for p in problems), problems


# --------------------------------------------- coverage problems name the transition and the line
def test_a_guard_gap_names_the_nearest_transition(tmp_path: Path) -> None:
    s9 = BASE.splitlines()[line_with(BASE, "id: S9,") - 1:line_with(BASE, "id: S9,") + 1]
    text = BASE.replace("\n".join(s9) + "\n", "")
    assert "id: S9," not in text
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert problems == [f"{path}:{line_with(text, 'id: S8,')}: no transition of rcv_rst in SYN-SENT holds when "
                        "not ack_acceptable (nearest: S8, which needs ack_acceptable) (hint: add a transition for "
                        "that case (a `drop:` if the RFC discards it))"]


def test_a_missing_arrival_row_points_at_the_states_declaration(tmp_path: Path) -> None:
    x3 = ('  - {id: X3, source: [SYN-RECEIVED, synchronized], event: rcv_without_ack, target: same, '
          'rfc: "3.10.7.4",\n     actions: [{drop: "ACK bit off"}]}\n')
    assert x3 in BASE
    text = BASE.replace(x3, "")
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert len(problems) == 8, problems  # SYN-RECEIVED .. TIME-WAIT
    close_wait = next(p for p in problems if " in CLOSE-WAIT," in p)
    assert "no transition for rcv_without_ack in CLOSE-WAIT, which the arrival steps of group 'synchronized' " \
           "can produce" in close_wait
    assert line_no(close_wait) == line_with(text, "{name: CLOSE-WAIT,")
    steps = [i + 1 for i, line in enumerate(text.splitlines()) if "event: rcv_without_ack, without: [ACK]" in line]
    assert f"its step at spec.yaml:{steps[1]}" in close_wait  # the synchronized group's step
    time_wait = next(p for p in problems if " in TIME-WAIT," in p)
    assert line_no(time_wait) == line_with(text, "{name: TIME-WAIT,")
    assert f"its step at spec.yaml:{steps[0]}" in time_wait


def test_a_missing_user_call_rule_points_at_the_state_and_names_a_transition_to_extend(tmp_path: Path) -> None:
    text = BASE.replace("  - {id: U15, source: [CLOSING, LAST-ACK, TIME-WAIT], event: abort,",
                        "  - {id: U15, source: [CLOSING, LAST-ACK], event: abort,")
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{line_with(text, '{name: TIME-WAIT,')}: no rule for user call abort "
                                  "in TIME-WAIT")
    assert f"add it to the source of U15 (spec.yaml:{line_with(text, 'id: U15,')})" in problems[0]


def test_an_unreachable_state_points_at_its_declaration(tmp_path: Path) -> None:
    text = BASE.replace('event: rcv_fin, guard: ["not fin_acked"], target: CLOSING,',
                        'event: rcv_fin, guard: ["not fin_acked"], target: same,')
    path = write(tmp_path, text)
    problems = [p for p in problems_of(path) if "unreachable" in p]
    assert problems == [f"{path}:{line_with(text, '{name: CLOSING,')}: state CLOSING is unreachable from CLOSED: "
                        "no transition enters it (hint: add a transition into it, or remove it)"]


TRAP = """\
name: mini
title: A machine with a trap
states:
  - {name: CLOSED, initial: true, group: g, rfc: "3.3.2"}
  - {name: OPEN, group: g, rfc: "3.3.2"}
  - {name: STUCK, group: g, rfc: "3.3.2"}
events:
  - {name: go, kind: user}
  - {name: rcv_other, kind: segment}
arrival:
  g: {mode: first, steps: [{event: rcv_other}]}
transitions:
  - {id: A1, source: CLOSED, event: go, target: OPEN, rfc: "3.10.1"}
  - {id: A2, source: OPEN, event: go, target: CLOSED, rfc: "3.10.1"}
  - {id: A3, source: OPEN, event: rcv_other, target: STUCK, rfc: "3.10.7"}
  - {id: A4, source: STUCK, event: go, target: same, rfc: "3.10.1", actions: [{error: "stuck"}]}
  - {id: A5, source: [CLOSED, STUCK], event: rcv_other, target: same, rfc: "3.10.7", actions: [{drop: "x"}]}
"""


def test_a_trap_state_points_at_its_declaration_and_names_its_transition(tmp_path: Path) -> None:
    path = write(tmp_path, TRAP)
    assert problems_of(path) == [
        f"{path}:6: state STUCK is a trap: CLOSED cannot be reached from it (its transitions lead only to STUCK, "
        "e.g. A4 at spec.yaml:16) (hint: add a way out (ABORT, a timeout, an RST))"]


def test_a_spec_file_rewritten_in_place_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    assert load_spec(path).event("close").label == "CLOSE"
    path.write_text(BASE.replace('label: "CLOSE",', 'label: "CLOSE call",'))
    assert load_spec(path).event("close").label == "CLOSE call"
