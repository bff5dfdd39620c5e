"""RFC 793 behaviour (profile rfc793; decision D8): an in-window SYN in a synchronized state resets.

RFC 793 §3.9 (p. 71), kept by RFC 9293 §3.10.7.4 fourth "for implementations that do not follow RFC
5961": "If the SYN is in the window it is an error: send a reset, any outstanding RECEIVEs and SEND
should receive "reset" responses, all segment queues should be flushed, the user should also receive
an unsolicited general "connection reset" signal, enter the CLOSED state, delete the TCB, and return."
The reset is formed as RFC 793 §3.4 ("Reset Generation") forms one: "If the incoming segment has an
ACK field, the reset takes its sequence number from the ACK field of the segment, otherwise the reset
has sequence number zero and the ACK field is set to the sum of the sequence number and segment
length of the incoming segment." RFC 793 lists SYN-RECEIVED with the synchronized states there; the
return to LISTEN on a SYN (RFC 9293's S19) is not RFC 793's.
"""

from __future__ import annotations

import pytest

from tcpfsm import State
from tests.rfc.helpers import NXT, SYNCHRONIZED, assert_sent, feed, in_state, notices

P = "rfc793"


@pytest.mark.parametrize("state", ("SYN-RECEIVED", "SYN-RECEIVED/active", *SYNCHRONIZED))
def test_rfc793_in_window_syn_without_ack_is_reset(state: str) -> None:
    """No ACK bit: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (the SYN and its 10 octets: 5000 + 11)."""
    ep = in_state(state, P)
    _, rcv_nxt = NXT[state]
    syn = rcv_nxt + 4000 if state == "TIME-WAIT" else 5000
    assert_sent(feed(ep, f"<SEQ={syn}><CTL=SYN><DATA=10>"), f"<SEQ=0><ACK={syn + 11}><CTL=RST,ACK>")
    assert ep.state is State.CLOSED
    assert ep.armed_timers == {}


@pytest.mark.parametrize("state", SYNCHRONIZED)
def test_rfc793_in_window_syn_with_ack_is_reset_from_seg_ack(state: str) -> None:
    """ACK bit on: <SEQ=SEG.ACK><CTL=RST>; the user is told "connection reset"."""
    ep = in_state(state, P)
    snd_nxt, _ = NXT[state]
    assert_sent(feed(ep, f"<SEQ=5000><ACK={snd_nxt}><CTL=SYN,ACK>"), f"<SEQ={snd_nxt}><CTL=RST>")
    assert ep.state is State.CLOSED
    if state in ("ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"):
        assert "connection reset" in notices(ep)


@pytest.mark.parametrize("state", SYNCHRONIZED)
def test_rfc793_syn_outside_the_window_is_acked(state: str) -> None:
    """RFC 793 §3.9 first ("If an incoming segment is not acceptable, an acknowledgment should be sent in
    reply"): a SYN below RCV.NXT never reaches the SYN check; <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    ep = in_state(state, P)
    snd_nxt, rcv_nxt = NXT[state]
    assert_sent(feed(ep, "<SEQ=50><CTL=SYN>"), f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=ACK>")
    assert ep.state_name == state


def test_rfc793_no_reopening_from_time_wait() -> None:
    """MAY-2 came with RFC 1122 §4.2.2.13: under RFC 793 a new in-window SYN in TIME-WAIT is the error
    above, answered with <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, and the TCB is deleted."""
    ep = in_state("TIME-WAIT", P)
    assert_sent(feed(ep, "<SEQ=5000><CTL=SYN>"), "<SEQ=0><ACK=5001><CTL=RST,ACK>")
    assert ep.state is State.CLOSED
