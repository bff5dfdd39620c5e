"""The bottom layer: errors, segments and sequence arithmetic, safe YAML, shipped resources."""

from tcpfsm.base._errors import (
    ConnectionClosing,
    ConnectionDoesNotExist,
    ConnectionExists,
    ObserverError,
    Problem,
    SpecError,
    SpecGap,
    TcpFsmError,
    TimerNotArmed,
    UserCallError,
)
from tcpfsm.base._resources import samples_path
from tcpfsm.base._segment import SEQ_MOD, Flags, Segment, flags_of, seq_add, seq_between, seq_le, seq_lt

__all__ = [
    "SEQ_MOD",
    "ConnectionClosing",
    "ConnectionDoesNotExist",
    "ConnectionExists",
    "Flags",
    "ObserverError",
    "Problem",
    "Segment",
    "SpecError",
    "SpecGap",
    "TcpFsmError",
    "TimerNotArmed",
    "UserCallError",
    "flags_of",
    "samples_path",
    "seq_add",
    "seq_between",
    "seq_le",
    "seq_lt",
]
