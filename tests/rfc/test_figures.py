"""RFC 9293 Figures 6-13, line by line: two endpoints, TCP Peer A and TCP Peer B, and the segments
the figures show passing between them (the numbers are the figures' own).

Each ``a.receive(...)`` / ``b.receive(...)`` is one arrow of the figure; ``assert_sent`` checks what
the figure shows leaving in reply, and the state after it (the figures give "TCP connection states
... AFTER the departure or arrival of the segment").
"""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint, State
from tests.rfc.helpers import ALL, MSL, assert_sent, feed, nothing_sent, seg


def _established_pair(profile: str, a_iss: int, b_iss: int) -> tuple[Endpoint, Endpoint]:
    """A opened actively from ISS a_iss, B passively from b_iss, through Figure 6."""
    a, b = Endpoint(iss=a_iss, profile=profile), Endpoint(iss=b_iss, profile=profile)
    b.listen()
    [syn] = a.connect()
    [synack] = b.receive(syn)
    [ack] = a.receive(synack)
    assert b.receive(ack) == []
    assert a.state is State.ESTABLISHED and b.state is State.ESTABLISHED
    return a, b


@pytest.mark.parametrize("profile", ALL)
def test_figure_6_basic_three_way_handshake(profile: str) -> None:
    """Figure 6: Basic Three-Way Handshake for Connection Synchronization."""
    a, b = Endpoint(iss=100, profile=profile), Endpoint(iss=300, profile=profile)
    nothing_sent(b.listen())                                                     # 1. CLOSED  LISTEN
    syn = a.connect()
    assert_sent(syn, "<SEQ=100><CTL=SYN>")                                       # 2. SYN-SENT -->
    synack = b.receive(syn[0])
    assert_sent(synack, "<SEQ=300><ACK=101><CTL=SYN,ACK>")                       # 3. <-- SYN-RECEIVED
    assert b.state is State.SYN_RECEIVED
    ack = a.receive(synack[0])
    assert_sent(ack, "<SEQ=101><ACK=301><CTL=ACK>")                              # 4. ESTABLISHED -->
    assert a.state is State.ESTABLISHED
    nothing_sent(b.receive(ack[0]))
    assert b.state is State.ESTABLISHED
    data = a.send(b"hello")
    assert_sent(data, "<SEQ=101><ACK=301><CTL=ACK,PSH><DATA=5>")                 # 5. ... <DATA> -->
    assert_sent(b.receive(data[0]), "<SEQ=301><ACK=106><CTL=ACK>")
    assert b.read() == b"hello"


@pytest.mark.parametrize("profile", ALL)
def test_figure_7_must_10_simultaneous_connection_synchronization(profile: str) -> None:
    """Figure 7: Simultaneous Connection Synchronization; §3.5 MUST-10: "A TCP implementation MUST
    support simultaneous open attempts". Lines 6-7 show no further segment; if one is sent it can only
    be the ACK of §3.10.7.4, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    a, b = Endpoint(iss=100, profile=profile), Endpoint(iss=300, profile=profile)
    a_syn = a.connect()                                                          # 2. SYN-SENT --> ...
    b_syn = b.connect()
    assert_sent(a_syn, "<SEQ=100><CTL=SYN>")
    assert_sent(b_syn, "<SEQ=300><CTL=SYN>")
    a_synack = a.receive(b_syn[0])                                               # 3. SYN-RECEIVED <--
    assert a.state is State.SYN_RECEIVED
    b_synack = b.receive(a_syn[0])                                               # 4. --> SYN-RECEIVED
    assert b.state is State.SYN_RECEIVED
    assert_sent(a_synack, "<SEQ=100><ACK=301><CTL=SYN,ACK>")                     # 5. SYN-RECEIVED -->
    assert_sent(b_synack, "<SEQ=300><ACK=101><CTL=SYN,ACK>")
    out_a = a.receive(b_synack[0])                                               # 6. ESTABLISHED <--
    assert a.state is State.ESTABLISHED
    out_b = b.receive(a_synack[0])                                               # 7. --> ESTABLISHED
    assert b.state is State.ESTABLISHED
    assert_sent(out_a, *["<SEQ=101><ACK=301><CTL=ACK>"] * len(out_a))
    assert_sent(out_b, *["<SEQ=301><ACK=101><CTL=ACK>"] * len(out_b))
    for s in out_a:
        nothing_sent(b.receive(s))
    for s in out_b:
        nothing_sent(a.receive(s))
    assert a.state is State.ESTABLISHED and b.state is State.ESTABLISHED


@pytest.mark.parametrize("profile", ALL)
def test_figure_8_recovery_from_old_duplicate_syn(profile: str) -> None:
    """Figure 8: Recovery from Old Duplicate SYN. "TCP Peer A detects that the ACK field is incorrect and
    returns a RST (reset) with its SEQ field selected to make the segment believable. TCP Peer B, on
    receiving the RST, returns to the LISTEN state." B picks a new ISS at line 7 (400 in the figure);
    A's ACK acknowledges whatever B chose."""
    a, b = Endpoint(iss=100, profile=profile), Endpoint(iss=300, profile=profile)
    b.listen()                                                                   # 1. CLOSED  LISTEN
    syn = a.connect()                                                            # 2. SYN-SENT --> ...
    synack = b.receive(seg("<SEQ=90><CTL=SYN>"))                                 # 3. (duplicate) ... -->
    assert b.state is State.SYN_RECEIVED
    assert_sent(synack, "<SEQ=300><ACK=91><CTL=SYN,ACK>")                        # 4. SYN-SENT <--
    rst = a.receive(synack[0])
    assert a.state is State.SYN_SENT
    assert_sent(rst, "<SEQ=91><CTL=RST>")                                        # 5. --> LISTEN
    nothing_sent(b.receive(rst[0]))
    assert b.state is State.LISTEN
    synack2 = b.receive(syn[0])                                                  # 6. ... --> SYN-RECEIVED
    assert b.state is State.SYN_RECEIVED
    y = synack2[0].seq
    assert_sent(synack2, f"<SEQ={y}><ACK=101><CTL=SYN,ACK>")                     # 7. ESTABLISHED <--
    ack = a.receive(synack2[0])
    assert a.state is State.ESTABLISHED
    assert_sent(ack, f"<SEQ=101><ACK={y + 1}><CTL=ACK>")                         # 8. --> ESTABLISHED
    nothing_sent(b.receive(ack[0]))
    assert b.state is State.ESTABLISHED


