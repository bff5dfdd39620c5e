"""tcpfsm: TCP's connection lifecycle (RFC 9293) as an executable, checkable, drawable spec.

The spec in ``specs/`` is the one source of truth; this package loads it
(:func:`load_spec`), runs it (:class:`Endpoint`, a sans-IO endpoint driven by the
``transitions`` library) and offers helpers for tests (:mod:`tcpfsm.testing`).
"""

from ._endpoint import Endpoint, Notice, Step
from ._errors import (
    ConnectionClosing,
    ConnectionDoesNotExist,
    ConnectionExists,
    Problem,
    SpecError,
    SpecGap,
    TcpFsmError,
    TimerNotArmed,
    UserCallError,
)
from ._model import State, state_of
from ._segment import Flags, Segment
from ._spec import Spec, Transition, available_profiles, load_spec
from ._tcb import TCB

__version__ = "0.1.0"

__all__ = [
    "TCB",
    "ConnectionClosing",
    "ConnectionDoesNotExist",
    "ConnectionExists",
    "Endpoint",
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
    "Transition",
    "UserCallError",
    "available_profiles",
    "load_spec",
    "state_of",
]
