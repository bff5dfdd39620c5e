"""The frozen records a spec is loaded into: states, events, guards, actions, transitions, Spec."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tcpfsm.base._segment import Flags

SAME = "same"
USER, SEGMENT, TIMER = "user", "segment", "timer"


@dataclass(frozen=True)
class StateDef:
    name: str
    group: str
    rfc: str
    meaning: str = ""
    initial: bool = False
    file: str = field(default="", compare=False)  # where it is declared (for problems)
    line: int = field(default=0, compare=False)

    @property
    def code_name(self) -> str:
        """The Python spelling: ``SYN-RECEIVED`` -> ``SYN_RECEIVED``."""
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class Duration:
    """How long a timer runs once armed: fixed ``seconds``, or an Endpoint parameter (``msl``,
    ``rto``, ``user_timeout``) times ``times``, doubled per retransmission when ``backoff``."""

    param: str | None = None
    times: float = 1.0
    seconds: float | None = None
    backoff: bool = False

    def __str__(self) -> str:
        if self.seconds is not None:
            return f"{self.seconds:g} s"
        text = f"{self.times:g} x {self.param}" if self.times != 1 else str(self.param)
        return text + (", doubled per retransmission" if self.backoff else "")


@dataclass(frozen=True)
class TimerDef:
    """A timer: its name, RFC section, meaning and duration (``timers:`` in the spec)."""

    name: str
    rfc: str = ""
    meaning: str = ""
    duration: Duration | None = None
    armed: str = "by_actions"  # or "while_unacknowledged": the runtime arms it (vocabulary ARMING)


@dataclass(frozen=True)
class EventDef:
    name: str
    kind: str
    label: str
    rfc: str = ""
    timer: str | None = None


@dataclass(frozen=True)
class GuardDef:
    name: str
    predicate: str
    doc: str
    rfc: str = ""
    implies: tuple[GuardRef, ...] = ()


@dataclass(frozen=True)
class GuardRef:
    name: str
    negated: bool = False

    def __str__(self) -> str:
        return ("not " if self.negated else "") + self.name

    def negation(self) -> GuardRef:
        return GuardRef(self.name, not self.negated)


@dataclass(frozen=True)
class Send:
    """A segment to emit: control bits and where SEQ and ACK come from (RFC 9293 notation)."""

    ctl: Flags
    seq: str = "SND.NXT"
    ack: str | None = None
    data: bool = False
    throttle: str | None = None  # a rate limit of the vocabulary (THROTTLES), e.g. challenge_ack

    def __str__(self) -> str:
        parts = [f"<SEQ={self.seq}>"]
        if self.ack:
            parts.append(f"<ACK={self.ack}>")
        parts.append(f"<CTL={self.ctl}>")
        limited = f" (limited: {self.throttle})" if self.throttle else ""
        return "".join(parts) + (" +data" if self.data else "") + limited


@dataclass(frozen=True)
class Action:
    """One action: ``kind`` is send, effect, notice, error, drop, start, restart or stop."""

    kind: str
    arg: Any

    def __str__(self) -> str:
        if self.kind == "effect":
            return str(self.arg)
        if self.kind == "send":
            return f"snd {self.arg}"
        return f"{self.kind} {self.arg}"


@dataclass(frozen=True)
class Step:
    """One arrival step: fire ``event`` when ``flags`` are set, ``without`` are clear, ``check`` holds.

    A step with ``trim`` fires no event: from there on, flags, guards and effects see the segment
    trimmed to the receive window (``trim: window``; checks still read it as it arrived). A
    ``resume`` step is where a held segment (effect ``hold``) is processed once it is in sequence."""

    event: str
    flags: Flags = Flags(0)  # noqa: RUF009 - an immutable IntFlag value
    without: Flags = Flags(0)  # noqa: RUF009
    check: str | None = None
    final: bool = False
    trim: str | None = None
    resume: bool = False
    file: str = field(default="", compare=False)  # where it is declared (for problems)
    line: int = field(default=0, compare=False)

    @property
    def flag_bits(self) -> int:
        return int(self.flags)

    @property
    def without_bits(self) -> int:
        return int(self.without)


@dataclass(frozen=True)
class ArrivalGroup:
    name: str
    mode: str
    steps: tuple[Step, ...]
    rfc: str = ""


@dataclass(frozen=True)
class Transition:
    """One row of the spec: sources x events, guards, actions, target, RFC section."""

    id: str
    row: str
    sources: tuple[str, ...]
    events: tuple[str, ...]
    guard: tuple[GuardRef, ...]
    target: str  # a state name, or SAME
    actions: tuple[Action, ...]
    rfc: str
    label: str = ""
    file: str = ""
    line: int = 0
    finding: str = ""  # what a capture monitor reports when this transition is taken

    def target_from(self, source: str) -> str:
        return source if self.target == SAME else self.target

    @property
    def sends(self) -> tuple[Send, ...]:
        return tuple(a.arg for a in self.actions if a.kind == "send")

    @property
    def error(self) -> str | None:
        return next((a.arg for a in self.actions if a.kind == "error"), None)

    @property
    def drop(self) -> str | None:
        return next((a.arg for a in self.actions if a.kind == "drop"), None)

    @property
    def notices(self) -> tuple[str, ...]:
        return tuple(a.arg for a in self.actions if a.kind == "notice")

    @property
    def ends_processing(self) -> bool:
        """The segment's remaining steps are skipped (a drop, or the RFC's "and return")."""
        return any(a.kind == "drop" or (a.kind == "effect" and a.arg == "return") for a in self.actions)

    def changes_state(self, source: str) -> bool:
        return self.target_from(source) != source


@dataclass(frozen=True)
class DiagramHints:
    """Presentation hints for the state diagram (``diagram:`` in the spec)."""

    ranks: tuple[tuple[str, ...], ...] = ()
    client_path: tuple[str, ...] = ()
    server_path: tuple[str, ...] = ()
    figure: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Spec:
    """A validated machine: the one source of truth that everything else derives from."""

    name: str
    title: str
    profile: str
    file: str
    states: tuple[StateDef, ...]
    events: tuple[EventDef, ...]
    guards: tuple[GuardDef, ...]
    timers: tuple[str, ...]
    checks: tuple[str, ...]
    arrival: tuple[ArrivalGroup, ...]
    transitions: tuple[Transition, ...]
    checklist: tuple[tuple[str, str], ...] = ()
    files: tuple[str, ...] = ()
    diagram: DiagramHints = field(default_factory=lambda: DiagramHints())
    timer_defs: tuple[TimerDef, ...] = ()
    sets: tuple[tuple[str, tuple[str, ...]], ...] = ()  # named state sets, expanded (``sets:``)
    _index: dict[tuple[str, str], tuple[Transition, ...]] = field(
        default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], list[Transition]] = {}
        for t in self.transitions:
            for s in t.sources:
                for e in t.events:
                    index.setdefault((s, e), []).append(t)
        self._index.update({k: tuple(v) for k, v in index.items()})

    # --- derived queries (automat style) -----------------------------------
    @property
    def initial(self) -> str:
        return next(s.name for s in self.states if s.initial)

    @cached_property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    def state_set(self, name: str) -> tuple[str, ...]:
        """The states of a named set (``sets:`` in the spec), in the order written."""
        return dict(self.sets)[name]

    # lookups by name: dicts built once (a spec of 40,000 states stays linear, issue 16); a
    # missing name raises StopIteration, as the scans these replaced did
    @cached_property
    def _by_name(self) -> dict[str, dict[str, Any]]:
        return {"state": {s.name: s for s in reversed(self.states)},
                "event": {e.name: e for e in reversed(self.events)},
                "guard": {g.name: g for g in reversed(self.guards)},
                "group": {g.name: g for g in reversed(self.arrival)},
                "transition": {t.id: t for t in reversed(self.transitions)}}

    def _lookup(self, kind: str, name: str) -> Any:
        try:
            return self._by_name[kind][name]
        except (KeyError, TypeError):
            raise StopIteration(f"no {kind} {name!r} in the spec") from None

    def state(self, name: str) -> StateDef:
        return self._lookup("state", name)  # type: ignore[no-any-return]

    def timer_def(self, name: str) -> TimerDef:
        return next((t for t in self.timer_defs if t.name == name), TimerDef(name))

    def event(self, name: str) -> EventDef:
        return self._lookup("event", name)  # type: ignore[no-any-return]

    def guard(self, name: str) -> GuardDef:
        return self._lookup("guard", name)  # type: ignore[no-any-return]

    def group(self, name: str) -> ArrivalGroup:
        return self._lookup("group", name)  # type: ignore[no-any-return]

    def candidates(self, state: str, event: str) -> tuple[Transition, ...]:
        """The transitions of (state, event), in spec order; their guards are exclusive."""
        return self._index.get((state, event), ())

    def enabled_events(self, state: str) -> tuple[str, ...]:
        """Events that have at least one transition in ``state``, in spec order."""
        return tuple(e.name for e in self.events if (state, e.name) in self._index)

    def edges(self) -> Iterator[tuple[str, str, Transition]]:
        """Every (source, event, transition) triple, in spec order."""
        for t in self.transitions:
            for s in t.sources:
                for e in t.events:
                    yield s, e, t

    def transition(self, tid: str) -> Transition:
        return self._lookup("transition", tid)  # type: ignore[no-any-return]


