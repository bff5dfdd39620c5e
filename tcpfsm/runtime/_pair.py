"""``EndpointPair``: two endpoints joined by an in-memory network the caller controls.

>>> from tcpfsm.testing import EndpointPair
>>> pair = EndpointPair()
>>> pair.handshake()
>>> [str(s) for s in pair.states()]
['ESTABLISHED', 'ESTABLISHED']
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tcpfsm.base._errors import TimerNotArmed, UserCallError
from tcpfsm.base._segment import Segment
from tcpfsm.runtime._endpoint import Endpoint, Step
from tcpfsm.spec import Spec


@dataclass(frozen=True)
class TraceEvent:
    """One thing that happened in an EndpointPair: a call, a delivery, a loss, a timeout, ..."""

    kind: str  # call | deliver | lose | duplicate | inject | timeout | error
    who: str  # the endpoint that acted (for deliver/lose/duplicate: the sender)
    detail: str = ""
    segment: Segment | None = None
    steps: tuple[Step, ...] = ()
    sent: tuple[Segment, ...] = ()
    to: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "who": self.who, "to": self.to, "detail": self.detail,
                "segment": self.segment.to_dict() if self.segment else None,
                "steps": [s.to_dict() for s in self.steps], "sent": [s.to_dict() for s in self.sent]}


@dataclass
class EndpointPair:
    """Two endpoints, ``A`` and ``B``, and one FIFO-by-default channel each way.

    ``channels["A"]`` holds the segments A sent that B has not yet received. ``deliver``,
    ``lose`` and ``duplicate`` take an index so a caller can reorder the network.
    """

    a: Endpoint = field(default_factory=lambda: Endpoint(iss=100, name="A"))
    b: Endpoint = field(default_factory=lambda: Endpoint(iss=300, name="B"))
    trace: list[TraceEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.a.name = self.a.name or "A"
        self.b.name = self.b.name or "B"
        self.channels: dict[str, deque[Segment]] = {self.a.name: deque(), self.b.name: deque()}

    @classmethod
    def build(cls, spec: Spec | None = None, *, profile: str | None = None, a_iss: int = 100,
              b_iss: int = 300, **kwargs: Any) -> EndpointPair:
        """A pair built from one spec or profile; ``kwargs`` go to both Endpoints."""
        a = Endpoint(a_iss, spec=spec, profile=profile, name="A", **kwargs)
        b = Endpoint(b_iss, spec=a.spec, name="B", **kwargs)
        return cls(a, b)

    # ------------------------------------------------------------- helpers
    @property
    def names(self) -> tuple[str, str]:
        return (str(self.a.name), str(self.b.name))

    def endpoint(self, who: str) -> Endpoint:
        return self.a if who == self.a.name else self.b

    def peer(self, who: str) -> Endpoint:
        return self.b if who == self.a.name else self.a

    def states(self) -> tuple[Any, Any]:
        return (self.a.state, self.b.state)

    def in_flight(self) -> int:
        return sum(len(c) for c in self.channels.values())

    # ------------------------------------------------------------- events
    def call(self, who: str, method: str, *args: Any) -> list[Segment]:
        """Run a user call on ``who``; its segments go into ``who``'s channel.

        A call the RFC refuses is recorded as an ``error`` event and re-raised.
        """
        ep = self.endpoint(who)
        try:
            out: list[Segment] = getattr(ep, method)(*args)
        except UserCallError as exc:
            self.trace.append(TraceEvent("error", who, f"{method}: {exc.words}"))
            raise
        self.channels[who].extend(out)
        self.trace.append(TraceEvent("call", who, method, None, tuple(ep.last_steps), tuple(out)))
        return out

    def timeout(self, who: str, timer: str) -> list[Segment]:
        ep = self.endpoint(who)
        out = ep.timeout(timer)
        self.channels[who].extend(out)
        self.trace.append(TraceEvent("timeout", who, timer, None, tuple(ep.last_steps), tuple(out)))
        return out

    def deliver(self, sender: str, index: int = 0) -> list[Segment]:
        """Deliver the ``index``-th segment in flight from ``sender`` to its peer."""
        seg = self.channels[sender][index]
        del self.channels[sender][index]
        receiver = self.peer(sender)
        out = receiver.receive(seg)
        self.channels[str(receiver.name)].extend(out)
        self.trace.append(TraceEvent("deliver", sender, "", seg, tuple(receiver.last_steps), tuple(out),
                                     str(receiver.name)))
        return out

    def lose(self, sender: str, index: int = 0) -> Segment:
        seg = self.channels[sender][index]
        del self.channels[sender][index]
        self.trace.append(TraceEvent("lose", sender, "", seg, to=str(self.peer(sender).name)))
        return seg

    def duplicate(self, sender: str, index: int = 0) -> Segment:
        seg = self.channels[sender][index]
        self.channels[sender].append(seg)
        self.trace.append(TraceEvent("duplicate", sender, "", seg, to=str(self.peer(sender).name)))
        return seg

    def crash(self, who: str) -> None:
        """``who`` loses all its state (a reboot): it becomes a fresh CLOSED endpoint."""
        fresh = self.endpoint(who).fresh()
        if who == self.a.name:
            self.a = fresh
        else:
            self.b = fresh
        self.trace.append(TraceEvent("crash", who, "all state lost"))

    def inject(self, to: str, seg: Segment, label: str = "injected") -> list[Segment]:
        """Hand ``to`` a crafted segment (an old duplicate, a stray RST, ...)."""
        ep = self.endpoint(to)
        out = ep.receive(seg)
        self.channels[to].extend(out)
        other = self.peer(to).name
        self.trace.append(TraceEvent("inject", str(other), label, seg, tuple(ep.last_steps), tuple(out), to))
        return out

    def run(self, max_steps: int = 1000) -> None:
        """Deliver everything in flight, oldest first, alternating directions, until quiet."""
        for _ in range(max_steps):
            busy = [n for n in self.names if self.channels[n]]
            if not busy:
                return
            for n in busy:
                if self.channels[n]:
                    self.deliver(n)
        raise RuntimeError(f"the network did not go quiet in {max_steps} deliveries")

    def handshake(self) -> None:
        """B listens, A connects, everything is delivered."""
        self.call(self.names[1], "listen")
        self.call(self.names[0], "connect")
        self.run()

    def apply(self, action: tuple[Any, ...]) -> bool:
        """Apply one generated action (see ``actions()``); False when it was not applicable.

        Refused user calls and unarmed timers count as applied-with-no-effect (True): the
        RFC defines them, and they are part of the orderings worth exploring.
        """
        kind, who = action[0], self.names[action[1]]
        try:
            if kind == "call":
                self.call(who, action[2])
            elif kind == "timeout":
                if action[2] not in self.endpoint(who).armed_timers:
                    return False
                self.timeout(who, action[2])
            elif kind in ("deliver", "lose", "duplicate"):
                chan = self.channels[who]
                if not chan:
                    return False
                getattr(self, kind)(who, action[2] % len(chan))
        except (UserCallError, TimerNotArmed):
            return True
        return True


