"""Replay an event trace (JSON Lines, one endpoint's view) and report every divergence."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from tcpfsm.base import Flags, Problem, Segment, SpecError, TcpFsmError, UserCallError
from tcpfsm.base._resources import schema_path
from tcpfsm.runtime import Endpoint
from tcpfsm.spec import Spec, load_spec

if TYPE_CHECKING:
    import jsonschema


def best_match(errors: Iterator[Any]) -> Any:
    """The most relevant of a line's schema errors (inside the oneOf branch its key chose)."""
    from jsonschema.exceptions import best_match as best

    return best(errors)


@cache
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # a 40 ms import: only when a trace is replayed

    with open(schema_path("trace.schema.json"), encoding="utf-8") as fh:
        return jsonschema.Draft202012Validator(json.load(fh))


@dataclass
class ReplayStep:
    line: int
    event: str
    before: str
    after: str
    transitions: list[tuple[str, str]] = field(default_factory=list)  # (id, RFC §)
    sent: list[str] = field(default_factory=list)
    divergence: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "event": self.event, "from": self.before, "to": self.after,
                "transitions": [{"id": i, "rfc": r} for i, r in self.transitions], "sent": self.sent,
                "divergence": self.divergence}


@dataclass
class ReplayReport:
    file: str
    profile: str
    steps: list[ReplayStep] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # malformed lines (replay stops there)
    lines: int = 0

    @property
    def divergences(self) -> list[ReplayStep]:
        return [s for s in self.steps if s.divergence]

    @property
    def exit_code(self) -> int:
        return 2 if self.problems else (1 if self.divergences else 0)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "profile": self.profile, "lines": self.lines,
                "divergences": len(self.divergences), "steps": [s.to_dict() for s in self.steps],
                "problems": [str(p) for p in self.problems]}


def _segment(raw: dict[str, Any]) -> Segment:
    return Segment(seq=int(raw.get("seq", 0)), ack=int(raw.get("ack", 0)), flags=Flags.parse(str(raw["flags"])),
                   window=int(raw.get("window", 65535)), length=int(raw.get("len", 0)))


def _differs(want: Segment, got: Segment) -> list[str]:
    out = []
    if (want.flags & ~Flags.PSH) != (got.flags & ~Flags.PSH):
        out.append(f"flags {want.flags} != {got.flags}")
    for name in ("seq", "length"):
        if getattr(want, name) != getattr(got, name):
            out.append(f"{name} {getattr(want, name)} != {getattr(got, name)}")
    if want.flags & Flags.ACK and want.ack != got.ack:
        out.append(f"ack {want.ack} != {got.ack}")
    return out


# Limits on what a trace line may hold: a longer line, a bigger number or a deeper nesting is a
# malformed line (exit 2) with its number, never a memory or recursion blow-up.
MAX_LINE = 1 << 20    # bytes per line
MAX_DIGITS = 20       # digits of an integer (2**64 has 20)


