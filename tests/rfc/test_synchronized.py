"""RFC 9293 §3.10.7.4: a segment arrives in SYN-RECEIVED or a synchronized state (rows S13-S34).

The endpoint under test is B of Figure 6 (ISS 300; the peer's ISS is 100); helpers.NXT gives its
(SND.NXT, RCV.NXT) in each state, from the rule that SYN and FIN occupy one sequence number.
"""

from __future__ import annotations

import pytest

from tcpfsm import State
from tests.rfc.helpers import (
    ALL,
    MSL,
    NXT,
    RST_EXACT,
    RST_IN_WINDOW,
    SYN_CHALLENGE,
    SYNCHRONIZED,
    TIME_WAIT_RST_CLOSES,
    assert_last,
    assert_sent,
    feed,
    in_state,
    nothing_sent,
    notices,
    octets,
    passive_established,
)

WITH_SYN_RECEIVED = ("SYN-RECEIVED", *SYNCHRONIZED)


# ---------------------------------------------------------- first, check sequence number
@pytest.mark.parametrize("where", ["old", "beyond"])
@pytest.mark.parametrize("state", WITH_SYN_RECEIVED)
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s13_unacceptable_segment_is_answered_with_an_ack(profile: str, state: str, where: str) -> None:
    """§3.10.7.4 first: "If an incoming segment is not acceptable, an acknowledgment should be sent in
    reply ...: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. After sending the acknowledgment, drop the
    unacceptable segment and return." (§3.5.2 group 3: "the connection remains in the same state".)
    "old": the text lies wholly below RCV.NXT; "beyond": it starts at RCV.NXT+RCV.WND."""
    ep = in_state(state, profile)
    snd_nxt, rcv_nxt = NXT[state]
    start = rcv_nxt - 10 if where == "old" else rcv_nxt + 65535
    out = feed(ep, f"<SEQ={start}><ACK={snd_nxt}><CTL=ACK><DATA=10>")
    assert_sent(out, f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=ACK>")
    assert ep.state_name == state
    assert ep.read() == b""


@pytest.mark.parametrize("state", WITH_SYN_RECEIVED)
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s13_unacceptable_reset_is_dropped_silently(profile: str, state: str) -> None:
    """§3.10.7.4 first: "an acknowledgment should be sent in reply (unless the RST bit is set, if so
    drop the segment and return)"; RFC 5961 §3.2 (1): "If the RST bit is set and the sequence number is
    outside the current receive window, silently drop the segment." """
    ep = in_state(state, profile)
    _, rcv_nxt = NXT[state]
    nothing_sent(feed(ep, f"<SEQ={rcv_nxt + 65535}><CTL=RST>"))
    nothing_sent(feed(ep, f"<SEQ={rcv_nxt - 1}><CTL=RST>"))
    assert ep.state_name == state


# linux sends the SYN,ACK again (tcp_check_req, inet_rtx_syn_ack: tests/test_linux_rules.py)
@pytest.mark.parametrize("profile", [p for p in ALL if p != "linux"])
def test_3_10_7_4_s13_retransmitted_syn_in_syn_received_is_old(profile: str) -> None:
    """§3.10.7.4 first, SYN-RECEIVED: the peer's SYN again (SEG.SEQ = IRS = 100, SEG.LEN = 1) lies wholly
    below RCV.NXT = 101, so Table 6 finds it unacceptable: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    ep = in_state("SYN-RECEIVED", profile)
    assert_sent(feed(ep, "<SEQ=100><CTL=SYN>"), "<SEQ=301><ACK=101><CTL=ACK>")
    assert ep.state is State.SYN_RECEIVED


# ---------------------------------------------------------------- second, check the RST bit
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s14_must_11_reset_returns_a_passive_syn_received_to_listen(profile: str) -> None:
    """§3.10.7.4 second, SYN-RECEIVED: "If this connection was initiated with a passive OPEN (i.e.,
    came from the LISTEN state), then return this connection to LISTEN state and return. The user need
    not be informed." (MUST-11: the passive/active origin is remembered; Figure 8 line 5.)"""
    ep = in_state("SYN-RECEIVED", profile)
    nothing_sent(feed(ep, "<SEQ=101><CTL=RST>"))      # SEQ = RCV.NXT: valid under every profile
    assert ep.state is State.LISTEN
    assert "retransmit" not in ep.armed_timers        # "the retransmission queue should be flushed"
    # the listener serves the next SYN as any listener does (§3.10.7.2 third)
    out = feed(ep, "<SEQ=200><CTL=SYN>")
    assert [(str(s.flags), s.ack) for s in out] == [("SYN,ACK", 201)]
    assert ep.state is State.SYN_RECEIVED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s15_reset_refuses_an_active_syn_received(profile: str) -> None:
    """§3.10.7.4 second, SYN-RECEIVED: "If this connection was initiated with an active OPEN (i.e.,
    came from SYN-SENT state), then the connection was refused; signal the user "connection refused".
    ... enter the CLOSED state and delete the TCB, and return." """
    ep = in_state("SYN-RECEIVED/active", profile)
    nothing_sent(feed(ep, "<SEQ=101><CTL=RST>"))
    assert ep.state is State.CLOSED
    assert "connection refused" in notices(ep)
    assert ep.armed_timers == {}


