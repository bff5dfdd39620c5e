"""Incarnations in the checker (`tcpfsm check --reopen N`, issue 10): why TIME-WAIT exists.

The expected verdicts come from the RFCs and the seed's two reasons, not from tcpfsm's output:
- RFC 9293 §3.6.1 / MUST-13 keeps the active closer in TIME-WAIT for 2 MSL, "to be sure that"
  the remote TCP "received the acknowledgment of its connection termination request"
  (§3.10.7.4, TIME-WAIT: the only thing that can arrive is a retransmitted FIN; "acknowledge it,
  and restart the 2 MSL timeout"). So with TIME-WAIT a reopen never meets the peer in LAST-ACK
  (the seed's second reason); the skip_time_wait mutant, which goes to CLOSED at once, lets a
  lost final ACK leave the peer in LAST-ACK while the reopened SYN arrives.
- RFC 9293 §3.10.7.4 (RST in TIME-WAIT: "enter the CLOSED state, delete the TCB") is what
  RFC 1337 §2 calls TIME-WAIT assassination; RFC 1337 §3's fix ignores the RST (our rfc1337
  profile). So `no_time_wait_assassination` is violated by plain RFC 9293 and holds for rfc1337.
- The seed's first reason (old duplicates taken as data of the next connection) needs segments
  that outlive the old connection: RFC 9293 §3.4.2's 2 MSL outlasts them, a TIME-WAIT of 1 MSL
  (the short_time_wait mutant) does not, and only a network that delays segments past newer
  ones (reordering) can deliver an old one after the new SYN: on FIFO channels an old segment
  always arrives before the new connection's handshake and is refused there (§3.10.7.3).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tcpfsm.base import Segment
from tcpfsm.checker import check
from tcpfsm.checker._driver import Search
from tcpfsm.checker._moves import Channel
from tcpfsm.checker._search import Config, PlainExpander, System
from tcpfsm.cli import main
from tcpfsm.runtime import Endpoint
from tcpfsm.spec import load_spec
from tcpfsm.spec._properties import load_properties
from tcpfsm.testing import EndpointPair

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "specs" / "mutants"
LESSON = ["no_cross_incarnation_data", "reopen_not_refused", "no_time_wait_assassination"]


def verdicts(**kw: object) -> dict[str, tuple[str, int | None]]:
    report = check(reopen=1, properties=LESSON, **kw)  # type: ignore[arg-type]
    assert report.stats.complete
    return {v.name: (v.verdict, len(v.counterexample) if v.counterexample else None) for v in report.verdicts}


# ---------------------------------------------------------------- the verdict table
def test_reliable_channel_rfc9293_only_the_assassination() -> None:
    # Reliable FIFO: nothing is lost, so the final ACK always reaches LAST-ACK; but the peer may
    # ABORT in LAST-ACK (§3.10.4: "delete the TCB", no RST), the final ACK then meets a closed port,
    # is answered with an RST (§3.10.7.1), and that RST ends TIME-WAIT (§3.10.7.4): 11 steps
    # (handshake 2, A's close 5 to TIME-WAIT, ABORT_B, RECV_B of the ACK, RECV_A of the RST).
    assert verdicts(profile="rfc9293") == {"no_cross_incarnation_data": ("holds", None),
                                           "reopen_not_refused": ("holds", None),
                                           "no_time_wait_assassination": ("violated", 11)}


@pytest.mark.parametrize("profile", ["rfc793", "rfc5961", "linux"])
def test_the_other_profiles_keep_time_wait_but_are_assassinated(profile: str) -> None:
    # Each keeps RFC 793's TIME-WAIT of 2 MSL and its "If the RST bit is set then enter the CLOSED
    # state" in TIME-WAIT (RFC 793 p.70, RFC 9293 §3.10.7.4; Linux's default tcp_rfc1337 = 0); the
    # linux profile's FIN-WAIT-2 timer ends a connection before the peer's FIN, which is not an
    # orderly close, so the old ISS is not reused after it.
    assert verdicts(profile=profile) == {"no_cross_incarnation_data": ("holds", None),
                                         "reopen_not_refused": ("holds", None),
                                         "no_time_wait_assassination": ("violated", 11)}


def test_rfc1337_ignores_the_rst_in_time_wait() -> None:
    assert verdicts(profile="rfc1337")["no_time_wait_assassination"] == ("holds", None)


@pytest.mark.slow
def test_lossy_rfc9293_time_wait_answers_the_retransmitted_fin() -> None:
    # With loss the final ACK may be lost; TIME-WAIT (2 MSL, longer than the peer's retransmission)
    # answers the retransmitted FIN, so the reopened SYN never meets LAST-ACK.
    got = check(reopen=1, reopen_iss=("clock",), lossy=True, properties=["reopen_not_refused"], profile="rfc9293")
    assert got.stats.complete and got.verdicts[0].verdict == "holds"


@pytest.mark.slow
def test_lossy_skip_time_wait_reopen_meets_last_ack() -> None:
    # The seed's second reason, shortest: handshake (2), A's CLOSE and B's ACK of the FIN (3),
    # B's CLOSE (1), A takes the FIN and goes straight to CLOSED (1), A reopens (1), the final ACK
    # is lost (1), B, still in LAST-ACK, receives the new SYN (1): 11 steps.
    report = check(reopen=1, reopen_iss=("clock",), lossy=True, properties=["reopen_not_refused"],
                   spec_file=str(MUTANTS / "skip_time_wait.yaml"))
    assert (report.verdicts[0].verdict, len(report.verdicts[0].counterexample or [])) == ("violated", 11)
    events = [st.event for st in report.verdicts[0].counterexample or []]
    assert "LOSE_AB" in events, events  # the lost final ACK
    assert events.index("REOPEN_A") < len(events) - 1


@pytest.mark.slow
def test_short_time_wait_lets_an_old_fin_close_the_next_connection() -> None:
    # The seed's first reason. Delay is reordering: a segment overtaken by newer ones. With the old
    # numbers reused (a wrapped ISN clock, --reopen-iss wrap), a TIME-WAIT of 1 MSL expires while
    # A's retransmitted FIN is still in flight; both reopen, and the new B takes that FIN
    # (seq = its new RCV.NXT, ack = its SND.NXT: acceptable, §3.10.7.4) into CLOSE-WAIT. Shortest:
    # handshake 2, A's close and its FIN retransmitted 3, the FINs and ACKs to TIME-WAIT 4, the 1-MSL
    # expiry 1, B takes the last ACK 1, two reopens 2, the new SYN 1, the old FIN 1: 15 steps.
    mutant = check(reopen=1, reopen_iss=("wrap",), reordering=True, properties=["no_cross_incarnation_data"],
                   spec_file=str(MUTANTS / "short_time_wait.yaml"))
    v = mutant.verdicts[0]
    assert (v.verdict, len(v.counterexample or [])) == ("violated", 15)
    last = (v.counterexample or [])[-1]
    # B's second TCB, synchronized with A's second, took the FIN A's first sent
    assert last.b == "CLOSE-WAIT" and (last.incarnations["B"], last.incarnations["peers"]["B"]) == ("B2", "A2")
    assert "TW_A" in [st.event for st in v.counterexample or []]
    # RFC 9293's 2 MSL: the timer waits for the network to drain, so nothing old is left
    fixed = check(reopen=1, reopen_iss=("wrap",), reordering=True, properties=["no_cross_incarnation_data"],
                  profile="rfc9293")
    assert fixed.verdicts[0].verdict == "holds" and fixed.stats.complete


def test_fifo_channels_keep_old_segments_ahead_of_the_new_handshake() -> None:
    # On FIFO channels an old segment is always delivered before the new SYN (or SYN,ACK) behind it,
    # and an unsynchronized endpoint refuses it (§3.10.7.2-3): even the 1-MSL mutant keeps the data
    # of the incarnations apart here; the hazard needs delay (reordering), as the test above shows.
    got = check(reopen=1, reopen_iss=("wrap",), properties=["no_cross_incarnation_data"],
                spec_file=str(MUTANTS / "short_time_wait.yaml"))
    assert got.verdicts[0].verdict == "holds"


def test_reopen_is_refused_for_the_reference_model_and_b_active() -> None:
    assert main(["check", "--model", "reference", "--reopen", "1", "-q"]) == 2
    assert main(["check", "--b-opens", "active", "--reopen", "1", "-q"]) == 2


def test_reopen_zero_changes_nothing() -> None:
    # the same model as before incarnations existed: the default check's numbers
    a, b = check(), check(reopen=0)
    assert (a.stats.states, a.stats.transitions) == (b.stats.states, b.stats.transitions)


# ---------------------------------------------------------------- the counterexamples replay
def replay(system: System, path: list[tuple[str, int]]) -> None:
    """Replay a checker path through EndpointPair (the runtime alone): a REOPEN is a fresh Endpoint
    on the same names, opened with the ISS the model chose; states and segments match each step."""
    spec = system.cfg.spec
    kwargs = dict(max_retries=system.R, max_syn_retries=system.R, challenge_ack_limit=None,
                  iss_secret=b"tcpfsm-checker", engine="transitions")
    pair = EndpointPair.build(spec, a_iss=100, b_iss=300, **kwargs)
    pair.call("A", "connect")
    pair.call("B", "listen")

    def fmt(s: Segment) -> tuple[int, int, int, int]:
        return (int(s.flags), s.seq, s.ack, s.length)

    for label, state in path:
        move, position = system.moves.parse(label)
        d = system.decode(state)
        if move.kind == "recv":
            pair.deliver("B" if move.who == "A" else "A", position)
        elif move.kind == "lose":
            pair.lose(move.channel[0], position)
        elif move.kind == "dup":
            pair.duplicate(move.channel[0])
        elif move.kind == "user":
            pair.call(move.who, move.arg)
        elif move.kind == "reopen":
            iss = system.lm.env(d.la if move.who == "A" else d.lb).iss
            fresh = Endpoint(iss, spec=spec, name=move.who, **kwargs)  # type: ignore[arg-type]
            if move.who == "A":
                pair.a = fresh
            else:
                pair.b = fresh
            pair.call(move.who, "connect" if move.who == "A" else "listen")
        else:
            pair.timeout(move.who, move.arg)
        segs = system.lm.segments
        assert (str(pair.a.state), str(pair.b.state)) == (system.lm.state_name(d.la), system.lm.state_name(d.lb)), label
        assert [fmt(s) for s in pair.channels["A"]] == [fmt(segs[x]) for x in d.ab], label
        assert [fmt(s) for s in pair.channels["B"]] == [fmt(segs[x]) for x in d.ba], label


def counterexample_path(spec_file: str | None, profile: str | None, prop: str, lossy: bool,
                        reordering: bool = False, iss: tuple[str, ...] = ("clock", "wrap"),
                        ) -> tuple[System, list[tuple[str, int]]]:
    spec = load_spec(spec_file) if spec_file else load_spec(profile=profile)
    p = load_properties().properties[prop]
    system = System(Config(spec, Channel(capacity=2, lossy=lossy, reordering=reordering), retransmissions=1,
                           reopen=1, reopen_iss=iss))
    search = Search(PlainExpander(system), [p])
    search.run()
    finding = search.findings[prop]
    path = search.path_to(finding.via[0], finding.depth - 1)
    path.append((finding.via[1], finding.state))
    return system, path


def test_assassination_counterexample_replays_through_the_runtime() -> None:
    system, path = counterexample_path(None, "rfc9293", "no_time_wait_assassination", lossy=False)
    assert len(path) == 11
    replay(system, path)


@pytest.mark.slow
def test_lost_final_ack_counterexample_replays_through_the_runtime() -> None:
    system, path = counterexample_path(str(MUTANTS / "skip_time_wait.yaml"), None, "reopen_not_refused", lossy=True,
                                       iss=("clock",))
    assert len(path) == 11
    replay(system, path)


@pytest.mark.slow
def test_old_fin_counterexample_replays_through_the_runtime() -> None:
    system, path = counterexample_path(str(MUTANTS / "short_time_wait.yaml"), None, "no_cross_incarnation_data",
                                       lossy=False, reordering=True, iss=("wrap",))
    assert len(path) == 15
    replay(system, path)


# ---------------------------------------------------------------- tcpfsm explain time-wait
@pytest.mark.slow
def test_explain_time_wait_accounts_charts_captures_and_json(tmp_path: Path) -> None:
    """The lessons once (about a minute), then each of the command's outputs from them."""
    from tcpfsm.base._resources import schema_path
    from tcpfsm.cli._explain import _text, _write_charts
    from tcpfsm.explain import time_wait_lessons

    lessons = time_wait_lessons()
    assert [ls.as_expected for ls in lessons] == [True, True, True]  # every reason as its account says
    charts = _write_charts(lessons, tmp_path, err=True)
    out = _text(lessons, charts)
    for title in ("Reason 1", "Reason 2", "TIME-WAIT assassination"):
        assert title in out
    assert "REOPEN_WRAP_A" in out and "LOSE_AB" in out and "S17" in out  # the three counterexamples' key steps
    for name in ("old-duplicate", "lost-last-ack", "assassination"):
        svg = (tmp_path / f"time-wait-{name}.svg").read_text()
        assert "#A1" in svg
        assert (tmp_path / f"time-wait-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        cap = tmp_path / f"time-wait-{name}.pcapng"  # the captures, as the receivers saw them
        assert cap.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"  # a pcapng section header block
        if shutil.which("tshark"):
            got = subprocess.run(["tshark", "-r", str(cap)], capture_output=True, text=True, check=True)
            complaints = [ln for ln in got.stderr.splitlines() if ln.strip() and "Running as user" not in ln]
            assert not complaints and "Malformed" not in got.stdout, complaints
    assert "#A2" in (tmp_path / "time-wait-old-duplicate.svg").read_text()  # the new connection's segments
    data = {"topic": "time-wait", "lessons": [ls.to_dict() | {"chart": str(charts[ls.reason.name])} for ls in lessons]}
    schemas = {n: json.loads(schema_path(n).read_text()) for n in ("explain.schema.json", "check.schema.json")}
    # and on the explorer page: each counterexample replayed on Endpoints, step by step
    from tcpfsm.cli._learn import lesson_walkthroughs
    from tcpfsm.render._explorer import explorer_data

    walks = lesson_walkthroughs(lessons)
    assert [w.name for w in walks] == ["time-wait-old-duplicate", "time-wait-lost-last-ack", "time-wait-assassination"]
    page = explorer_data(walks)["scenarios"]
    assert page["time-wait-assassination"]["steps"][-1]["states"]["A"] == "CLOSED"  # the RST ended TIME-WAIT
    jsonschema.validate(data, schemas["explain.schema.json"])
    for lesson in data["lessons"]:
        for side in ("broken", "fixed"):
            jsonschema.validate(lesson[side]["report"], schemas["check.schema.json"])


def test_explain_knows_its_topics() -> None:
    assert main(["explain", "time-travel"]) == 2


@pytest.mark.slow
def test_issue_acceptance_lossy_dup_rfc9293_keeps_incarnations_apart() -> None:
    # `tcpfsm check --reopen 1 --channel lossy --channel dup --property no_cross_incarnation_data`:
    # RFC 9293's 2 MSL outlasts everything in flight, so no old segment reaches the next connection
    report = check(reopen=1, lossy=True, duplicating=True, properties=["no_cross_incarnation_data"])
    assert report.stats.complete and report.verdicts[0].verdict == "holds"
