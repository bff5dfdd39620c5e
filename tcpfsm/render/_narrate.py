"""Plain-language narration of a run: one line per step, derived from the spec, never scripted.

Each line says who did what and why, in words taken from the spec's data: the event's kind and
label, the transition's ``label:`` (RFC 9293 Figure 5's wording), the segments actually sent,
the timers started or restarted (named from their declared durations: 2MSL, RTO), the notices,
the drop reason, the state change, the doc of the guards that picked the row (the "because"),
and the transition's id with its RFC section. The lines line up with
:func:`tcpfsm.runtime.step_rows` (one per table row of ``tcpfsm simulate``).
"""

from __future__ import annotations

from tcpfsm.render._state import timer_words
from tcpfsm.runtime import TraceEvent
from tcpfsm.runtime._endpoint import Step
from tcpfsm.spec import SEGMENT, TIMER, USER, Spec


def _rfc(rfc: str) -> str:
    return f"RFC 9293 §{rfc}" if rfc[:1].isdigit() else rfc


def _because(spec: Spec, step: Step) -> str:
    t = spec.transition(step.transition)
    docs = [spec.guard(g.name).doc.rstrip(".") for g in t.guard if not g.negated]
    if not docs:
        return ""
    first = docs[0]
    word = first.split(" ", 1)[0]
    if len(word) == 1 or word[1:].islower():  # "A FIN ...", "The ACK bit ...": not "SEG.ACK > ..."
        first = first[0].lower() + first[1:]
    return " because " + first


def narrate_step(spec: Spec, step: Step) -> str:
    """One step of one endpoint, e.g. ``A receives FIN,ACK seq=301 ack=102 (rcv FIN): sends ACK
    seq=102 ack=302, tells its user "connection closing", starts the 2MSL timer; FIN-WAIT-2 ->
    TIME-WAIT. [S33, RFC 9293 §3.10.7.4]``."""
    who = str(step.name or "the endpoint")
    t = spec.transition(step.transition)
    ev = spec.event(step.event)
    what = t.label or ev.label
    if ev.kind == USER:
        subject = f"{who}'s user calls {ev.label}"
        if what != ev.label:
            subject += f" ({what})"
    elif ev.kind == TIMER and ev.timer:
        subject = f"{who}'s {timer_words(spec, ev.timer)} timer expires" + (f" ({what})" if what != ev.label else "")
    elif ev.kind == SEGMENT and step.segment is not None:
        subject = f"{who} receives {step.segment} ({what})"
    else:
        subject = f"{who}: {what}"
    does: list[str] = [f"sends {seg}" for seg in step.sent]
    for a in t.actions:
        if a.kind in ("start", "restart") and a.arg != "all":
            does.append(f"{a.kind}s the {timer_words(spec, str(a.arg))} timer")
        elif a.kind == "effect" and a.arg == "delete_tcb":
            does.append("deletes its TCB")
    does += [f'tells its user "{n}"' for n in step.notices]
    if step.dropped:
        does.append(f"drops the segment ({step.dropped})")
    source, target = str(step.source), str(step.target)
    change = f"{source} -> {target}" if source != target else f"stays in {target}"
    line = f"{subject}: " + (", ".join(does) + "; " if does else "") + change + _because(spec, step)
    return f"{line}. [{t.id}, {_rfc(t.rfc)}]"


def narrate(trace: list[TraceEvent], spec: Spec) -> list[str]:
    """One line per row of :func:`tcpfsm.runtime.step_rows` of the same trace."""
    out: list[str] = []
    for ev in trace:
        if ev.kind == "lose":
            out.append(f"the network loses {ev.who}'s segment {ev.segment}: it never reaches {ev.to}.")
            continue
        if ev.kind == "duplicate":
            out.append(f"the network duplicates {ev.who}'s segment {ev.segment}: {ev.to} will get it twice.")
            continue
        if ev.kind == "error":
            out.append(f"{ev.who}'s user call is refused: {ev.detail} (RFC 9293 §3.10, the user interface).")
            continue
        out += [narrate_step(spec, s) for s in ev.steps]
    return out
