"""RFC 9293 tests aimed at mutants of specs/tcp.yaml that survived the suite.

The endpoint under test is B of Figure 6 (ISS 300; the peer's ISS is 100), except in CLOSED and
SYN-SENT where it is A (ISS 100, the peer's ISS 300); helpers.NXT gives (SND.NXT, RCV.NXT) in each
state. Every expected value follows from the RFC sentence quoted in the test's docstring.
"""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint, State
from tests.rfc.helpers import (
    ALL,
    MSL,
    NXT,
    SYN_CHALLENGE,
    SYNCHRONIZED,
    assert_last,
    assert_sent,
    feed,
    in_state,
    listening,
    nothing_sent,
    notices,
    octets,
    passive_established,
    run_until_state_leaves,
    seq_gt,
)


def _closed(profile: str) -> Endpoint:
    return Endpoint(iss=300, profile=profile)


def _syn_sent(profile: str) -> Endpoint:
    ep = Endpoint(iss=100, profile=profile)   # TCP Peer A of Figure 6: <SEQ=100><CTL=SYN>
    ep.connect()
    return ep


def _assert_fresh_tcb(ep: Endpoint) -> None:
    """ "delete the TCB": nothing of the old connection's numbers or timers is left."""
    assert ep.state is State.CLOSED
    t = ep.tcb
    assert (t.snd_una, t.snd_nxt, t.rcv_nxt) == (0, 0, 0)
    assert ep.armed_timers == {}


# ------------------------------------------- 1. a new FIN after the peer's FIN (S34, S29b)
# linux neither takes nor ACKs that FIN in CLOSE-WAIT, CLOSING, LAST-ACK (tcp_rcv_state_process step 7;
# tests/test_linux_rules.py)
_NEW_FIN = [(p, s) for p in ALL for s in ("CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT")
            if p != "linux" or s == "TIME-WAIT"]


@pytest.mark.parametrize(("profile", "state"), _NEW_FIN)
def test_3_10_7_4_s34_s29b_fin_at_rcv_nxt_keeps_the_state_and_is_acked(profile: str, state: str) -> None:
    """§3.10.7.4 eighth: "If the FIN bit is set, ... send an acknowledgment for the FIN";
    CLOSE-WAIT: "Remain in the CLOSE-WAIT state", CLOSING: "Remain in the CLOSING state", LAST-ACK:
    "Remain in the LAST-ACK state", TIME-WAIT: "Remain in the TIME-WAIT state. Restart the 2 MSL
    time-wait timeout." The FIN at SEQ = RCV.NXT is in the window, so it reaches the eighth step; the
    acknowledgment is <SEQ=SND.NXT><ACK=..><CTL=ACK> and covers at least what was received before.
    (SEG.ACK = SND.NXT-1, an old duplicate, so that SND.NXT and SEG.ACK differ.)"""
    ep = in_state(state, profile)
    snd_nxt, rcv_nxt = NXT[state]
    if state == "TIME-WAIT":
        ep.tick(100.0)                       # TIME-WAIT was entered at clock 0
    out = feed(ep, f"<SEQ={rcv_nxt}><ACK={snd_nxt - 1}><CTL=FIN,ACK>")
    assert ep.state_name == state
    assert [(s.seq, str(s.flags)) for s in out][-1:] == [(snd_nxt, "ACK")]
    assert out[-1].ack == rcv_nxt or seq_gt(out[-1].ack, rcv_nxt)
    if state == "TIME-WAIT":
        assert ep.armed_timers == {"time_wait": 100.0 + 2 * MSL}


@pytest.mark.parametrize(("profile", "state"), [(p, s) for p, s in _NEW_FIN if s in ("CLOSE-WAIT", "TIME-WAIT")])
def test_3_10_7_4_s34_s29b_fin_at_rcv_nxt_is_acknowledged_exactly(profile: str, state: str) -> None:
    """§3.10.7.4 eighth: "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN": the FIN
    at SEQ = RCV.NXT occupies one sequence number (§3.4), so the reply is exactly
    <SEQ=SND.NXT><ACK=RCV.NXT+1><CTL=ACK>. (CLOSE-WAIT and TIME-WAIT are the states whose FIN-WAIT
    timers do not run, so the reply is the only segment.)"""
    ep = in_state(state, profile)
    snd_nxt, rcv_nxt = NXT[state]
    out = feed(ep, f"<SEQ={rcv_nxt}><ACK={snd_nxt}><CTL=FIN,ACK>")
    assert_sent(out, f"<SEQ={snd_nxt}><ACK={rcv_nxt + 1}><CTL=ACK>")
    assert ep.state_name == state


