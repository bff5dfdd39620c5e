"""RFC 9293 §3.10.8 timeouts, §3.8.1-§3.8.3 retransmission and giving up, §3.6.1 the 2 MSL wait
(rows T1-T4; decisions D3, D7, D10, D11).

Clocks are in seconds; every endpoint starts at clock 0 with RTO = 1 s (RFC 6298 (2.1): "the
sender SHOULD set RTO <- 1 second") and MSL = 2 minutes (§3.4.2). Give-up times are measured by
firing the armed timers in clock order (``tick(next_deadline())``), never by counting calls.
"""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint, State
from tests.rfc.helpers import (
    ALL,
    MSL,
    active_established,
    assert_sent,
    feed,
    in_state,
    notices,
    passive_established,
    run_until_state_leaves,
)

NOT_LINUX = tuple(p for p in ALL if p != "linux")
USER_TIMEOUT = 30.0


# ------------------------------------------------------------------------ TIME-WAIT (T1)
@pytest.mark.parametrize("msl", [MSL, 30.0])
@pytest.mark.parametrize("profile", ALL)
def test_3_6_1_must_13_time_wait_lingers_two_msl(profile: str, msl: float) -> None:
    """§3.6.1 MUST-13: "When a connection is closed actively, it MUST linger in the TIME-WAIT state for a
    time 2xMSL"; §3.10.8: "If the time-wait timeout expires on a connection, delete the TCB, enter the
    CLOSED state"."""
    ep = in_state("TIME-WAIT", profile, msl=msl)
    assert ep.tick(2 * msl - 0.001) == []
    assert ep.state is State.TIME_WAIT
    assert ep.tick(2 * msl) == []
    assert ep.state is State.CLOSED


# ------------------------------------------------------------------- retransmission (T3)
@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t3_syn_is_retransmitted_as_it_was_sent(profile: str) -> None:
    """§3.10.8: "if the retransmission timeout expires on a segment in the retransmission queue, send the
    segment at the front of the retransmission queue again, reinitialize the retransmission timer"."""
    ep = Endpoint(iss=100, profile=profile)
    ep.connect()
    assert ep.next_deadline() == 1.0
    assert_sent(ep.tick(1.0), "<SEQ=100><CTL=SYN>")
    assert ep.state is State.SYN_SENT
    assert ep.next_deadline() is not None


@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t3_passive_syn_ack_is_retransmitted(profile: str) -> None:
    """§3.10.8 RETRANSMISSION TIMEOUT: the SYN,ACK of §3.10.7.2 (<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>) is
    sent again."""
    ep = in_state("SYN-RECEIVED", profile)
    assert_sent(ep.tick(ep.next_deadline() or 0.0), "<SEQ=300><ACK=101><CTL=SYN,ACK>")
    assert ep.state is State.SYN_RECEIVED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t3_simultaneous_open_retransmits_the_syn_ack(profile: str) -> None:
    """§3.10.7.3: in a simultaneous open the segment sent on entering SYN-RECEIVED is
    <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; §3.10.8 sends "the segment at the front of the retransmission
    queue again": the SYN,ACK, not the bare SYN it superseded (D10)."""
    ep = in_state("SYN-RECEIVED/active", profile)
    assert_sent(ep.tick(ep.next_deadline() or 0.0), "<SEQ=300><ACK=101><CTL=SYN,ACK>")
    assert ep.state is State.SYN_RECEIVED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t3_text_is_retransmitted_with_the_current_ack(profile: str) -> None:
    """§3.10.8: the text segment at the front of the queue is sent again; "once in the ESTABLISHED state,
    all segments must carry current acknowledgment information" (§3.8): ACK = RCV.NXT now (111)."""
    ep = passive_established(profile)
    assert_sent(ep.send(b"abc"), "<SEQ=301><ACK=101><CTL=ACK,PSH><DATA=3>")
    feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>")
    out = ep.tick(1.0)
    assert_sent(out, "<SEQ=301><ACK=111><CTL=ACK,PSH><DATA=3>")
    assert out[0].payload == b"abc"


