"""Linux rules found by comparing the linux profile with the Mealy machines of the Linux client and
server learned by Fiterău-Broştean, Janssen and Vaandrager (CAV 2016), issue 12 item 6.

Each test quotes the Linux function (read for behaviour) or the RFC 9293 sentence it follows; the
expected segments come from there. Numbers: B (under test) ISS 300, its peer A ISS 100 (RFC 9293
Figure 6), as in ``tests/rfc/helpers.py``.
"""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint, State, load_spec
from tests.rfc.helpers import ALL, MSL, NXT, assert_sent, feed, in_state, nothing_sent, passive_established


# ------------------------------------------------------------------ ABORT is RST,ACK
@pytest.mark.parametrize("state", ["SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"])
def test_linux_abort_sends_rst_ack(state: str) -> None:
    """tcp_send_active_reset: "tcp_init_nondata_skb(skb, tcp_acceptable_seq(sk), TCPHDR_ACK |
    TCPHDR_RST)": SEQ = SND.NXT (tcp_acceptable_seq) and the ACK bit with ACK = RCV.NXT."""
    ep = in_state(state, "linux")
    snd_nxt, rcv_nxt = NXT[state]
    assert_sent(ep.abort(), f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=RST,ACK>")
    assert ep.state is State.CLOSED


def test_rfc9293_abort_stays_a_bare_rst() -> None:
    """RFC 9293 §3.10.5: "Send a reset segment: <SEQ=SND.NXT><CTL=RST>" (the base is unchanged)."""
    assert_sent(in_state("ESTABLISHED", "rfc9293").abort(), "<SEQ=301><CTL=RST>")


# ------------------------------------------------------------------ the embryonic reset
def test_linux_syn_to_a_passive_syn_received_is_reset_and_the_request_dropped() -> None:
    """tcp_check_req: "if (flg & (TCP_FLAG_RST|TCP_FLAG_SYN)) { ... goto embryonic_reset; }" and
    "embryonic_reset: if (!(flg & TCP_FLAG_RST)) { req->rsk_ops->send_reset(sk, skb); } ...
    inet_csk_reqsk_queue_drop(sk, req)". The reset answers a SYN without ACK (tcp_v4_send_reset:
    "rep.th.ack = 1; rep.th.ack_seq = htonl(ntohl(th->seq) + th->syn + th->fin + skb->len - ...)"),
    so <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>; the listener stays: LISTEN."""
    ep = in_state("SYN-RECEIVED", "linux")
    assert_sent(feed(ep, "<SEQ=101><CTL=SYN>"), "<SEQ=0><ACK=102><CTL=RST,ACK>")
    assert ep.state is State.LISTEN and ep.tcb.passive
    # the listener goes on: a new SYN opens a new request
    assert [str(s.flags) for s in feed(ep, "<SEQ=500><CTL=SYN>")] == ["SYN,ACK"]
    assert ep.state is State.SYN_RECEIVED


def test_linux_syn_ack_to_a_passive_syn_received_is_reset() -> None:
    """A SYN,ACK carries ACK, so the reset takes its SEQ from SEG.ACK (tcp_v4_send_reset: "if (th->ack)
    { rep.th.seq = th->ack_seq; }"), and the request is dropped as for a SYN (tcp_check_req)."""
    ep = in_state("SYN-RECEIVED", "linux")
    assert_sent(feed(ep, "<SEQ=101><ACK=301><CTL=SYN,ACK>"), "<SEQ=301><CTL=RST>")
    assert ep.state is State.LISTEN


def test_linux_a_pure_retransmitted_syn_to_a_request_is_answered_with_the_syn_ack_again() -> None:
    """tcp_check_req: "Check for pure retransmitted SYN. if (TCP_SKB_CB(skb)->seq ==
    tcp_rsk(req)->rcv_isn && flg == TCP_FLAG_SYN && !paws_reject)" ... "Enforce "SYN-ACK" according
    to figure 8, figure 6 of RFC793, fixed by RFC1122" ... inet_rtx_syn_ack(sk, req): the request's
    SYN,ACK again, <SEQ=ISS><ACK=IRS+1>; the request stays in SYN-RECEIVED."""
    ep = in_state("SYN-RECEIVED", "linux")
    assert_sent(feed(ep, "<SEQ=100><CTL=SYN>"), "<SEQ=300><ACK=101><CTL=SYN,ACK>")
    assert ep.state is State.SYN_RECEIVED
    # RFC 9293 §3.10.7.4 first: the old SYN is not acceptable, "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
    base = in_state("SYN-RECEIVED", "rfc9293")
    assert_sent(feed(base, "<SEQ=100><CTL=SYN>"), "<SEQ=301><ACK=101><CTL=ACK>")


def test_rfc9293_returns_to_listen_silently() -> None:
    """RFC 9293 §3.10.7.4 fourth, SYN-RECEIVED: "If the connection was initiated with a passive OPEN,
    then return this connection to the LISTEN state and return." No segment."""
    ep = in_state("SYN-RECEIVED", "rfc9293")
    nothing_sent(feed(ep, "<SEQ=101><CTL=SYN>"))
    assert ep.state is State.LISTEN


# ------------------------------------------------------------------ CLOSE-WAIT's second FIN
@pytest.mark.parametrize("state", ["CLOSE-WAIT", "CLOSING", "LAST-ACK"])
def test_linux_a_fin_at_rcv_nxt_after_the_peers_fin_is_not_acked(state: str) -> None:
    """tcp_rcv_state_process, step 7: "case TCP_CLOSE_WAIT: case TCP_CLOSING: case TCP_LAST_ACK: if
    (!before(TCP_SKB_CB(skb)->seq, tp->rcv_nxt)) { ... break; }" - the segment never reaches
    tcp_data_queue (which takes a FIN and schedules its ACK), so nothing is sent and RCV.NXT stays.
    (SEG.ACK = SND.NXT-1, an old duplicate: the ACK of our FIN would end CLOSING and LAST-ACK.)"""
    ep = in_state(state, "linux")
    snd_nxt, rcv_nxt = NXT[state]
    nothing_sent(feed(ep, f"<SEQ={rcv_nxt}><ACK={snd_nxt - 1}><CTL=FIN,ACK>"))
    assert ep.state_name == state and ep.tcb.rcv_nxt == rcv_nxt


def test_linux_text_at_rcv_nxt_in_close_wait_is_not_acked() -> None:
    """The same break for text (tcp_rcv_state_process step 7); RFC 9293's seventh step for CLOSE-WAIT
    agrees: "This should not occur since a FIN has been received from the remote side. Ignore the
    segment text." """
    ep = in_state("CLOSE-WAIT", "linux")
    nothing_sent(feed(ep, "<SEQ=102><ACK=301><CTL=ACK><DATA=5>"))
    assert ep.state is State.CLOSE_WAIT


# ------------------------------------------------------------------ orphaned FIN-WAIT-2 and SYN
def _orphan_fin_wait_2() -> Endpoint:
    ep = passive_established("linux")
    ep.full_close()
    feed(ep, "<SEQ=101><ACK=302><CTL=ACK>")
    assert ep.state is State.FIN_WAIT_2 and ep.tcb.orphan
    return ep


def test_linux_orphaned_fin_wait_2_answers_a_syn_with_rst() -> None:
    """An orphan in FIN-WAIT-2 is a timewait socket (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo));
    tcp_timewait_state_process: "if (th->syn && !before(TCP_SKB_CB(skb)->seq, tcptw->tw_rcv_nxt))
    return TCP_TW_RST;" - tcp_v4_send_reset for a SYN without ACK: <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>,
    and the timewait socket is gone (inet_twsk_deschedule_put)."""
    ep = _orphan_fin_wait_2()
    assert_sent(feed(ep, "<SEQ=101><CTL=SYN>"), "<SEQ=0><ACK=102><CTL=RST,ACK>")
    assert ep.state is State.CLOSED and ep.armed_timers == {}
    ep = _orphan_fin_wait_2()
    assert_sent(feed(ep, "<SEQ=101><ACK=302><CTL=SYN,ACK>"), "<SEQ=302><CTL=RST>")
    assert ep.state is State.CLOSED


def test_linux_fin_wait_2_after_shutdown_write_challenges_a_syn() -> None:
    """A socket the application still holds is a full socket: tcp_validate_incoming answers a SYN in a
    synchronized state with a challenge ACK (RFC 5961 §4.2; RFC 9293 §3.10.7.4 fourth)."""
    ep = in_state("FIN-WAIT-2", "linux")
    assert_sent(feed(ep, "<SEQ=101><CTL=SYN>"), "<SEQ=302><ACK=101><CTL=ACK>")
    assert ep.state is State.FIN_WAIT_2


# ------------------------------------------------------------------ TIME-WAIT text (base spec)
@pytest.mark.parametrize("profile", ALL)
def test_data_in_time_wait_is_acknowledged_and_2msl_restarted(profile: str) -> None:
    """RFC 9293 §3.10.7.4 fifth, TIME-WAIT STATE: "The only thing that can arrive in this state is a
    retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout." Seventh:
    "Ignore the segment text." So acceptable text is acknowledged (<SEQ=SND.NXT><ACK=RCV.NXT>: the
    text is not taken), and 2 MSL start again. Linux tcp_timewait_state_process: "All the segments
    are ACKed immediately" with inet_twsk_reschedule for a segment with ACK."""
    ep = in_state("TIME-WAIT", profile)
    ep.tick(100.0)
    assert_sent(feed(ep, "<SEQ=102><ACK=302><CTL=ACK><DATA=5>"), "<SEQ=302><ACK=102><CTL=ACK>")
    assert ep.state is State.TIME_WAIT and ep.tcb.rcv_nxt == 102
    assert ep.armed_timers == {"time_wait": 100.0 + 2 * MSL}


# ------------------------------------------------------------------ a SYN in TIME-WAIT
def _time_wait(passive: bool) -> Endpoint:
    """B in TIME-WAIT after its active close; passively opened (a server) or actively (a client)."""
    if passive:
        return in_state("TIME-WAIT", "linux")
    ep = Endpoint(iss=300, profile="linux")
    ep.connect()
    feed(ep, "<SEQ=100><ACK=301><CTL=SYN,ACK>")
    ep.close()
    feed(ep, "<SEQ=101><ACK=302><CTL=ACK>", "<SEQ=101><ACK=302><CTL=FIN,ACK>")
    assert ep.state is State.TIME_WAIT
    return ep


def test_linux_a_listener_takes_a_new_syn_in_time_wait_and_an_rst_returns_to_listen() -> None:
    """tcp_v4_rcv, TCP_TW_SYN: "struct sock *sk2 = inet_lookup_listener(...); if (sk2) {
    inet_twsk_deschedule_put(inet_twsk(sk)); sk = sk2; ... goto process; }": the listener answers with
    a SYN,ACK whose ISS is beyond the old connection's (tcp_timewait_state_process: "u32 isn =
    tcptw->tw_snd_nxt + 65535 + 2"; RFC 9293 MAY-2 (1)). The TIME-WAIT socket is gone ("RED-PEN: we
    violate main RFC requirement"), so an RST drops the request and the listener stays (tcp_check_req):
    LISTEN, not TIME-WAIT and not CLOSED."""
    ep = _time_wait(passive=True)
    [synack] = feed(ep, "<SEQ=5000><CTL=SYN>")
    assert str(synack.flags) == "SYN,ACK" and synack.ack == 5001 and synack.seq - 302 > 65535
    assert ep.state is State.SYN_RECEIVED and ep.tcb.passive
    nothing_sent(feed(ep, "<SEQ=5001><CTL=RST>"))
    assert ep.state is State.LISTEN
    assert not [n for n in ep.notices if n.text == "connection refused"]


def test_linux_without_a_listener_a_new_syn_in_time_wait_is_acked() -> None:
    """tcp_v4_rcv, TCP_TW_SYN without a listener: "/* to ACK */ fallthrough; case TCP_TW_ACK:
    tcp_v4_timewait_ack(sk, skb);" - the TIME-WAIT socket stays and ACKs <SEQ=SND.NXT><ACK=RCV.NXT>."""
    ep = _time_wait(passive=False)
    assert_sent(feed(ep, "<SEQ=5000><CTL=SYN>"), "<SEQ=302><ACK=102><CTL=ACK>")
    assert ep.state is State.TIME_WAIT


def test_each_linux_rule_names_its_rfc_section_and_linux_function() -> None:
    """Every transition this issue added or changed carries `rfc:`; the profile's comments name the
    Linux function (specs/profiles/linux.yaml)."""
    spec = load_spec(profile="linux")
    with open(spec.files[-1]) as f:
        text = f.read()
    for tid in ("F1", "F6", "L2", "L4", "L4b", "S13r", "S19", "S19b", "S22", "S22c", "S26o", "S34", "U14"):
        assert spec.transition(tid).rfc
    for function in ("tcp_close", "tcp_check_req", "tcp_rcv_state_process", "tcp_timewait_state_process",
                     "tcp_send_active_reset", "inet_lookup_listener", "tcp_shutdown"):
        assert function in text, function
