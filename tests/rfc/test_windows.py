"""RFC 9293 §3.4 / §3.10.7.4 Table 6: segment acceptability, the zero window, trimming to the window,
and sequence numbers that wrap at 2**32.

The endpoint under test is B (ISS 300) in ESTABLISHED with RCV.NXT = 101; where the window's edge
matters it is made small with ``rcv_wnd``: RCV.WND = 100 puts the right edge RCV.NXT+RCV.WND at 201.
"""

from __future__ import annotations

import pytest

from tcpfsm import State
from tests.rfc.helpers import (
    ALL,
    SEQ_MOD,
    active_established,
    assert_last,
    assert_sent,
    feed,
    nothing_sent,
    octets,
    passive_established,
    seg,
)

ACK_ONLY = "<SEQ=301><ACK=101><CTL=ACK>"  # B's <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> with nothing accepted


# ------------------------------------------------------------------------- Table 6, case by case
@pytest.mark.parametrize(("seq", "acceptable"), [(101, True), (102, False), (100, False)])
@pytest.mark.parametrize("profile", ALL)
def test_table_6_length_0_window_0(profile: str, seq: int, acceptable: bool) -> None:
    """Table 6, SEG.LEN 0, RCV.WND 0: acceptable iff "SEG.SEQ = RCV.NXT"; an unacceptable segment gets
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (§3.10.7.4 first) with the current window, zero (§3.8.6.1)."""
    ep = passive_established(profile, rcv_wnd=0)
    out = feed(ep, f"<SEQ={seq}><ACK=301><CTL=ACK>")
    if acceptable:
        nothing_sent(out)
    else:
        assert_sent(out, "<SEQ=301><ACK=101><CTL=ACK><WND=0>")
    assert ep.state is State.ESTABLISHED


@pytest.mark.parametrize(("seq", "acceptable"), [(101, True), (200, True), (150, True), (201, False), (100, False)])
@pytest.mark.parametrize("profile", ALL)
def test_table_6_length_0_window_positive(profile: str, seq: int, acceptable: bool) -> None:
    """Table 6, SEG.LEN 0, RCV.WND > 0: acceptable iff "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND" (101..200)."""
    ep = passive_established(profile, rcv_wnd=100)
    out = feed(ep, f"<SEQ={seq}><ACK=301><CTL=ACK>")
    if acceptable:
        nothing_sent(out)
    else:
        assert_sent(out, ACK_ONLY)


@pytest.mark.parametrize("profile", ALL)
def test_table_6_length_positive_window_0_is_not_acceptable(profile: str) -> None:
    """Table 6, SEG.LEN > 0, RCV.WND 0: "not acceptable". §3.8.6.1: "When the receiving TCP peer has a
    zero window and a segment arrives, it must still send an acknowledgment showing its next expected
    sequence number and current window (zero)." """
    ep = passive_established(profile, rcv_wnd=0)
    out = feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>")
    assert_sent(out, "<SEQ=301><ACK=101><CTL=ACK><WND=0>")
    assert ep.read() == b""
    assert ep.tcb.rcv_nxt == 101


@pytest.mark.parametrize(("seq", "n", "new"), [
    (101, 10, 10),    # begins at RCV.NXT
    (91, 20, 10),     # "RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND": only 101..110 is new
    (191, 10, 0),     # in the window but beyond RCV.NXT: held (SHLD-31, test_out_of_order.py)
    (81, 20, 0),      # last octet 100 < RCV.NXT: neither test holds
    (201, 10, 0),     # first octet = RCV.NXT+RCV.WND: neither test holds
])
@pytest.mark.parametrize("profile", ALL)
def test_table_6_length_positive_window_positive(profile: str, seq: int, n: int, new: int) -> None:
    """Table 6, SEG.LEN > 0, RCV.WND > 0: acceptable iff "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND or
    RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND". §3.10.7.4 first: "If a segment's contents straddle
    the boundary between old and new, only the new parts are processed." The last ACK acknowledges
    RCV.NXT (an in-window segment beyond RCV.NXT is ACKed at once, RFC 5681 §4.2, D1)."""
    ep = passive_established(profile, rcv_wnd=100)
    out = feed(ep, f"<SEQ={seq}><ACK=301><CTL=ACK><DATA={n}>")
    assert_last(out, f"<SEQ=301><ACK={101 + new}><CTL=ACK>")
    assert ep.read() == octets(101, new)


