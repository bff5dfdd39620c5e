"""The runtime against the spec: every state x event, both engines, scenarios, errors."""

from __future__ import annotations

from typing import Any

import pytest

from tcpfsm import (
    ConnectionClosing,
    ConnectionDoesNotExist,
    ConnectionExists,
    Endpoint,
    Flags,
    Segment,
    State,
    TimerNotArmed,
    UserCallError,
    load_spec,
)
from tcpfsm.runtime import run_scenario
from tcpfsm.spec import load_scenarios
from tcpfsm.testing import EndpointPair

from .conftest import PROFILES, endpoints_by_state

FLAG_SETS = [Flags.SYN, Flags.SYN | Flags.ACK, Flags.ACK, Flags.FIN | Flags.ACK, Flags.RST, Flags.RST | Flags.ACK,
             Flags(0), Flags.FIN, Flags.ACK | Flags.PSH]


def segment_inputs(ep: Endpoint) -> list[Segment]:
    t = ep.tcb
    seqs = {t.rcv_nxt, (t.rcv_nxt - 1) % 2**32, (t.rcv_nxt + 10) % 2**32, (t.rcv_nxt + 2**20) % 2**32, t.irs}
    acks = {t.snd_nxt, t.snd_una, (t.snd_nxt + 5) % 2**32, t.iss}
    out = []
    for flags in FLAG_SETS:
        for seq in sorted(seqs):
            for ack in sorted(acks):
                out.append(Segment(seq=seq, ack=ack, flags=flags))
                if flags & Flags.ACK and not flags & (Flags.SYN | Flags.RST):
                    out.append(Segment(seq=seq, ack=ack, flags=flags, payload=b"hello"))
    # a SYN that starts before the window and ends inside it (acceptable, SEQ not in window)
    out.append(Segment(seq=(t.rcv_nxt - 2) % 2**32, ack=t.snd_nxt, flags=Flags.SYN, payload=b"12345"))
    return out


def inputs(ep: Endpoint) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = [("call", m) for m in ("listen", "connect", "close", "abort", "full_close")]
    calls.append(("send", 5))
    icmp = [e.name for e in ep.spec.events if e.name in ("icmp_hard", "icmp_soft")]  # the icmp profile
    calls += [("call", name) for name in icmp]
    calls += [("icmp", (name[5:], (ep.tcb.snd_nxt + 100) % 2**32)) for name in icmp]  # a SEQ never sent
    calls += [("timeout", name) for name in ep.armed_timers]
    calls += [("segment", s) for s in segment_inputs(ep)]
    if ep.tcb.tfo_cookie and ep.tcb.snd_nxt != ep.tcb.snd_una:  # a SYN,ACK of our SYN but not its data (RFC 7413)
        syn_ack = Segment(seq=ep.tcb.irs, ack=(ep.tcb.snd_una + 1) % 2**32, flags=Flags.SYN | Flags.ACK)
        calls.append(("segment", syn_ack))
    return calls


def variants(ep: Endpoint) -> list[Endpoint]:
    """The endpoint and a copy after SEND; each also with a user timer armed and with its
    retransmissions exhausted."""
    bases = [ep]
    queued = ep.clone()
    try:
        queued.send(5)
    except UserCallError:
        pass
    else:
        bases.append(queued)
    out = []
    for base in bases:
        out.append(base)
        if base.state is not State.CLOSED:  # there is no TCB, so no timer, in CLOSED
            timed = base.clone()
            timed.tcb.timers["user"] = base.now + 300.0
            out.append(timed)
        if base.state in (State.FIN_WAIT_1, State.FIN_WAIT_2) and not base.tcb.orphan:
            gone = base.clone()  # the application closed its descriptor (the linux profile's orphan)
            gone.full_close()
            out.append(gone)
        if base.state in (State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSING,
                          State.LAST_ACK):
            unread = base.clone()
            unread.tcb.unread = 5  # received data the user has not read
            out.append(unread)
        if any(g.predicate == "tfo_cookie" for g in base.spec.guards):  # the tfo profile's settings
            out += tfo_variants(base)
        if "retransmit" in base.armed_timers:
            spent = base.clone()
            spent.tcb.retries = max(spent.tcb.max_retries, spent.tcb.max_syn_retries)
            out.append(spent)
        if base.state is State.SYN_RECEIVED and not base.tcb.passive:
            reopened = base.clone()  # as if a SYN had reopened it from TIME-WAIT (MAY-2)
            reopened.tcb.reopened = True
            out.append(reopened)
    return out


