"""Named scenarios (``specs/scenarios.yaml``) run on an EndpointPair, step by step."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._endpoint import Endpoint
from ._errors import Problem, SpecError, TcpFsmError
from ._model import state_of
from ._paths import specs_dir
from ._render_sequence import Chart, Mark, Message
from ._segment import Flags, Segment
from ._spec import Spec
from ._yaml import LDict, line_of, load_yaml
from .testing import EndpointPair, TraceEvent

STEP_KINDS = ("at", "deliver", "lose", "duplicate", "inject", "crash", "run", "expect")
CALLS = ("listen", "connect", "send", "close", "abort")


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    rfc: str
    endpoints: dict[str, dict[str, Any]]
    steps: tuple[dict[str, Any], ...]
    file: str
    lines: tuple[int, ...]


@dataclass
class ScenarioRun:
    """The outcome: the pair (with its trace) and the expectations that failed."""

    scenario: Scenario
    pair: EndpointPair
    failures: list[str]


def scenarios_file() -> Path:
    return specs_dir() / "scenarios.yaml"


def load_scenarios(path: Path | None = None) -> dict[str, Scenario]:
    path = path or scenarios_file()
    data, problems = load_yaml(path.read_text(encoding="utf-8"), str(path))
    if not isinstance(data, LDict) or not isinstance(data.get("scenarios"), dict):
        raise SpecError(problems or [Problem(str(path), 1, "expected a `scenarios:` mapping", "")])
    out: dict[str, Scenario] = {}
    for name, sc in data["scenarios"].items():
        f, ln = line_of(data, ["scenarios", name])
        if not isinstance(sc, dict) or not isinstance(sc.get("steps"), list):
            problems.append(Problem(f, ln, f"scenario {name!r} needs a `steps:` list", ""))
            continue
        for i, step in enumerate(sc["steps"]):
            sf, sl = line_of(data, ["scenarios", name, "steps", i])
            if not isinstance(step, dict) or not any(k in step for k in STEP_KINDS):
                problems.append(Problem(sf, sl, f"scenario {name!r} step {i + 1}: unknown step {step!r}",
                                        f"a step is one of: {', '.join(STEP_KINDS)}"))
            elif "at" in step and step.get("call") not in CALLS and "timeout" not in step:
                problems.append(Problem(sf, sl, f"scenario {name!r} step {i + 1}: `at:` needs `call:` or "
                                        "`timeout:`", f"calls: {', '.join(CALLS)}"))
        lines = tuple(line_of(data, ["scenarios", name, "steps", i])[1] for i in range(len(sc["steps"])))
        out[str(name)] = Scenario(str(name), str(sc.get("title", name)), str(sc.get("rfc", "")),
                                  dict(sc.get("endpoints") or {}), tuple(sc["steps"]), f, lines)
    if problems:
        raise SpecError(problems)
    return out


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
                    got = pair.endpoint(str(who)).state
                    if got is not state_of(str(want)):
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


def chart_from_trace(trace: list[TraceEvent], title: str, names: tuple[str, str] = ("A", "B"),
                     initial: dict[str, str] | None = None, closed: str = "CLOSED") -> Chart:
    """A sequence chart of an EndpointPair trace: one row per event (``closed``: the spec's
    initial state, where a crashed endpoint is)."""
    states = dict(initial or dict.fromkeys(names, closed))
    chart = Chart(title, names, dict(states))
    sent_at: dict[int, tuple[str, int]] = {}
    timer_names = {"time_wait": "2MSL timeout", "retransmit": "RTO: retransmit", "user": "user timeout"}
    for row, ev in enumerate(trace, 1):
        chart.rows = row
        actor = ev.to if ev.kind in ("deliver", "inject") else ev.who
        if ev.kind == "call":
            chart.marks.append(Mark(ev.who, row, ev.detail.upper() + ("()" if ev.detail else ""), "call"))
        elif ev.kind == "timeout":
            chart.marks.append(Mark(ev.who, row, timer_names.get(ev.detail, ev.detail), "timer"))
        elif ev.kind == "error":
            chart.marks.append(Mark(ev.who, row, ev.detail, "note"))
        elif ev.kind == "crash":
            chart.marks.append(Mark(ev.who, row, "crash: state lost", "note"))
            if states.get(ev.who) != closed:
                states[ev.who] = closed
                chart.marks.append(Mark(ev.who, row, closed, "state"))
        elif ev.kind == "duplicate":
            chart.notes[row] = f"network duplicates {ev.segment}"
        elif ev.kind == "lose" and ev.segment is not None:
            who, srow = sent_at.get(id(ev.segment), (ev.who, max(row - 1, 0)))
            chart.messages.append(Message(who, ev.to, str(ev.segment), srow, row, "lost"))
            chart.notes[row] = "\u00d7"
        elif ev.kind == "deliver" and ev.segment is not None:
            who, srow = sent_at.get(id(ev.segment), (ev.who, max(row - 1, 0)))
            chart.messages.append(Message(who, ev.to, str(ev.segment), srow, row))
        elif ev.kind == "inject" and ev.segment is not None:
            chart.messages.append(Message("net", ev.to, f"{ev.detail}: {ev.segment}", row, row, "injected"))
        for seg in ev.sent:
            sent_at[id(seg)] = (actor, row)
        for step in ev.steps:
            target = str(step.target)
            if states.get(str(step.name)) != target:
                states[str(step.name)] = target
                chart.marks.append(Mark(str(step.name), row, target, "state"))
        if ev.steps and ev.kind != "call":
            ids = ", ".join(dict.fromkeys(s.transition for s in ev.steps))
            chart.marks.append(Mark(str(ev.steps[-1].name), row, f"{ids} \u00a7{ev.steps[-1].rfc}", "rule"))
        dropped = [s.dropped for s in ev.steps if s.dropped]
        if dropped and ev.kind in ("deliver", "inject"):
            chart.marks.append(Mark(actor, row, f"drop: {dropped[-1]}", "note"))
    return chart


def scenario_chart(run: ScenarioRun) -> Chart:
    sc = run.scenario
    return chart_from_trace(run.pair.trace, f"{sc.name}: {sc.title}", closed=run.pair.a.spec.initial)
