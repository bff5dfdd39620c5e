"""Random event orderings over EndpointPair (hypothesis stateful), invariants after every step."""

from __future__ import annotations

import contextlib

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tcpfsm import Flags, State, Step, UserCallError
from tcpfsm.base._segment import seq_add, seq_lt
from tcpfsm.testing import EndpointPair

# Events after which an active close may legitimately skip TIME-WAIT (RST, ABORT, timeouts).
CUT_SHORT = {"abort", "rcv_rst", "timeout_user", "timeout_retransmit"}


class PairMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pair = EndpointPair.build(profile=self.profile)
        self.violations: list[str] = []
        self.active_close = {"A": False, "B": False}
        self.passive_close = {"A": False, "B": False}
        self.isns: dict[str, set[int]] = {"A": set(), "B": set()}
        for ep in (self.pair.a, self.pair.b):
            ep.observe(self._watch(ep.name))

    profile = "rfc9293"

    def _watch(self, who: str):  # type: ignore[no-untyped-def]
        def check(step: Step) -> None:
            ep = self.pair.endpoint(who)
            src, dst = step.source, step.target
            for seg in step.sent:
                if seg.flags & Flags.SYN:
                    self.isns[who].add(seg.seq)
            if step.segment is not None and step.segment.flags & Flags.RST and any(
                    s.flags & Flags.RST for s in step.sent):
                self.violations.append(f"{who} answered an RST with an RST ({step.transition})")
            if dst is State.FIN_WAIT_1 and src is not State.FIN_WAIT_1 and step.event == "close":
                self.active_close[who] = True
            if dst is State.TIME_WAIT:
                if self.passive_close[who]:
                    self.violations.append(f"{who}: the passive closer entered TIME-WAIT ({step.transition})")
                self.active_close[who] = False
            if dst is State.CLOSE_WAIT and src is not State.CLOSE_WAIT:
                self.passive_close[who] = True
            if dst is State.CLOSED and src is not State.CLOSED:
                if self.active_close[who] and step.event not in CUT_SHORT:
                    self.violations.append(f"{who}: active closer reached CLOSED without TIME-WAIT "
                                           f"({step.transition} on {step.event})")
                self.active_close[who] = self.passive_close[who] = False
            if dst is State.ESTABLISHED and src is not State.ESTABLISHED:
                t = ep.tcb
                if not (t.syn_received and seq_lt(t.iss, t.snd_una)):
                    self.violations.append(f"{who}: ESTABLISHED without our SYN ACKed and the peer's SYN")
                peer = "B" if who == "A" else "A"
                if t.irs not in self.isns[peer]:
                    self.violations.append(f"{who}: IRS {t.irs} is no ISS the peer sent {sorted(self.isns[peer])}")
                if step.event in ("rcv_syn_ack", "rcv_ack") and t.rcv_nxt != seq_add(t.irs, 1) \
                        and not (step.segment and step.segment.length):
                    self.violations.append(f"{who}: RCV.NXT {t.rcv_nxt} != peer ISS+1 after the handshake")
        return check

    @initialize()
    def open_connection(self) -> None:
        self.pair.call("B", "listen")
        self.pair.call("A", "connect")

    def _call(self, who: str, method: str) -> None:
        with contextlib.suppress(UserCallError):
            self.pair.call(who, method, *([7] if method == "send" else []))

    @rule(who=st.sampled_from("AB"))
    def close(self, who: str) -> None:
        self._call(who, "close")

    @rule(who=st.sampled_from("AB"), method=st.sampled_from(["abort", "send", "listen", "connect"]))
    def other_call(self, who: str, method: str) -> None:
        self._call(who, method)

    @precondition(lambda self: self.pair.in_flight() > 0)
    @rule(who=st.sampled_from("AB"))
    def deliver_oldest(self, who: str) -> None:
        if self.pair.channels[who]:
            self.pair.deliver(who)

    @precondition(lambda self: self.pair.in_flight() > 0)
    @rule(who=st.sampled_from("AB"))
    def deliver_oldest_again(self, who: str) -> None:
        self.deliver_oldest(who)

    @precondition(lambda self: self.pair.in_flight() > 0)
    @rule(who=st.sampled_from("AB"), index=st.integers(0, 3), how=st.sampled_from(["deliver", "lose", "duplicate"]))
    def network(self, who: str, index: int, how: str) -> None:
        chan = self.pair.channels[who]
        if chan:
            getattr(self.pair, how)(who, index % len(chan))

    @rule(who=st.sampled_from("AB"), timer=st.sampled_from(["retransmit", "time_wait", "user"]))
    def timer(self, who: str, timer: str) -> None:
        if timer in self.pair.endpoint(who).armed_timers:
            self.pair.timeout(who, timer)

    @invariant()
    def no_violation(self) -> None:
        assert not self.violations, self.violations

    @invariant()
    def states_are_rfc_states(self) -> None:
        assert self.pair.a.state in State and self.pair.b.state in State


class PairMachine5961(PairMachine):
    profile = "rfc5961"


class PairMachine1337(PairMachine):
    profile = "rfc1337"


def test_random_orderings_rfc9293() -> None:
    run_state_machine_as_test(PairMachine, settings=settings(max_examples=200, stateful_step_count=40,
                                                             deadline=None))


def test_random_orderings_rfc5961() -> None:
    run_state_machine_as_test(PairMachine5961, settings=settings(max_examples=80, stateful_step_count=40,
                                                                 deadline=None))


def test_random_orderings_rfc1337() -> None:
    run_state_machine_as_test(PairMachine1337, settings=settings(max_examples=80, stateful_step_count=40,
                                                                 deadline=None))


def test_the_stateful_search_finds_a_mutant() -> None:
    """The same machine over a spec whose active closer skips TIME-WAIT must fail."""
    import pytest

    from tcpfsm import Endpoint, load_spec

    from .conftest import ROOT

    mutant = load_spec(ROOT / "specs" / "mutants" / "skip_time_wait.yaml")

    class Mutant(PairMachine):
        def __init__(self) -> None:
            super().__init__()
            self.pair = EndpointPair(Endpoint(100, spec=mutant, name="A"), Endpoint(300, spec=mutant, name="B"))
            for ep in (self.pair.a, self.pair.b):
                ep.observe(self._watch(str(ep.name)))

    with pytest.raises(AssertionError, match="active closer reached CLOSED without TIME-WAIT"):
        run_state_machine_as_test(Mutant, settings=settings(max_examples=500, stateful_step_count=40,
                                                            deadline=None, database=None))
