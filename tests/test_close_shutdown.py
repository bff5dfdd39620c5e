"""close() vs shutdown() vs full_close(), and clone() as a snapshot of everything (issue 12).

Expected values come from RFC 9293 and from the Linux functions each test names (read for
behaviour: tcp_shutdown, tcp_close / __tcp_close, tcp_close_state, tcp_send_active_reset,
tcp_rcv_state_process, tcp_time_wait), never from tcpfsm's own output.

Numbers: B (under test) has ISS 300 and its peer A ISS 100 (RFC 9293 Figure 6), as in
``tests/rfc/helpers.py``.
"""

from __future__ import annotations

import copy
import pickle

import pytest

from tcpfsm import Endpoint, State
from tcpfsm.base import UserCallError
from tests.rfc.helpers import assert_sent, feed, in_state, nothing_sent, notices, passive_established

DATA_10 = "<SEQ=101><ACK=301><CTL=ACK><DATA=10>"  # ten octets B's user never reads


# ------------------------------------------------------------------ shutdown(write=True)
@pytest.mark.parametrize("profile", ["rfc9293", "linux"])
def test_shutdown_write_is_rfc_close_a_half_close(profile: str) -> None:
    """shutdown(SHUT_WR) is RFC CLOSE (§3.10.4 ESTABLISHED: "Queue this until all preceding SENDs have
    been segmentized, then form a FIN segment and send it. In any case, enter FIN-WAIT-1 state");
    Linux tcp_shutdown: "if ((1 << sk->sk_state) & (TCPF_ESTABLISHED | ...)) if (tcp_close_state(sk))
    tcp_send_fin(sk)". After it the connection still receives (§3.10.7.4 FIN-WAIT-1/2 text: "Once in
    the ESTABLISHED state, it is possible to deliver segment data")."""
    ep = passive_established(profile)
    assert_sent(ep.shutdown(write=True), "<SEQ=301><ACK=101><CTL=FIN,ACK>")
    assert ep.state is State.FIN_WAIT_1
    feed(ep, "<SEQ=101><ACK=302><CTL=ACK>")
    assert ep.state is State.FIN_WAIT_2
    assert_sent(feed(ep, DATA_10), "<SEQ=302><ACK=111><CTL=ACK>")
    assert len(ep.read()) == 10


def test_close_stays_rfc_close_in_linux_unread_data_and_all() -> None:
    """Endpoint.close() is RFC CLOSE (a half close) in every profile: with unread data the FIN goes
    out and the data can still be read (RFC 9293 §3.10.4; Linux shutdown(SHUT_WR) does not look at
    the receive queue, tcp_shutdown)."""
    ep = passive_established("linux")
    feed(ep, DATA_10)
    assert_sent(ep.close(), "<SEQ=301><ACK=111><CTL=FIN,ACK>")
    assert ep.state is State.FIN_WAIT_1 and len(ep.read()) == 10


def test_linux_fin_wait_2_timer_only_for_orphans() -> None:
    """Linux arms the FIN-WAIT-2 timer only for a socket the application closed (SOCK_DEAD):
    tcp_rcv_state_process, TCP_FIN_WAIT1: "if (!sock_flag(sk, SOCK_DEAD)) { /* Wake up lingering
    close() */ sk->sk_state_change(sk); break; }" - the timer (tcp_fin_time) comes after it. After
    shutdown(SHUT_WR) FIN-WAIT-2 waits for the peer's FIN (RFC 9293 has no timer there, A4)."""
    half = passive_established("linux")
    half.shutdown(write=True)
    feed(half, "<SEQ=101><ACK=302><CTL=ACK>")
    assert half.state is State.FIN_WAIT_2 and "fin_wait_2" not in half.armed_timers

    gone = passive_established("linux", fin_timeout=2.0)
    gone.full_close()
    feed(gone, "<SEQ=101><ACK=302><CTL=ACK>")
    assert gone.state is State.FIN_WAIT_2
    assert gone.armed_timers["fin_wait_2"] == gone.now + 2.0  # net.ipv4.tcp_fin_timeout = 2
    nothing_sent(gone.tick(2.0))
    assert gone.state is State.CLOSED


