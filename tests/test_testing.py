"""tcpfsm.testing: the strategies drive EndpointPair without tracebacks, and apply() is honest."""

from __future__ import annotations

from hypothesis import given, settings

from tcpfsm import Flags, State
from tcpfsm.testing import EndpointPair, orderings


@settings(max_examples=150, deadline=None)
@given(orderings(max_size=40))
def test_any_ordering_runs_and_never_answers_rst_with_rst(actions: list) -> None:
    pair = EndpointPair()
    pair.call("B", "listen")
    pair.call("A", "connect")
    for action in actions:
        pair.apply(action)
    for ev in pair.trace:
        assert ev.to or ev.kind in ("call", "timeout", "error", "crash", "lose", "duplicate")
        if ev.kind == "deliver" and ev.segment is not None and ev.segment.flags & Flags.RST:
            assert not any(s.flags & Flags.RST for s in ev.sent)
    assert pair.a.state in State and pair.b.state in State


def test_apply_reports_inapplicable_actions() -> None:
    pair = EndpointPair()
    assert pair.apply(("deliver", 0, 0)) is False          # nothing in flight
    assert pair.apply(("timeout", 0, "time_wait")) is False  # not armed
    assert pair.apply(("call", 0, "close")) is True          # refused by the RFC: applied, no effect
    assert pair.trace[-1].kind == "error"
