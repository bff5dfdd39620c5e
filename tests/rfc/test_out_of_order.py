"""Out-of-order arrival of text and FIN (RFC 9293 §3.10.7.4 SHLD-31, RFC 5681 §4.2; decision D1).

RFC 9293 §3.10.7.4 first: "Segments with higher beginning sequence numbers SHOULD be held for later
processing (SHLD-31)", and "further processing is done in SEG.SEQ order". RFC 5681 §4.2: "A TCP
receiver SHOULD send an immediate duplicate ACK when an out-of-order segment arrives" and "a TCP
receiver SHOULD send an immediate ACK when the incoming segment fills in all or part of a gap in the
sequence space".
How many ACKs go out when a gap is filled is left open (MUST-58 asks to aggregate them): the tests
check only that the last one covers everything.

B (ISS 300) is ESTABLISHED with RCV.NXT = 101; the peer's text is numbered from 101.
"""

from __future__ import annotations

import pytest

from tcpfsm import State
from tests.rfc.helpers import ALL, assert_last, assert_sent, feed, in_state, octets, passive_established

DUP_ACK = "<SEQ=301><ACK=101><CTL=ACK>"


@pytest.mark.parametrize("profile", ALL)
def test_shld_31_segment_beyond_rcv_nxt_is_held_and_acked_at_once(profile: str) -> None:
    """SHLD-31 + RFC 5681 §4.2: 111..120 arrives before 101..110: it is held, not delivered, and
    answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> at once."""
    ep = passive_established(profile)
    assert_sent(feed(ep, "<SEQ=111><ACK=301><CTL=ACK><DATA=10>"), DUP_ACK)
    assert ep.read() == b""
    assert ep.tcb.rcv_nxt == 101


@pytest.mark.parametrize("profile", ALL)
def test_shld_31_held_text_is_delivered_in_order_when_the_gap_fills(profile: str) -> None:
    """§3.10.7.4: "further processing is done in SEG.SEQ order": once 101..110 arrives, 101..120 is
    delivered in order and acknowledged up to 121."""
    ep = passive_established(profile)
    feed(ep, "<SEQ=111><ACK=301><CTL=ACK><DATA=10>")
    out = feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>")
    assert_last(out, "<SEQ=301><ACK=121><CTL=ACK>")
    assert ep.read() == octets(101, 20)


@pytest.mark.parametrize("profile", ALL)
def test_shld_31_three_segments_in_reverse_order(profile: str) -> None:
    """§3.10.7.4: segments 121..130, 111..120, 101..110 arrive in that order; each early one draws the
    duplicate ACK of 101, and the last delivers all thirty octets in order."""
    ep = passive_established(profile)
    assert_sent(feed(ep, "<SEQ=121><ACK=301><CTL=ACK><DATA=10>"), DUP_ACK)
    assert_sent(feed(ep, "<SEQ=111><ACK=301><CTL=ACK><DATA=10>"), DUP_ACK)
    assert ep.read() == b""
    assert_last(feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>"), "<SEQ=301><ACK=131><CTL=ACK>")
    assert ep.read() == octets(101, 30)


@pytest.mark.parametrize("profile", ALL)
def test_shld_31_partial_fill_acknowledges_only_the_contiguous_part(profile: str) -> None:
    """RFC 5681 §4.2: a segment that fills part of a gap is ACKed at once; RCV.NXT covers only what is
    contiguous (101..110), not the held 121..130."""
    ep = passive_established(profile)
    feed(ep, "<SEQ=121><ACK=301><CTL=ACK><DATA=10>")
    assert_last(feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>"), "<SEQ=301><ACK=111><CTL=ACK>")
    assert ep.read() == octets(101, 10)
    assert_last(feed(ep, "<SEQ=111><ACK=301><CTL=ACK><DATA=10>"), "<SEQ=301><ACK=131><CTL=ACK>")
    assert ep.read() == octets(111, 20)


@pytest.mark.parametrize("profile", ALL)
def test_shld_31_fin_that_overtakes_text_does_not_close_yet(profile: str) -> None:
    """§3.10.7.4: the FIN at 111 is processed "in SEG.SEQ order", after the text 101..110 it follows: on
    arrival it changes no state and is not acknowledged (the ACK still says 101)."""
    ep = passive_established(profile)
    assert_sent(feed(ep, "<SEQ=111><ACK=301><CTL=FIN,ACK>"), DUP_ACK)
    assert ep.state is State.ESTABLISHED


@pytest.mark.parametrize("profile", ALL)
def test_shld_31_held_fin_is_processed_once_the_text_before_it_arrives(profile: str) -> None:
    """§3.10.7.4 eighth, processed in order: when 101..110 arrives the held FIN at 111 follows it:
    ESTABLISHED -> CLOSE-WAIT and the last ACK acknowledges the FIN (ACK = 112)."""
    ep = passive_established(profile)
    feed(ep, "<SEQ=111><ACK=301><CTL=FIN,ACK>")
    out = feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>")
    assert ep.state is State.CLOSE_WAIT
    assert_last(out, "<SEQ=301><ACK=112><CTL=ACK>")
    assert ep.read() == octets(101, 10)


@pytest.mark.parametrize("profile", ALL)
def test_shld_31_held_text_and_fin_together(profile: str) -> None:
    """The held segment carries text and the FIN (111..120, FIN at 121): filling 101..110 delivers all
    twenty octets, takes the FIN (CLOSE-WAIT) and acknowledges 122."""
    ep = passive_established(profile)
    assert_sent(feed(ep, "<SEQ=111><ACK=301><CTL=FIN,ACK><DATA=10>"), DUP_ACK)
    out = feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>")
    assert ep.state is State.CLOSE_WAIT
    assert_last(out, "<SEQ=301><ACK=122><CTL=ACK>")
    assert ep.read() == octets(101, 20)


@pytest.mark.parametrize("profile", ALL)
def test_shld_31_held_fin_in_fin_wait_2_leads_to_time_wait(profile: str) -> None:
    """FIN-WAIT-2, the peer's FIN at 111 overtakes its text 101..110: when the text arrives, the FIN is
    processed (eighth step, FIN-WAIT-2: "Enter the TIME-WAIT state") and acknowledged (ACK = 112)."""
    ep = in_state("FIN-WAIT-2", profile)
    assert_sent(feed(ep, "<SEQ=111><ACK=302><CTL=FIN,ACK>"), "<SEQ=302><ACK=101><CTL=ACK>")
    assert ep.state is State.FIN_WAIT_2
    out = feed(ep, "<SEQ=101><ACK=302><CTL=ACK><DATA=10>")
    assert ep.state is State.TIME_WAIT
    assert_last(out, "<SEQ=302><ACK=112><CTL=ACK>")
    assert ep.read() == octets(101, 10)


@pytest.mark.parametrize("profile", ALL)
def test_shld_31_duplicate_of_a_held_segment_changes_nothing(profile: str) -> None:
    """A retransmission of the held 111..120 before the gap fills is held once: after 101..110 arrives
    the stream is 101..120 exactly, without a repeated octet."""
    ep = passive_established(profile)
    feed(ep, "<SEQ=111><ACK=301><CTL=ACK><DATA=10>")
    assert_sent(feed(ep, "<SEQ=111><ACK=301><CTL=ACK><DATA=10>"), DUP_ACK)
    assert_last(feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>"), "<SEQ=301><ACK=121><CTL=ACK>")
    assert ep.read() == octets(101, 20)
