"""TIME-WAIT: reopening on a new SYN (RFC 9293 §3.6.1 MAY-2, both conditions; decision D2) and the
TIME-WAIT assassination fix of RFC 1337 (profile rfc1337).

RFC 9293 §3.6.1: "it MAY accept a new SYN from the remote TCP endpoint to reopen the connection
directly from TIME-WAIT state (MAY-2), if it: (1) assigns its initial sequence number for the new
connection to be larger than the largest sequence number it used on the previous connection
incarnation, and (2) returns to TIME-WAIT state if the SYN turns out to be an old duplicate."

B (ISS 300) closed first: its old connection used 300 (SYN) .. 1300 (text) and 1301 (FIN); the
peer's used 100 .. 101 (FIN), so in TIME-WAIT SND.NXT = 1302 and RCV.NXT = 102.
"""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint, State
from tests.rfc.helpers import (
    ALL,
    MSL,
    REOPEN,
    SYN_CHALLENGE,
    TIME_WAIT_RST_CLOSES,
    assert_sent,
    feed,
    in_state,
    nothing_sent,
    passive_established,
    seq_gt,
)

#: MAY-2 (2) as well: Linux deletes the TIME-WAIT socket when the new SYN opens a connection, so an old
#: duplicate cannot return it there (tcp_timewait_state_process); linux is left out of condition (2).
RETURN_TO_TIME_WAIT = tuple(p for p in REOPEN if p != "linux")

OLD_FIN = "<SEQ=101><ACK=1302><CTL=FIN,ACK>"      # the peer's FIN of the old connection, again
OLD_ACK = "<SEQ=1302><ACK=102><CTL=ACK>"          # B's <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> in TIME-WAIT


def _time_wait(profile: str) -> Endpoint:
    """B sent 1000 octets (301..1300), closed (FIN at 1301), and received the peer's FIN (at 101)."""
    ep = passive_established(profile)
    ep.send(bytes(1000))
    ep.close()
    feed(ep, "<SEQ=101><ACK=1302><CTL=ACK>", OLD_FIN)
    assert ep.state is State.TIME_WAIT
    assert ep.armed_timers == {"time_wait": 2 * MSL}
    return ep


# ------------------------------------------------------------------ MAY-2, condition (1)
@pytest.mark.parametrize("profile", REOPEN)
def test_3_6_1_may_2_new_syn_reopens_with_a_larger_iss(profile: str) -> None:
    """MAY-2 (1): a SYN beyond RCV.NXT reopens the connection (SYN-RECEIVED, §3.10.7.2's
    <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>) with an ISS above 1301, the largest number B used before."""
    ep = _time_wait(profile)
    ep.tick(10.0)
    out = feed(ep, "<SEQ=5000><CTL=SYN>")
    assert ep.state is State.SYN_RECEIVED
    assert len(out) == 1
    iss = out[0].seq
    assert_sent(out, f"<SEQ={iss}><ACK=5001><CTL=SYN,ACK>")
    assert seq_gt(iss, 1301), f"new ISS {iss} is not larger than 1301"


@pytest.mark.parametrize("profile", REOPEN)
def test_3_6_1_may_2_reopened_connection_completes_its_handshake(profile: str) -> None:
    """MAY-2: the reopened connection is a new incarnation; the peer's ACK of the new SYN establishes it
    (§3.10.7.4 fifth, SYN-RECEIVED) and text flows with the new numbers."""
    ep = _time_wait(profile)
    [synack] = feed(ep, "<SEQ=5000><CTL=SYN>")
    iss = synack.seq
    nothing_sent(feed(ep, f"<SEQ=5001><ACK={iss + 1}><CTL=ACK>"))
    assert ep.state is State.ESTABLISHED
    assert_sent(ep.send(b"new"), f"<SEQ={iss + 1}><ACK=5001><CTL=ACK,PSH><DATA=3>")


# ------------------------------------------------------------------ MAY-2, condition (2)
@pytest.mark.parametrize("profile", RETURN_TO_TIME_WAIT)
def test_3_6_1_may_2_old_duplicate_syn_returns_to_time_wait(profile: str) -> None:
    """MAY-2 (2): "returns to TIME-WAIT state if the SYN turns out to be an old duplicate": the peer
    answers the SYN,ACK with <SEQ=SEG.ACK><CTL=RST> (= 5001, as Figure 8 line 5); B is back in TIME-WAIT
    with the 2 MSL wait running (not ending before the old one would have, MUST-13), and answers a
    retransmitted FIN of the old connection with the old numbers (§3.10.7.4, TIME-WAIT)."""
    ep = _time_wait(profile)
    ep.tick(10.0)
    feed(ep, "<SEQ=5000><CTL=SYN>")
    ep.tick(11.0)
    nothing_sent(feed(ep, "<SEQ=5001><CTL=RST>"))
    assert ep.state is State.TIME_WAIT
    assert ep.armed_timers.get("time_wait", 0.0) >= 2 * MSL
    assert_sent(feed(ep, OLD_FIN), OLD_ACK)
    assert ep.state is State.TIME_WAIT