def tfo_variants(base: Endpoint) -> list[Endpoint]:
    """TCP Fast Open (RFC 7413): with a cookie; in CLOSED also a deferred connect's SYN-SENT and a SYN
    that carried data; in SYN-RECEIVED a Fast Open child (its SYN data accepted)."""
    cookie = base.clone()
    cookie.set_fast_open(cookie=True)
    out = [cookie]
    if base.state is State.CLOSED:
        deferred = cookie.clone()
        deferred.set_fast_open(connect=True)
        deferred.connect()
        syn_data = cookie.clone()
        syn_data.connect(b"hello")
        deferring = cookie.clone()
        deferring.set_fast_open(connect=True)
        out += [deferred, syn_data, deferring]
    if base.state is State.SYN_RECEIVED:
        child = base.clone()
        child.tcb.fast_open = True
        out.append(child)
    return out


def run_one(ep: Endpoint, item: tuple[str, Any]) -> tuple[Any, ...]:
    kind, arg = item
    try:
        if kind == "call":
            out = getattr(ep, arg)()
        elif kind == "send":
            out = ep.send(arg)
        elif kind == "timeout":
            out = ep.timeout(arg)
        elif kind == "icmp":
            out = ep.icmp_error(*arg)
        else:
            out = ep.receive(arg)
    except UserCallError as exc:
        return ("error", type(exc).__name__, exc.words, exc.transition, str(ep.state))
    steps = tuple((s.event, str(s.source), str(s.target), s.transition, s.dropped, s.notices) for s in ep.last_steps)
    return ("ok", tuple(out), steps, str(ep.state))


@pytest.mark.parametrize("profile", PROFILES)
def test_every_state_event_matches_the_spec_under_both_engines(profile: str) -> None:
    """Exhaustive over captured states x inputs: the transitions machine and the compiled
    table pick the same rows; each row taken is the spec's row for (state, event), with the
    spec's target; every spec row is exercised."""
    spec = load_spec(profile=profile)
    found = endpoints_by_state(profile)
    assert set(found) == {str(s) for s in State}, sorted(found)
    covered: set[tuple[str, str, str]] = set()
    for _state, eps in found.items():
        for ep in (v for e in eps for v in variants(e)):
            for item in inputs(ep):
                a = ep.clone(engine="transitions")
                b = ep.clone(engine="table")
                ra, rb = run_one(a, item), run_one(b, item)
                assert ra == rb, (str(ep.state), item)
                if ra[0] == "error":
                    covered.add((str(ep.state), "call", ra[3]))
                    t = spec.transition(ra[3])
                    assert t.error == ra[2]
                    assert str(ep.state) in t.sources
                    continue
                for event, source, target, tid, _dropped, notices in ra[2]:
                    t = spec.transition(tid)
                    assert t in spec.candidates(source, event)
                    assert t.target_from(source) == target
                    assert tuple(t.notices) == notices or not t.notices
                    covered.add((source, event, tid))
    missing = [(s, e, t.id) for s, e, t in spec.edges()
               if (s, e, t.id) not in covered and (s, "call", t.id) not in covered]
    assert not missing, f"spec rows never exercised: {missing}"


def test_user_call_errors_carry_state_call_and_rfc_words() -> None:
    ep = Endpoint(iss=1)
    with pytest.raises(ConnectionDoesNotExist) as info:
        ep.close()
    assert info.value.state is State.CLOSED and info.value.call == "close"
    assert "connection does not exist" in str(info.value)
    ep.listen()
    with pytest.raises(ConnectionExists, match="connection already exists"):
        ep.listen()
    pair = EndpointPair()
    pair.handshake()
    pair.call("A", "close")
    with pytest.raises(ConnectionClosing, match="connection closing"):
        pair.a.send(10)
    with pytest.raises(ConnectionClosing):
        pair.a.close()  # never a second FIN (§3.10.4)
    with pytest.raises(TimerNotArmed, match="time_wait"):
        pair.a.timeout("time_wait")


def test_dropped_segments_are_reported_not_raised() -> None:
    ep = Endpoint(iss=1)
    ep.listen()
    assert ep.receive(Segment(seq=5, flags=Flags.RST)) == []
    assert ep.last_steps[-1].dropped == "RST in LISTEN" and ep.last_steps[-1].transition == "S3"


@pytest.mark.parametrize("name", list(load_scenarios()))
def test_scenarios_hold_their_expectations(name: str) -> None:
    run = run_scenario(load_scenarios()[name])
    assert not run.failures


def _sent(pair: EndpointPair) -> list[Segment]:
    return [s for ev in pair.trace for s in ev.sent]


def test_handshake_ack_is_iss_plus_one_both_ways() -> None:
    run = run_scenario(load_scenarios()["handshake"])
    syn, synack, ack = _sent(run.pair)
    assert synack.ack == syn.seq + 1 and ack.ack == synack.seq + 1
    assert run.pair.a.tcb.rcv_nxt == run.pair.b.tcb.iss + 1
    assert run.pair.b.tcb.rcv_nxt == run.pair.a.tcb.iss + 1


def test_simultaneous_close_passes_closing_on_both_sides() -> None:
    run = run_scenario(load_scenarios()["simultaneous-close"])
    for who in ("A", "B"):
        path = [str(s.target) for ev in run.pair.trace for s in ev.steps if s.name == who]
        compact = [p for i, p in enumerate(path) if i == 0 or path[i - 1] != p]
        assert compact[-4:] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]