@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t3_only_the_front_of_the_queue_is_retransmitted(profile: str) -> None:
    """§3.10.8: "send the segment at the front of the retransmission queue again": of 301..303 and
    304..306 the first; once 301..303 is acknowledged, the front is 304..306."""
    ep = passive_established(profile)
    ep.send(b"abc")
    ep.send(b"def")
    assert_sent(ep.tick(1.0), "<SEQ=301><ACK=101><CTL=ACK,PSH><DATA=3>")
    feed(ep, "<SEQ=101><ACK=304><CTL=ACK>")
    assert_sent(ep.tick(ep.next_deadline() or 0.0), "<SEQ=304><ACK=101><CTL=ACK,PSH><DATA=3>")


@pytest.mark.parametrize("state", ["FIN-WAIT-1", "CLOSING", "LAST-ACK"])
@pytest.mark.parametrize("profile", ALL)
def test_3_6_fin_is_retransmitted_until_acknowledged(profile: str, state: str) -> None:
    """§3.6 case 1: "All segments preceding and including FIN will be retransmitted until acknowledged"
    (our FIN is at 301; RCV.NXT is 101, or 102 after the peer's FIN)."""
    ep = in_state(state, profile)
    rcv_nxt = 101 if state == "FIN-WAIT-1" else 102
    assert_sent(ep.tick(ep.next_deadline() or 0.0), f"<SEQ=301><ACK={rcv_nxt}><CTL=FIN,ACK>")
    assert ep.state_name == state


@pytest.mark.parametrize("profile", ALL)
def test_3_8_2_must_19_retransmission_timer_backs_off_exponentially(profile: str) -> None:
    """§3.8.2 MUST-19: "exponential backoff of RTO"; RFC 6298 (5.5): "The host MUST set RTO <- RTO * 2
    ("back off the timer")" (a cap, RFC 6298 (2.5), is at least 60 s): retransmissions of a SYN sent at 0
    with RTO 1 s fall at 1, 3, 7, 15, 31."""
    ep = Endpoint(iss=100, profile=profile)
    ep.connect()
    times = []
    for _ in range(5):
        t = ep.next_deadline()
        assert t is not None
        assert_sent(ep.tick(t), "<SEQ=100><CTL=SYN>")
        times.append(t)
    assert times == [1.0, 3.0, 7.0, 15.0, 31.0]


# ----------------------------------------------------------------- giving up (T4, §3.8.3)
@pytest.mark.parametrize("profile", NOT_LINUX)
def test_3_8_3_must_23_syn_is_retransmitted_for_at_least_3_minutes(profile: str) -> None:
    """§3.8.3 MUST-23: "R2 for a SYN segment MUST be set large enough to provide retransmission of the
    segment for at least 3 minutes"; MUST-20 (c): at R2 "close the connection", with "notification of
    the application layer" (D7). (Linux's default tcp_syn_retries gives up sooner: not parametrized.)"""
    ep = Endpoint(iss=100, profile=profile)
    ep.connect()
    gave_up = run_until_state_leaves(ep, State.SYN_SENT, limit=1e6)
    assert gave_up is not None, "the SYN is never given up (MUST-20 (c) asks to close at R2)"
    assert gave_up >= 180.0
    assert ep.state is State.CLOSED
    assert notices(ep)


@pytest.mark.parametrize("profile", ALL)
def test_3_8_3_shld_11_text_is_retransmitted_for_at_least_100_seconds(profile: str) -> None:
    """§3.8.3: "The value of R2 SHOULD correspond to at least 100 seconds (SHLD-11)"; MUST-20 (c): "When
    the number of transmissions of the same segment reaches a threshold R2 greater than R1, close the
    connection" and SHLD-9 informs the application (D7)."""
    ep = passive_established(profile)
    ep.send(b"abc")
    gave_up = run_until_state_leaves(ep, State.ESTABLISHED, limit=1e6)
    assert gave_up is not None, "the text is never given up (MUST-20 (c) asks to close at R2)"
    assert gave_up >= 100.0
    assert ep.state is State.CLOSED
    assert notices(ep)