@pytest.mark.parametrize("profile", ALL)
def test_figure_9_half_open_connection_discovery(profile: str) -> None:
    """Figure 9: Half-Open Connection Discovery. "TCP Peer B, being in a synchronized state, and the
    incoming segment outside the window, responds with an acknowledgment indicating what sequence it next
    expects to hear (ACK 100). TCP Peer A sees that this segment does not acknowledge anything it sent
    and, being unsynchronized, sends a reset (RST)". B's window (100) keeps A's SYN at 400 outside it,
    as the figure says."""
    b = Endpoint(iss=299, profile=profile, rcv_wnd=100)                          # 1. (send 300, receive 100)
    b.listen()
    feed(b, "<SEQ=99><CTL=SYN>", "<SEQ=100><ACK=300><CTL=ACK>")
    assert b.state is State.ESTABLISHED                                          # 2. CLOSED  ESTABLISHED
    a = Endpoint(iss=400, profile=profile)                                       #    (A rebooted)
    syn = a.connect()
    assert_sent(syn, "<SEQ=400><CTL=SYN>")                                       # 3. SYN-SENT --> (??)
    ack = b.receive(syn[0])
    assert_sent(ack, "<SEQ=300><ACK=100><CTL=ACK>")                              # 4. (!!) <-- ESTABLISHED
    assert b.state is State.ESTABLISHED
    rst = a.receive(ack[0])
    assert_sent(rst, "<SEQ=100><CTL=RST>")                                       # 5. SYN-SENT --> (Abort!!)
    nothing_sent(b.receive(rst[0]))
    assert a.state is State.SYN_SENT and b.state is State.CLOSED                 # 6. SYN-SENT  CLOSED
    assert_sent(a.tick(a.next_deadline() or 0.0), "<SEQ=400><CTL=SYN>")          # 7. SYN-SENT -->


@pytest.mark.parametrize("profile", ALL)
def test_figure_10_active_side_causes_half_open_connection_discovery(profile: str) -> None:
    """Figure 10: "the data arriving at TCP Peer A from TCP Peer B (line 2) is unacceptable because no such
    connection exists, so TCP Peer A sends a RST. The RST is acceptable so TCP Peer B processes it and
    aborts the connection." (B's text carries PSH besides ACK: MUST-61, §3.9.1.2.)"""
    b = Endpoint(iss=299, profile=profile)                                       # 1. (send 300, receive 100)
    b.listen()
    feed(b, "<SEQ=99><CTL=SYN>", "<SEQ=100><ACK=300><CTL=ACK>")
    a = Endpoint(iss=5000, profile=profile)                                      #    A rebooted: CLOSED
    data = b.send(bytes(10))
    assert_sent(data, "<SEQ=300><ACK=100><CTL=ACK,PSH><DATA=10>")                # 2. (??) <-- ESTABLISHED
    rst = a.receive(data[0])
    assert_sent(rst, "<SEQ=100><CTL=RST>")                                       # 3. --> (ABORT!!)
    nothing_sent(b.receive(rst[0]))
    assert a.state is State.CLOSED and b.state is State.CLOSED


