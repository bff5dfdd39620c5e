"""Segments as values, and sequence-number arithmetic modulo 2**32 (RFC 9293 §3.4)."""

from __future__ import annotations

import enum
import operator
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
        """Parse ``"SYN,ACK"`` (or ``"SYN+ACK"``, ``"none"``) into flags; raise ValueError
        (TypeError for anything but text)."""
        if not isinstance(text, str):
            raise TypeError(f"Flags.parse takes text like 'SYN,ACK', not {type(text).__name__} {text!r:.60}")
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


def _integer(name: str, value: object) -> int:
    """An integer field's value as an int (numpy integers too); TypeError for a float, NaN, text or bool."""
    if isinstance(value, bool | float | str | bytes):
        raise TypeError(f"Segment {name} must be an int, not {type(value).__name__} {value!r:.40}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"Segment {name} must be an int, not {type(value).__name__}") from None


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
        flags = self.flags
        if type(flags) is not Flags:
            if type(flags) is int and 0 <= flags < 64:
                flags = _FLAG_VALUES[flags]
            elif isinstance(flags, str):
                flags = Flags.parse(flags)
            else:
                bits = _integer("flags", flags)
                if not 0 <= bits < 64:
                    raise ValueError(f"Segment flags {bits:#x} has bits beyond the six control bits "
                                     "(FIN 0x01 .. URG 0x20, RFC 9293 §3.1)")
                flags = _FLAG_VALUES[bits]
            setattr_(self, "flags", flags)
        elif not 0 <= flags.value < 64:
            raise ValueError(f"Segment flags {flags.value:#x} has bits beyond the six control bits "
                             "(FIN 0x01 .. URG 0x20, RFC 9293 §3.1)")
        setattr_(self, "bits", self.flags.value)
        for name in ("seq", "ack", "window", "length"):
            value = getattr(self, name)
            if type(value) is not int:
                setattr_(self, name, _integer(name, value))
        payload = self.payload
        if payload is not None:
            if type(payload) is not bytes:
                if isinstance(payload, str) or not isinstance(payload, bytes | bytearray | memoryview):
                    raise TypeError(f"Segment payload must be bytes, not {type(payload).__name__}"
                                    + (" (encode the text first)" if isinstance(payload, str) else ""))
                payload = bytes(payload)
                setattr_(self, "payload", payload)
            if self.length == 0:
                setattr_(self, "length", len(payload))
            elif self.length != len(payload):
                raise ValueError(f"length={self.length} but the payload holds {len(payload)} bytes")
        if not 0 <= self.seq < SEQ_MOD:
            setattr_(self, "seq", self.seq % SEQ_MOD)
        if not 0 <= self.ack < SEQ_MOD:
            setattr_(self, "ack", self.ack % SEQ_MOD)
        if not 0 <= self.length < _HALF:
            raise ValueError(f"Segment length must be 0 to 2**31-1 (half the sequence space), not {self.length}")
        if not 0 <= self.window < SEQ_MOD:
            raise ValueError(f"Segment window must be 0 to 2**32-1, not {self.window}")
        for name in ("src_port", "dst_port"):
            port = getattr(self, name)
            if port is not None:
                if type(port) is not int:
                    port = _integer(name, port)
                    setattr_(self, name, port)
                if not 0 <= port <= 0xFFFF:
                    raise ValueError(f"Segment {name} must be 0 to 65535 or None, not {port}")

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