def test_full_close_after_shutdown_write_arms_the_orphan_timer() -> None:
    """close() after shutdown(SHUT_WR), in FIN-WAIT-2: __tcp_close "if (sk->sk_state == TCP_FIN_WAIT2)
    { ... tcp_time_wait(sk, TCP_FIN_WAIT2, tmo); }" with tmo = tcp_fin_time (tcp_fin_timeout, 60 s);
    tcp_close_state(FIN_WAIT2) is FIN_WAIT2 with no action, so nothing is sent."""
    ep = passive_established("linux")
    ep.shutdown(write=True)
    feed(ep, "<SEQ=101><ACK=302><CTL=ACK>")
    nothing_sent(ep.full_close())
    assert ep.state is State.FIN_WAIT_2 and ep.armed_timers == {"fin_wait_2": ep.now + 60.0}


# ------------------------------------------------------------------ shutdown(read=True)
def test_shutdown_read_sends_nothing_and_data_is_still_acknowledged() -> None:
    """SHUT_RD: Linux tcp_shutdown acts only on SEND_SHUTDOWN ("We need to grab some memory, and put
    together a FIN, and then put it into the queue to be sent" is under "if (how & SEND_SHUTDOWN)");
    RCV_SHUTDOWN is a flag. In ESTABLISHED, tcp_data_queue still queues and ACKs data."""
    for profile in ("rfc9293", "linux"):
        ep = passive_established(profile)
        nothing_sent(ep.shutdown(read=True))
        assert ep.state is State.ESTABLISHED and ep.tcb.rcv_shut
        assert_sent(feed(ep, DATA_10), "<SEQ=301><ACK=111><CTL=ACK>")


def test_linux_data_after_shutdown_read_in_fin_wait_resets() -> None:
    """tcp_rcv_state_process, step 7, FIN_WAIT1/FIN_WAIT2: "RFC 793 says to queue data in these states,
    RFC 1122 says we MUST send a reset. BSD 4.4 also does reset. if (sk->sk_shutdown & RCV_SHUTDOWN) {
    if (... after(TCP_SKB_CB(skb)->end_seq - th->fin, tp->rcv_nxt)) { tcp_reset(sk, skb); return 1; }".
    The caller (tcp_v4_do_rcv) answers with tcp_v4_send_reset: the segment has ACK, so <SEQ=SEG.ACK>."""
    ep = passive_established("linux")
    ep.shutdown(read=True, write=True)
    assert ep.state is State.FIN_WAIT_1
    assert_sent(feed(ep, "<SEQ=101><ACK=302><CTL=ACK><DATA=10>"), "<SEQ=302><CTL=RST>")
    assert ep.state is State.CLOSED


def test_shutdown_checks_its_arguments() -> None:
    ep = passive_established("rfc9293")
    with pytest.raises(ValueError, match="read=True, write=True or both"):
        ep.shutdown()
    with pytest.raises(TypeError, match="read= must be True or False"):
        ep.shutdown(read=1)  # type: ignore[arg-type]
    with pytest.raises(UserCallError, match="connection does not exist"):
        Endpoint().shutdown(read=True)  # no TCB to mark (§3.3.2: CLOSED is fictional)