@pytest.mark.parametrize("profile", ALL)
def test_figure_11_old_duplicate_syn_initiates_a_reset_on_two_passive_sockets(profile: str) -> None:
    """Figure 11: "A SYN-ACK is returned (line 3) and causes TCP A to generate a RST (the ACK in line 3 is
    not acceptable). TCP Peer B accepts the reset and returns to its passive LISTEN state." (X = 300, Z = 90.)"""
    a, b = Endpoint(iss=100, profile=profile), Endpoint(iss=300, profile=profile)
    a.listen()
    b.listen()                                                                   # 1. LISTEN  LISTEN
    synack = b.receive(seg("<SEQ=90><CTL=SYN>"))                                 # 2. ... --> SYN-RECEIVED
    assert_sent(synack, "<SEQ=300><ACK=91><CTL=SYN,ACK>")                        # 3. (??) <-- SYN-RECEIVED
    rst = a.receive(synack[0])
    assert_sent(rst, "<SEQ=91><CTL=RST>")                                        # 4. --> (return to LISTEN!)
    nothing_sent(b.receive(rst[0]))
    assert a.state is State.LISTEN and b.state is State.LISTEN                   # 5. LISTEN  LISTEN


@pytest.mark.parametrize("profile", ALL)
def test_figure_12_normal_close_sequence(profile: str) -> None:
    """Figure 12: Normal Close Sequence (A sends from 100, B from 300)."""
    a, b = _established_pair(profile, 99, 299)                                   # 1. ESTABLISHED  ESTABLISHED
    fin = a.close()
    assert_sent(fin, "<SEQ=100><ACK=300><CTL=FIN,ACK>")                          # 2. FIN-WAIT-1 -->
    assert a.state is State.FIN_WAIT_1
    ack = b.receive(fin[0])
    assert b.state is State.CLOSE_WAIT
    assert_sent(ack, "<SEQ=300><ACK=101><CTL=ACK>")                              # 3. FIN-WAIT-2 <--
    nothing_sent(a.receive(ack[0]))
    assert a.state is State.FIN_WAIT_2
    fin2 = b.close()
    assert_sent(fin2, "<SEQ=300><ACK=101><CTL=FIN,ACK>")                         # 4. TIME-WAIT <-- LAST-ACK
    assert b.state is State.LAST_ACK
    ack2 = a.receive(fin2[0])
    assert a.state is State.TIME_WAIT
    assert_sent(ack2, "<SEQ=101><ACK=301><CTL=ACK>")                             # 5. TIME-WAIT --> CLOSED
    nothing_sent(b.receive(ack2[0]))
    assert b.state is State.CLOSED
    a.tick(2 * MSL)                                                              # 6. (2 MSL) CLOSED
    assert a.state is State.CLOSED


@pytest.mark.parametrize("profile", ALL)
def test_figure_13_simultaneous_close_sequence(profile: str) -> None:
    """Figure 13: Simultaneous Close Sequence: both FINs cross, both ends pass CLOSING and TIME-WAIT."""
    a, b = _established_pair(profile, 99, 299)                                   # 1. ESTABLISHED  ESTABLISHED
    fin_a, fin_b = a.close(), b.close()                                          # 2. (Close)  (Close)
    assert_sent(fin_a, "<SEQ=100><ACK=300><CTL=FIN,ACK>")
    assert_sent(fin_b, "<SEQ=300><ACK=100><CTL=FIN,ACK>")
    assert a.state is State.FIN_WAIT_1 and b.state is State.FIN_WAIT_1
    ack_a = a.receive(fin_b[0])
    ack_b = b.receive(fin_a[0])
    assert_sent(ack_a, "<SEQ=101><ACK=301><CTL=ACK>")                            # 3. CLOSING --> ... CLOSING
    assert_sent(ack_b, "<SEQ=301><ACK=101><CTL=ACK>")
    assert a.state is State.CLOSING and b.state is State.CLOSING
    nothing_sent(a.receive(ack_b[0]))
    nothing_sent(b.receive(ack_a[0]))
    assert a.state is State.TIME_WAIT and b.state is State.TIME_WAIT             # 4. TIME-WAIT  TIME-WAIT
    a.tick(2 * MSL)
    b.tick(2 * MSL)
    assert a.state is State.CLOSED and b.state is State.CLOSED                   #    (2 MSL) CLOSED