# ------------------------------------------------------- 2. dropped segments are reported
def _dropped(ep: Endpoint, state: str) -> None:
    assert ep.last_steps, "no transition was taken"
    assert ep.last_steps[-1].dropped is not None
    assert ep.state_name == state


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s13_unacceptable_segment_is_acked_then_dropped(profile: str) -> None:
    """§3.10.7.4 first: "If an incoming segment is not acceptable, an acknowledgment should be sent in
    reply ... After sending the acknowledgment, drop the unacceptable segment and return." Old text
    (SEQ 91..100, wholly below RCV.NXT = 101) is answered <SEQ=301><ACK=101><CTL=ACK> and reported
    dropped; nothing is delivered."""
    ep = in_state("ESTABLISHED", profile)
    assert_sent(feed(ep, "<SEQ=91><ACK=301><CTL=ACK><DATA=10>"), "<SEQ=301><ACK=101><CTL=ACK>")
    _dropped(ep, "ESTABLISHED")
    assert ep.read() == b""


@pytest.mark.parametrize("state", ["CLOSE-WAIT", "CLOSING", "LAST-ACK"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_x2_text_after_the_peers_fin_is_reported_dropped(profile: str, state: str) -> None:
    """§3.10.7.4 seventh, CLOSE-WAIT, CLOSING, LAST-ACK: "This should not occur since a FIN has been
    received from the remote side. Ignore the segment text." The text is reported dropped."""
    ep = in_state(state, profile)
    _, rcv_nxt = NXT[state]
    feed(ep, f"<SEQ={rcv_nxt}><ACK=301><CTL=ACK><DATA=10>")
    _dropped(ep, state)
    assert ep.read() == b""


@pytest.mark.parametrize("arrives", ["<SEQ=100><CTL=RST>", "<SEQ=100><ACK=5><CTL=RST,ACK>"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_1_s2_reset_to_closed_is_discarded(profile: str, arrives: str) -> None:
    """§3.10.7.1: "An incoming segment containing a RST is discarded." """
    ep = _closed(profile)
    nothing_sent(feed(ep, arrives))
    _dropped(ep, "CLOSED")


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_1_s1b_segment_without_ack_to_closed_is_discarded(profile: str) -> None:
    """§3.10.7.1: "all data in the incoming segment is discarded"; "If the ACK bit is off, sequence
    number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"."""
    ep = _closed(profile)
    assert_sent(feed(ep, "<SEQ=50><CTL=none><DATA=10>"), "<SEQ=0><ACK=60><CTL=RST,ACK>")
    _dropped(ep, "CLOSED")
    assert ep.read() == b""


@pytest.mark.parametrize("arrives", ["<SEQ=300><CTL=RST>", "<SEQ=300><ACK=100><CTL=RST,ACK>"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s9_reset_without_acceptable_ack_in_syn_sent_is_dropped(profile: str, arrives: str) -> None:
    """§3.10.7.3 first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set,
    if so drop the segment and return)"; second: "Otherwise (no ACK), drop the segment and return." """
    ep = _syn_sent(profile)
    nothing_sent(feed(ep, arrives))
    _dropped(ep, "SYN-SENT")


@pytest.mark.parametrize("arrives", [
    "<SEQ=300><ACK=101><CTL=ACK>",            # S12: an acceptable ACK, no SYN
    "<SEQ=300><CTL=none><DATA=5>",            # S12b: no control bit at all
    "<SEQ=300><CTL=FIN>",                     # S12b
])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s12_neither_syn_nor_rst_in_syn_sent_is_dropped(profile: str, arrives: str) -> None:
    """§3.10.7.3 fifth: "If neither of the SYN or RST bits is set, then drop the segment and return." """
    ep = _syn_sent(profile)
    nothing_sent(feed(ep, arrives))
    _dropped(ep, "SYN-SENT")
    assert ep.read() == b""


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s13c_unacceptable_segment_in_syn_received_is_dropped(profile: str) -> None:
    """§3.10.7.4 first: "If an incoming segment is not acceptable, an acknowledgment should be sent in
    reply ...: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. After sending the acknowledgment, drop the
    unacceptable segment and return." (Text starting at RCV.NXT+RCV.WND.)"""
    ep = in_state("SYN-RECEIVED", profile)
    out = feed(ep, f"<SEQ={101 + 65535}><ACK=301><CTL=ACK><DATA=10>")
    assert_sent(out, "<SEQ=301><ACK=101><CTL=ACK>")
    _dropped(ep, "SYN-RECEIVED")


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s13b_unacceptable_segment_in_time_wait_is_dropped(profile: str) -> None:
    """§3.10.7.4 first: "an acknowledgment should be sent in reply ...: <SEQ=SND.NXT><ACK=RCV.NXT>
    <CTL=ACK>. After sending the acknowledgment, drop the unacceptable segment and return." Old text
    (92..101, wholly below RCV.NXT = 102) carrying an old SEG.ACK (301, not SND.NXT = 302)."""
    ep = in_state("TIME-WAIT", profile)
    out = feed(ep, "<SEQ=92><ACK=301><CTL=ACK><DATA=10>")
    assert_sent(out, "<SEQ=302><ACK=102><CTL=ACK>")
    _dropped(ep, "TIME-WAIT")


@pytest.mark.parametrize("profile", SYN_CHALLENGE)
def test_3_10_7_4_s20b_syn_in_an_active_syn_received_is_dropped(profile: str) -> None:
    """§3.10.7.4 fourth, SYN-RECEIVED (active OPEN): "handle per the directions for synchronized states":
    "send a "challenge ACK" ...: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>", then "MUST drop the unacceptable
    segment and stop processing further"."""
    ep = in_state("SYN-RECEIVED/active", profile)
    assert_sent(feed(ep, "<SEQ=5000><CTL=SYN>"), "<SEQ=301><ACK=101><CTL=ACK>")
    _dropped(ep, "SYN-RECEIVED")


@pytest.mark.parametrize("state", ["SYN-RECEIVED", *SYNCHRONIZED])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_x3_segment_without_ack_bit_is_dropped(profile: str, state: str) -> None:
    """§3.10.7.4 fifth: "if the ACK bit is off, drop the segment and return" (in-window text at
    RCV.NXT, neither delivered nor acknowledged)."""
    ep = in_state(state, profile)
    _, rcv_nxt = NXT[state]
    nothing_sent(feed(ep, f"<SEQ={rcv_nxt}><CTL=none><DATA=5>"))
    _dropped(ep, state)
    assert ep.read() == b""
    assert ep.tcb.rcv_nxt == rcv_nxt


# ------------------------------------------------------------------------- 3. notices
@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u6_close_in_listen_tells_the_user_closing(profile: str) -> None:
    """§3.10.4 CLOSE, LISTEN STATE: "Any outstanding RECEIVEs are returned with "error: closing"
    responses. Delete TCB, enter CLOSED state, and return." """
    ep = listening(profile)
    ep.close()
    assert ep.state is State.CLOSED
    assert any("closing" in n for n in notices(ep))


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s32_fin_that_acks_our_fin_signals_connection_closing(profile: str) -> None:
    """§3.10.7.4 eighth: "If the FIN bit is set, signal the user "connection closing" and return any
    pending RECEIVEs with same message"; FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this
    segment), then enter TIME-WAIT"."""
    ep = in_state("FIN-WAIT-1", profile)
    feed(ep, "<SEQ=101><ACK=302><CTL=FIN,ACK>")
    assert ep.state is State.TIME_WAIT
    assert "connection closing" in notices(ep)


# ---------------------------------------------------- 4. ACK processing in CLOSING, LAST-ACK
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s27_ack_in_closing_advances_snd_una(profile: str) -> None:
    """§3.10.7.4 fifth, CLOSING: "In addition to the processing for the ESTABLISHED state, if the ACK
    acknowledges our FIN, then enter the TIME-WAIT state"; ESTABLISHED: "If SND.UNA < SEG.ACK =< SND.NXT,
    then set SND.UNA <- SEG.ACK." """
    ep = in_state("CLOSING", profile)
    nothing_sent(feed(ep, "<SEQ=102><ACK=302><CTL=ACK>"))
    assert ep.state is State.TIME_WAIT
    assert ep.tcb.snd_una == 302


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s28b_partial_ack_in_last_ack_leaves_only_the_fin_to_retransmit(profile: str) -> None:
    """§3.10.7.4 fifth, LAST-ACK (ESTABLISHED processing): "set SND.UNA <- SEG.ACK. Any segments on the
    retransmission queue that are thereby entirely acknowledged are removed"; §3.10.8: "if the
    retransmission timeout expires on a segment in the retransmission queue, send the segment at the
    front of the retransmission queue again". Text 301..303, FIN at 304; SEG.ACK = 304."""
    ep = in_state("CLOSE-WAIT", profile)
    assert_sent(ep.send(b"abc"), "<SEQ=301><ACK=102><CTL=ACK,PSH><DATA=3>")
    assert_sent(ep.close(), "<SEQ=304><ACK=102><CTL=FIN,ACK>")
    assert ep.state is State.LAST_ACK
    nothing_sent(feed(ep, "<SEQ=102><ACK=304><CTL=ACK>"))
    assert ep.state is State.LAST_ACK
    assert ep.tcb.snd_una == 304
    deadline = ep.armed_timers["retransmit"]
    assert_sent(ep.tick(deadline), "<SEQ=304><ACK=102><CTL=FIN,ACK>")


# ------------------------------------------------------------------- 5. delete the TCB
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s28_ack_of_our_fin_in_last_ack_deletes_the_tcb(profile: str) -> None:
    """§3.10.7.4 fifth, LAST-ACK: "If our FIN is now acknowledged, delete the TCB, enter the CLOSED
    state, and return." """
    ep = in_state("LAST-ACK", profile)
    nothing_sent(feed(ep, "<SEQ=102><ACK=302><CTL=ACK>"))
    _assert_fresh_tcb(ep)


@pytest.mark.parametrize("start", ["SYN-SENT", "ESTABLISHED"])
@pytest.mark.parametrize("profile", ALL)
def test_3_8_3_t4_giving_up_deletes_the_tcb(profile: str, start: str) -> None:
    """§3.8.3: "When the number of transmissions of the same segment reaches a threshold R2 greater than
    R1, close the connection" (MUST-20); §3.10.8 USER TIMEOUT alike: "flush all queues, signal the user
    ... delete the TCB, enter the CLOSED state"."""
    if start == "SYN-SENT":
        ep = _syn_sent(profile)
        state = State.SYN_SENT
    else:
        ep = passive_established(profile)
        ep.send(b"abc")
        state = State.ESTABLISHED
    assert run_until_state_leaves(ep, state) is not None
    _assert_fresh_tcb(ep)


# ---------------------------------------------------- 6. S32 turns off the other timers
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s32_time_wait_turns_off_the_other_timers(profile: str) -> None:
    """§3.10.7.4 eighth, FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this segment), then enter
    TIME-WAIT, start the time-wait timer, turn off the other timers"; the time-wait timer runs 2 MSL
    (§3.6.1). Text 301..303 and the FIN at 304 were outstanding with a user timeout set."""
    ep = in_state("ESTABLISHED", profile, user_timeout=300.0)
    ep.send(b"abc")
    assert_sent(ep.close(), "<SEQ=304><ACK=101><CTL=FIN,ACK>")
    assert {"retransmit", "user"} <= set(ep.armed_timers)   # the timers the FIN must turn off
    assert_sent(feed(ep, "<SEQ=101><ACK=305><CTL=FIN,ACK>"), "<SEQ=305><ACK=102><CTL=ACK>")
    assert ep.state is State.TIME_WAIT
    assert ep.armed_timers == {"time_wait": ep.now + 2 * MSL}


# -------------------------------------------------- 7. a FIN whose text overlaps old text
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_s30_fin_with_overlapping_text_acks_the_new_rcv_nxt(profile: str) -> None:
    """§3.10.7.4: "If a segment's contents straddle the boundary between old and new, only the new parts
    are processed"; seventh: "advances RCV.NXT over the data accepted"; eighth: "advance RCV.NXT over the
    FIN, and send an acknowledgment for the FIN". Text 101..110 was received; the FIN segment carries
    106..115 and the FIN at 116, so RCV.NXT = 117 (§3.4: "the FIN is considered to occur after the last actual data
    octet")."""
    ep = passive_established(profile)
    assert_sent(feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>"), "<SEQ=301><ACK=111><CTL=ACK>")
    out = feed(ep, "<SEQ=106><ACK=301><CTL=FIN,ACK><DATA=10>")
    assert_last(out, "<SEQ=301><ACK=117><CTL=ACK>")   # the RFC leaves open whether the text is ACKed apart
    assert ep.state is State.CLOSE_WAIT
    assert ep.read() == octets(101, 15)
    assert ep.tcb.rcv_nxt == 117
