"""Test helpers for tcpfsm's users and its own tests (needs ``tcpfsm[test]``: hypothesis).

``EndpointPair`` (from :mod:`tcpfsm.runtime`) joins two :class:`~tcpfsm.Endpoint` objects by
an in-memory network whose delivery order, loss and duplication the caller controls;
``actions()`` is a hypothesis strategy of such network and user events, for property-based
tests of event orderings.

>>> from tcpfsm.testing import EndpointPair
>>> pair = EndpointPair()
>>> pair.handshake()
>>> [str(s) for s in pair.states()]
['ESTABLISHED', 'ESTABLISHED']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st

from tcpfsm.runtime._pair import EndpointPair, TraceEvent

USER_CALLS = ("listen", "connect", "send", "close", "abort")


def actions(*, calls: Iterable[str] = USER_CALLS, timers: Iterable[str] = ("retransmit", "time_wait", "user"),
            lossy: bool = True, duplicating: bool = True, reordering: bool = True) -> st.SearchStrategy[Any]:
    """A hypothesis strategy of one network or user event for an EndpointPair.

    Values are tuples: ``("call", who, method)``, ``("timeout", who, timer)``,
    ``("deliver" | "lose" | "duplicate", who, index)`` with ``who`` 0 (A) or 1 (B).
    Delivery is weighted so that conversations make progress.
    """
    who = st.integers(0, 1)
    index = st.integers(0, 3) if reordering else st.just(0)
    options = [
        st.tuples(st.just("deliver"), who, index),
        st.tuples(st.just("deliver"), who, index),
        st.tuples(st.just("deliver"), who, index),
        st.tuples(st.just("call"), who, st.sampled_from(tuple(calls))),
        st.tuples(st.just("timeout"), who, st.sampled_from(tuple(timers))),
    ]
    if lossy:
        options.append(st.tuples(st.just("lose"), who, index))
    if duplicating:
        options.append(st.tuples(st.just("duplicate"), who, index))
    return st.one_of(*options)


def orderings(max_size: int = 40, **kwargs: Any) -> st.SearchStrategy[list[Any]]:
    """Lists of ``actions()``: whole event orderings."""
    return st.lists(actions(**kwargs), max_size=max_size)


__all__ = ["EndpointPair", "TraceEvent", "actions", "orderings"]
