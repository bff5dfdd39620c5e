"""Segments as values, and sequence-number arithmetic modulo 2**32 (RFC 9293 §3.4)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

SEQ_MOD = 1 << 32
_HALF = 1 << 31

# The order control bits are printed in: the order people write them ("SYN,ACK", "FIN,ACK").
_FLAG_ORDER = ("SYN", "FIN", "RST", "PSH", "ACK", "URG")


class Flags(enum.IntFlag):
    """TCP control bits, with their header bit values (RFC 9293 §3.1).

    ``str(Flags.SYN | Flags.ACK)`` is ``"SYN,ACK"``; ``Flags.parse("FIN,ACK")`` reads it back.
    """

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20

    def __str__(self) -> str:
        names = [n for n in _FLAG_ORDER if self & Flags[n]]
        return ",".join(names) if names else "none"

    @classmethod
    def parse(cls, text: str) -> Flags:
        """Parse ``"SYN,ACK"`` (or ``"SYN+ACK"``, ``"none"``) into flags; raise ValueError."""
        out = cls(0)
        text = text.strip()
        if text in ("", "none", "-"):
            return out
        for part in text.replace("+", ",").split(","):
            name = part.strip().upper()
            if name not in cls.__members__:
                raise ValueError(f"unknown TCP flag {part.strip()!r} (known: {', '.join(_FLAG_ORDER)})")
            out |= cls[name]
        return out


_FLAG_VALUES = [Flags(i) for i in range(64)]  # every combination of the six bits, made once


def flags_of(bits: int) -> Flags:
    """The Flags value of an int, without the cost of an enum call."""
    return _FLAG_VALUES[bits & 0x3F]


def seq_add(a: int, b: int) -> int:
    """a + b modulo 2**32."""
    return (a + b) % SEQ_MOD


def seq_lt(a: int, b: int) -> bool:
    """a < b in sequence space (RFC 9293 §3.4; serial arithmetic over a 2**31 half-space)."""
    return a != b and ((b - a) % SEQ_MOD) < _HALF


def seq_le(a: int, b: int) -> bool:
    """a =< b in sequence space."""
    return a == b or seq_lt(a, b)


def seq_between(low: int, x: int, high: int) -> bool:
    """low =< x < high in sequence space (an empty range when low == high)."""
    return ((x - low) % SEQ_MOD) < ((high - low) % SEQ_MOD)


@dataclass(frozen=True)
class Segment:
    """One TCP segment, as far as the connection lifecycle cares.

    ``length`` is the payload length; ``payload`` optionally carries the bytes (then
    ``length`` defaults to ``len(payload)``). SYN and FIN each occupy one sequence
    number on top of the payload (``seg_len``, RFC 9293 §3.4).
    """

    seq: int = 0
    ack: int = 0
    flags: Flags = Flags(0)  # noqa: RUF009 - an immutable IntFlag value
    window: int = 65535
    length: int = 0
    payload: bytes | None = field(default=None, repr=False)
    src_port: int | None = None
    dst_port: int | None = None
    bits: int = field(init=False, repr=False, compare=False, default=0)  # int(flags), for hot paths

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        if type(self.flags) is not Flags:
            setattr_(self, "flags", _FLAG_VALUES[self.flags] if type(self.flags) is int and 0 <= self.flags < 64
                     else Flags(self.flags))
        setattr_(self, "bits", self.flags.value)
        if self.payload is not None:
            if self.length == 0:
                setattr_(self, "length", len(self.payload))
            elif self.length != len(self.payload):
                raise ValueError(f"length={self.length} but the payload holds {len(self.payload)} bytes")
        if not 0 <= self.seq < SEQ_MOD:
            setattr_(self, "seq", self.seq % SEQ_MOD)
        if not 0 <= self.ack < SEQ_MOD:
            setattr_(self, "ack", self.ack % SEQ_MOD)
        if self.length < 0 or self.window < 0:
            raise ValueError("length and window must not be negative")

    @property
    def seg_len(self) -> int:
        """SEG.LEN: payload length plus one for SYN and one for FIN (RFC 9293 §3.4)."""
        return self.length + (self.bits & 2) // 2 + (self.bits & 1)  # SYN = 0x02, FIN = 0x01

    def has(self, flags: Flags) -> bool:
        """True when every bit of ``flags`` is set."""
        return (self.bits & flags.value) == flags.value

    def __str__(self) -> str:
        parts = [str(self.flags), f"seq={self.seq}"]
        if self.flags & Flags.ACK:
            parts.append(f"ack={self.ack}")
        if self.length:
            parts.append(f"len={self.length}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form (flags as text)."""
        out: dict[str, object] = {"flags": str(self.flags), "seq": self.seq, "ack": self.ack,
                                  "window": self.window, "length": self.length}
        if self.src_port is not None:
            out["src_port"] = self.src_port
        if self.dst_port is not None:
            out["dst_port"] = self.dst_port
        return out
