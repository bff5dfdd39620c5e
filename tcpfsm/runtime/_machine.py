"""One compiled machine per spec: everything the runtime derives from a spec, built once.

``machine_for(spec)`` (cached) holds the spec's own ``State`` enum (generated from its
``states:`` list, so a spec with other state names runs as well as the default), the shared
``transitions.Machine`` (built on first use; it holds no per-connection data, endpoints are
driven through ``Event.trigger(model)``, so thousands of connections cost no machine each),
the compiled table (plain lookups, the fast path), the arrival steps per state, the timer
events, and ``enabled(state)``. An :class:`~tcpfsm.Endpoint` holds its spec's machine.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tcpfsm.base._segment import Segment
from tcpfsm.runtime._tcb import PREDICATES, TCB
from tcpfsm.spec import SAME, ArrivalGroup, Duration, Spec, Step, Transition, load_spec

MODEL_ATTRIBUTE = "_fsm_state"


class StateBase(enum.StrEnum):
    """A TCP state: ``State.SYN_RECEIVED`` in code, ``"SYN-RECEIVED"`` as text (RFC spelling)."""

    def __str__(self) -> str:
        return str(self.value)

    @property
    def rfc_name(self) -> str:
        return str(self.value)


@cache
def _state_enum(names: tuple[str, ...]) -> Any:
    """One enum per list of states: specs with the same states (every RFC profile) share it, so
    ``ep.state is State.ESTABLISHED`` holds whatever the profile; other states, another enum."""
    members = [(n.replace("-", "_"), n) for n in names]
    factory: Any = StateBase
    enum_type = factory("State", members, module=__name__)
    enum_type.__doc__ = f"The states {', '.join(names)}, generated from a spec."
    return enum_type


def _condition(guard_name: str, negated: bool, spec: Spec) -> Callable[[Any], bool]:
    predicate = PREDICATES[spec.guard(guard_name).predicate]

    def check(event_data: Any) -> bool:
        tcb: TCB = event_data.model._tcb
        seg: Segment = event_data.kwargs["seg"]
        return predicate(tcb, seg) is not negated

    check.__name__ = ("not_" if negated else "") + guard_name
    return check


def _recorder(t: Transition) -> Callable[[Any], None]:
    def record(event_data: Any) -> None:
        event_data.model._fired = t

    record.__name__ = f"fired_{t.id}"
    return record


def _build_transitions_machine(spec: Spec) -> Any:
    """One ``transitions.Machine`` for ``spec``: every (source, event) row with its guards."""
    from transitions import Machine  # imported when first needed: the table engine never is

    machine = Machine(
        model=[],
        states=list(spec.state_names),
        initial=spec.initial,
        auto_transitions=False,
        send_event=True,
        model_attribute=MODEL_ATTRIBUTE,
        ignore_invalid_triggers=False,
    )
    for source, event, t in spec.edges():
        machine.add_transition(
            trigger=event,
            source=source,
            dest=None if t.target == SAME else t.target,
            conditions=[_condition(g.name, g.negated, spec) for g in t.guard],
            after=[_recorder(t)],
        )
    return machine


class CompiledTable:
    """The spec compiled to plain lookups: (state, event) -> [(transition, guard checks)].

    The fast path for the checker and the capture monitor; ``Endpoint(engine="table")``
    runs on it, and the tests prove it chooses exactly what the ``transitions`` machine does.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._rows: dict[tuple[str, str], tuple[tuple[Transition, tuple[tuple[Any, bool], ...]], ...]] = {}
        for state in spec.state_names:
            for event in spec.enabled_events(state):
                self._rows[(state, event)] = tuple(
                    (t, tuple((PREDICATES[spec.guard(g.name).predicate], g.negated) for g in t.guard))
                    for t in spec.candidates(state, event))

    def select(self, state: str, event: str, tcb: TCB, seg: Segment) -> Transition | None:
        """The transition of (state, event) whose guards hold, or None."""
        for t, checks in self._rows.get((state, event), ()):
            for pred, negated in checks:
                if pred(tcb, seg) is negated:
                    break
            else:
                return t
        return None