@pytest.mark.parametrize("state", ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s16_reset_aborts_the_connection_and_tells_the_user(profile: str, state: str) -> None:
    """§3.10.7.4 second, ESTABLISHED ... CLOSE-WAIT: "All segment queues should be flushed. Users should
    also receive an unsolicited general "connection reset" signal. Enter the CLOSED state, delete the
    TCB, and return." """
    ep = in_state(state, profile)
    _, rcv_nxt = NXT[state]
    nothing_sent(feed(ep, f"<SEQ={rcv_nxt}><CTL=RST>"))
    assert ep.state is State.CLOSED
    assert "connection reset" in notices(ep)
    assert ep.armed_timers == {}


@pytest.mark.parametrize("state", ["CLOSING", "LAST-ACK"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s17_reset_in_closing_or_last_ack_enters_closed(profile: str, state: str) -> None:
    """§3.10.7.4 second, CLOSING, LAST-ACK, TIME-WAIT: "If the RST bit is set, then enter the CLOSED
    state, delete the TCB, and return." (RFC 1337's fix is for TIME-WAIT only.)"""
    ep = in_state(state, profile)
    nothing_sent(feed(ep, "<SEQ=102><CTL=RST>"))
    assert ep.state is State.CLOSED


@pytest.mark.parametrize("profile", TIME_WAIT_RST_CLOSES)
def test_3_10_7_4_s17_reset_in_time_wait_enters_closed(profile: str) -> None:
    """§3.10.7.4 second, TIME-WAIT: "If the RST bit is set, then enter the CLOSED state, delete the TCB"."""
    ep = in_state("TIME-WAIT", profile)
    nothing_sent(feed(ep, "<SEQ=102><CTL=RST>"))
    assert ep.state is State.CLOSED
    assert ep.armed_timers == {}


@pytest.mark.parametrize("state", ["SYN-RECEIVED/active", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK"])
@pytest.mark.parametrize("profile", RST_IN_WINDOW)
def test_3_5_3_reset_anywhere_in_the_window_is_valid(profile: str, state: str) -> None:
    """§3.5.3: "A reset is valid if its sequence number is in the window." (Without RFC 5961.)"""
    ep = in_state(state, profile)
    _, rcv_nxt = NXT[state]
    nothing_sent(feed(ep, f"<SEQ={rcv_nxt + 1000}><CTL=RST>"))
    assert ep.state is State.CLOSED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_reset_is_checked_before_syn(profile: str) -> None:
    """§3.10.7.4: "Second, check the RST bit" comes before "Fourth, check the SYN bit": a SYN,RST at
    RCV.NXT resets the connection (no challenge ACK, no reset in reply)."""
    ep = passive_established(profile)
    nothing_sent(feed(ep, "<SEQ=101><CTL=SYN,RST>"))
    assert ep.state is State.CLOSED


@pytest.mark.parametrize("profile", ALL)
def test_3_5_3_shld_2_reset_may_carry_data(profile: str) -> None:
    """§3.5.3 SHLD-2: "TCP implementations SHOULD allow a received RST segment to include data." """
    ep = passive_established(profile)
    nothing_sent(feed(ep, "<SEQ=101><ACK=301><CTL=RST,ACK><DATA=20>"))
    assert ep.state is State.CLOSED


# ---------------------------------------------------------------- fourth, check the SYN bit
@pytest.mark.parametrize("profile", ("rfc9293", "rfc5961", "rfc1337"))
def test_3_10_7_4_s19_syn_returns_a_passive_syn_received_to_listen(profile: str) -> None:
    """§3.10.7.4 fourth, SYN-RECEIVED: "If the connection was initiated with a passive OPEN, then return
    this connection to the LISTEN state and return." (An in-window SYN, so that it reaches this step.)"""
    ep = in_state("SYN-RECEIVED", profile)
    nothing_sent(feed(ep, "<SEQ=5000><CTL=SYN>"))
    assert ep.state is State.LISTEN


@pytest.mark.parametrize("state", ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK"])
@pytest.mark.parametrize("flags", ["SYN", "SYN,ACK"])
@pytest.mark.parametrize("profile", SYN_CHALLENGE)
def test_3_10_7_4_syn_in_a_synchronized_state_draws_a_challenge_ack(profile: str, flags: str, state: str) -> None:
    """§3.10.7.4 fourth: "if the SYN bit is set, irrespective of the sequence number, TCP endpoints MUST
    send a "challenge ACK" to the remote peer: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" and "MUST drop the
    unacceptable segment and stop processing further" (RFC 5961 §4.2)."""
    ep = in_state(state, profile)
    snd_nxt, rcv_nxt = NXT[state]
    ack = f"<ACK={snd_nxt}>" if "ACK" in flags else ""
    out = feed(ep, f"<SEQ={rcv_nxt + 1000}>{ack}<CTL={flags}><DATA=10>")
    assert_sent(out, f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=ACK>")
    assert ep.state_name == state
    assert ep.read() == b""


@pytest.mark.parametrize("profile", SYN_CHALLENGE)
def test_3_10_7_4_syn_in_an_active_syn_received_is_handled_as_in_synchronized_states(profile: str) -> None:
    """§3.10.7.4 fourth, SYN-RECEIVED: "Otherwise, handle per the directions for synchronized states
    below": the challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    ep = in_state("SYN-RECEIVED/active", profile)
    assert_sent(feed(ep, "<SEQ=5000><CTL=SYN>"), "<SEQ=301><ACK=101><CTL=ACK>")
    assert ep.state is State.SYN_RECEIVED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_syn_outside_the_window_is_acked_at_the_first_step(profile: str) -> None:
    """§3.10.7.4 fourth: "If the SYN is not in the window, this step would not be reached and an ACK
    would have been sent in the first step (sequence number check)." """
    ep = passive_established(profile)
    assert_sent(feed(ep, "<SEQ=50><CTL=SYN>"), "<SEQ=301><ACK=101><CTL=ACK>")
    assert ep.state is State.ESTABLISHED


# ---------------------------------------------------------------- fifth, check the ACK field
@pytest.mark.parametrize("state", ["SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "CLOSE-WAIT"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_segment_without_ack_bit_is_dropped(profile: str, state: str) -> None:
    """§3.10.7.4 fifth: "if the ACK bit is off, drop the segment and return" (in-window text and FIN
    without ACK are neither delivered nor acknowledged)."""
    ep = in_state(state, profile)
    _, rcv_nxt = NXT[state]
    nothing_sent(feed(ep, f"<SEQ={rcv_nxt}><CTL=FIN><DATA=5>"))
    assert ep.state_name == state
    assert ep.read() == b""
    assert ep.tcb.rcv_nxt == rcv_nxt


@pytest.mark.parametrize("origin", ["SYN-RECEIVED", "SYN-RECEIVED/active"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s23_acceptable_ack_in_syn_received_enters_established(profile: str, origin: str) -> None:
    """§3.10.7.4 fifth, SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and
    continue processing with the variables below set to: SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ,
    SND.WL2 <- SEG.ACK" (Figure 6 line 4: B sends nothing), whether the SYN-RECEIVED came from LISTEN or
    from SYN-SENT."""
    ep = in_state(origin, profile)
    nothing_sent(feed(ep, "<SEQ=101><ACK=301><CTL=ACK><WND=4000>"))
    assert ep.state is State.ESTABLISHED
    t = ep.tcb
    assert (t.snd_una, t.snd_wnd, t.snd_wl1, t.snd_wl2) == (301, 4000, 101, 301)
    assert "retransmit" not in ep.armed_timers  # our SYN is acknowledged


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s23_text_on_the_handshake_ack_is_processed_in_established(profile: str) -> None:
    """§3.10.7.4 fifth, SYN-RECEIVED: "enter ESTABLISHED state and continue processing"; seventh: the text
    is delivered and acknowledged <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    ep = in_state("SYN-RECEIVED", profile)
    out = feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=5>")
    assert ep.state is State.ESTABLISHED
    assert ep.read() == octets(101, 5)
    assert_sent(out, "<SEQ=301><ACK=106><CTL=ACK>")


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s23_fin_on_the_handshake_ack_moves_on_to_close_wait(profile: str) -> None:
    """§3.10.7.4 fifth then eighth: ESTABLISHED is entered, then "If the FIN bit is set ... advance
    RCV.NXT over the FIN, and send an acknowledgment for the FIN", "SYN-RECEIVED STATE, ESTABLISHED STATE:
    Enter the CLOSE-WAIT state." """
    ep = in_state("SYN-RECEIVED", profile)
    out = feed(ep, "<SEQ=101><ACK=301><CTL=FIN,ACK>")
    assert ep.state is State.CLOSE_WAIT
    assert_sent(out, "<SEQ=301><ACK=102><CTL=ACK>")


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s24_ack_of_nothing_in_syn_received_is_reset(profile: str) -> None:
    """§3.10.7.4 fifth, SYN-RECEIVED: "If the segment acknowledgment is not acceptable, form a reset
    segment <SEQ=SEG.ACK><CTL=RST> and send it." SEG.ACK = ISS = SND.UNA acknowledges nothing."""
    ep = in_state("SYN-RECEIVED", profile)
    assert_sent(feed(ep, "<SEQ=101><ACK=300><CTL=ACK>"), "<SEQ=300><CTL=RST>")
    assert ep.state is State.SYN_RECEIVED


@pytest.mark.parametrize("profile", ("rfc9293", "rfc793", "rfc1337", "linux"))
def test_3_10_7_4_s24_ack_of_unsent_data_in_syn_received_is_reset(profile: str) -> None:
    """§3.10.7.4 fifth, SYN-RECEIVED: not SND.UNA < SEG.ACK =< SND.NXT, so <SEQ=SEG.ACK><CTL=RST>
    (§3.5.2 group 2). (RFC 5961's range check, which precedes it under rfc5961, is left out.)"""
    ep = in_state("SYN-RECEIVED", profile)
    assert_sent(feed(ep, "<SEQ=101><ACK=999><CTL=ACK>"), "<SEQ=999><CTL=RST>")
    assert ep.state is State.SYN_RECEIVED


@pytest.mark.parametrize("state", ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s25_ack_of_unsent_data_is_acked_and_dropped(profile: str, state: str) -> None:
    """§3.10.7.4 fifth, ESTABLISHED (and the states doing "the processing for the ESTABLISHED state"):
    "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment,
    and return." """
    ep = in_state(state, profile)
    snd_nxt, rcv_nxt = NXT[state]
    out = feed(ep, f"<SEQ={rcv_nxt}><ACK={snd_nxt + 5}><CTL=ACK><DATA=10>")
    assert_sent(out, f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=ACK>")
    assert ep.state_name == state
    assert ep.read() == b""


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_duplicate_ack_is_ignored(profile: str) -> None:
    """§3.10.7.4 fifth, ESTABLISHED: "If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can be ignored." """
    ep = passive_established(profile)
    ep.send(b"abc")                                            # 301..303, SND.NXT = 304
    nothing_sent(feed(ep, "<SEQ=101><ACK=301><CTL=ACK>"))      # SEG.ACK = SND.UNA
    assert ep.tcb.snd_una == 301
    assert "retransmit" in ep.armed_timers                     # the text is still unacknowledged


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_text_with_a_duplicate_ack_is_still_delivered(profile: str) -> None:
    """§3.10.7.4 fifth: a duplicate ACK "can be ignored", and processing goes on to the seventh step: the
    text (101..105) is delivered and acknowledged <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    ep = passive_established(profile)
    ep.send(b"abc")
    feed(ep, "<SEQ=101><ACK=304><CTL=ACK>")                   # SND.UNA = 304
    out = feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=5>")     # an older ACK field, new text
    assert_sent(out, "<SEQ=304><ACK=106><CTL=ACK>")
    assert ep.read() == octets(101, 5)
    assert ep.tcb.snd_una == 304


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_old_ack_does_not_update_the_send_window(profile: str) -> None:
    """§3.10.7.4 fifth: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated" - only then:
    a reordered ACK older than SND.UNA leaves SND.WND as the newer one set it ("The check here prevents
    using old segments to update the window")."""
    ep = passive_established(profile)
    ep.send(b"abc")
    feed(ep, "<SEQ=101><ACK=304><CTL=ACK><WND=500>")
    feed(ep, "<SEQ=101><ACK=301><CTL=ACK><WND=9000>")
    assert ep.tcb.snd_wnd == 500


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_new_ack_advances_snd_una_and_clears_the_queue(profile: str) -> None:
    """§3.10.7.4 fifth, ESTABLISHED: "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any
    segments on the retransmission queue that are thereby entirely acknowledged are removed." """
    ep = passive_established(profile)
    ep.send(b"abc")
    nothing_sent(feed(ep, "<SEQ=101><ACK=304><CTL=ACK>"))
    assert ep.tcb.snd_una == 304
    assert "retransmit" not in ep.armed_timers
    assert ep.tick(100.0) == []                                # nothing left to retransmit


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_send_window_is_updated_from_the_segment(profile: str) -> None:
    """§3.10.7.4 fifth, ESTABLISHED: "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated.
    If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set
    SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK." """
    ep = passive_established(profile)
    feed(ep, "<SEQ=101><ACK=301><CTL=ACK><WND=1234><DATA=10>")
    t = ep.tcb
    assert (t.snd_wnd, t.snd_wl1, t.snd_wl2) == (1234, 101, 301)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s26_ack_of_our_fin_enters_fin_wait_2(profile: str) -> None:
    """§3.10.7.4 fifth, FIN-WAIT-1: "if the FIN segment is now acknowledged, then enter FIN-WAIT-2"
    (Figure 12 line 3)."""
    ep = in_state("FIN-WAIT-1", profile)
    nothing_sent(feed(ep, "<SEQ=101><ACK=302><CTL=ACK>"))
    assert ep.state is State.FIN_WAIT_2
    assert "retransmit" not in ep.armed_timers


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s26_ack_of_data_before_the_fin_stays_in_fin_wait_1(profile: str) -> None:
    """§3.10.7.4 fifth, FIN-WAIT-1: only an acknowledgment of the FIN moves on; one that covers the text
    sent before it (301..303, FIN at 304) does the ESTABLISHED processing only."""
    ep = passive_established(profile)
    ep.send(b"abc")
    assert_sent(ep.close(), "<SEQ=304><ACK=101><CTL=FIN,ACK>")
    nothing_sent(feed(ep, "<SEQ=101><ACK=304><CTL=ACK>"))
    assert ep.state is State.FIN_WAIT_1
    assert ep.tcb.snd_una == 304


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s27_ack_of_our_fin_in_closing_enters_time_wait(profile: str) -> None:
    """§3.10.7.4 fifth, CLOSING: "if the ACK acknowledges our FIN, then enter the TIME-WAIT state"; the
    time-wait timer runs 2 MSL (§3.6.1 MUST-13)."""
    ep = in_state("CLOSING", profile)
    nothing_sent(feed(ep, "<SEQ=102><ACK=302><CTL=ACK>"))
    assert ep.state is State.TIME_WAIT
    assert ep.armed_timers == {"time_wait": 2 * MSL}


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_closing_ignores_an_ack_that_misses_our_fin(profile: str) -> None:
    """§3.10.7.4 fifth, CLOSING: "otherwise, ignore the segment." """
    ep = in_state("CLOSING", profile)
    nothing_sent(feed(ep, "<SEQ=102><ACK=301><CTL=ACK>"))
    assert ep.state is State.CLOSING


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s28_ack_of_our_fin_in_last_ack_enters_closed(profile: str) -> None:
    """§3.10.7.4 fifth, LAST-ACK: "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state,
    and return." (Figure 12 line 5.)"""
    ep = in_state("LAST-ACK", profile)
    nothing_sent(feed(ep, "<SEQ=102><ACK=302><CTL=ACK>"))
    assert ep.state is State.CLOSED
    assert ep.armed_timers == {}


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_last_ack_waits_for_the_ack_of_its_fin(profile: str) -> None:
    """§3.10.7.4 fifth, LAST-ACK: "The only thing that can arrive in this state is an acknowledgment of our
    FIN": one that does not cover it (SEG.ACK = 301, the FIN is 301) leaves LAST-ACK as it is."""
    ep = in_state("LAST-ACK", profile)
    nothing_sent(feed(ep, "<SEQ=102><ACK=301><CTL=ACK>"))
    assert ep.state is State.LAST_ACK
    assert "retransmit" in ep.armed_timers


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s29_retransmitted_fin_in_time_wait_is_acked_and_restarts_2msl(profile: str) -> None:
    """§3.10.7.4 fifth, TIME-WAIT: "The only thing that can arrive in this state is a retransmission of
    the remote FIN. Acknowledge it, and restart the 2 MSL timeout." """
    ep = in_state("TIME-WAIT", profile)                      # entered at clock 0
    ep.tick(100.0)
    assert_sent(feed(ep, "<SEQ=101><ACK=302><CTL=FIN,ACK>"), "<SEQ=302><ACK=102><CTL=ACK>")
    assert ep.state is State.TIME_WAIT
    assert ep.armed_timers == {"time_wait": 100.0 + 2 * MSL}
    ep.tick(100.0 + 2 * MSL - 1)
    assert ep.state is State.TIME_WAIT
    ep.tick(100.0 + 2 * MSL)
    assert ep.state is State.CLOSED


# --------------------------------------------------------------- seventh, process the segment text
@pytest.mark.parametrize("state", ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_text_is_delivered_and_acknowledged(profile: str, state: str) -> None:
    """§3.10.7.4 seventh, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2: "it is possible to deliver segment data to
    user RECEIVE buffers ... it advances RCV.NXT over the data accepted ... Send an acknowledgment of the
    form: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" (§3.6 case 1: "RECEIVEs are allowed" after CLOSE)."""
    ep = in_state(state, profile)
    snd_nxt, _ = NXT[state]
    ack = 302 if state == "FIN-WAIT-2" else 301
    out = feed(ep, f"<SEQ=101><ACK={ack}><CTL=ACK,PSH><DATA=10>")
    assert_sent(out, f"<SEQ={snd_nxt}><ACK=111><CTL=ACK>")
    assert ep.read() == octets(101, 10)
    assert ep.state_name == state


@pytest.mark.parametrize("state", ["CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_text_after_the_peers_fin_is_ignored(profile: str, state: str) -> None:
    """§3.10.7.4 seventh, CLOSE-WAIT ... TIME-WAIT: "This should not occur since a FIN has been received
    from the remote side. Ignore the segment text." """
    ep = in_state(state, profile)
    _, rcv_nxt = NXT[state]
    una = 302 if state == "TIME-WAIT" else 301  # SND.UNA: our FIN (301) is acknowledged only in TIME-WAIT
    feed(ep, f"<SEQ={rcv_nxt}><ACK={una}><CTL=ACK><DATA=10>")
    assert ep.read() == b""
    assert ep.tcb.rcv_nxt == rcv_nxt
    assert ep.state_name == state


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_text_in_time_wait_is_acknowledged_and_2msl_restarted(profile: str) -> None:
    """§3.10.7.4 fifth, TIME-WAIT: "The only thing that can arrive in this state is a retransmission of
    the remote FIN. Acknowledge it, and restart the 2 MSL timeout."; seventh: "Ignore the segment text."
    So text is answered <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (302, 102) and the 2MSL wait starts again
    from now (§3.10.8: 2 MSL = 240 s), no other timer armed (Linux tcp_timewait_state_process: "All
    the segments are ACKed immediately", then inet_twsk_reschedule)."""
    ep = in_state("TIME-WAIT", profile)
    ep.tick(ep.now + 10.0)
    assert_sent(feed(ep, "<SEQ=102><ACK=302><CTL=ACK><DATA=10>"), "<SEQ=302><ACK=102><CTL=ACK>")
    assert ep.armed_timers == {"time_wait": ep.now + 2 * MSL}
    assert ep.read() == b"" and ep.state is State.TIME_WAIT


# --------------------------------------------------------------------- eighth, check the FIN bit
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s30_fin_in_established_enters_close_wait(profile: str) -> None:
    """§3.10.7.4 eighth: "signal the user "connection closing" ..., advance RCV.NXT over the FIN, and send
    an acknowledgment for the FIN"; ESTABLISHED: "Enter the CLOSE-WAIT state." (Figure 12 lines 2-3.)"""
    ep = passive_established(profile)
    assert_sent(feed(ep, "<SEQ=101><ACK=301><CTL=FIN,ACK>"), "<SEQ=301><ACK=102><CTL=ACK>")
    assert ep.state is State.CLOSE_WAIT
    assert "connection closing" in notices(ep)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s30_fin_with_text_delivers_the_text_first(profile: str) -> None:
    """§3.10.7.4 eighth: "Note that FIN implies PUSH for any segment text not yet delivered to the user"; §3.4:
    "the FIN is considered to occur after the last actual data octet" (text 101..105, FIN 106)."""
    ep = passive_established(profile)
    out = feed(ep, "<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=5>")
    assert_last(out, "<SEQ=301><ACK=107><CTL=ACK>")
    assert ep.read() == octets(101, 5)
    assert ep.state is State.CLOSE_WAIT


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s31_fin_before_our_fin_is_acked_enters_closing(profile: str) -> None:
    """§3.10.7.4 eighth, FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this segment), then enter
    TIME-WAIT ...; otherwise, enter the CLOSING state." (Figure 13 line 3.)"""
    ep = in_state("FIN-WAIT-1", profile)
    assert_sent(feed(ep, "<SEQ=101><ACK=301><CTL=FIN,ACK>"), "<SEQ=302><ACK=102><CTL=ACK>")
    assert ep.state is State.CLOSING


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s32_fin_that_acks_our_fin_enters_time_wait(profile: str) -> None:
    """§3.10.7.4 eighth, FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this segment), then enter
    TIME-WAIT, start the time-wait timer, turn off the other timers"."""
    ep = in_state("FIN-WAIT-1", profile)
    assert_sent(feed(ep, "<SEQ=101><ACK=302><CTL=FIN,ACK>"), "<SEQ=302><ACK=102><CTL=ACK>")
    assert ep.state is State.TIME_WAIT
    assert ep.armed_timers == {"time_wait": 2 * MSL}


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s33_fin_in_fin_wait_2_enters_time_wait(profile: str) -> None:
    """§3.10.7.4 eighth, FIN-WAIT-2: "Enter the TIME-WAIT state. Start the time-wait timer, turn off the
    other timers." (Figure 12 line 4-5.)"""
    ep = in_state("FIN-WAIT-2", profile)
    assert_sent(feed(ep, "<SEQ=101><ACK=302><CTL=FIN,ACK>"), "<SEQ=302><ACK=102><CTL=ACK>")
    assert ep.state is State.TIME_WAIT
    assert ep.armed_timers == {"time_wait": 2 * MSL}


@pytest.mark.parametrize("state", ["CLOSE-WAIT", "CLOSING", "LAST-ACK"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s34_retransmitted_fin_is_acked_and_the_state_kept(profile: str, state: str) -> None:
    """§3.10.7.4 eighth, CLOSE-WAIT: "Remain in the CLOSE-WAIT state", CLOSING: "Remain in the CLOSING
    state", LAST-ACK: "Remain in the LAST-ACK state"; the retransmitted FIN (at 101) is old, so the
    first step already answers it with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    ep = in_state(state, profile)
    snd_nxt, rcv_nxt = NXT[state]
    assert_sent(feed(ep, "<SEQ=101><ACK=301><CTL=FIN,ACK>"), f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=ACK>")
    assert ep.state_name == state


# --------------------------------------------------------------------- RFC 5961 §3.2 (RST)
@pytest.mark.parametrize(("profile", "state"), [
    (p, s) for p in RST_EXACT for s in WITH_SYN_RECEIVED
    if (p, s) != ("linux", "SYN-RECEIVED")   # Linux resets a request socket on any in-window RST
])
def test_rfc5961_3_2_in_window_reset_not_at_rcv_nxt_draws_a_challenge_ack(profile: str, state: str) -> None:
    """RFC 5961 §3.2 (3) / RFC 9293 §3.10.7.4 second: "If the RST bit is set and the sequence number does
    not exactly match the next expected sequence value, yet is within the current receive window, TCP
    endpoints MUST send an acknowledgment (challenge ACK): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. After
    sending the challenge ACK, TCP endpoints MUST drop the unacceptable segment"."""
    ep = in_state(state, profile)
    snd_nxt, rcv_nxt = NXT[state]
    assert_sent(feed(ep, f"<SEQ={rcv_nxt + 1}><CTL=RST>"), f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=ACK>")
    assert ep.state_name == state


@pytest.mark.parametrize("state", WITH_SYN_RECEIVED)
@pytest.mark.parametrize("profile", RST_EXACT)
def test_rfc5961_3_2_reset_at_rcv_nxt_resets(profile: str, state: str) -> None:
    """RFC 5961 §3.2 (2): "If the RST bit is set and the sequence number exactly matches the next expected
    sequence number (RCV.NXT), then TCP endpoints MUST reset the connection in the manner prescribed below
    according to the connection state" (passive SYN-RECEIVED: back to LISTEN)."""
    ep = in_state(state, profile)
    _, rcv_nxt = NXT[state]
    nothing_sent(feed(ep, f"<SEQ={rcv_nxt}><CTL=RST>"))
    assert ep.state is (State.LISTEN if state == "SYN-RECEIVED" else State.CLOSED)


@pytest.mark.parametrize("profile", ("rfc5961",))
def test_rfc5961_4_2_syn_outside_the_window_draws_the_same_challenge_ack(profile: str) -> None:
    """RFC 5961 §4.2: "If the SYN bit is set, irrespective of the sequence number, TCP MUST send an ACK
    (also referred to as challenge ACK) to the remote peer: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"."""
    ep = passive_established(profile)
    for seq in (50, 101, 101 + 65535, 4000000000):
        assert_sent(feed(ep, f"<SEQ={seq}><CTL=SYN>"), "<SEQ=301><ACK=101><CTL=ACK>")
    assert ep.state is State.ESTABLISHED
