"""The socket layer (``tcpfsm.sockets``): Listener, Socket and Host over Endpoints.

Expected behaviour is Linux's, each test naming the kernel function it follows (read for
behaviour only): ``sk_acceptq_is_full`` / ``tcp_conn_request`` (backlog), ``inet_csk_accept``,
``tcp_check_req`` (request socks), ``inet_csk_listen_stop`` (closing a listener), ``tcp_close``
(unread data, SO_LINGER {1, 0}), ``tcp_reset`` (errno by state), ``sk_stream_wait_connect``,
``tcp_recvmsg``, ``inet_shutdown``.
"""

from __future__ import annotations

import pytest

from tcpfsm.base import Flags, Segment
from tcpfsm.sockets import ERRNO, Host, Listener, SocketError

PORT, PEER_ISS, ISS = 8080, 5000, 1000


def seg(flags: str, seq: int = 0, ack: int = 0, length: int = 0, rport: int = 40001) -> Segment:
    return Segment(seq=PEER_ISS + seq, ack=ISS + ack if ack else 0, flags=Flags.parse(flags), length=length,
                   src_port=rport, dst_port=PORT)


def listening(backlog: int = 1) -> tuple[Host, Listener]:
    host = Host(iss=ISS)
    sock = host.socket()
    sock.bind(PORT)
    return host, sock.listen(backlog)


def handshake(host: Host, rport: int = 40001) -> list[Segment]:
    out = host.receive(seg("SYN", rport=rport))
    return out + host.receive(seg("ACK", 1, 1, rport=rport))


def test_passive_open_queues_the_child_and_accept_returns_it() -> None:
    host, listener = listening()
    [synack] = host.receive(seg("SYN"))
    assert synack.flags == Flags.SYN | Flags.ACK and (synack.seq, synack.ack) == (ISS, PEER_ISS + 1)
    assert [c.state for c in listener.requests] == ["SYN-RECEIVED"] and not listener.queue
    with pytest.raises(SocketError) as err:  # inet_csk_accept: nothing queued yet
        listener.accept()
    assert err.value.errno == "EAGAIN"
    assert host.receive(seg("ACK", 1, 1)) == []
    child = listener.accept()
    assert child.state == "ESTABLISHED" and child.remote_port == 40001
    assert any(r.rule == "inet_csk_accept" for r in host.log)


def test_backlog_full_drops_the_syn() -> None:
    """sk_acceptq_is_full is ``sk_ack_backlog > sk_max_ack_backlog``: with backlog 0 one child fits,
    and tcp_conn_request drops the next SYN (no SYN,ACK)."""
    host, _ = listening(backlog=0)
    assert len(handshake(host, 40001)) == 1
    assert host.receive(seg("SYN", rport=40002)) == []
    assert host.log[-1].rule == "tcp_conn_request" and "dropped" in host.log[-1].what


@pytest.mark.parametrize("backlog", [-1, 10**6])
def test_a_backlog_out_of_range_is_capped_at_somaxconn(backlog: int) -> None:
    """__sys_listen: ``if ((unsigned int)backlog > somaxconn) backlog = somaxconn;`` (somaxconn
    4096 since Linux 5.4): listen(fd, -1) asks for the most, it is not a backlog of 0."""
    host, listener = listening(backlog=backlog)
    assert listener.backlog == 4096
    for port in (40001, 40002, 40003):
        assert len(handshake(host, port)) == 1
    assert len(listener.queue) == 3


def test_a_request_sock_reset_is_dropped_and_a_queued_child_reset_is_still_accepted() -> None:
    host, listener = listening(backlog=4)
    host.receive(seg("SYN", rport=40001))
    host.receive(seg("RST", 1, rport=40001))        # tcp_check_req: the request goes
    assert not listener.requests and not listener.queue
    handshake(host, 40002)
    host.receive(seg("RST,ACK", 1, 1, rport=40002))  # tcp_reset on a queued child
    child = listener.accept()                        # inet_csk_accept takes it all the same
    assert child.state == "CLOSED"
    with pytest.raises(SocketError) as err:
        child.recv(100)
    assert err.value.errno == "ECONNRESET"
    assert child.recv(100) == 0                      # reported once; then the end of the stream


def test_closing_a_listener_resets_full_children_and_drops_request_socks() -> None:
    host, listener = listening(backlog=4)
    handshake(host, 40001)                           # a full child in the accept queue
    host.receive(seg("SYN", rport=40002))            # a request sock
    listener.socket.close()
    [rst] = host.take_output()                        # inet_csk_listen_stop -> tcp_disconnect: RST,ACK
    assert rst.flags & Flags.RST and rst.dst_port == 40001
    assert host.connections == {}
    [reply] = host.receive(seg("ACK", 1, 1, rport=40002))  # the dropped request's ACK meets no socket
    assert reply.flags == Flags.RST and reply.seq == ISS + 1


def test_close_with_unread_data_resets_and_linger_zero_aborts() -> None:
    host, listener = listening()
    handshake(host)
    child = listener.accept()
    host.receive(seg("ACK,PSH", 1, 1, length=10))
    child.close()                                    # tcp_close: data_was_unread -> RST
    [rst] = host.take_output()
    assert rst.flags & Flags.RST and rst.ack == PEER_ISS + 11
    host2, listener2 = listening()
    handshake(host2)
    child2 = listener2.accept()
    child2.setsockopt_linger(True, 0)
    child2.close()                                   # SO_LINGER {1, 0}: tcp_disconnect's RST, no FIN
    [rst2] = host2.take_output()
    assert rst2.flags & Flags.RST and not rst2.flags & Flags.FIN


