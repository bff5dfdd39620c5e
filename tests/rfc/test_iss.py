"""Initial sequence number selection (RFC 9293 §3.4.1 MUST-8, SHLD-1; RFC 6528 §3; decision D10).

RFC 9293 §3.4.1: "A TCP implementation MUST use the above type of "clock" for clock-driven selection
of initial sequence numbers (MUST-8), and SHOULD generate its initial sequence numbers with the
expression: ISN = M + F(localip, localport, remoteip, remoteport, secretkey) where M is the 4
microsecond timer, and F() is a pseudorandom function (PRF) of the connection's identifying
parameters ... and a secret key (SHLD-1)." ``iss_secret`` is that secret key; with it fixed, F() is
reproducible. Here only the ports vary (the endpoints have no IP addresses).
"""

from __future__ import annotations

import pytest

from tcpfsm import Endpoint
from tests.rfc.helpers import ALL, SEQ_MOD, feed, seq_gt

KEY = b"rfc-suite-key"


def _iss(*, now: float = 0.0, local: int = 40000, remote: int = 80, secret: bytes = KEY,
         profile: str = "rfc9293") -> int:
    ep = Endpoint(profile=profile, now=now, local_port=local, remote_port=remote, iss_secret=secret)
    [syn] = ep.connect()
    return syn.seq


@pytest.mark.parametrize("profile", ALL)
def test_3_4_1_shld_1_iss_is_not_zero_at_clock_zero(profile: str) -> None:
    """SHLD-1: ISN = M + F(...): at clock 0, M = 0, and F() of the 4-tuple and the key gives the ISN."""
    assert _iss(profile=profile) != 0


def test_3_4_1_shld_1_passive_open_chooses_its_iss_the_same_way() -> None:
    """§3.10.7.2: "ISS should be selected" for the SYN,ACK, by the same ISN generator (SHLD-1)."""
    ep = Endpoint(now=0.0, local_port=80, remote_port=40000, iss_secret=KEY)
    ep.listen()
    [synack] = feed(ep, "<SEQ=100><CTL=SYN>")
    assert synack.seq != 0


def test_3_4_1_shld_1_different_four_tuples_get_different_isns_at_one_clock_value() -> None:
    """SHLD-1: F() is a function of (localip, localport, remoteip, remoteport, secretkey): at one clock
    value, connections that differ in a port get different ISNs."""
    isns = {_iss(local=40000, remote=80), _iss(local=40001, remote=80), _iss(local=40000, remote=81)}
    assert len(isns) == 3


def test_3_4_1_shld_1_same_key_and_four_tuple_give_the_same_isn() -> None:
    """SHLD-1: F() is a function of its arguments only: the same key, 4-tuple and clock give the same ISN."""
    assert _iss() == _iss()


def test_3_4_1_must_9_the_secret_key_changes_f() -> None:
    """SHLD-1 / MUST-9 ("F() MUST NOT be computable from the outside"): F() depends on the secret key."""
    assert _iss(secret=b"one key") != _iss(secret=b"another key")


def test_3_4_1_must_8_isn_follows_a_4_microsecond_clock() -> None:
    """MUST-8: the "clock is a 32-bit counter that typically increments at least once every roughly 4
    microseconds": ten seconds later, same 4-tuple and key, the ISN is about 2,500,000 further on."""
    step = (_iss(now=10.0) - _iss(now=0.0)) % SEQ_MOD
    assert 2_000_000 <= step <= 3_000_000


def test_3_4_1_must_8_successive_connections_on_one_four_tuple_get_increasing_isns() -> None:
    """§3.4.1: ISNs come from "a number sequence that monotonically increases until it wraps"; §3.4.2: a
    TCP that remembers its sequence numbers "must only be sure to use sequence numbers larger than those
    recently used" (D10): on one endpoint, at one clock value and later."""
    ep = Endpoint(now=0.0, local_port=40000, remote_port=80, iss_secret=KEY)
    [first] = ep.connect()
    ep.abort()
    [second] = ep.connect()
    ep.abort()
    ep.tick(1.0)
    [third] = ep.connect()
    assert seq_gt(second.seq, first.seq) and seq_gt(third.seq, second.seq)
