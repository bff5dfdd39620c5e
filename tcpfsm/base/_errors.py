"""The exception hierarchy: one root, structured fields, messages a user can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class TcpFsmError(Exception):
    """Root of every error tcpfsm raises on purpose.

    Every subclass pickles with its structured fields (a multiprocessing worker may raise
    one): a state travels as its RFC name (text), since the ``State`` enum of a spec of the
    caller's own is generated at run time and cannot be found by name in another process.
    """


def _portable(state: object) -> object:
    """A state as it can cross a pickle: the enum of a spec's states is made at run time."""
    return str(state) if isinstance(state, str) else state


@dataclass(frozen=True)
class Problem:
    """One problem found in a spec, trace or capture: where, what, and what to do."""

    file: str
    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")


class SpecError(TcpFsmError):
    """A spec or profile is malformed; ``problems`` lists every problem found, all at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the spec:\n{lines}")

    def __reduce__(self) -> tuple[type[SpecError], tuple[list[Problem]]]:
        return type(self), (self.problems,)


class UserCallError(TcpFsmError):
    """A user call the RFC refuses in the current state (RFC 9293 §3.10.1-3.10.5).

    Carries ``state`` (the endpoint's state), ``call`` (the user call) and ``transition``
    (the spec row that refused it); the message is the RFC's own words.
    """

    rfc_words = "error"

    def __init__(self, state: object, call: str, transition: str, words: str | None = None) -> None:
        self.state = state
        self.call = call
        self.transition = transition
        self.words = words or self.rfc_words
        super().__init__(f"error: {self.words} (user call {call} in {state}, spec row {transition})")

    def __reduce__(self) -> tuple[type[UserCallError], tuple[object, str, str, str]]:
        return type(self), (_portable(self.state), self.call, self.transition, self.words)


class ConnectionExists(UserCallError):
    """OPEN on an endpoint that already has a connection."""

    rfc_words = "connection already exists"


class ConnectionClosing(UserCallError):
    """SEND or CLOSE after this side has closed."""

    rfc_words = "connection closing"


class ConnectionDoesNotExist(UserCallError):
    """SEND, CLOSE or ABORT in CLOSED."""

    rfc_words = "connection does not exist"


class TimerNotArmed(TcpFsmError):
    """``timeout(name)`` for a timer that is not running in the current state."""

    def __init__(self, state: object, timer: str, armed: list[str]) -> None:
        self.state, self.timer, self.armed = state, timer, armed
        running = ", ".join(armed) if armed else "none"
        super().__init__(f"timer {timer!r} is not armed in {state} (armed: {running})")

    def __reduce__(self) -> tuple[type[TimerNotArmed], tuple[object, str, list[str]]]:
        return type(self), (_portable(self.state), self.timer, self.armed)


class SpecGap(TcpFsmError):
    """The spec has no transition for an event that the runtime produced (a spec bug)."""

    def __init__(self, state: object, event: str) -> None:
        self.state, self.event = state, event
        super().__init__(
            f"the spec has no transition for event {event} in {state} whose guards hold; "
            "run `tcpfsm spec validate` on it"
        )

    def __reduce__(self) -> tuple[type[SpecGap], tuple[object, str]]:
        return type(self), (_portable(self.state), self.event)


def user_call_error(words: str) -> type[UserCallError]:
    """The exception class for the RFC's words in an ``error:`` action."""
    for cls in (ConnectionExists, ConnectionClosing, ConnectionDoesNotExist):
        if cls.rfc_words == words:
            return cls
    return UserCallError


class ObserverError(TcpFsmError):
    """An observer (``Endpoint.observe``) raised: the call itself completed.

    Observers are called once the whole call (a user call, a segment's arrival, a timer) has
    been applied, so the endpoint is in a consistent state; the segments it produced are not
    lost - they are in ``segments`` (send them) - and ``steps`` are the transitions taken.
    The observer's exception is ``error`` (and ``__cause__``).
    """

    def __init__(self, segments: list[Any], steps: tuple[Any, ...], error: BaseException | str) -> None:
        self.segments, self.steps, self.error = list(segments), tuple(steps), error
        what = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
        super().__init__(f"an observer raised {what} (the call completed; its {len(self.segments)} "
                         "segment(s) are in .segments)")

    def __reduce__(self) -> tuple[type[ObserverError], tuple[list[Any], tuple[Any, ...], str]]:
        # steps name states of a spec's run-time enum: they do not cross a pickle
        what = f"{type(self.error).__name__}: {self.error}" if isinstance(self.error, BaseException) else self.error
        return type(self), (self.segments, (), what)
