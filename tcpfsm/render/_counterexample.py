"""Counterexamples as sequence charts (the same renderer as scenarios)."""

from __future__ import annotations

from typing import Any

from tcpfsm.render._sequence import Chart, Mark, Message


def counterexample_chart(report: Any, verdict: Any) -> Chart:
    """Two lifelines; a RECV is an arrow from the segment's send row; a LOSE ends in x."""
    init = report.initial
    chart = Chart(f"{verdict.name}: {verdict.verdict} - {verdict.title}", ("A", "B"),
                  {"A": init.a if init else "", "B": init.b if init else ""})
    # segments in flight: per channel, a queue of (label, row it was sent at)
    flight: dict[str, list[tuple[str, int]]] = {"AB": [(x, 0) for x in init.ab] if init else [],
                                                 "BA": [(x, 0) for x in init.ba] if init else []}
    states = {"A": init.a if init else "", "B": init.b if init else ""}
    steps = list(verdict.counterexample or []) + list(verdict.cycle or [])
    for row, st in enumerate(steps, 1):
        chart.rows = row
        event, _, who = st.event.rpartition("_")
        new_q = {"AB": list(st.ab), "BA": list(st.ba)}
        if event.startswith("RECV"):
            chan = "BA" if who == "A" else "AB"
            label, sent = flight[chan].pop(0) if flight[chan] else ("?", row - 1)
            chart.messages.append(Message("B" if who == "A" else "A", who, label, sent, row))
        elif event == "LOSE":
            chan = who
            label, sent = flight[chan].pop(0) if flight[chan] else ("?", row - 1)
            chart.messages.append(Message(chan[0], chan[1], label, sent, row, "lost"))
            chart.notes[row] = "\u00d7"
        elif event == "DUP":
            chart.notes[row] = f"network duplicates {new_q[who][-1]}"
        else:
            text = {"TW": "2MSL timeout", "TIMEOUT": "RTO: retransmit", "USER_TIMEOUT": "user timeout"}.get(
                event, event + "()")
            chart.marks.append(Mark(who, row, text, "timer" if "TIMEOUT" in event or event == "TW" else "call"))
        for chan in ("AB", "BA"):
            have = [x for x, _ in flight[chan]]
            for label in new_q[chan][len(have):]:
                flight[chan].append((label, row))
        for end, now in (("A", st.a), ("B", st.b)):
            if states[end] != now:
                states[end] = now
                chart.marks.append(Mark(end, row, now, "state"))
        if st.transitions:
            chart.marks.append(Mark(who if who in ("A", "B") else "A", row, ", ".join(st.transitions), "rule"))
    return chart
