"""The embedding API under fire: random calls with arguments of every type.

The documented outcomes of any call of the public API, whatever its arguments:

- it works; or
- ``TypeError`` (an argument of the wrong type) or ``ValueError`` (out of range), raised
  before anything changes: the endpoint's snapshot is the same afterwards; or
- a ``TcpFsmError`` the RFC calls for (a refused user call, a timer that is not armed).

Nothing else - no AttributeError, OverflowError, KeyError - and never a ``SpecGap`` (the
shipped specs cover every segment). After every call the endpoint still snapshots, clones,
copies and pickles into an equal, independent endpoint.
"""

from __future__ import annotations

import copy
import math
import pickle
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpfsm import Endpoint, Flags, Segment
from tcpfsm.base import ObserverError, SpecError, SpecGap, TcpFsmError

FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
DOCUMENTED = (TypeError, ValueError, TcpFsmError)

anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-3, 70_000), st.floats(allow_nan=True),
    st.text(max_size=8), st.binary(max_size=8), st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.sampled_from([
        2**32, 2**64, -1, 0, 1, 63, 64, 1024, math.nan, math.inf, -math.inf, "SYN,ACK", b"ab", bytearray(b"x")]))
segments = st.builds(Segment, seq=st.integers(0, 2**32 - 1), ack=st.integers(0, 2**32 - 1),
                     flags=st.integers(0, 63), window=st.integers(0, 65535), length=st.integers(0, 3))
FIELDS = ("seq", "ack", "flags", "window", "length", "payload", "src_port", "dst_port")
SETTINGS = ("iss", "rcv_wnd", "rto", "msl", "user_timeout", "max_retries", "max_syn_retries",
            "challenge_ack_limit", "iss_secret", "local_port", "remote_port", "now", "name", "engine",
            "profile", "spec")


def _call(ep: Endpoint, name: str, arg: Any) -> None:
    calls = {
        "listen": lambda: ep.listen(), "connect": lambda: ep.connect(), "close": lambda: ep.close(),
        "abort": lambda: ep.abort(), "send": lambda: ep.send(arg), "receive": lambda: ep.receive(arg),
        "timeout": lambda: ep.timeout(arg), "tick": lambda: ep.tick(arg), "read": lambda: ep.read(arg),
        "restore": lambda: ep.restore(arg), "observe": lambda: ep.observe(arg),
    }
    calls[name]()


ops = st.tuples(st.sampled_from(["listen", "connect", "close", "abort", "send", "receive", "receive",
                                 "timeout", "tick", "read", "restore", "observe"]),
                st.one_of(anything, segments, st.sampled_from(["retransmit", "time_wait", "user"])))


@pytest.mark.parametrize("engine", ["table", "transitions"])
@settings(FUZZ, max_examples=60)
@given(steps=st.lists(ops, max_size=12), iss=st.integers(0, 2**32 - 1))
def test_random_calls_give_only_documented_outcomes(engine: str, steps: list[tuple[str, Any]], iss: int) -> None:
    ep = Endpoint(iss, engine=engine)
    peer = Endpoint(iss ^ 0x5555, engine=engine)
    peer.listen()
    for name, arg in steps:
        if name == "receive" and arg is None and peer.state_name != "CLOSED":
            arg = next(iter(peer.connect() if peer.state_name == "LISTEN" else []), None)
        before = ep.snapshot()
        try:
            _call(ep, name, arg)
        except SpecGap:
            raise
        except (TypeError, ValueError):
            assert ep.snapshot() == before, f"{name}({arg!r}) refused but changed the endpoint"
        except TcpFsmError:
            pass
        hash(ep.snapshot())
    snap = ep.snapshot()
    # a pickled endpoint carries its spec by value (a fresh compile on the way back): once a sequence
    for twin in (ep.clone(), copy.copy(ep), copy.deepcopy(ep), pickle.loads(pickle.dumps(ep))):
        assert twin.snapshot() == snap
        assert twin.tcb is not ep.tcb


@settings(FUZZ, max_examples=150)
@given(kwargs=st.dictionaries(st.sampled_from(FIELDS), anything, max_size=4))
def test_segment_takes_valid_fields_or_raises_type_or_value_error(kwargs: dict[str, Any]) -> None:
    try:
        seg = Segment(**kwargs)
    except (TypeError, ValueError) as exc:
        assert str(exc)
        return
    assert type(seg.seq) is int and 0 <= seg.seq < 2**32 and 0 <= seg.ack < 2**32
    assert type(seg.flags) is Flags and 0 <= seg.bits < 64
    assert type(seg.length) is int and 0 <= seg.length < 2**31 and 0 <= seg.window < 2**32
    assert seg.payload is None or (type(seg.payload) is bytes and len(seg.payload) == seg.length)
    assert str(seg) and seg.to_dict()


@settings(FUZZ, max_examples=120)
@given(kwargs=st.dictionaries(st.sampled_from(SETTINGS), anything, max_size=3))
def test_endpoint_settings_are_checked(kwargs: dict[str, Any]) -> None:
    try:
        ep = Endpoint(**kwargs)
    except (TypeError, ValueError, SpecError) as exc:
        assert str(exc)
        return
    ep.connect()  # a working endpoint: its settings are usable (no OverflowError at the first timer)
    ep.tick(ep.now + 1e6)


@settings(FUZZ, max_examples=60)
@given(arg=anything)
def test_flags_parse_takes_text_only(arg: Any) -> None:
    try:
        Flags.parse(arg)
    except (TypeError, ValueError) as exc:
        assert str(exc)


@settings(FUZZ, max_examples=30)
@given(fail_at=st.integers(0, 3), calls=st.lists(st.sampled_from(["connect", "close", "abort", "listen"]),
                                                  min_size=1, max_size=4))
def test_an_observer_that_raises_loses_no_segment(fail_at: int, calls: list[str]) -> None:
    plain, watched = Endpoint(7), Endpoint(7)
    seen = [0]

    def observer(step: object) -> None:
        seen[0] += 1
        if seen[0] == fail_at + 1:
            raise RuntimeError("observer failed")

    watched.observe(observer)
    for name in calls:
        try:
            want: Any = getattr(plain, name)()
        except TcpFsmError as exc:
            want = type(exc)
        try:
            got: Any = getattr(watched, name)()
        except ObserverError as exc:
            got = exc.segments
        except TcpFsmError as exc:
            got = type(exc)
        assert got == want
        assert watched.snapshot() == plain.snapshot()
