"""tcpfsm: TCP's connection lifecycle (RFC 9293) as an executable, checkable, drawable spec.

The spec in ``specs/`` is the one source of truth. The package is housed as its pipeline,
each layer depending only on those below it::

    base -> spec -> runtime -> checker | conformance | render -> cli

This module re-exports the public API: load a spec (:func:`load_spec`,
:func:`resolve_spec`), run it (:class:`Endpoint`, a sans-IO endpoint driven by the
``transitions`` library; :class:`EndpointPair`, two of them and a network), and, with the
extras installed, check it (:mod:`tcpfsm.checker`), monitor captures
(:mod:`tcpfsm.conformance`) and draw it (:mod:`tcpfsm.render`).
"""

from tcpfsm.base import (
    ConnectionClosing,
    ConnectionDoesNotExist,
    ConnectionExists,
    Flags,
    Problem,
    Segment,
    SpecError,
    SpecGap,
    TcpFsmError,
    TimerNotArmed,
    UserCallError,
)
from tcpfsm.runtime import (
    TCB,
    Endpoint,
    EndpointPair,
    EndpointState,
    Notice,
    State,
    Step,
    TraceEvent,
    machine_for,
    state_of,
)
from tcpfsm.spec import Spec, Transition, available_profiles, load_spec, resolve_spec

__version__ = "0.1.0"

__all__ = [
    "TCB",
    "ConnectionClosing",
    "ConnectionDoesNotExist",
    "ConnectionExists",
    "Endpoint",
    "EndpointPair",
    "EndpointState",
    "Flags",
    "Notice",
    "Problem",
    "Segment",
    "Spec",
    "SpecError",
    "SpecGap",
    "State",
    "Step",
    "TcpFsmError",
    "TimerNotArmed",
    "TraceEvent",
    "Transition",
    "UserCallError",
    "available_profiles",
    "load_spec",
    "machine_for",
    "resolve_spec",
    "state_of",
]
