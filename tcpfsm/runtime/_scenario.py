"""Named scenarios run on an EndpointPair, step by step, and their rows for tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tcpfsm.base._errors import Problem, SpecError, TcpFsmError
from tcpfsm.base._segment import Flags, Segment
from tcpfsm.runtime._endpoint import Endpoint
from tcpfsm.runtime._pair import EndpointPair, TraceEvent
from tcpfsm.spec import Spec
from tcpfsm.spec._scenarios import Scenario


@dataclass
class ScenarioRun:
    """The outcome: the pair (with its trace) and the expectations that failed."""

    scenario: Scenario
    pair: EndpointPair
    failures: list[str]


def _segment(raw: dict[str, Any]) -> Segment:
    return Segment(seq=int(raw.get("seq", 0)), ack=int(raw.get("ack", 0)),
                   flags=Flags.parse(str(raw.get("flags", ""))), window=int(raw.get("window", 65535)),
                   length=int(raw.get("length", 0)))


def run_scenario(sc: Scenario, spec: Spec | None = None, *, profile: str | None = None) -> ScenarioRun:
    """Run every step; collect failed expectations (and refused calls) instead of raising."""
    cfg = sc.endpoints
    a = Endpoint(cfg.get("A", {}).get("iss", 100), spec=spec, profile=profile, name="A")
    b = Endpoint(cfg.get("B", {}).get("iss", 300), spec=a.spec, name="B")
    pair = EndpointPair(a, b)
    failures: list[str] = []
    for i, step in enumerate(sc.steps):
        where = f"{sc.file}:{sc.lines[i]}"
        try:
            if "at" in step:
                who = str(step["at"])
                ep = pair.endpoint(who)
                if "timeout" in step:
                    pair.timeout(who, str(step["timeout"]))
                elif step["call"] == "send":
                    pair.call(who, "send", int(step.get("data", 0)))
                else:
                    if "iss" in step:
                        ep.next_iss = int(step["iss"])
                    pair.call(who, str(step["call"]))
            elif "deliver" in step:
                pair.deliver(str(step["deliver"]), int(step.get("index", 0)))
            elif "lose" in step:
                pair.lose(str(step["lose"]), int(step.get("index", 0)))
            elif "duplicate" in step:
                pair.duplicate(str(step["duplicate"]), int(step.get("index", 0)))
            elif "inject" in step:
                pair.inject(str(step["inject"]), _segment(step.get("segment") or {}),
                            str(step.get("label", "injected")))
            elif "crash" in step:
                pair.crash(str(step["crash"]))
            elif "run" in step:
                pair.run()
            elif "expect" in step:
                for who, want in step["expect"].items():
                    compiled = pair.endpoint(str(who)).compiled
                    if str(want) not in compiled.by_name:
                        raise SpecError([Problem(sc.file, sc.lines[i], f"expects state {want!r}, which "
                                                 f"{compiled.spec.profile or compiled.spec.name} does not have",
                                                 f"states: {', '.join(compiled.spec.state_names)}")])
                    got = pair.endpoint(str(who)).state
                    if got is not compiled.state_of(str(want)):
                        failures.append(f"{where}: expected {who} in {want}, found {got}")
        except IndexError:
            failures.append(f"{where}: nothing in flight to {next(iter(step))} (step {i + 1})")
        except TcpFsmError as exc:
            failures.append(f"{where}: {exc}")
    return ScenarioRun(sc, pair, failures)


def step_rows(trace: list[TraceEvent]) -> list[dict[str, Any]]:
    """One row a transition: endpoint, event, segment, state before -> after, id, RFC §."""
    rows: list[dict[str, Any]] = []
    for ev in trace:
        if ev.kind in ("lose", "duplicate"):
            rows.append({"endpoint": ev.to, "event": ev.kind, "segment": str(ev.segment), "from": "", "to": "",
                         "transition": "", "rfc": "", "sent": [], "notices": [], "dropped": None})
            continue
        if ev.kind == "error":
            rows.append({"endpoint": ev.who, "event": "error", "segment": "", "from": "", "to": "",
                         "transition": "", "rfc": "", "sent": [], "notices": [ev.detail], "dropped": None})
            continue
        for s in ev.steps:
            rows.append({"endpoint": s.name, "event": s.event, "segment": str(s.segment) if s.segment else "",
                         "from": str(s.source), "to": str(s.target), "transition": s.transition, "rfc": s.rfc,
                         "sent": [str(x) for x in s.sent], "notices": list(s.notices), "dropped": s.dropped})
    return rows