class _Malformed(Exception):
    """One trace line that is not a trace line: the message and the hint for its Problem."""

    def __init__(self, message: str, hint: str = "see tcpfsm/schema/trace.schema.json") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Malformed(f"a number of {len(text)} digits (at most {MAX_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Malformed(f"{_short(text, 30)} is out of range", "numbers are finite")
    return value


def _no_constant(name: str) -> Any:
    raise _Malformed(f"{name} is not a JSON number", "numbers are finite")


def _record(raw: bytes) -> dict[str, Any] | None:
    """One line as a trace record; None for a blank line or a comment; _Malformed otherwise."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Malformed(f"not UTF-8: byte {raw[exc.start]:#04x} at column {exc.start + 1}",
                         "a trace is UTF-8 JSON Lines") from None
    line = line.removesuffix("\n").removesuffix("\r")
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    try:
        obj = json.loads(line, parse_int=_int, parse_float=_float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _Malformed(f"not JSON: {exc.msg} (column {exc.colno})", "one JSON object per line") from None
    except RecursionError:
        raise _Malformed("JSON nested too deeply", "a trace line nests three levels at most") from None
    except ValueError as exc:  # a float out of range, say
        raise _Malformed(f"not JSON: {exc}", "one JSON object per line") from None
    if not isinstance(obj, dict):
        raise _Malformed(f"not a trace line: a JSON {type(obj).__name__}, not an object", "one JSON object per line")
    try:
        error = best_match(_validator().iter_errors(obj))
    except RecursionError:
        raise _Malformed("JSON nested too deeply", "a trace line nests three levels at most") from None
    if error is not None:
        keys = [k for k in obj if k != "note"]
        where = "/".join(str(p) for p in error.absolute_path)
        raise _Malformed(f"not a trace line: {where + ': ' if where else ''}{_short(error.message)}"
                         + (f" (a line has one of {', '.join(_KINDS)}; this one: {', '.join(keys) or 'none'})"
                            if len(keys) != 1 or keys[0] not in _KINDS else ""))
    for key in ("in", "out"):
        if key in obj:
            try:
                Flags.parse(str(obj[key]["flags"]))
            except (ValueError, KeyError, TcpFsmError) as exc:
                raise _Malformed(f"{key}: unknown flags {obj[key]['flags']!r} ({exc})",
                                 "flags are SYN, ACK, FIN, RST, PSH, URG joined by commas, or none") from None
    if "data" in obj and obj.get("call") != "send":
        raise _Malformed(f"data goes with send only, not with {obj['call']}")
    if obj.get("call") == "send" and "data" not in obj:
        raise _Malformed("send needs data: the number of bytes the user sends", '{"call": "send", "data": 5}')
    return obj


_KINDS = ("config", "call", "in", "out", "timeout", "expect", "now")


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _lines(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(number, bytes) per line, split at \\n only (as editors count lines; U+2028 is no break),
    each at most MAX_LINE bytes: a longer one is _Malformed at its number."""
    no = 0
    while True:
        raw = fh.readline(MAX_LINE + 1)
        if not raw:
            return
        no += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            raise _LongLine(no)
        yield no, raw


class _LongLine(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def replay(path: str | Path, *, profile: str | None = None, spec: Spec | None = None) -> ReplayReport:
    """Drive one Endpoint with the trace; compare its outputs and states with the trace's.

    The trace is read line by line (a pipe or a FIFO will do; ``-`` is the standard input):
    the lines before a malformed one are replayed, and the replay stops there with the line's
    number in ``problems`` (exit 2). Lines are split at ``\\n`` only, each at most MAX_LINE
    bytes, UTF-8, with integers of at most MAX_DIGITS digits.
    """
    name = str(path)
    report = ReplayReport(name, profile or "rfc9293")
    own = name != "-"
    try:
        fh: BinaryIO = open(path, "rb") if own else sys.stdin.buffer  # noqa: SIM115 - closed below
    except OSError as exc:
        report.problems.append(Problem(name, 0, f"cannot read the trace: {exc.strerror or exc}",
                                       "a trace is UTF-8 JSON Lines"))
        return report
    except AttributeError:  # a standard input without bytes (an embedding's stand-in)
        report.problems.append(Problem(name, 0, "no standard input to read", "give a trace file"))
        return report
    try:
        _replay(fh, name, report, profile, spec)
    except OSError as exc:
        report.problems.append(Problem(name, report.lines + 1, f"cannot read the trace: {exc.strerror or exc}"))
    finally:
        if own:
            fh.close()
    return report


def _bad_line(report: ReplayReport, name: str, exc: _Malformed | _LongLine) -> None:
    """The problem a malformed or overlong line makes; the lines before it stay replayed."""
    if isinstance(exc, _LongLine):
        report.lines = exc.line
        report.problems.append(Problem(name, exc.line, f"a line longer than {MAX_LINE:,} bytes",
                                       "one JSON object per line"))
    else:
        report.problems.append(Problem(name, report.lines, exc.message, exc.hint))


def _replay(fh: BinaryIO, name: str, report: ReplayReport, profile: str | None, spec: Spec | None) -> None:
    lines = _lines(fh)
    first: tuple[int, dict[str, Any]] | None = None
    try:
        for no, raw in lines:  # up to the first record: it may be the config line
            report.lines = no
            obj = _record(raw)
            if obj is not None:
                first = (no, obj)
                break
    except (_Malformed, _LongLine) as exc:
        _bad_line(report, name, exc)
        return
    config: dict[str, Any] = first[1]["config"] if first and "config" in first[1] else {}
    try:
        chosen = spec or load_spec(profile=profile or config.get("profile"))
    except SpecError as exc:
        report.profile = str(profile or config.get("profile"))
        report.problems += [Problem(name, first[0] if first and config else 0, p.message, p.hint)
                            for p in exc.problems]
        return
    report.profile = chosen.profile or chosen.name
    try:
        ep = Endpoint(config.get("iss"), spec=chosen, **{k: config[k] for k in ("rcv_wnd", "msl", "rto", "max_retries")
                                                       if k in config})
    except (TcpFsmError, ValueError, TypeError, OverflowError) as exc:
        assert first is not None  # a config line gave the values
        report.problems.append(Problem(name, first[0], f"config: {exc}", "see tcpfsm/schema/trace.schema.json"))
        return
    states = {st.name for st in chosen.states}
    timers = set(chosen.timers)
    produced: list[Segment] = []

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        if first is not None and not config:
            yield first
        for no, raw in lines:
            report.lines = no
            obj = _record(raw)
            if obj is not None:
                yield no, obj

    try:
        for no, obj in records():
            if "config" in obj:
                raise _Malformed("a config line after the first record",
                                 "the config line comes first; a trace is one endpoint's run")
            if "expect" in obj and _state(obj["expect"], states) not in states:
                raise _Malformed(f"expect: {obj['expect']!r} is not a state of {report.profile}",
                                 f"states: {', '.join(st.name for st in chosen.states)}")
            if "timeout" in obj and obj["timeout"] not in timers:
                raise _Malformed(f"timeout: {obj['timeout']!r} is not a timer of {report.profile}",
                                 f"timers: {', '.join(sorted(timers))}")
            report.steps.append(_step(ep, chosen, no, obj, produced))
    except (_Malformed, _LongLine) as exc:
        _bad_line(report, name, exc)
        return
    if produced:
        report.steps.append(ReplayStep(report.lines, "end", str(ep.state), str(ep.state),
                                       divergence=f"sent but not in the trace: {', '.join(map(str, produced))}"))


def _step(ep: Endpoint, chosen: Spec, no: int, obj: dict[str, Any], produced: list[Segment]) -> ReplayStep:
    """One record replayed: what the endpoint did, and how it differs from the trace."""
    before = str(ep.state)
    step = ReplayStep(no, "", before, before)
    try:
        if "call" in obj:
            step.event = obj["call"] + (f"({obj['data']})" if "data" in obj else "")
            args = [int(obj["data"])] if obj["call"] == "send" else []
            out = getattr(ep, obj["call"])(*args)
        elif "in" in obj:
            seg = _segment(obj["in"])
            step.event = f"in {seg}"
            out = ep.receive(seg)
            dropped = [s.dropped for s in ep.last_steps if s.dropped]
            if dropped:
                step.sent.append(f"(dropped: {dropped[-1]})")
        elif "timeout" in obj:
            step.event = f"timeout {obj['timeout']}"
            out = ep.timeout(obj["timeout"])
        elif "now" in obj:
            step.event = f"now {obj['now']}"
            out = ep.tick(float(obj["now"]))
        elif "out" in obj:
            want = _segment(obj["out"])
            step.event = f"out {want}"
            out = []
            if not produced:
                step.divergence = f"expected {want}, the endpoint sent nothing"
            else:
                got = produced.pop(0)
                diff = _differs(want, got)
                if diff:
                    step.divergence = f"expected {want}, the endpoint sent {got}: {'; '.join(diff)}"
        else:  # expect
            step.event = f"expect {obj['expect']}"
            out = []
            if ep.state_name != _state(obj["expect"], {ep.state_name}):
                step.divergence = f"expected state {obj['expect']}, the endpoint is in {ep.state}"
    except UserCallError as exc:
        out = []
        step.divergence = f"the spec refuses this call: {exc.words} (rule {exc.transition})"
        step.transitions = [(exc.transition, _rfc(chosen, exc.transition))]
    except (TcpFsmError, ValueError) as exc:
        out = []
        step.divergence = str(exc)
    if "out" not in obj and "expect" not in obj and not step.transitions:
        step.transitions = [(s.transition, s.rfc) for s in ep.last_steps]
        produced += out
        step.sent += [str(s) for s in out]
    step.after = str(ep.state)
    return step


def _state(name: str, states: set[str]) -> str:
    """A state's name as the trace gives it: the RFC's (SYN-SENT) or the code's (SYN_SENT)."""
    return name if name in states else name.replace("_", "-")


def _rfc(spec: Spec, transition: str) -> str:
    try:
        return spec.transition(transition).rfc
    except (StopIteration, KeyError, LookupError):
        return ""