# --------------------------------------------------------------------------- the zero window
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_zero_window_still_processes_the_ack_field(profile: str) -> None:
    """§3.10.7.4 first: "If the RCV.WND is zero, no segments will be acceptable, but special allowance
    should be made to accept valid ACKs, URGs, and RSTs"; §3.4: "it is possible for a TCP implementation
    to maintain a zero receive window while transmitting data and receiving ACKs" (D4)."""
    ep = passive_established(profile, rcv_wnd=0)
    assert_sent(ep.send(b"abc"), "<SEQ=301><ACK=101><CTL=ACK,PSH><DATA=3><WND=0>")
    out = feed(ep, "<SEQ=101><ACK=304><CTL=ACK><DATA=10>")      # text we cannot take, ACK of our 3 octets
    assert_sent(out, "<SEQ=304><ACK=101><CTL=ACK><WND=0>")
    assert ep.tcb.snd_una == 304
    assert "retransmit" not in ep.armed_timers
    assert ep.read() == b""


@pytest.mark.parametrize("profile", ALL)
def test_3_4_must_66_reset_is_processed_with_a_zero_window(profile: str) -> None:
    """§3.4 MUST-66: "A TCP receiver MUST process the RST and URG fields of all incoming segments, even
    when the receive window is zero." """
    ep = passive_established(profile, rcv_wnd=0)
    nothing_sent(feed(ep, "<SEQ=101><CTL=RST>"))
    assert ep.state is State.CLOSED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_zero_window_fin_is_not_taken(profile: str) -> None:
    """Table 6: with RCV.WND 0 a segment with SEG.LEN > 0 (a FIN counts, §3.4) is "not acceptable": it
    is acknowledged with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and the state is unchanged."""
    ep = passive_established(profile, rcv_wnd=0)
    assert_sent(feed(ep, "<SEQ=101><ACK=301><CTL=FIN,ACK>"), "<SEQ=301><ACK=101><CTL=ACK><WND=0>")
    assert ep.state is State.ESTABLISHED


# ------------------------------------------------------------------------------- trimming
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_text_beyond_the_window_is_trimmed(profile: str) -> None:
    """§3.10.7.4 first: "One could tailor actual segments to fit this assumption by trimming off any
    portions that lie outside the window (including SYN and FIN)" (D5): of 101..120 with RCV.WND 10
    only 101..110 is taken."""
    ep = passive_established(profile, rcv_wnd=10)
    out = feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=20>")
    assert_last(out, "<SEQ=301><ACK=111><CTL=ACK>")
    assert ep.read() == octets(101, 10)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_fin_at_the_right_edge_is_trimmed_off(profile: str) -> None:
    """§3.10.7.4 first: trim "any portions that lie outside the window (including SYN and FIN)" (D5): the
    FIN at 111 = RCV.NXT+RCV.WND is outside, so it is not processed and the state stays ESTABLISHED."""
    ep = passive_established(profile, rcv_wnd=10)
    out = feed(ep, "<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=10>")
    assert_last(out, "<SEQ=301><ACK=111><CTL=ACK>")
    assert ep.read() == octets(101, 10)
    assert ep.state is State.ESTABLISHED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_fin_on_the_last_number_of_the_window_is_taken(profile: str) -> None:
    """§3.4: the window holds RCV.NXT .. RCV.NXT+RCV.WND-1 (101..110): a FIN at 110 lies inside it and is
    processed (eighth step: "advance RCV.NXT over the FIN ... Enter the CLOSE-WAIT state")."""
    ep = passive_established(profile, rcv_wnd=10)
    out = feed(ep, "<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=9>")
    assert_last(out, "<SEQ=301><ACK=111><CTL=ACK>")
    assert ep.read() == octets(101, 9)
    assert ep.state is State.CLOSE_WAIT


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_4_old_part_of_a_straddling_fin_segment_is_skipped(profile: str) -> None:
    """§3.10.7.4 first: "only the new parts are processed": 91..105 carries 10 old octets, 5 new ones
    and a FIN at 106."""
    ep = passive_established(profile)
    out = feed(ep, "<SEQ=91><ACK=301><CTL=FIN,ACK><DATA=15>")
    assert_last(out, "<SEQ=301><ACK=107><CTL=ACK>")
    assert ep.read() == octets(101, 5)
    assert ep.state is State.CLOSE_WAIT


