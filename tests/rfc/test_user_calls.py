"""RFC 9293 §3.10.1-§3.10.5: the user calls OPEN, SEND, CLOSE, ABORT (rows U1-U15)."""

from __future__ import annotations

import pytest

from tcpfsm import ConnectionClosing, ConnectionDoesNotExist, ConnectionExists, Endpoint, Flags, State
from tests.rfc.helpers import (
    ALL,
    NXT,
    assert_last,
    assert_sent,
    data_octets,
    feed,
    in_state,
    listening,
    nothing_sent,
    notices,
    passive_established,
)

NOT_CLOSED = ("SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
              "CLOSING", "LAST-ACK", "TIME-WAIT")


def _in(name: str, profile: str, **kw: object) -> Endpoint:
    if name == "SYN-SENT":
        ep = Endpoint(iss=300, profile=profile, **kw)  # type: ignore[arg-type]
        ep.connect()
        return ep
    if name == "LISTEN":
        return listening(profile, **kw)
    return in_state(name, profile, **kw)


# ------------------------------------------------------------------------- OPEN (§3.10.1)
@pytest.mark.parametrize("profile", ALL)
def test_3_10_1_u1_passive_open_enters_listen_and_sends_nothing(profile: str) -> None:
    """§3.10.1 CLOSED: "If passive, enter the LISTEN state and return." """
    ep = Endpoint(iss=300, profile=profile)
    nothing_sent(ep.listen())
    assert ep.state is State.LISTEN


@pytest.mark.parametrize("profile", ALL)
def test_3_10_1_u2_active_open_sends_syn_from_iss(profile: str) -> None:
    """§3.10.1 CLOSED: "A SYN segment of the form <SEQ=ISS><CTL=SYN> is sent. Set SND.UNA to ISS,
    SND.NXT to ISS+1, enter SYN-SENT state"."""
    ep = Endpoint(iss=100, profile=profile)
    assert_sent(ep.connect(), "<SEQ=100><CTL=SYN>")
    assert ep.state is State.SYN_SENT
    assert (ep.tcb.snd_una, ep.tcb.snd_nxt) == (100, 101)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_1_u3_active_open_in_listen_turns_the_connection_active(profile: str) -> None:
    """§3.10.1 LISTEN: "If the OPEN call is active ..., then change the connection from passive to
    active, select an ISS. Send a SYN segment, set SND.UNA to ISS, SND.NXT to ISS+1. Enter SYN-SENT"."""
    ep = listening(profile)
    assert_sent(ep.connect(), "<SEQ=300><CTL=SYN>")
    assert ep.state is State.SYN_SENT
    assert (ep.tcb.snd_una, ep.tcb.snd_nxt) == (300, 301)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_2_u3_send_in_listen_sends_syn_and_the_data_follows(profile: str) -> None:
    """§3.10.2 LISTEN: SEND makes the connection active and sends a SYN; "Data associated with SEND
    may be sent with SYN segment or queued for transmission after entering ESTABLISHED state"."""
    ep = listening(profile)
    out = ep.send(b"hello")
    assert ep.state is State.SYN_SENT
    assert [(s.flags & (Flags.SYN | Flags.ACK), s.seq) for s in out] == [(Flags.SYN, 300)]
    out += feed(ep, "<SEQ=100><ACK=301><CTL=SYN,ACK>")   # the peer acknowledges only the SYN
    assert ep.state is State.ESTABLISHED
    # the five octets occupy 301..305, whether they rode on the SYN or followed it
    assert sum(n for _, n in data_octets(out)) >= 5 and data_octets(out)[0][0] == 301


