"""EndpointPair traces (scenarios) as sequence charts."""

from __future__ import annotations

from tcpfsm.render._sequence import Chart, Mark, Message
from tcpfsm.runtime import EndpointPair, ScenarioRun
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


ONE_WAY = 0.05  # seconds a segment takes across the network on a chart's time axis (an RTT of 100 ms)


def timeline(pair: EndpointPair, one_way: float = ONE_WAY) -> tuple[list[float], dict[int, str]]:
    """A clock for an EndpointPair trace, one time a trace event: a segment arrives ``one_way``
    seconds after it was sent; a timer fires when its declared duration (``timers:`` in the spec,
    with the endpoint's ``msl``, ``rto``, ``user_timeout``) has run since it was armed: by a
    ``start:``/``restart:`` action, or for a timer armed while data is unacknowledged, by the last
    segment its endpoint sent. Returns the times and, per event index, the wait that ended there."""
    spec = pair.a.spec
    now = 0.0
    times: list[float] = []
    waits: dict[int, str] = {}
    sent_at: dict[int, float] = {}
    armed: dict[tuple[str, str], float] = {}
    last_send: dict[str, float] = {}
    for i, ev in enumerate(pair.trace):
        actor = ev.to if ev.kind in ("deliver", "inject") else ev.who
        if ev.kind in ("deliver", "lose") and ev.segment is not None:
            now = max(now, sent_at.get(id(ev.segment), now) + one_way)
        elif ev.kind == "timeout":
            d = spec.timer_def(ev.detail).duration
            ep = pair.endpoint(ev.who)
            base = None if d is None else d.seconds if d.seconds is not None else getattr(ep, str(d.param), None)
            if d is not None and base is not None:
                length = float(base) * (d.times if d.seconds is None else 1.0)
                since = armed.get((ev.who, ev.detail), last_send.get(ev.who, now))
                if since + length > now:
                    now = since + length
                    waits[i] = spec.event(next((e.name for e in spec.events if e.timer == ev.detail),
                                               ev.detail)).label if spec.events else ev.detail
        for seg in ev.sent:
            sent_at[id(seg)] = now
            last_send[actor] = now
        for step in ev.steps:
            try:
                actions = spec.transition(step.transition).actions
            except StopIteration:
                continue
            for a in actions:
                if a.kind in ("start", "restart"):
                    armed[(str(step.name), str(a.arg))] = now
        times.append(now)
    return times, waits


def scenario_chart(run: ScenarioRun, *, timed: bool = False) -> Chart:
    """A scenario's chart; ``timed``: with a time axis (:func:`timeline`)."""
    sc = run.scenario
    chart = chart_from_trace(run.pair.trace, f"{sc.name}: {sc.title}", closed=run.pair.a.spec.initial)
    if timed:
        times, waits = timeline(run.pair)
        chart.times = {row: t for row, t in enumerate(times, 1)}
        chart.waits = {i + 1: why for i, why in waits.items()}
    return chart
