"""RFC 9293 §3.10.7.1-§3.10.7.3: a segment arrives in CLOSED, LISTEN or SYN-SENT (rows S1-S12, S35)."""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint, State
from tests.rfc.helpers import (
    ALL,
    assert_last,
    assert_sent,
    feed,
    listening,
    nothing_sent,
    notices,
    octets,
    seg,
)


def _syn_sent(profile: str) -> Endpoint:
    ep = Endpoint(iss=100, profile=profile)   # TCP Peer A of Figure 6
    assert_sent(ep.connect(), "<SEQ=100><CTL=SYN>")
    return ep


# ------------------------------------------------------------------ CLOSED (§3.10.7.1)
@pytest.mark.parametrize(("arrives", "reset"), [
    # "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>" (Figure 10: data to a rebooted peer)
    ("<SEQ=300><ACK=100><CTL=ACK><DATA=10>", "<SEQ=100><CTL=RST>"),
    ("<SEQ=300><ACK=101><CTL=SYN,ACK>", "<SEQ=101><CTL=RST>"),
    ("<SEQ=300><ACK=7><CTL=FIN,ACK>", "<SEQ=7><CTL=RST>"),
    # "If the ACK bit is off, sequence number zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
    ("<SEQ=100><CTL=SYN>", "<SEQ=0><ACK=101><CTL=RST,ACK>"),            # SEG.LEN = 1 (the SYN)
    ("<SEQ=100><CTL=SYN><DATA=5>", "<SEQ=0><ACK=106><CTL=RST,ACK>"),    # SYN + 5 octets
    ("<SEQ=50><CTL=FIN>", "<SEQ=0><ACK=51><CTL=RST,ACK>"),              # the FIN counts too
    ("<SEQ=50><CTL=none><DATA=10>", "<SEQ=0><ACK=60><CTL=RST,ACK>"),
    ("<SEQ=4294967295><CTL=SYN>", "<SEQ=0><ACK=0><CTL=RST,ACK>"),       # modulo 2**32
])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_1_s1_closed_answers_with_an_acceptable_reset(profile: str, arrives: str, reset: str) -> None:
    """§3.10.7.1: "An incoming segment not containing a RST causes a RST to be sent in response. The
    acknowledgment and sequence field values are selected to make the reset sequence acceptable"."""
    ep = Endpoint(iss=300, profile=profile)
    assert_sent(feed(ep, arrives), reset)
    assert ep.state is State.CLOSED
    assert ep.read() == b""  # "all data in the incoming segment is discarded"