@pytest.mark.parametrize("profile", ALL)
def test_3_8_3_shld_10_at_least_three_retransmissions_before_giving_up(profile: str) -> None:
    """§3.8.3: "The value of R1 SHOULD correspond to at least 3 retransmissions, at the current RTO
    (SHLD-10)" and "R2 greater than R1": the text goes out again at least three times."""
    ep = passive_established(profile)
    ep.send(b"abc")
    again = 0
    while ep.state is State.ESTABLISHED and ep.next_deadline() is not None and again < 1000:
        again += sum(1 for s in ep.tick(ep.next_deadline() or 0.0) if s.length == 3)
    assert again > 3


@pytest.mark.parametrize("profile", ALL)
def test_3_8_3_must_21_application_sets_r2(profile: str) -> None:
    """§3.8.3 MUST-21: "An application MUST be able to set the value for R2 for a particular connection"
    (here as a count of retransmissions, max_retries=2: two retransmissions, then close)."""
    ep = passive_established(profile, max_retries=2)
    ep.send(b"abc")
    again = 0
    while ep.state is State.ESTABLISHED and again < 100:
        again += sum(1 for s in ep.tick(ep.next_deadline() or 0.0) if s.length == 3)
    assert (again, ep.state) == (2, State.CLOSED)


@pytest.mark.parametrize("profile", ALL)
def test_d11_give_up_in_a_passive_syn_received_closes(profile: str) -> None:
    """§3.8.3 MUST-20: at R2 the TCP implementation "closes the connection" and informs the application;
    unlike an RST (MUST-11), the text names no return to LISTEN for a passive OPEN (decision A11/D11)."""
    ep = in_state("SYN-RECEIVED", profile)
    assert run_until_state_leaves(ep, State.SYN_RECEIVED, limit=1e6) is not None
    assert ep.state is State.CLOSED
    assert "connection aborted: retransmissions exhausted" in [n.text for n in ep.take_notices()]


@pytest.mark.parametrize("profile", ALL)
def test_d11_give_up_in_an_active_syn_received_closes(profile: str) -> None:
    """§3.8.3 MUST-20 (c): "close the connection": an active OPEN has no listener to return to (D11)."""
    ep = in_state("SYN-RECEIVED/active", profile)
    assert run_until_state_leaves(ep, State.SYN_RECEIVED, limit=1e6) is not None
    assert ep.state is State.CLOSED


# ------------------------------------------------------------ the user timeout (T2, D3)
@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t2_passive_open_does_not_arm_the_user_timeout(profile: str) -> None:
    """§3.9.1.1: the timeout "permits the caller to set up a timeout for all data submitted to TCP. If
    data is not successfully delivered to the destination within the timeout period, the TCP endpoint
    will abort the connection": a LISTEN has submitted nothing (D3, RFC 5482's meaning)."""
    ep = Endpoint(iss=300, profile=profile, user_timeout=USER_TIMEOUT)
    ep.listen()
    assert "user" not in ep.armed_timers
    ep.tick(10 * USER_TIMEOUT)
    assert ep.state is State.LISTEN


@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t2_unanswered_syn_is_aborted_at_the_user_timeout(profile: str) -> None:
    """§3.10.8 USER TIMEOUT: "For any state if the user timeout expires, flush all queues, signal the user
    "error: connection aborted due to user timeout" ..., delete the TCB, enter the CLOSED state". The SYN
    is unacknowledged from clock 0, so the timeout falls at 30 s."""
    ep = Endpoint(iss=100, profile=profile, user_timeout=USER_TIMEOUT)
    ep.connect()
    assert run_until_state_leaves(ep, State.SYN_SENT, limit=1e6) == USER_TIMEOUT
    assert ep.state is State.CLOSED
    assert any("user timeout" in n for n in notices(ep))
    assert ep.armed_timers == {}


