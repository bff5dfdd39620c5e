"""Replay an event trace (JSON Lines, one endpoint's view) and report every divergence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tcpfsm.base import Flags, Problem, Segment, SpecError, TcpFsmError, UserCallError
from tcpfsm.base._resources import schema_path
from tcpfsm.runtime import Endpoint, state_of
from tcpfsm.spec import Spec, load_spec

if TYPE_CHECKING:
    import jsonschema


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


def replay(path: str | Path, *, profile: str | None = None, spec: Spec | None = None) -> ReplayReport:
    """Drive one Endpoint with the trace; compare its outputs and states with the trace's."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report = ReplayReport(name, profile or "rfc9293")
        report.problems.append(Problem(name, 0, f"cannot read the trace: {exc}", "a trace is UTF-8 JSON Lines"))
        return report
    lines = text.splitlines()
    records: list[tuple[int, dict[str, Any]]] = []
    problems: list[Problem] = []
    for no, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, no, f"not JSON: {exc.msg} (column {exc.colno})",
                                    "one JSON object per line"))
            break
        errors = sorted(_validator().iter_errors(obj), key=str)
        if errors:
            problems.append(Problem(name, no, f"not a trace line: {errors[0].message}",
                                    "see tcpfsm/schema/trace.schema.json"))
            break
        records.append((no, obj))
    config: dict[str, Any] = records[0][1]["config"] if records and "config" in records[0][1] else {}
    try:
        chosen = spec or load_spec(profile=profile or config.get("profile"))
    except SpecError as exc:
        report = ReplayReport(name, str(profile or config.get("profile")), lines=len(lines))
        report.problems += problems + [Problem(name, records[0][0] if config else 0, p.message, p.hint)
                                       for p in exc.problems]
        return report
    report = ReplayReport(name, chosen.profile or chosen.name, lines=len(lines))
    report.problems += problems
    ep = Endpoint(config.get("iss"), spec=chosen, **{k: config[k] for k in ("rcv_wnd", "msl", "rto", "max_retries")
                                                   if k in config})
    produced: list[Segment] = []
    for no, obj in records:
        if "config" in obj:
            continue
        before = str(ep.state)
        step = ReplayStep(no, "", before, before)
        try:
            if "call" in obj:
                step.event = obj["call"] + (f"({obj['data']})" if "data" in obj else "")
                args = [obj["data"]] if obj["call"] == "send" and "data" in obj else []
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
                if ep.state is not state_of(obj["expect"]):
                    step.divergence = f"expected state {obj['expect']}, the endpoint is in {ep.state}"
        except UserCallError as exc:
            out = []
            step.divergence = f"the spec refuses this call: {exc.words} (rule {exc.transition})"
            step.transitions = [(exc.transition, chosen.transition(exc.transition).rfc)]
        except (TcpFsmError, ValueError) as exc:
            out = []
            step.divergence = str(exc)
        if "out" not in obj and "expect" not in obj and not step.transitions:
            step.transitions = [(s.transition, s.rfc) for s in ep.last_steps]
            produced += out
            step.sent += [str(s) for s in out]
        step.after = str(ep.state)
        report.steps.append(step)
    if produced and not report.problems:  # a trace cut short by a bad line says nothing of the end
        report.steps.append(ReplayStep(len(lines), "end", str(ep.state), str(ep.state),
                                       divergence=f"sent but not in the trace: {', '.join(map(str, produced))}"))
    return report