@pytest.mark.parametrize("state", NOT_CLOSED)
@pytest.mark.parametrize("call", ["listen", "connect"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_1_u4_open_on_an_existing_connection_is_an_error(profile: str, call: str, state: str) -> None:
    """§3.10.1 SYN-SENT ... TIME-WAIT: "Return "error: connection already exists"." """
    ep = _in(state, profile)
    with pytest.raises(ConnectionExists):
        getattr(ep, call)()
    assert ep.state_name == state


def test_3_10_1_u4_passive_open_in_listen_is_an_error() -> None:
    """§3.10.1: only an active OPEN is defined in LISTEN; another passive OPEN finds the connection."""
    ep = listening("rfc9293")
    with pytest.raises(ConnectionExists):
        ep.listen()


# ------------------------------------------------------------------------- SEND (§3.10.2)
@pytest.mark.parametrize("profile", ALL)
def test_3_10_2_send_in_closed_is_an_error(profile: str) -> None:
    """§3.10.2 CLOSED: "Otherwise, return "error: connection does not exist"." """
    with pytest.raises(ConnectionDoesNotExist):
        Endpoint(iss=300, profile=profile).send(b"x")


@pytest.mark.parametrize("profile", ALL)
def test_3_10_2_u5_send_in_syn_sent_is_queued_until_established(profile: str) -> None:
    """§3.10.2 SYN-SENT: "Queue the data for transmission after entering ESTABLISHED state." """
    ep = Endpoint(iss=100, profile=profile)
    ep.connect()
    nothing_sent(ep.send(b"hello"))
    out = feed(ep, "<SEQ=300><ACK=101><CTL=SYN,ACK>")
    assert ep.state is State.ESTABLISHED
    # §3.10.7.3: ACK the SYN ("Data or controls that were queued for transmission MAY be included"),
    # and the queued text goes out from SND.NXT = 101 with ACK = RCV.NXT = 301
    assert data_octets(out) == [(101, 5)]
    assert all(s.ack == 301 and s.flags & Flags.ACK for s in out)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_2_u5_send_in_syn_received_is_queued_until_established(profile: str) -> None:
    """§3.10.2 SYN-RECEIVED: "Queue the data for transmission after entering ESTABLISHED state." """
    ep = in_state("SYN-RECEIVED", profile)
    nothing_sent(ep.send(b"hello"))
    out = feed(ep, "<SEQ=101><ACK=301><CTL=ACK>")
    assert ep.state is State.ESTABLISHED
    assert_sent(out, "<SEQ=301><ACK=101><CTL=ACK,PSH><DATA=5>")


@pytest.mark.parametrize("state", ["ESTABLISHED", "CLOSE-WAIT"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_2_u5_send_segmentizes_with_a_piggybacked_ack(profile: str, state: str) -> None:
    """§3.10.2 ESTABLISHED, CLOSE-WAIT: "Segmentize the buffer and send it with a piggybacked
    acknowledgment (acknowledgment value = RCV.NXT)". PSH: this API has no PUSH flag, so the
    last buffered segment carries PSH (MUST-61, §3.9.1.2)."""
    ep = in_state(state, profile)
    snd_nxt, rcv_nxt = NXT[state]
    out = ep.send(b"0123456789")
    assert_sent(out, f"<SEQ={snd_nxt}><ACK={rcv_nxt}><CTL=ACK,PSH><DATA=10>")
    assert out[0].payload == b"0123456789"
    assert ep.tcb.snd_nxt == snd_nxt + 10  # §3.8: the sender advances SND.NXT over what it sent


@pytest.mark.parametrize("state", ["FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "LAST-ACK", "TIME-WAIT"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_2_u5_send_after_close_is_an_error(profile: str, state: str) -> None:
    """§3.10.2 FIN-WAIT-1 ... TIME-WAIT: "Return "error: connection closing" and do not service request"."""
    ep = in_state(state, profile)
    with pytest.raises(ConnectionClosing):
        ep.send(b"x")
    assert ep.state_name == state


# ------------------------------------------------------------------------ CLOSE (§3.10.4)
@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_close_in_closed_is_an_error(profile: str) -> None:
    """§3.10.4 CLOSED: "return "error: connection does not exist"." """
    with pytest.raises(ConnectionDoesNotExist):
        Endpoint(iss=300, profile=profile).close()


@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u6_close_in_listen_deletes_the_tcb(profile: str) -> None:
    """§3.10.4 LISTEN: "Delete TCB, enter CLOSED state, and return." Nothing is sent."""
    ep = listening(profile)
    nothing_sent(ep.close())
    assert ep.state is State.CLOSED


@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u7_close_in_syn_sent_deletes_the_tcb(profile: str) -> None:
    """§3.10.4 SYN-SENT: "Delete the TCB and return "error: closing" responses to any queued SENDs"."""
    ep = Endpoint(iss=100, profile=profile)
    ep.connect()
    nothing_sent(ep.close())
    assert ep.state is State.CLOSED
    assert ep.armed_timers == {}  # no TCB, so no SYN is retransmitted


@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u8_close_in_syn_received_sends_fin(profile: str) -> None:
    """§3.10.4 SYN-RECEIVED: "If no SENDs have been issued and there is no pending data to send,
    then form a FIN segment and send it, and enter FIN-WAIT-1 state"."""
    ep = in_state("SYN-RECEIVED", profile)
    assert_sent(ep.close(), "<SEQ=301><ACK=101><CTL=FIN,ACK>")
    assert ep.state is State.FIN_WAIT_1


@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u8_close_in_syn_received_with_data_waits_for_established(profile: str) -> None:
    """§3.10.4 SYN-RECEIVED: "otherwise, queue for processing after entering ESTABLISHED state";
    §3.10.4 ESTABLISHED: the FIN follows "all preceding SENDs"."""
    ep = in_state("SYN-RECEIVED", profile)
    ep.send(b"hello")
    nothing_sent(ep.close())
    assert ep.state is State.SYN_RECEIVED
    out = feed(ep, "<SEQ=101><ACK=301><CTL=ACK>")
    assert ep.state is State.FIN_WAIT_1
    # the text takes 301..305 and the FIN the number after it, 306, on the same segment or the next
    assert data_octets(out) == [(301, 5)]
    assert [(s.seq + s.length) for s in out if s.flags & Flags.FIN] == [306]
    assert all(s.flags & Flags.ACK and s.ack == 101 for s in out)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u9_close_in_established_sends_fin(profile: str) -> None:
    """§3.10.4 ESTABLISHED: "form a FIN segment and send it. In any case, enter FIN-WAIT-1 state."
    (Figure 12 line 2: <SEQ=100><ACK=300><CTL=FIN,ACK>.)"""
    ep = passive_established(profile)
    assert_sent(ep.close(), "<SEQ=301><ACK=101><CTL=FIN,ACK>")
    assert ep.state is State.FIN_WAIT_1
    assert ep.tcb.snd_nxt == 302  # the FIN occupies one sequence number (§3.4)


@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u9_fin_follows_the_data_sent_before_close(profile: str) -> None:
    """§3.10.4 ESTABLISHED: "Queue this until all preceding SENDs have been segmentized, then form a
    FIN segment": the FIN's sequence number is the one after the last octet of text."""
    ep = passive_established(profile)
    ep.send(b"abc")                                       # octets 301..303
    assert_sent(ep.close(), "<SEQ=304><ACK=101><CTL=FIN,ACK>")


@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u10_close_in_close_wait_sends_fin_and_enters_last_ack(profile: str) -> None:
    """§3.10.4 CLOSE-WAIT: "send a FIN segment, enter LAST-ACK state" (Figure 12 line 4)."""
    ep = in_state("CLOSE-WAIT", profile)
    assert_sent(ep.close(), "<SEQ=301><ACK=102><CTL=FIN,ACK>")
    assert ep.state is State.LAST_ACK


@pytest.mark.parametrize("state", ["FIN-WAIT-1", "FIN-WAIT-2"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u11_second_close_never_emits_a_second_fin(profile: str, state: str) -> None:
    """§3.10.4 FIN-WAIT-1, FIN-WAIT-2: "this is an error and should receive an "error: connection
    closing" response. An "ok" response would be acceptable, too, as long as a second FIN is not
    emitted (the first FIN may be retransmitted, though)"."""
    ep = in_state(state, profile)
    try:
        out = ep.close()
    except ConnectionClosing:
        out = []
    assert [s.seq for s in out if s.flags & Flags.FIN] in ([], [301])  # our FIN is at 301
    assert ep.state_name == state


@pytest.mark.parametrize("state", ["CLOSING", "LAST-ACK", "TIME-WAIT"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_4_u12_close_after_both_fins_is_an_error(profile: str, state: str) -> None:
    """§3.10.4 CLOSING, LAST-ACK, TIME-WAIT: "Respond with "error: connection closing"." """
    ep = in_state(state, profile)
    with pytest.raises(ConnectionClosing):
        ep.close()
    assert ep.state_name == state


# ------------------------------------------------------------------------ ABORT (§3.10.5)
@pytest.mark.parametrize("profile", ALL)
def test_3_10_5_abort_in_closed_is_an_error(profile: str) -> None:
    """§3.10.5 CLOSED: "return "error: connection does not exist"." """
    with pytest.raises(ConnectionDoesNotExist):
        Endpoint(iss=300, profile=profile).abort()


@pytest.mark.parametrize("state", ["LISTEN", "SYN-SENT"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_5_u13_abort_before_synchronization_sends_nothing(profile: str, state: str) -> None:
    """§3.10.5 LISTEN, SYN-SENT: "Delete TCB, enter CLOSED state, and return." No RST: the peer holds
    no state that a reset could be acceptable to."""
    ep = _in(state, profile)
    nothing_sent(ep.abort())
    assert ep.state is State.CLOSED
    assert ep.armed_timers == {}


@pytest.mark.parametrize("state", ["SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"])
@pytest.mark.parametrize("profile", [p for p in ALL if p != "linux"])  # linux: RST,ACK (tests/test_linux_rules.py)
def test_3_10_5_u14_abort_sends_rst_from_snd_nxt(profile: str, state: str) -> None:
    """§3.10.5 SYN-RECEIVED ... CLOSE-WAIT: "Send a reset segment: <SEQ=SND.NXT><CTL=RST>" ...
    "all segments queued for transmission (except for the RST formed above) or retransmission
    should be flushed. Delete the TCB, enter CLOSED state"."""
    ep = in_state(state, profile)
    snd_nxt, _ = NXT[state]
    assert_sent(ep.abort(), f"<SEQ={snd_nxt}><CTL=RST>")
    assert ep.state is State.CLOSED
    assert ep.armed_timers == {}
    assert ep.tick(1000.0) == []  # nothing is retransmitted afterwards


@pytest.mark.parametrize("state", ["CLOSING", "LAST-ACK", "TIME-WAIT"])
@pytest.mark.parametrize("profile", ALL)
def test_3_10_5_u15_abort_after_both_fins_deletes_the_tcb_silently(profile: str, state: str) -> None:
    """§3.10.5 CLOSING, LAST-ACK, TIME-WAIT: "Respond with "ok" and delete the TCB, enter CLOSED state"."""
    ep = in_state(state, profile)
    nothing_sent(ep.abort())
    assert ep.state is State.CLOSED


# --------------------------------------------------------------- reports to the user (§3.6)
@pytest.mark.parametrize("profile", ALL)
def test_3_6_must_12_user_learns_normal_close_from_fin(profile: str) -> None:
    """§3.6 MUST-12: "the local application MUST be informed whether it closed normally or was
    aborted"; §3.10.7.4 eighth: "signal the user "connection closing"." """
    ep = passive_established(profile)
    out = feed(ep, "<SEQ=101><ACK=301><CTL=FIN,ACK>")
    assert_last(out, "<SEQ=301><ACK=102><CTL=ACK>")
    assert "connection closing" in notices(ep)


@pytest.mark.parametrize("profile", ALL)
def test_3_6_must_12_user_learns_abort_from_rst(profile: str) -> None:
    """§3.6 MUST-12; §3.10.7.4 second, ESTABLISHED: "Users should also receive an unsolicited general
    "connection reset" signal." """
    ep = passive_established(profile)
    nothing_sent(feed(ep, "<SEQ=101><CTL=RST>"))
    assert ep.state is State.CLOSED
    assert "connection reset" in notices(ep)


# ----------------------------------------------------- half-duplex close (§3.6.1, linux)
@pytest.mark.parametrize(("arrives", "state"), [
    ("<SEQ=101><ACK=301><CTL=ACK><DATA=10>", State.ESTABLISHED),      # ten octets the user never reads
    ("<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=10>", State.CLOSE_WAIT),   # the same, then the peer's FIN
])
def test_3_6_1_shld_3_close_with_unread_data_resets(arrives: str, state: State) -> None:
    """§3.6.1: "A host MAY implement a "half-duplex" TCP close sequence ... (MAY-1). If such a host issues
    a CLOSE call while received data is still pending in the TCP connection ..., its TCP implementation
    SHOULD send a RST to show that data was lost (SHLD-3)." Linux is such a host. The RFC fixes the RST
    bit and, as for every reset of a synchronized connection, SEQ = SND.NXT (§3.10.5); it leaves the ACK
    bit open. No FIN is sent, and the connection is gone. (Linux's CLOSE of this kind is the application's
    close() of its descriptor, Endpoint.full_close; tests/test_close_shutdown.py has the rest.)"""
    ep = passive_established("linux")
    feed(ep, arrives)
    assert ep.state is state
    out = ep.full_close()
    assert [(bool(s.flags & Flags.RST), bool(s.flags & Flags.FIN), s.seq) for s in out] == [(True, False, 301)]
    assert ep.state is State.CLOSED
