"""A monitored connection as a sequence chart: originator and responder, packets as arrows.

Sequence numbers are relative by default, as Wireshark shows them: each side's numbers count
from its initial sequence number (ISN, the SEQ of its SYN; else the first SEQ it was seen
sending), so the handshake reads ``SYN seq=0``, ``SYN,ACK seq=0 ack=1``, ``ACK seq=1 ack=1``
(RFC 9293 §3.4: the SYN takes one sequence number, so the first data byte is ISN+1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tcpfsm.base._segment import Flags
from tcpfsm.render._sequence import Chart, Mark, Message

if TYPE_CHECKING:
    from tcpfsm.conformance._monitor import Connection


def _relative(n: int, isn: int) -> int:
    return (n - isn) % (1 << 32)  # sequence space is modulo 2**32 (RFC 9293 §3.4)


def _isns(conn: Connection) -> dict[str, int]:
    """Each side's ISN: the SEQ of the first SYN it sent, else of the first segment it sent."""
    out: dict[str, int] = {}
    syn: dict[str, int] = {}
    for _number, who, p in conn.packets:
        out.setdefault(who, p.seq)
        if p.flags & int(Flags.SYN):
            syn.setdefault(who, p.seq)
    out.update(syn)
    return out


def connection_chart(conn: Connection, absolute: bool = False, timed: bool = False) -> Chart:
    """The packets of ``conn`` (kept by the monitor) as a chart; ``absolute``: the sequence numbers
    as captured, instead of relative to each side's ISN; ``timed``: a time axis from the capture's
    timestamps. The bottom box of each lifeline lists every state the monitor inferred for it."""
    d = conn.to_dict()
    a, b = d["endpoints"]
    states = {"orig": list(a["states"]), "resp": list(b["states"])}
    chart = Chart(f"connection {conn.id}: {a['addr']}:{a['port']} - {b['addr']}:{b['port']} ({d['conn_state']})",
                  ("orig", "resp"), {side: s[0] if s else "?" for side, s in states.items()})
    isn = _isns(conn)
    first_ts = conn.packets[0][2].ts if conn.packets else 0.0
    for row, (number, who, p) in enumerate(conn.packets, 1):
        chart.rows = row
        other = "resp" if who == "orig" else "orig"
        seq = p.seq if absolute else _relative(p.seq, isn.get(who, p.seq))
        ack_n = p.ack if absolute or other not in isn else _relative(p.ack, isn[other])
        ack = f" ack={ack_n}" if p.flags & int(Flags.ACK) else ""
        chart.messages.append(Message(who, other, f"#{number} {Flags(p.flags)} seq={seq}{ack} len={p.length}",
                                      row - 1 if row > 1 else 0, row))
        if timed:
            chart.times[row] = p.ts - first_ts
    last = max(chart.rows, 1)
    chart.rows = last
    for side, seen in states.items():
        later = seen[1:]
        if len(later) > 1:
            path = [" \u2192 ".join(later[i:i + 2]) for i in range(0, len(later) - 1, 2)]
            chart.marks.append(Mark(side, last, "states seen: " + path[0], "rule"))
            chart.marks += [Mark(side, last, more, "rule") for more in path[1:]]
        if seen:
            chart.marks.append(Mark(side, last, seen[-1], "state"))
    for f in conn.findings:
        chart.notes[max(1, min(chart.rows, next((i for i, (n, _, _) in enumerate(conn.packets, 1)
                                                  if n == f.packet), 1)))] = f"finding: {f.what[:60]}"
    return chart