@pytest.mark.parametrize("arrives", ["<SEQ=100><CTL=RST>", "<SEQ=100><ACK=5><CTL=RST,ACK>"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_1_s2_closed_discards_a_reset(profile: str, arrives: str) -> None:
    """§3.10.7.1: "An incoming segment containing a RST is discarded." (Glossary, RST: "In no case
    does receipt of a segment containing RST give rise to a RST in response.")"""
    ep = Endpoint(iss=300, profile=profile)
    nothing_sent(feed(ep, arrives))
    assert ep.state is State.CLOSED


# ------------------------------------------------------------------ LISTEN (§3.10.7.2)
@pytest.mark.parametrize("arrives", ["<SEQ=100><CTL=RST>", "<SEQ=100><ACK=301><CTL=RST,ACK>"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_2_s3_listen_ignores_a_reset(profile: str, arrives: str) -> None:
    """§3.10.7.2 first: "An incoming RST should be ignored. Return." """
    ep = listening(profile)
    nothing_sent(feed(ep, arrives))
    assert ep.state is State.LISTEN


@pytest.mark.parametrize(("arrives", "reset"), [
    ("<SEQ=90><ACK=301><CTL=ACK>", "<SEQ=301><CTL=RST>"),
    ("<SEQ=300><ACK=91><CTL=SYN,ACK>", "<SEQ=91><CTL=RST>"),       # Figure 11 lines 3-4 (X=300, Z=90)
    ("<SEQ=90><ACK=5><CTL=FIN,ACK>", "<SEQ=5><CTL=RST>"),
    ("<SEQ=90><ACK=77><CTL=ACK><DATA=10>", "<SEQ=77><CTL=RST>"),
])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_2_s4_listen_resets_any_ack_bearing_segment(profile: str, arrives: str, reset: str) -> None:
    """§3.10.7.2 second: "Any acknowledgment is bad if it arrives on a connection still in the LISTEN
    state. An acceptable reset segment should be formed ...: <SEQ=SEG.ACK><CTL=RST>"."""
    ep = listening(profile)
    assert_sent(feed(ep, arrives), reset)
    assert ep.state is State.LISTEN


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_2_s5_listen_answers_a_syn_with_syn_ack(profile: str) -> None:
    """§3.10.7.2 third: "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... a SYN segment sent of the
    form: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. SND.NXT is set to ISS+1 and SND.UNA to ISS. The
    connection state should be changed to SYN-RECEIVED." (Figure 6 line 3.)"""
    ep = listening(profile)
    assert_sent(feed(ep, "<SEQ=100><CTL=SYN>"), "<SEQ=300><ACK=101><CTL=SYN,ACK>")
    assert ep.state is State.SYN_RECEIVED
    t = ep.tcb
    assert (t.irs, t.rcv_nxt, t.snd_una, t.snd_nxt) == (100, 101, 300, 301)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_2_s5_text_on_a_syn_is_queued_until_established(profile: str) -> None:
    """§3.10.7.2 third: "any other control or text should be queued for processing later" and §3.5:
    "the receiving TCP endpoint doesn't deliver the data to the user until it is clear the data is
    valid (e.g., the data is buffered at the receiver until the connection reaches the ESTABLISHED
    state" (D6). The SYN,ACK acknowledges RCV.NXT = SEG.SEQ+1, the SYN only."""
    ep = listening(profile)
    assert_sent(feed(ep, "<SEQ=100><CTL=SYN><DATA=5>"), "<SEQ=300><ACK=101><CTL=SYN,ACK>")
    assert ep.read() == b""
    out = feed(ep, "<SEQ=106><ACK=301><CTL=ACK>")  # the peer's ACK of our SYN
    assert ep.state is State.ESTABLISHED
    assert ep.read() == octets(101, 5)
    assert_last(out, "<SEQ=301><ACK=106><CTL=ACK>")


@pytest.mark.parametrize("arrives", ["<SEQ=100><CTL=FIN>", "<SEQ=100><CTL=none><DATA=10>", "<SEQ=100><CTL=PSH>"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_2_s6_listen_drops_anything_else(profile: str, arrives: str) -> None:
    """§3.10.7.2 fourth: "Drop the segment and return." (§3.10.7.4 eighth, S35: a FIN is not
    processed in LISTEN "since the SEG.SEQ cannot be validated".)"""
    ep = listening(profile)
    nothing_sent(feed(ep, arrives))
    assert ep.state is State.LISTEN


# ---------------------------------------------------------------- SYN-SENT (§3.10.7.3)
@pytest.mark.parametrize(("arrives", "reset"), [
    ("<SEQ=300><ACK=100><CTL=ACK>", "<SEQ=100><CTL=RST>"),            # SEG.ACK = ISS (Figure 9 line 4-5)
    ("<SEQ=300><ACK=91><CTL=SYN,ACK>", "<SEQ=91><CTL=RST>"),          # SEG.ACK < ISS (Figure 8 lines 4-5)
    ("<SEQ=300><ACK=102><CTL=SYN,ACK>", "<SEQ=102><CTL=RST>"),        # SEG.ACK > SND.NXT
    ("<SEQ=300><ACK=5000><CTL=ACK><DATA=3>", "<SEQ=5000><CTL=RST>"),
])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s7_unacceptable_ack_in_syn_sent_is_reset(profile: str, arrives: str, reset: str) -> None:
    """§3.10.7.3 first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset ... <SEQ=SEG.ACK><CTL=RST>
    and discard the segment. Return." The state stays SYN-SENT (§3.5.2 group 2)."""
    ep = _syn_sent(profile)
    assert_sent(feed(ep, arrives), reset)
    assert ep.state is State.SYN_SENT
    assert ep.read() == b""


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s7_unacceptable_ack_with_rst_is_dropped(profile: str) -> None:
    """§3.10.7.3 first: "send a reset (unless the RST bit is set, if so drop the segment and return)"."""
    ep = _syn_sent(profile)
    nothing_sent(feed(ep, "<SEQ=300><ACK=100><CTL=RST,ACK>"))
    assert ep.state is State.SYN_SENT


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s8_reset_acknowledging_our_syn_refuses_the_connection(profile: str) -> None:
    """§3.10.7.3 second: "If the ACK was acceptable, then signal to the user "error: connection
    reset", drop the segment, enter CLOSED state, delete TCB, and return." (§3.5.3: in SYN-SENT "the
    RST is acceptable if the ACK field acknowledges the SYN".)"""
    ep = _syn_sent(profile)
    nothing_sent(feed(ep, "<SEQ=0><ACK=101><CTL=RST,ACK>"))
    assert ep.state is State.CLOSED
    assert any("reset" in n for n in notices(ep))
    assert ep.armed_timers == {}


@pytest.mark.parametrize("arrives", ["<SEQ=0><CTL=RST>", "<SEQ=300><CTL=RST>", "<SEQ=300><CTL=SYN,RST>"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s9_reset_without_ack_is_dropped(profile: str, arrives: str) -> None:
    """§3.10.7.3 second: "Otherwise (no ACK), drop the segment and return." """
    ep = _syn_sent(profile)
    nothing_sent(feed(ep, arrives))
    assert ep.state is State.SYN_SENT


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s10_syn_ack_completes_the_handshake(profile: str) -> None:
    """§3.10.7.3 fourth: "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ. SND.UNA should be
    advanced to equal SEG.ACK ... If SND.UNA > ISS (our SYN has been ACKed), change the connection
    state to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" (Figure 6 line 4)."""
    ep = _syn_sent(profile)
    assert_sent(feed(ep, "<SEQ=300><ACK=101><CTL=SYN,ACK>"), "<SEQ=101><ACK=301><CTL=ACK>")
    assert ep.state is State.ESTABLISHED
    t = ep.tcb
    assert (t.irs, t.rcv_nxt, t.snd_una, t.snd_nxt) == (300, 301, 101, 101)
    # "any segments on the retransmission queue that are thereby acknowledged should be removed"
    assert "retransmit" not in ep.armed_timers


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s10_text_on_the_syn_ack_is_delivered_and_acknowledged(profile: str) -> None:
    """§3.10.7.3 fourth: "If there are other controls or text in the segment, then continue processing
    at the sixth step under Section 3.10.7.4" (D6): the text is delivered and acknowledged."""
    ep = _syn_sent(profile)
    out = feed(ep, "<SEQ=300><ACK=101><CTL=SYN,ACK><DATA=5>")   # text at 301..305
    assert ep.state is State.ESTABLISHED
    assert ep.read() == octets(301, 5)
    assert_last(out, "<SEQ=101><ACK=306><CTL=ACK>")


@pytest.mark.parametrize(("arrives", "ack"), [
    ("<SEQ=300><ACK=101><CTL=SYN,FIN,ACK>", 302),            # SYN at 300, FIN at 301
    ("<SEQ=300><ACK=101><CTL=SYN,FIN,ACK><DATA=5>", 307),    # text at 301..305, FIN at 306
])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s10_fin_on_the_syn_ack_moves_on_to_close_wait(profile: str, arrives: str, ack: int) -> None:
    """§3.10.7.3 fourth: "continue processing at the sixth step"; §3.10.7.4 eighth, ESTABLISHED: "advance
    RCV.NXT over the FIN, and send an acknowledgment for the FIN ... Enter the CLOSE-WAIT state" (D6)."""
    ep = _syn_sent(profile)
    out = feed(ep, arrives)
    assert ep.state is State.CLOSE_WAIT
    assert_last(out, f"<SEQ=101><ACK={ack}><CTL=ACK>")
    assert ep.read() == octets(301, ack - 302)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s11_bare_syn_in_syn_sent_is_a_simultaneous_open(profile: str) -> None:
    """§3.10.7.3 fourth: "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
    <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it" (Figure 7 lines 3 and 5)."""
    ep = _syn_sent(profile)
    assert_sent(feed(ep, "<SEQ=300><CTL=SYN>"), "<SEQ=100><ACK=301><CTL=SYN,ACK>")
    assert ep.state is State.SYN_RECEIVED
    assert (ep.tcb.irs, ep.tcb.rcv_nxt) == (300, 301)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s11_text_on_a_simultaneous_syn_waits_for_established(profile: str) -> None:
    """§3.10.7.3 fourth: "If there are other controls or text in the segment, queue them for
    processing after the ESTABLISHED state has been reached" (D6)."""
    ep = _syn_sent(profile)
    assert_sent(feed(ep, "<SEQ=300><CTL=SYN><DATA=4>"), "<SEQ=100><ACK=301><CTL=SYN,ACK>")
    assert ep.read() == b""
    out = feed(ep, "<SEQ=300><ACK=101><CTL=SYN,ACK>")   # Figure 7 line 6
    assert ep.state is State.ESTABLISHED
    assert ep.read() == octets(301, 4)
    assert_last(out, "<SEQ=101><ACK=305><CTL=ACK>")


@pytest.mark.parametrize("arrives", [
    "<SEQ=300><ACK=101><CTL=ACK>",            # an acceptable ACK but no SYN
    "<SEQ=300><CTL=FIN>",                     # S35: a FIN cannot be validated here
    "<SEQ=300><CTL=none><DATA=10>",
])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s12_neither_syn_nor_rst_is_dropped(profile: str, arrives: str) -> None:
    """§3.10.7.3 fifth: "if neither of the SYN or RST bits is set, then drop the segment and return." """
    ep = _syn_sent(profile)
    nothing_sent(feed(ep, arrives))
    assert ep.state is State.SYN_SENT
    assert ep.read() == b""


def test_3_10_7_3_syn_ack_segment_built_as_written() -> None:
    """The notation helper itself: <DATA=n> on a SYN starts at SEG.SEQ+1 (§3.4: the SYN comes first)."""
    s = seg("<SEQ=300><ACK=101><CTL=SYN,ACK><DATA=2>")
    assert (s.seq, s.ack, s.length, s.payload, s.seg_len) == (300, 101, 2, octets(301, 2), 3)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_7_3_s11_simultaneous_syn_sets_the_send_window(profile: str) -> None:
    """§3.10.7.3 fourth, entering SYN-RECEIVED: "Set the variables: SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ"."""
    ep = _syn_sent(profile)
    feed(ep, "<SEQ=300><CTL=SYN><WND=777>")
    assert (ep.tcb.snd_wnd, ep.tcb.snd_wl1) == (777, 300)
