"""Names derived from the spec: the ``State`` enum, and the shared ``transitions.Machine``.

The runtime never spells a state or a transition: ``State`` is generated from the default
spec's ``states:`` list, and one ``transitions.Machine`` per spec is built once and shared
by every Endpoint of that spec (it holds no per-connection data; endpoints are driven
through ``Event.trigger(model)``, so thousands of connections cost no machine each).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import cache
from typing import Any

from tcpfsm.base._segment import Segment
from tcpfsm.runtime._tcb import PREDICATES, TCB
from tcpfsm.spec import SAME, Spec, Transition, load_spec


class _StateBase(enum.StrEnum):
    """A TCP state: ``State.SYN_RECEIVED`` in code, ``"SYN-RECEIVED"`` as text (RFC spelling)."""

    def __str__(self) -> str:
        return str(self.value)

    @property
    def rfc_name(self) -> str:
        return str(self.value)


def _state_enum(spec: Spec) -> Any:
    members = [(s.code_name, s.name) for s in spec.states]
    factory: Any = _StateBase
    return factory("State", members, module=__name__)


State: Any = _state_enum(load_spec())
State.__doc__ = "The states of RFC 9293 §3.3.2, generated from specs/tcp.yaml."
State.__qualname__ = "State"

MODEL_ATTRIBUTE = "_fsm_state"


_BY_NAME: dict[str, Any] = {**{m.name: m for m in State}, **{m.value: m for m in State}}


def state_of(name: str) -> Any:
    """The ``State`` member for an RFC name (``"SYN-RECEIVED"``) or a code name (``"SYN_RECEIVED"``)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"{name!r} is not a TCP state (states: {', '.join(m.value for m in State)})") from None


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


@cache
def shared_machine(spec: Spec) -> Any:
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
        for (state, event), ts in spec._index.items():
            self._rows[(state, event)] = tuple(
                (t, tuple((PREDICATES[spec.guard(g.name).predicate], g.negated) for g in t.guard)) for t in ts)

    def select(self, state: str, event: str, tcb: TCB, seg: Segment) -> Transition | None:
        """The transition of (state, event) whose guards hold, or None."""
        for t, checks in self._rows.get((state, event), ()):
            for pred, negated in checks:
                if pred(tcb, seg) is negated:
                    break
            else:
                return t
        return None


@cache
def compiled_table(spec: Spec) -> CompiledTable:
    return CompiledTable(spec)