def test_an_orphan_lives_until_closed() -> None:
    host, listener = listening()
    handshake(host)
    child = listener.accept()
    child.close()
    [fin] = host.take_output()
    assert fin.flags & Flags.FIN
    with pytest.raises(SocketError) as err:
        child.send(1)
    assert err.value.errno == "EBADF"
    assert host.connections == {(PORT, 40001): "FIN-WAIT-1"}


def test_errors_as_errno_names() -> None:
    host = Host(iss=ISS)
    s = host.socket()
    with pytest.raises(SocketError) as err:
        s.recv(10)                                   # tcp_recvmsg on a socket never connected
    assert err.value.errno == "ENOTCONN"
    with pytest.raises(SocketError) as err:
        s.send(10)                                   # sk_stream_wait_connect: not connecting
    assert err.value.errno == "EPIPE"
    with pytest.raises(SocketError) as err:
        s.shutdown(write=True)                       # inet_shutdown in CLOSE
    assert err.value.errno == "ENOTCONN"
    s.connect(9000)
    [syn] = host.take_output()
    with pytest.raises(SocketError) as err:
        s.connect(9000)                              # __inet_stream_connect while connecting
    assert err.value.errno == "EALREADY"
    host.receive(Segment(seq=0, ack=syn.seq + 1, flags=Flags.RST | Flags.ACK, src_port=9000, dst_port=s.local_port))
    assert s.established
    with pytest.raises(SocketError) as err:          # tcp_reset in SYN-SENT: ECONNREFUSED
        s.connect_result()
    assert err.value.errno == "ECONNREFUSED" and ERRNO["ECONNREFUSED"] == 111


def test_shutdown_write_is_a_half_close() -> None:
    host, listener = listening()
    handshake(host)
    child = listener.accept()
    child.shutdown(write=True)
    [fin] = host.take_output()
    assert fin.flags == Flags.FIN | Flags.ACK
    with pytest.raises(SocketError) as err:
        child.send(1)
    assert err.value.errno == "EPIPE"
    host.receive(seg("ACK", 1, 2))
    host.receive(seg("ACK,PSH", 1, 2, length=5))    # still receiving in FIN-WAIT-2
    assert child.recv(100) == 5


def test_fast_open_connect_uses_a_cached_cookie_only() -> None:
    """RFC 7413 §4.2.2 step 1 / Linux tcp_sendmsg_fastopen: without a cached cookie the SYN carries no
    data and nothing is taken; once a SYN,ACK brought a cookie (tcp_fastopen_cache_set), the next
    connection's data rides on its SYN."""
    host = Host(profile="tfo", iss=ISS)
    first = host.socket()
    assert first.connect(9000, 100, fast_open=True) == 0
    [syn] = host.take_output()
    assert syn.length == 0
    host.receive(Segment(seq=0, ack=syn.seq + 1, flags=Flags.SYN | Flags.ACK, src_port=9000,
                         dst_port=first.local_port), tfo_cookie=True)
    assert 9000 in host.tfo_cookies and first.state == "ESTABLISHED"
    second = host.socket()
    assert second.connect(9000, 100, fast_open=True) == 100
    [syn2] = host.take_output()
    assert syn2.flags == Flags.SYN and syn2.length == 100


def test_an_unanswered_syn_times_out_as_etimedout() -> None:
    """R2 for a SYN (RFC 9293 §3.8.3 MUST-20/23) ends the connection; Linux tcp_write_err reports
    ETIMEDOUT to the connect() that waits."""
    host = Host(iss=ISS)
    s = host.socket()
    s.connect(9000)
    host.tick(1000.0)  # each retransmission fires at its own deadline on the way
    assert s.state == "CLOSED" and s.established
    with pytest.raises(SocketError) as err:
        s.connect_result()
    assert err.value.errno == "ETIMEDOUT"


def test_data_after_shut_rd_resets_and_the_next_call_reports_econnreset() -> None:
    """tcp_rcv_state_process, FIN-WAIT-1/2 with RCV_SHUTDOWN and new data: tcp_reset(sk, skb),
    which sets ``sk->sk_err = ECONNRESET`` (neither SYN-SENT nor CLOSE-WAIT), then the caller
    sends the reset. The application still holds the descriptor: its next write fails with that
    error (sk_stream_wait_connect: ``sock_error`` before -EPIPE), reported once, then EPIPE."""
    host, listener = listening()
    handshake(host)
    child = listener.accept()
    child.shutdown(read=True, write=True)
    [fin] = host.take_output()
    assert fin.flags == Flags.FIN | Flags.ACK
    host.receive(seg("ACK", 1, 2))
    [rst] = host.receive(seg("ACK,PSH", 1, 2, length=10))
    assert rst.flags == Flags.RST and child.state == "CLOSED"
    with pytest.raises(SocketError) as err:
        child.send(5)
    assert err.value.errno == "ECONNRESET"
    with pytest.raises(SocketError) as err:
        child.send(5)
    assert err.value.errno == "EPIPE"
