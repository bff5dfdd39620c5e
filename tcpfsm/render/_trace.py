"""EndpointPair traces (scenarios) as sequence charts."""

from __future__ import annotations

from tcpfsm.render._sequence import Chart, Mark, Message
from tcpfsm.runtime import ScenarioRun
from tcpfsm.runtime._pair import TraceEvent


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