@dataclass(eq=False)
class CompiledMachine:
    """What the runtime needs of one spec, derived once (see the module docstring)."""

    spec: Spec
    State: Any
    by_name: dict[str, StateBase]  # RFC name and code name -> State member
    table: CompiledTable
    state_group: dict[str, ArrivalGroup]
    steps_of: dict[str, list[tuple[Step, int, int]]]  # group -> (step, flags needed, flags forbidden)
    event_kind: dict[str, str]
    timer_event: dict[str, str]  # timer -> its timeout event
    durations: dict[str, Duration | None]  # timer -> its declared duration
    established: str  # where an active opener's acceptable SYN,ACK leads (ESTABLISHED in RFC 9293)
    unacked_timers: tuple[str, ...] = ()  # timers armed while sent data is unacknowledged (`armed:`)
    resume_at: dict[str, int] = field(default_factory=dict)  # group -> index of its `resume` step
    _machine: Any = field(default=None, repr=False)

    @property
    def machine(self) -> Any:
        """The shared ``transitions.Machine`` (built on first use)."""
        if self._machine is None:
            self._machine = _build_transitions_machine(self.spec)
        return self._machine

    def state_of(self, name: str) -> Any:
        """The ``State`` member for an RFC name (``"SYN-RECEIVED"``) or a code name (``"SYN_RECEIVED"``)."""
        try:
            return self.by_name[name]
        except KeyError:
            raise ValueError(f"{name!r} is not a state of {self.spec.profile or self.spec.name} "
                             f"(states: {', '.join(self.spec.state_names)})") from None

    def enabled(self, state: str) -> tuple[str, ...]:
        """The events that have a transition in ``state``, in spec order."""
        return self.spec.enabled_events(state)


def _established(spec: Spec) -> str:
    """The state an active OPEN reaches on the peer's SYN,ACK (ESTABLISHED in RFC 9293), from the
    spec's own rows: the state-changing target of ``rcv_syn_ack`` after ``open_active``."""
    def target(state: str, event: str) -> str:
        return next((t.target_from(state) for t in spec.candidates(state, event) if t.changes_state(state)), state)

    return target(target(spec.initial, "open_active"), "rcv_syn_ack")


@cache
def machine_for(spec: Spec) -> CompiledMachine:
    """The compiled machine of ``spec``, built once per spec and shared by all its Endpoints."""
    state_enum = _state_enum(spec.state_names)
    by_name = {**{m.name: m for m in state_enum}, **{m.value: m for m in state_enum}}
    groups = {g.name: g for g in spec.arrival}
    return CompiledMachine(
        spec=spec, State=state_enum, by_name=by_name, table=CompiledTable(spec),
        state_group={s.name: groups[s.group] for s in spec.states},
        steps_of={g.name: [(st, st.flag_bits, st.without_bits) for st in g.steps] for g in spec.arrival},
        event_kind={e.name: e.kind for e in spec.events},
        timer_event={str(e.timer): e.name for e in spec.events if e.timer},
        durations={name: spec.timer_def(name).duration for name in spec.timers},
        established=_established(spec),
        unacked_timers=tuple(t.name for t in spec.timer_defs if t.armed == "while_unacknowledged"),
        resume_at={g.name: i for g in spec.arrival for i, st in enumerate(g.steps) if st.resume})


_DEFAULT = machine_for(load_spec())
State: Any = _DEFAULT.State
State.__doc__ = "The states of RFC 9293 §3.3.2, generated from specs/tcp.yaml (the default spec)."
State.__qualname__ = "State"


def state_of(name: str) -> Any:
    """The default spec's ``State`` member for an RFC name or a code name (``machine_for(spec).state_of``
    for another spec's)."""
    return _DEFAULT.state_of(name)


def compiled_table(spec: Spec) -> CompiledTable:
    return machine_for(spec).table


def shared_machine(spec: Spec) -> Any:
    return machine_for(spec).machine
