"""The channel model and the table of moves of the composed system, derived from the spec.

One table, read by both engines, the traces, the fairness classes of liveness and the
stateful tests. For each endpoint, in this order (REFERENCE_MODEL.md section 9):
- ``RECV``: the segment at the head of the channel into it (any position when the network
  reorders: ``RECV1``, ``RECV2``, ...);
- the user calls of the spec that are environment events: every ``kind: user`` event but the
  opening calls (the model's ``open:`` makes those once), CLOSE, ABORT and CONNECT first
  (SEND is an environment event only where it opens, the RFC's SEND in LISTEN: CONNECT);
- ``DATA``, with ``data`` N > 0: the user's SEND of one byte (the spec's ``send`` call with
  data), at most N times per endpoint, wherever the spec accepts SEND (RFC 9293 §3.10.2);
- the timers of the spec's ``kind: timer`` events (TIMEOUT: retransmit, TW: time_wait,
  USER_TIMEOUT: user; another timer T: T_TIMEOUT);
- with ``reopen`` N > 0 (incarnations, issue 10): ``REOPEN`` and ``REOPEN_WRAP``, the user opening
  the same 4-tuple again from CLOSED (A connects, B listens), at most N times, with an ISS from
  the clock (beyond all the old incarnation used) or the old ISS again (a wrapped clock);
then, per channel (AB: from A to B), ``LOSE`` when the channel is lossy and ``DUP`` when it
duplicates. A move's label names its endpoint or channel: ``CLOSE_B``, ``LOSE_AB``, ``RECV1_A``.
A move's ``event`` (the label in lower case: ``close``, ``timeout``, ``tw``, ...) is what
history rules match (``event:`` in ``specs/properties.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tcpfsm.spec import TIMER, USER, Spec

RECV, CALL, DATA, TIMEOUT, LOSE, DUP = "recv", "user", "data", "timer", "lose", "dup"
REOPEN = "reopen"
FAIRNESS = {RECV: "deliver", CALL: "user", DATA: "user", TIMEOUT: "timer", LOSE: "loss", DUP: "loss", REOPEN: "user"}
# the ISS of a reopened incarnation (RFC 9293 §3.4.1): "clock", beyond every sequence number the
# old one used (the clock ticked between them), or "wrap", the old ISS again (a wrapped or coarse
# clock); REOPEN_ISS_STEP: the clock's advance between two incarnations
REOPEN_CHOICES = {"REOPEN": "clock", "REOPEN_WRAP": "wrap"}
REOPEN_ISS_STEP = 64_000
SEND_CALL = "send"  # the RFC's SEND: the user call the DATA move makes (with one byte)
OPENING = ("open_active", "open_passive")
# the reference model's names and order (REFERENCE_MODEL.md sections 1 and 9)
CALL_ORDER = ("close", "abort", "send")
CALL_LABELS = {"send": "CONNECT"}
TIMER_ORDER = ("retransmit", "time_wait", "user")
TIMER_LABELS = {"retransmit": "TIMEOUT", "time_wait": "TW", "user": "USER_TIMEOUT"}
# the events of the moves of the RFC specs: a history rule may name one a given spec lacks
STANDARD_EVENTS = frozenset({"recv", "close", "abort", "connect", "data", "timeout", "tw", "user_timeout",
                             "reopen", "reopen_wrap"})


@dataclass(frozen=True)
class Channel:
    """The network between the endpoints (the same model in both directions)."""

    capacity: int = 2
    lossy: bool = False
    duplicating: bool = False
    reordering: bool = False
    when_full: str = "block"  # block: a send into a full channel disables the event; drop: it is lost

    def describe(self) -> str:
        kinds = [k for k, on in (("lossy", self.lossy), ("duplicating", self.duplicating),
                                 ("reordering", self.reordering)) if on] or ["reliable FIFO"]
        return f"{', '.join(kinds)}, capacity {self.capacity}, {self.when_full} when full"


@dataclass(frozen=True)
class Move:
    """One kind of move: ``kind`` recv, user, data, timer (of endpoint ``who``) or lose, dup (of ``channel``)."""

    name: str           # CLOSE, RECV, LOSE, ...
    kind: str
    arg: str = ""       # the user call, the timer, or the reopen's ISS choice (clock, wrap)
    who: str = ""       # A or B: the endpoint that moves
    channel: str = ""   # AB or BA: the channel read (recv, lose, dup)
    labels: tuple[str, ...] = ()  # per channel position: RECV_A, RECV1_A, ...

    @property
    def event(self) -> str:
        return self.name.lower()

    @property
    def fairness(self) -> str:
        return FAIRNESS[self.kind]

    @property
    def retries(self) -> bool:
        """The retransmission timer: the control projection counts its firings (``R``)."""
        return self.kind == TIMEOUT and self.arg == "retransmit"


def _ranked(names: list[str], order: tuple[str, ...]) -> list[str]:
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), names.index(n)))


@dataclass(frozen=True)
class MoveTable:
    moves: tuple[Move, ...]
    channel: Channel
    by_label: Mapping[str, tuple[Move, int]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, spec: Spec, channel: Channel, data: int = 0, reopen: int = 0,
              reopen_iss: tuple[str, ...] = ("clock", "wrap")) -> MoveTable:
        """The moves of ``spec`` over ``channel``; ``data`` > 0 adds each endpoint's DATA move
        (when the spec has the SEND call), ``reopen`` > 0 its REOPEN moves (one per ISS choice of
        ``reopen_iss``)."""
        sends = data > 0 and any(e.kind == USER and e.name == SEND_CALL for e in spec.events)
        calls = _ranked([e.name for e in spec.events if e.kind == USER and e.name not in OPENING], CALL_ORDER)
        timers = _ranked(list(dict.fromkeys(e.timer for e in spec.events if e.kind == TIMER and e.timer)),
                         TIMER_ORDER)
        positions = range(max(channel.capacity, 1)) if channel.reordering else range(1)

        def labels(name: str, suffix: str) -> tuple[str, ...]:
            return tuple(f"{name}{i or ''}_{suffix}" for i in positions)

        moves: list[Move] = []
        for who, inq in (("A", "BA"), ("B", "AB")):
            moves.append(Move("RECV", RECV, who=who, channel=inq, labels=labels("RECV", who)))
            for c in calls:
                name = CALL_LABELS.get(c, c.upper())
                moves.append(Move(name, CALL, c, who=who, labels=(f"{name}_{who}",)))
            if sends:
                moves.append(Move("DATA", DATA, SEND_CALL, who=who, labels=(f"DATA_{who}",)))
            for t in timers:
                name = TIMER_LABELS.get(t, f"{t.upper()}_TIMEOUT")
                moves.append(Move(name, TIMEOUT, t, who=who, labels=(f"{name}_{who}",)))
            if reopen:
                for name, choice in REOPEN_CHOICES.items():
                    if choice in reopen_iss:
                        moves.append(Move(name, REOPEN, choice, who=who, labels=(f"{name}_{who}",)))
        for kind, on in ((LOSE, channel.lossy), (DUP, channel.duplicating)):
            if on:
                for chan in ("AB", "BA"):
                    moves.append(Move(kind.upper(), kind, channel=chan,
                                      labels=labels(kind.upper(), chan) if kind == LOSE else (f"DUP_{chan}",)))
        return cls(tuple(moves), channel, {lab: (m, i) for m in moves for i, lab in enumerate(m.labels)})

    def of(self, who: str) -> tuple[Move, ...]:
        """The moves of endpoint ``who``, in order."""
        return tuple(m for m in self.moves if m.who == who)

    @property
    def network(self) -> tuple[Move, ...]:
        """The moves of the channels (lose, dup), in order."""
        return tuple(m for m in self.moves if not m.who)

    def parse(self, label: str) -> tuple[Move, int]:
        """The move and the channel position of a label (``RECV1_A`` -> RECV of A, 1)."""
        try:
            return self.by_label[label]
        except KeyError:
            raise KeyError(f"no move is labelled {label!r} in this model") from None

    def fairness(self, label: str) -> str:
        """The fairness class of a label: deliver, user, timer or loss."""
        return self.parse(label)[0].fairness

    @property
    def events(self) -> frozenset[str]:
        return frozenset(m.event for m in self.moves)

    def call_event(self, call: str) -> str:
        """The move event of a user call (an opening call, not a move, keeps its name)."""
        return next((m.event for m in self.moves if m.kind == CALL and m.arg == call), call)

    def describe(self, label: str, spec: Spec) -> str:
        """A move label in words, from the spec's own event labels: ``RECV_B`` "B receives",
        ``LOSE_AB`` "segment A->B lost", ``TW_A`` "A: 2MSL timeout", ``CLOSE_A`` "A calls CLOSE"."""
        try:
            move, pos = self.parse(label)
        except KeyError:
            return label
        nth = f" (segment {pos + 1} in flight)" if pos else ""
        if move.kind == RECV:
            return f"{move.who} receives{nth}"
        if move.kind == LOSE:
            return f"segment {move.channel[0]}->{move.channel[1]} lost{nth}"
        if move.kind == DUP:
            return f"network duplicates {move.channel[0]}->{move.channel[1]}'s first segment"
        if move.kind == DATA:
            return f"{move.who} sends a byte"
        if move.kind == REOPEN:
            how = "ISS from the clock" if move.arg == "clock" else "the old ISS again"
            return f"{move.who} opens the 4-tuple again ({how})"
        if move.kind == TIMEOUT:
            ev = next((e for e in spec.events if e.kind == TIMER and e.timer == move.arg), None)
            return f"{move.who}: {ev.label if ev is not None and ev.label else move.arg + ' timer'}"
        ev = next((e for e in spec.events if e.name == move.arg), None)
        call = "CONNECT (SEND in LISTEN)" if move.arg == SEND_CALL else (ev.label if ev is not None else move.name)
        return f"{move.who} calls {call}"

    def timer_event(self, timer: str) -> str:
        return next((m.event for m in self.moves if m.kind == TIMEOUT and m.arg == timer), timer)


__all__ = ["CALL", "DATA", "DUP", "LOSE", "RECV", "REOPEN", "REOPEN_CHOICES", "REOPEN_ISS_STEP", "STANDARD_EVENTS",
           "TIMEOUT", "Channel", "Move", "MoveTable"]