@pytest.mark.parametrize("opener", ["active", "passive"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t2_idle_established_connection_never_times_out(profile: str, opener: str) -> None:
    """§3.9.1.1: the user timeout bounds how long submitted data may go undelivered; with everything
    acknowledged there is nothing to time out (D3; §3.8.4: an idle connection has "no new or
    unacknowledged data")."""
    make = active_established if opener == "active" else passive_established
    ep = make(profile, user_timeout=USER_TIMEOUT)
    assert "user" not in ep.armed_timers
    ep.tick(100 * USER_TIMEOUT)
    assert ep.state is State.ESTABLISHED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t2_unacknowledged_text_is_aborted_at_the_user_timeout(profile: str) -> None:
    """§3.9.1.1: "If data is not successfully delivered to the destination within the timeout period, the
    TCP endpoint will abort the connection": text sent at 100 s and never acknowledged -> CLOSED at 130 s."""
    ep = passive_established(profile, user_timeout=USER_TIMEOUT)
    ep.tick(100.0)
    ep.send(b"abc")
    assert run_until_state_leaves(ep, State.ESTABLISHED, limit=1e6) == 100.0 + USER_TIMEOUT
    assert ep.state is State.CLOSED
    assert any("user timeout" in n for n in notices(ep))


@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t2_user_timeout_restarts_when_snd_una_advances(profile: str) -> None:
    """D3 (RFC 5482's meaning: how long data may stay unacknowledged): 301..303 and 304..306 go out at 0;
    the ACK of the first at 20 s restarts the timeout, which then falls at 50 s."""
    ep = passive_established(profile, user_timeout=USER_TIMEOUT)
    ep.send(b"abc")
    ep.send(b"def")
    ep.tick(20.0)
    feed(ep, "<SEQ=101><ACK=304><CTL=ACK>")
    ep.tick(49.9)
    assert ep.state is State.ESTABLISHED
    assert run_until_state_leaves(ep, State.ESTABLISHED, limit=1e6) == 20.0 + USER_TIMEOUT


@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t2_user_timeout_stops_when_everything_is_acknowledged(profile: str) -> None:
    """D3: once SND.UNA = SND.NXT nothing is undelivered, so the timeout no longer runs."""
    ep = passive_established(profile, user_timeout=USER_TIMEOUT)
    ep.send(b"abc")
    assert "user" in ep.armed_timers
    ep.tick(10.0)
    feed(ep, "<SEQ=101><ACK=304><CTL=ACK>")
    assert "user" not in ep.armed_timers
    ep.tick(100 * USER_TIMEOUT)
    assert ep.state is State.ESTABLISHED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_8_t2_unacknowledged_fin_is_aborted_at_the_user_timeout(profile: str) -> None:
    """§3.6 case 2: "If an ACK is not forthcoming, after the user timeout the connection is aborted and the
    user is told"; §3.10.8 USER TIMEOUT -> CLOSED. Our FIN goes out at 0 and is never acknowledged."""
    ep = in_state("LAST-ACK", profile, user_timeout=USER_TIMEOUT)
    assert run_until_state_leaves(ep, State.LAST_ACK, limit=1e6) == USER_TIMEOUT
    assert ep.state is State.CLOSED
    assert any("user timeout" in n for n in notices(ep))


@pytest.mark.parametrize("profile", NOT_LINUX)
def test_3_10_8_t2_fin_wait_2_with_our_fin_acknowledged_does_not_time_out(profile: str) -> None:
    """D3: in FIN-WAIT-2 all we sent (FIN included) is acknowledged, so the user timeout does not run.
    (Not linux: its own FIN-WAIT-2 timer is another matter.)"""
    ep = in_state("FIN-WAIT-2", profile, user_timeout=USER_TIMEOUT)
    assert "user" not in ep.armed_timers
    ep.tick(100 * USER_TIMEOUT)
    assert ep.state is State.FIN_WAIT_2


# ------------------------------------------------------------------ no FIN-WAIT-2 timer (T5)
@pytest.mark.parametrize("profile", NOT_LINUX)
def test_t5_rfc9293_has_no_fin_wait_2_timeout(profile: str) -> None:
    """§3.10.8 names three timeouts only (USER, RETRANSMISSION, TIME-WAIT); FIN-WAIT-2 waits for the peer's
    FIN ("FIN-WAIT-2 STATE ... Enter the TIME-WAIT state" when it comes) with nothing else to end it.
    (The FIN-WAIT-2 timer of row T5 is Linux's, outside the RFC.)"""
    ep = in_state("FIN-WAIT-2", profile)
    assert ep.armed_timers == {}
    ep.tick(1e6)
    assert ep.state is State.FIN_WAIT_2