# --------------------------------------------------------------------- wrap-around at 2**32-1
@pytest.mark.parametrize("profile", ALL)
def test_3_4_our_sequence_numbers_wrap_after_2_32_minus_1(profile: str) -> None:
    """§3.4: the sequence number space "ranges from 0 to 2^32 - 1"; §3.10: "all arithmetic on sequence
    numbers ... is modulo 2^32": with ISS = 2**32-1 the SYN is at 4294967295 and the next number is 0."""
    ep = active_established(profile, iss=SEQ_MOD - 1, irs=300)
    assert (ep.tcb.snd_una, ep.tcb.snd_nxt) == (0, 0)
    assert_sent(ep.send(b"ab"), "<SEQ=0><ACK=301><CTL=ACK,PSH><DATA=2>")
    assert_sent(ep.close(), "<SEQ=2><ACK=301><CTL=FIN,ACK>")


@pytest.mark.parametrize("profile", ALL)
def test_3_4_syn_ack_acknowledging_a_wrapped_syn_is_acceptable(profile: str) -> None:
    """§3.10.7.3: "If SND.UNA < SEG.ACK =< SND.NXT, then the ACK is acceptable" with ISS = 2**32-1,
    SND.NXT = 0: SEG.ACK = 0 is acceptable, SEG.ACK = 2**32-1 (= ISS) is not."""
    from tcpfsm import Endpoint

    ep = Endpoint(iss=SEQ_MOD - 1, profile=profile)
    assert_sent(ep.connect(), "<SEQ=4294967295><CTL=SYN>")
    assert_sent(feed(ep, "<SEQ=300><ACK=4294967295><CTL=SYN,ACK>"), "<SEQ=4294967295><CTL=RST>")
    assert ep.state is State.SYN_SENT
    assert_sent(feed(ep, "<SEQ=300><ACK=0><CTL=SYN,ACK>"), "<SEQ=0><ACK=301><CTL=ACK>")
    assert ep.state is State.ESTABLISHED


@pytest.mark.parametrize("profile", ALL)
def test_3_4_received_sequence_numbers_wrap(profile: str) -> None:
    """§3.10: "all arithmetic on sequence numbers, acknowledgment numbers, windows, et cetera, is modulo
    2**32": IRS = 2**32-6, RCV.NXT = 2**32-5; ten octets take RCV.NXT to 5; the FIN after them to 6."""
    ep = active_established(profile, iss=100, irs=SEQ_MOD - 6)
    assert ep.tcb.rcv_nxt == SEQ_MOD - 5
    out = feed(ep, "<SEQ=4294967291><ACK=101><CTL=ACK><DATA=10>")
    assert_last(out, "<SEQ=101><ACK=5><CTL=ACK>")
    assert ep.read() == octets(SEQ_MOD - 5, 10)
    assert_last(feed(ep, "<SEQ=5><ACK=101><CTL=FIN,ACK>"), "<SEQ=101><ACK=6><CTL=ACK>")
    assert ep.state is State.CLOSE_WAIT


@pytest.mark.parametrize(("seq", "acceptable"), [(4294967291, True), (10, True), (94, True), (95, False),
                                                 (4294967290, False)])
@pytest.mark.parametrize("profile", ALL)
def test_table_6_window_across_the_wrap(profile: str, seq: int, acceptable: bool) -> None:
    """Table 6 modulo 2**32: RCV.NXT = 2**32-5 and RCV.WND = 100 make the window 4294967291 .. 94."""
    ep = active_established(profile, iss=100, irs=SEQ_MOD - 6, rcv_wnd=100)
    out = ep.receive(seg(f"<SEQ={seq}><ACK=101><CTL=ACK>"))
    if acceptable:
        nothing_sent(out)
    else:
        assert_sent(out, "<SEQ=101><ACK=4294967291><CTL=ACK>")
