"""Counterexamples as sequence charts (the same renderer as scenarios)."""

from __future__ import annotations

import re
from typing import Any

from tcpfsm.render._sequence import Chart, Mark, Message

# what a move that is not a delivery or a loss shows on its lifeline
_MOVE_TEXT = {"TW": "2MSL timeout", "TIMEOUT": "RTO: retransmit", "USER_TIMEOUT": "user timeout",
              "REOPEN": "reopen (ISS from the clock)", "REOPEN_WRAP": "reopen (the old ISS again)"}
_POSITION = re.compile(r"^([A-Z_]*?[A-Z])(\d*)$")
# a colour per incarnation (A1, A2, ...; B1 ...), in order of appearance; a lost segment stays red
_INCARNATION_COLOURS = ("#1f4e9c", "#2e7d32", "#ad5f00", "#7b1fa2", "#00838f")
_TAG = re.compile(r" #([AB]\d+)$")


def _move(label: str) -> tuple[str, int, str]:
    """``RECV1_A`` -> ("RECV", 1, "A"); ``LOSE_AB`` -> ("LOSE", 0, "AB"); ``REOPEN_WRAP_B`` -> (REOPEN_WRAP, 0, B)."""
    event, _, who = label.rpartition("_")
    m = _POSITION.match(event)
    if m is None:  # pragma: no cover - labels come from the move table
        return event, 0, who
    return m.group(1), int(m.group(2) or 0), who


def counterexample_chart(report: Any, verdict: Any) -> Chart:
    """Two lifelines; a RECV is an arrow from the segment's send row (the segment at the position
    the move names, when the network reorders); a LOSE ends in x. With incarnations (``check
    --reopen``) every segment names its sender's TCB (``#A2``), every state its own and its peer's
    (``#B2/A2``), and each TCB has its colour."""
    init = report.initial
    chart = Chart(f"{verdict.name}: {verdict.verdict} - {verdict.title}", ("A", "B"),
                  {"A": init.a if init else "", "B": init.b if init else ""})

    def tagged(step: Any, chan: str) -> list[str]:
        segs = list(step.ab if chan == "AB" else step.ba)
        inc = step.incarnations.get(chan) if step.incarnations else None
        return [f"{s} #{n}" if n else s for s, n in zip(segs, inc, strict=True)] if inc else segs

    def state_of(step: Any, who: str) -> str:
        now = step.a if who == "A" else step.b
        inc = step.incarnations.get(who) if step.incarnations else ""
        peer = step.incarnations.get("peers", {}).get(who) if step.incarnations else ""
        return (f"{now} #{inc}" + (f"/{peer}" if peer else "")) if inc else now

    # segments in flight: per channel, a queue of (label, row it was sent at), in the channel's order
    flight: dict[str, list[tuple[str, int]]] = {c: [(x, 0) for x in tagged(init, c)] if init else []
                                                 for c in ("AB", "BA")}
    states = {w: state_of(init, w) if init else "" for w in ("A", "B")}
    palette: dict[str, str] = {}

    def colour(label: str) -> str:
        m = _TAG.search(label)
        if m is None:
            return ""
        return palette.setdefault(m.group(1), _INCARNATION_COLOURS[len(palette) % len(_INCARNATION_COLOURS)])

    steps = list(verdict.counterexample or []) + list(verdict.cycle or [])
    for row, st in enumerate(steps, 1):
        chart.rows = row
        event, pos, who = _move(st.event)
        new_q = {c: tagged(st, c) for c in ("AB", "BA")}
        if event == "RECV":
            chan = "BA" if who == "A" else "AB"
            q = flight[chan]
            label, sent = q.pop(pos) if pos < len(q) else ("?", row - 1)
            chart.messages.append(Message("B" if who == "A" else "A", who, label, sent, row, colour=colour(label)))
            seg_inc, peer = _TAG.search(label), (st.incarnations or {}).get("peers", {}).get(who)
            if seg_inc and peer and seg_inc.group(1) != peer:
                chart.notes[row] = f"{who}, synchronized with {peer}, receives a segment of {seg_inc.group(1)}"
        elif event == "LOSE":
            q = flight[who]
            label, sent = q.pop(pos) if pos < len(q) else ("?", row - 1)
            chart.messages.append(Message(who[0], who[1], label, sent, row, "lost"))
            chart.notes[row] = "\u00d7"
        elif event == "DUP":
            chart.notes[row] = f"network duplicates {new_q[who][-1]}"
        else:
            text = _MOVE_TEXT.get(event, event + "()")
            chart.marks.append(Mark(who, row, text, "timer" if "TIMEOUT" in event or event == "TW" else "call"))
        for chan in ("AB", "BA"):  # what the move sent joins the tail of its channel
            have = len(flight[chan])
            for label in new_q[chan][have:]:
                flight[chan].append((label, row))
        for end in ("A", "B"):
            now = state_of(st, end)
            if states[end] != now:
                states[end] = now
                chart.marks.append(Mark(end, row, now, "state"))
        if st.transitions:
            chart.marks.append(Mark(who if who in ("A", "B") else "A", row, ", ".join(st.transitions), "rule"))
    return chart
