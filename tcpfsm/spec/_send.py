"""A transition's ``send:``: the mapping form or RFC 9293's own segment notation, parsed strictly.

RFC 9293 writes the segments a TCP sends as ``<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`` (e.g.
§3.10.7.4, §3.10.5). A spec may write a send the same way; the text is read by the small
regular grammar below (never evaluated) into the same :class:`Send` record as the mapping
form ``{ctl: ACK, seq: SND.NXT, ack: RCV.NXT}`` (:data:`GRAMMAR`).

SEQ and CTL are required, ACK is optional (the RFC's resets carry none). ``seq``, ``ack``
and ``flag`` are the vocabulary's names (``tcpfsm spec vocabulary``); ``<SEQ=0>`` is the
RFC's spelling of ``ZERO`` (§3.10.7.1). `` +data`` (as :class:`Send` prints it) carries the
queued data, like ``data: true``.
"""

from __future__ import annotations

import re
from typing import Any

from tcpfsm.base._segment import Flags
from tcpfsm.spec._records import Send
from tcpfsm.spec._vocabulary import FLAGS, SEND_ACK, SEND_SEQ, THROTTLES

GRAMMAR = """\
send   := field (" "* field)* [" +data"]      the fields in the order SEQ, ACK, CTL
field  := "<SEQ=" seq ">" | "<ACK=" ack ">" | "<CTL=" flag ("," flag)* ">"
seq    := a SEQ source, or 0 (ZERO)           ack := an ACK source      flag := a TCP flag"""

FIELDS = ("SEQ", "ACK", "CTL")
_FIELD = re.compile(r"<([A-Za-z]+)=([^<>\s]*)>")
NOTATION_HINT = 'write it as the RFC does, e.g. "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" or "<SEQ=SEG.ACK><CTL=RST>"'

Report = list[tuple[str, str]]  # (message, hint) pairs


def parse_flags(names: Any, where: str, report: Report) -> Flags:
    """Control bit names (a list, or text like ``"SYN,ACK"``) into Flags; an unknown name is reported."""
    if not isinstance(names, str | list):
        report.append((f"{where}: TCP flags are a list or text like \"SYN,ACK\", not {names!r}",
                       f"TCP flags: {', '.join(FLAGS)}"))
        return Flags(0)
    parts = [p.strip() for p in names.split(",")] if isinstance(names, str) else [str(n) for n in names]
    out = Flags(0)
    if parts in ([], [""]) and isinstance(names, str):
        report.append((f"{where}: no control bits", f"name one or more of {', '.join(FLAGS)}, e.g. ctl: ACK"))
        return out
    for name in parts:
        if name not in FLAGS:
            report.append((f"{where}: unknown TCP flag {name!r}", f"TCP flags: {', '.join(FLAGS)}"))
            continue
        if out & Flags[name]:
            report.append((f"{where}: TCP flag {name!r} given twice", "name each control bit once"))
        out |= Flags[name]
    return out


def make_send(ctl: Any, seq: Any, ack: Any, data: Any, report: Report, throttle: Any = None) -> Send | None:
    """A :class:`Send` from its parts, each checked against the vocabulary; None after a problem."""
    before = len(report)
    flags = parse_flags(ctl if ctl is not None else "", "send ctl", report)
    if str(seq) not in SEND_SEQ:
        report.append((f"send: unknown SEQ source {seq!r}", f"SEQ sources: {', '.join(SEND_SEQ)}"))
    if ack is not None and str(ack) not in SEND_ACK:
        report.append((f"send: unknown ACK source {ack!r}", f"ACK sources: {', '.join(SEND_ACK)}"))
    if ack is not None and not flags & Flags.ACK:
        report.append(("a send with an ACK value must set the ACK bit", "add ACK to ctl"))
    if not isinstance(data, bool):
        report.append((f"send data must be true or false, not {data!r}", "data: true carries the queued data"))
    if throttle is not None and str(throttle) not in THROTTLES:
        report.append((f"send: unknown throttle {throttle!r}", f"throttles: {', '.join(THROTTLES)}"))
    if len(report) > before:
        return None
    return Send(flags, str(seq), str(ack) if ack is not None else None, bool(data),
                str(throttle) if throttle is not None else None)


def parse_notation(text: str, report: Report) -> Send | None:
    """RFC 9293's ``<SEQ=..><ACK=..><CTL=..>`` into a :class:`Send` (see the module's grammar)."""
    body, data = text.strip(), False
    if body.endswith("+data"):
        body, data = body[:-len("+data")].rstrip(), True
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        if body[pos] == " ":
            pos += 1
            continue
        m = _FIELD.match(body, pos)
        if m is None:
            report.append((f"send {text!r}: expected <SEQ=...>, <ACK=...> or <CTL=...> at column {pos + 1}",
                           NOTATION_HINT))
            return None
        name, value = m.group(1), m.group(2)
        if name not in FIELDS:
            report.append((f"send {text!r}: unknown field <{name}=...>", f"fields: {', '.join(FIELDS)}; "
                           + NOTATION_HINT))
            return None
        if name in fields:
            report.append((f"send {text!r}: <{name}=...> given twice", NOTATION_HINT))
            return None
        if any(FIELDS.index(other) > FIELDS.index(name) for other in fields):
            report.append((f"send {text!r}: <{name}=...> out of order", "the RFC writes SEQ, then ACK, then CTL"))
            return None
        fields[name] = value
        pos = m.end()
    for required in ("SEQ", "CTL"):
        if required not in fields:
            report.append((f"send {text!r}: no <{required}=...>", NOTATION_HINT))
            return None
    seq = "ZERO" if fields["SEQ"] == "0" else fields["SEQ"]
    return make_send(fields["CTL"], seq, fields.get("ACK"), data, report)


def parse_send(raw: Any, report: Report) -> Send | None:
    """A ``send:`` value: the mapping ``{ctl, seq, ack, data}`` or the RFC notation text."""
    if isinstance(raw, str):
        return parse_notation(raw, report)
    if isinstance(raw, dict):
        return make_send(raw.get("ctl"), raw.get("seq", "SND.NXT"), raw.get("ack"), raw.get("data", False), report,
                         raw.get("throttle"))
    report.append((f"send must be a mapping or the RFC's notation, not {raw!r}", NOTATION_HINT))
    return None