def test_fin_ack_in_fin_wait_1_goes_straight_to_time_wait() -> None:
    run = run_scenario(load_scenarios()["fin-ack-in-fin-wait-1"])
    steps = [s for ev in run.pair.trace for s in ev.steps if s.name == "A" and s.transition == "S32"]
    assert steps and str(steps[0].source) == "FIN-WAIT-1" and str(steps[0].target) == "TIME-WAIT"


def test_segment_to_closed_gets_the_rfc_reset() -> None:
    ep = Endpoint()
    [rst] = ep.receive(Segment(seq=7, ack=99, flags=Flags.ACK))
    assert rst.flags == Flags.RST and rst.seq == 99
    [rst] = ep.receive(Segment(seq=7, flags=Flags.SYN))
    assert rst.flags == Flags.RST | Flags.ACK and rst.seq == 0 and rst.ack == 8
    assert ep.receive(Segment(seq=7, flags=Flags.RST)) == []


def test_profiles_differ_where_they_should() -> None:
    def est(profile: str) -> EndpointPair:
        pair = EndpointPair.build(profile=profile)
        pair.handshake()
        return pair

    # SYN in ESTABLISHED: challenge ACK (RFC 9293, RFC 5961) vs reset (RFC 793).
    for profile, state in (("rfc9293", State.ESTABLISHED), ("rfc5961", State.ESTABLISHED), ("rfc793", State.CLOSED)):
        pair = est(profile)
        pair.inject("B", Segment(seq=pair.b.tcb.rcv_nxt + 5, flags=Flags.SYN))
        assert pair.b.state is state, profile
    # In-window RST that is not exact: reset (RFC 9293) vs challenge ACK (RFC 5961).
    for profile, state in (("rfc9293", State.CLOSED), ("rfc5961", State.ESTABLISHED)):
        pair = est(profile)
        out = pair.inject("B", Segment(seq=pair.b.tcb.rcv_nxt + 5, flags=Flags.RST))
        assert pair.b.state is state, profile
        assert bool(out) == (profile == "rfc5961")
    # RST in TIME-WAIT: CLOSED (RFC 9293) vs ignored (RFC 1337).
    for profile, state in (("rfc9293", State.CLOSED), ("rfc1337", State.TIME_WAIT)):
        pair = est(profile)
        pair.call("A", "close")
        pair.run()
        pair.call("B", "close")
        pair.run()
        assert pair.a.state is State.TIME_WAIT
        pair.inject("A", Segment(seq=pair.a.tcb.rcv_nxt, flags=Flags.RST))
        assert pair.a.state is state, profile


def test_data_moves_the_sequence_space_and_reaches_the_reader() -> None:
    pair = EndpointPair()
    pair.handshake()
    pair.call("A", "send", b"GET / HTTP/1.1\r\n\r\n")
    pair.run()
    assert pair.b.read() == b"GET / HTTP/1.1\r\n\r\n"
    assert pair.a.tcb.snd_una == pair.a.tcb.snd_nxt == 101 + 18
    pair.call("B", "send", 1000)
    pair.run()
    assert pair.a.tcb.rcv_nxt == 301 + 1000


def test_retransmission_then_give_up() -> None:
    ep = Endpoint(iss=10, max_syn_retries=2, rto=1.0)  # a SYN's R2 (MUST-23) as a count
    [syn] = ep.connect()
    assert ep.tick(1.0) == [syn]          # first retransmission after 1 s
    assert ep.tick(3.0) == [syn]          # backoff: 2 s more
    assert ep.tick(7.0) == [] and ep.state is State.CLOSED
    assert [n.text for n in ep.take_notices()] == ["connection aborted: retransmissions exhausted"]


def test_time_wait_lasts_two_msl_on_the_explicit_clock() -> None:
    pair = EndpointPair.build(msl=30.0)
    pair.handshake()
    pair.call("A", "close")
    pair.run()
    pair.call("B", "close")
    pair.run()
    assert pair.a.state is State.TIME_WAIT and pair.a.next_deadline() == 60.0
    assert pair.a.tick(59.9) == [] and pair.a.state is State.TIME_WAIT
    pair.a.tick(60.0)
    assert pair.a.state is State.CLOSED


def test_observer_sees_every_transition_with_its_rfc_section() -> None:
    seen = []
    ep = Endpoint(iss=1)
    ep.observe(seen.append)
    ep.connect()
    ep.abort()
    assert [(s.transition, s.rfc, str(s.target)) for s in seen] == [("U2", "3.10.1", "SYN-SENT"),
                                                                    ("U13", "3.10.5", "CLOSED")]


def test_state_names() -> None:
    assert str(State.SYN_RECEIVED) == "SYN-RECEIVED" and State("FIN-WAIT-1") is State.FIN_WAIT_1
    assert len(list(State)) == 11
