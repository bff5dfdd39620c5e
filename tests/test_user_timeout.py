"""The user timeout (RFC 9293 §3.10.8, RFC 5482, Linux TCP_USER_TIMEOUT) and the retry limits R2
(RFC 9293 §3.8.3, Linux tcp_retries2 / tcp_syn_retries), settable at any time.

RFC 5482 §1: the user timeout "controls how long transmitted data may remain unacknowledged before
a connection is forcefully closed"; Linux measures it from the last forward progress (an ACK of new
data, tcp_write_timeout) and applies a new TCP_USER_TIMEOUT to the wait already running. RFC 9293
§3.10.8 USER TIMEOUT: "flush all queues, signal the user "error: connection aborted due to user
timeout" ..., delete the TCB, enter the CLOSED state"."""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint
from tcpfsm.base import Flags, Segment

ABORTED = "connection aborted due to user timeout"


def established(**kw: object) -> Endpoint:
    ep = Endpoint(100, **kw)  # type: ignore[arg-type]
    ep.connect()
    ep.receive(Segment(seq=300, ack=101, flags=Flags.SYN | Flags.ACK))
    return ep


def test_none_by_default_and_set_after_open() -> None:
    ep = established()
    ep.send(10)
    assert "user" not in ep.armed_timers  # RFC 9293: no user timeout unless the user gives one
    ep.set_user_timeout(30)
    assert ep.armed_timers["user"] == 30.0  # data is outstanding: the wait starts now


def test_progress_restarts_it() -> None:
    """An ACK of new data is progress: the data still unacknowledged gets the whole timeout again."""
    ep = established(user_timeout=10)
    ep.send(10)
    ep.send(10)
    ep.now = 8.0
    ep.receive(Segment(seq=301, ack=111, flags=Flags.ACK))
    assert ep.armed_timers["user"] == 18.0
    ep.now = 9.0
    ep.receive(Segment(seq=301, ack=111, flags=Flags.ACK))  # a duplicate ACK is no progress
    assert ep.armed_timers["user"] == 18.0
    ep.receive(Segment(seq=301, ack=121, flags=Flags.ACK))  # all acknowledged: nothing to time
    assert "user" not in ep.armed_timers


def test_a_change_applies_to_the_wait_already_running() -> None:
    ep = established(user_timeout=100)
    ep.send(10)  # unacknowledged since t=0
    ep.tick(20.0)
    ep.set_user_timeout(30)
    assert ep.armed_timers["user"] == 30.0
    ep.set_user_timeout(10)  # already waited 20 s: it fires at once
    ep.tick(20.0)
    assert ep.state_name == "CLOSED" and ABORTED in [n.text for n in ep.notices]


def test_none_disarms_and_bad_values_are_refused() -> None:
    ep = established(user_timeout=5)
    ep.send(1)
    ep.set_user_timeout(None)
    assert "user" not in ep.armed_timers
    with pytest.raises(ValueError):
        ep.set_user_timeout(0)
    with pytest.raises(TypeError):
        ep.set_user_timeout("5")  # type: ignore[arg-type]


def test_retry_limit_for_data_set_at_any_time() -> None:
    """R2 reached: "close the connection" (MUST-20), here at the third RTO with R2 = 2."""
    ep = established()
    ep.send(10)
    ep.set_retry_limits(max_retries=2)
    for _ in range(2):
        [again] = ep.timeout("retransmit")
        assert again.seq == 101
    assert ep.timeout("retransmit") == [] and ep.state_name == "CLOSED"
    assert ep.notices[-1].text == "connection aborted: retransmissions exhausted"


def test_syn_retry_limit() -> None:
    """Linux TCP_SYNCNT / tcp_syn_retries: the SYN's own count (MUST-23 is its RFC floor)."""
    ep = Endpoint(100)
    ep.connect()
    ep.set_retry_limits(max_syn_retries=1)
    assert ep.timeout("retransmit")[0].flags == Flags.SYN
    ep.timeout("retransmit")
    assert ep.state_name == "CLOSED"
    with pytest.raises(ValueError):
        ep.set_retry_limits(max_retries=101)


def test_the_settings_go_with_a_fresh_endpoint_and_a_clone() -> None:
    ep = Endpoint(100)
    ep.set_user_timeout(42)
    ep.set_retry_limits(max_retries=3, max_syn_retries=2)
    for other in (ep.fresh(), ep.clone()):
        assert other.user_timeout == 42
        assert (other.tcb.max_retries, other.tcb.max_syn_retries) == (3, 2)