@pytest.mark.parametrize("profile", RETURN_TO_TIME_WAIT)
def test_3_6_1_may_2_returned_time_wait_still_ends_in_closed(profile: str) -> None:
    """MAY-2 (2) then §3.10.8 TIME-WAIT TIMEOUT: the restored TIME-WAIT ends in CLOSED when its timer expires."""
    ep = _time_wait(profile)
    feed(ep, "<SEQ=5000><CTL=SYN>", "<SEQ=5001><CTL=RST>")
    deadline = ep.next_deadline()
    assert deadline is not None
    ep.tick(deadline)
    assert ep.state is State.CLOSED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_old_syn_in_time_wait_is_acked(profile: str) -> None:
    """§3.10.7.4 first: a SYN below RCV.NXT is unacceptable: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and
    TIME-WAIT is kept (it is no newer than the old connection, so MAY-2 does not apply)."""
    ep = _time_wait(profile)
    assert_sent(feed(ep, "<SEQ=50><CTL=SYN>"), OLD_ACK)
    assert ep.state is State.TIME_WAIT


@pytest.mark.parametrize("profile", SYN_CHALLENGE)
def test_3_10_7_4_syn_at_rcv_nxt_in_time_wait_draws_a_challenge_ack(profile: str) -> None:
    """A SYN at RCV.NXT (102) is not beyond the old connection (MAY-2 / RFC 6191 want a larger SEQ), so
    §3.10.7.4 fourth applies: the challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; TIME-WAIT is kept."""
    ep = _time_wait(profile)
    assert_sent(feed(ep, "<SEQ=102><CTL=SYN>"), OLD_ACK)
    assert ep.state is State.TIME_WAIT


# ------------------------------------------------------------------------- RFC 1337
def test_rfc1337_f1_reset_in_time_wait_is_ignored() -> None:
    """RFC 1337 §3 fix (F1): "Ignore RST segments in TIME-WAIT state. If the 2 minute MSL is enforced, this
    fix avoids all three hazards." TIME-WAIT is kept for its full 2 MSL."""
    ep = in_state("TIME-WAIT", "rfc1337")
    nothing_sent(feed(ep, "<SEQ=102><CTL=RST>"))
    assert ep.state is State.TIME_WAIT
    assert ep.armed_timers == {"time_wait": 2 * MSL}
    ep.tick(2 * MSL - 1)
    assert ep.state is State.TIME_WAIT
    ep.tick(2 * MSL)
    assert ep.state is State.CLOSED


@pytest.mark.parametrize("profile", ("rfc1337", *TIME_WAIT_RST_CLOSES))
def test_rfc1337_2_time_wait_assassination(profile: str) -> None:
    """RFC 1337 §2: an old duplicate reaches the TIME-WAIT end, which answers it with an ACK (RFC 9293
    §3.10.7.4 first); the peer, already CLOSED, answers that ACK with <SEQ=SEG.ACK><CTL=RST>
    (§3.10.7.1). RFC 9293 then enters CLOSED ("If the RST bit is set, then enter the CLOSED state"):
    the assassination. Under rfc1337 (F1) the RST is ignored and TIME-WAIT survives."""
    b = in_state("TIME-WAIT", profile)
    a = Endpoint(iss=7000, profile=profile)                      # the peer, whose LAST-ACK ended: CLOSED
    ack = feed(b, "<SEQ=90><ACK=302><CTL=ACK><DATA=5>")          # an old duplicate of the peer's text
    assert_sent(ack, "<SEQ=302><ACK=102><CTL=ACK>")
    rst = a.receive(ack[0])
    assert_sent(rst, "<SEQ=102><CTL=RST>")
    nothing_sent(b.receive(rst[0]))
    assert b.state is (State.TIME_WAIT if profile == "rfc1337" else State.CLOSED)


def test_rfc1337_f1_applies_to_time_wait_only() -> None:
    """RFC 1337 F1 names TIME-WAIT only: in LAST-ACK an RST still "enter[s] the CLOSED state" (RFC 9293
    §3.10.7.4 second)."""
    ep = in_state("LAST-ACK", "rfc1337")
    nothing_sent(feed(ep, "<SEQ=102><CTL=RST>"))
    assert ep.state is State.CLOSED