# ------------------------------------------------------------------ full_close()
@pytest.mark.parametrize(("arrives", "state", "rst"), [
    (DATA_10, "ESTABLISHED", "<SEQ=301><ACK=111><CTL=RST,ACK>"),
    ("<SEQ=101><ACK=301><CTL=FIN,ACK><DATA=10>", "CLOSE-WAIT", "<SEQ=301><ACK=112><CTL=RST,ACK>"),
])
def test_linux_full_close_with_unread_data_resets(arrives: str, state: str, rst: str) -> None:
    """RFC 9293 §3.6.1 SHLD-3: "If such a host issues a CLOSE call while received data is still pending
    in the TCP connection ..., its TCP implementation SHOULD send a RST to show that data was lost".
    __tcp_close: "else if (data_was_unread) { /* Unread data was tossed, zap the connection. */
    tcp_set_state(sk, TCP_CLOSE); tcp_send_active_reset(sk, ...)": RST,ACK at SND.NXT, ACK = RCV.NXT."""
    ep = passive_established("linux")
    feed(ep, arrives)
    assert ep.state_name == state
    assert_sent(ep.full_close(), rst)
    assert ep.state is State.CLOSED
    assert "connection reset (unread data lost)" in notices(ep)


def test_linux_full_close_with_unread_data_after_shutdown_write_resets() -> None:
    """The same in FIN-WAIT-2: tcp_close looks at the receive queue whatever the state (only a
    socket already in TCP_CLOSE is spared: "If socket has been already reset ... - kill it")."""
    ep = passive_established("linux")
    ep.shutdown(write=True)
    feed(ep, "<SEQ=101><ACK=302><CTL=ACK>", DATA_10.replace("ACK=301", "ACK=302"))
    assert_sent(ep.full_close(), "<SEQ=302><ACK=111><CTL=RST,ACK>")
    assert ep.state is State.CLOSED


def test_linux_data_to_an_orphan_resets() -> None:
    """SHLD-3's second clause, "or if new data is received after CLOSE is called": in FIN-WAIT-1 by
    tcp_rcv_state_process (RCV_SHUTDOWN, set by tcp_close's SHUTDOWN_MASK); in the orphan's FIN-WAIT-2
    (a timewait socket) by tcp_timewait_state_process: "New data or FIN. If new data arrive after
    half-duplex close, reset." - TCP_TW_RST, answered with <SEQ=SEG.ACK><CTL=RST>."""
    ep = passive_established("linux")
    assert_sent(ep.full_close(), "<SEQ=301><ACK=101><CTL=FIN,ACK>")
    assert ep.state is State.FIN_WAIT_1 and ep.tcb.orphan
    assert_sent(feed(ep, "<SEQ=101><ACK=301><CTL=ACK><DATA=10>"), "<SEQ=301><CTL=RST>")
    assert ep.state is State.CLOSED

    ep = passive_established("linux")
    ep.full_close()
    feed(ep, "<SEQ=101><ACK=302><CTL=ACK>")
    assert ep.state is State.FIN_WAIT_2
    assert_sent(feed(ep, "<SEQ=101><ACK=302><CTL=FIN,ACK><DATA=10>"), "<SEQ=302><CTL=RST>")
    assert ep.state is State.CLOSED and ep.armed_timers == {}


def test_linux_orphan_still_takes_the_fin() -> None:
    """tcp_timewait_state_process, FIN_WAIT2: "/* FIN arrived, enter true time-wait state. */ ...
    return TCP_TW_ACK": a bare FIN at RCV.NXT is acknowledged and the orphan enters TIME-WAIT."""
    ep = passive_established("linux")
    ep.full_close()
    feed(ep, "<SEQ=101><ACK=302><CTL=ACK>")
    assert_sent(feed(ep, "<SEQ=101><ACK=302><CTL=FIN,ACK>"), "<SEQ=302><ACK=102><CTL=ACK>")
    assert ep.state is State.TIME_WAIT and set(ep.armed_timers) == {"time_wait"}


