"""tcpfsm: TCP's connection lifecycle (RFC 9293) as an executable, checkable, drawable spec.

The spec in ``specs/`` is the one source of truth. The package is housed as its pipeline,
each layer depending only on those below it::

    base -> spec -> runtime -> checker | conformance | render -> cli

This module re-exports the public API: load a spec (:func:`load_spec`,
:func:`resolve_spec`), run it (:class:`Endpoint`, a sans-IO endpoint driven by the
``transitions`` library; :class:`EndpointPair`, two of them and a network), and, with the
extras installed, check it (:mod:`tcpfsm.checker`), monitor captures
(:mod:`tcpfsm.conformance`) and draw it (:mod:`tcpfsm.render`). The streaming
:class:`Monitor` (both ends' states of every connection of a stream of TCP packets) needs
no extra: numpy and dpkt only speed up reading capture files and parse dpkt's packets.
"""

from typing import TYPE_CHECKING, Any

from tcpfsm.base import (
    ConnectionClosing,
    ConnectionDoesNotExist,
    ConnectionExists,
    Flags,
    ObserverError,
    Problem,
    Segment,
    SpecError,
    SpecGap,
    TcpFsmError,
    TimerNotArmed,
    UserCallError,
    samples_path,
)

if TYPE_CHECKING:
    from tcpfsm.conformance import ConnectionStates, Monitor, SkippedPacket, TcpPacket, from_dpkt, from_scapy
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
    from tcpfsm.sockets import Host, Listener, Socket, SocketError
    from tcpfsm.spec import Spec, Transition, available_profiles, load_spec, resolve_spec

# The spec's, the runtime's and the monitor's names load their modules when first used, so that
# `import tcpfsm` (and the command line, before its Ctrl-C handler exists) loads no spec, and every
# command but `monitor` starts without tcpfsm.conformance (it needs neither numpy nor dpkt).
_LAZY: dict[str, str] = {
    **dict.fromkeys(("TCB", "Endpoint", "EndpointPair", "EndpointState", "Notice", "State", "Step", "TraceEvent",
                     "machine_for", "state_of"), "tcpfsm.runtime"),
    **dict.fromkeys(("Spec", "Transition", "available_profiles", "load_spec", "resolve_spec"), "tcpfsm.spec"),
    **dict.fromkeys(("ConnectionStates", "Monitor", "SkippedPacket", "TcpPacket", "from_dpkt", "from_scapy"),
                    "tcpfsm.conformance"),
    **dict.fromkeys(("Host", "Listener", "Socket", "SocketError"), "tcpfsm.sockets"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tcpfsm' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "TCB",
    "ConnectionClosing",
    "ConnectionDoesNotExist",
    "ConnectionExists",
    "ConnectionStates",
    "Endpoint",
    "EndpointPair",
    "EndpointState",
    "Flags",
    "Host",
    "Listener",
    "Monitor",
    "Notice",
    "ObserverError",
    "Problem",
    "Segment",
    "SkippedPacket",
    "Socket",
    "SocketError",
    "Spec",
    "SpecError",
    "SpecGap",
    "State",
    "Step",
    "TcpFsmError",
    "TcpPacket",
    "TimerNotArmed",
    "TraceEvent",
    "Transition",
    "UserCallError",
    "available_profiles",
    "from_dpkt",
    "from_scapy",
    "load_spec",
    "machine_for",
    "resolve_spec",
    "samples_path",
    "state_of",
]