@pytest.mark.parametrize(("state", "after"), [
    ("LISTEN", State.CLOSED),      # tcp_close: TCP_LISTEN -> inet_csk_listen_stop, TCP_CLOSE
    ("SYN-SENT", State.CLOSED),    # tcp_close_state: SYN_SENT -> TCP_CLOSE, no FIN
    ("CLOSE-WAIT", State.LAST_ACK),  # tcp_close_state: CLOSE_WAIT -> LAST_ACK | TCP_ACTION_FIN
    ("CLOSING", State.CLOSING),    # tcp_close_state: CLOSING -> CLOSING, nothing sent
    ("LAST-ACK", State.LAST_ACK),  # tcp_close_state: LAST_ACK -> LAST_ACK, nothing sent
    ("TIME-WAIT", State.TIME_WAIT),  # the TCP already ended: the socket just goes
])
def test_linux_full_close_follows_tcp_close_state(state: str, after: State) -> None:
    if state == "LISTEN":
        ep = Endpoint(profile="linux")
        ep.listen()
    elif state == "SYN-SENT":
        ep = Endpoint(profile="linux")
        ep.connect()
    else:
        ep = in_state(state, "linux")
    out = ep.full_close()
    assert ep.state is after
    assert [str(s.flags) for s in out] == (["FIN,ACK"] if state == "CLOSE-WAIT" else [])


def test_full_close_in_rfc9293_is_close() -> None:
    """RFC 9293 does not implement MAY-1's half-duplex close, so the application's close() is CLOSE
    (§3.10.4): a FIN even with unread data; after shutdown(write) nothing more is sent."""
    ep = passive_established("rfc9293")
    feed(ep, DATA_10)
    assert_sent(ep.full_close(), "<SEQ=301><ACK=111><CTL=FIN,ACK>")
    assert ep.state is State.FIN_WAIT_1 and ep.tcb.orphan
    nothing_sent(ep.full_close())  # the FIN was sent: nothing more to do
    with pytest.raises(UserCallError, match="connection does not exist"):
        Endpoint().full_close()


# ------------------------------------------------------------------ clone()
def test_clone_keeps_settings_changed_after_construction() -> None:
    """clone() is a snapshot of everything: settings set on the endpoint after it was made too."""
    ep = Endpoint(iss=1, profile="linux")
    ep.rto, ep.msl, ep.fin_timeout, ep.user_timeout = 3.0, 30.0, 2.0, 50.0
    ep.local_port, ep.remote_port = 80, 4242
    for twin in (ep.clone(), copy.deepcopy(ep), pickle.loads(pickle.dumps(ep)), ep.fresh()):
        assert (twin.rto, twin.msl, twin.fin_timeout, twin.user_timeout) == (3.0, 30.0, 2.0, 50.0)
        assert (twin.local_port, twin.remote_port) == (80, 4242)


def test_clone_times_its_timers_with_the_changed_settings() -> None:
    """The clone's next timer uses the changed MSL (RFC 9293 §3.4.2: TIME-WAIT lasts 2 MSL)."""
    ep = in_state("FIN-WAIT-2", "rfc9293")
    ep.msl = 10.0
    twin = ep.clone()
    feed(twin, "<SEQ=101><ACK=302><CTL=FIN,ACK>")
    assert twin.armed_timers == {"time_wait": twin.now + 20.0}


def test_clone_keeps_the_iss_clock() -> None:
    """After connect(); abort() the next ISS of the clone is the original's (RFC 9293 §3.4.1: the ISN
    generator is a clock that keeps running; RFC 6528: M + F(4-tuple, secret))."""
    ep = Endpoint(iss=0)
    ep.connect()
    ep.abort()
    twin = ep.clone()
    assert twin.connect()[0].seq == ep.connect()[0].seq != 0
    ep2 = Endpoint()
    ep2.local_port = 5000  # a setting changed after construction is part of F(4-tuple)
    ep2.connect()
    ep2.abort()
    twin2 = ep2.clone()
    assert twin2.connect()[0].seq == ep2.connect()[0].seq


def test_fin_timeout_is_checked_like_every_setting() -> None:
    with pytest.raises(ValueError, match="fin_timeout must be a finite number of seconds above 0"):
        Endpoint(fin_timeout=0)
    with pytest.raises(TypeError, match="fin_timeout must be a number of seconds"):
        Endpoint(fin_timeout="60")  # type: ignore[arg-type]
