"""A monitored connection as a sequence chart: originator and responder, packets as arrows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tcpfsm.base._segment import Flags
from tcpfsm.render._sequence import Chart, Mark, Message

if TYPE_CHECKING:
    from tcpfsm.conformance._monitor import Connection


def connection_chart(conn: Connection) -> Chart:
    d = conn.to_dict()
    a, b = d["endpoints"]
    chart = Chart(f"connection {conn.id}: {a['addr']}:{a['port']} - {b['addr']}:{b['port']} ({d['conn_state']})",
                  ("orig", "resp"), {"orig": a["states"][0] if a["states"] else "?",
                                     "resp": b["states"][0] if b["states"] else "?"})
    for row, (number, who, p) in enumerate(conn.packets, 1):
        chart.rows = row
        other = "resp" if who == "orig" else "orig"
        ack = f" ack={p.ack}" if p.flags & int(Flags.ACK) else ""
        chart.messages.append(Message(who, other, f"#{number} {Flags(p.flags)} seq={p.seq}{ack} len={p.length}",
                                      row - 1 if row > 1 else 0, row))
    final = {"orig": a["states"][-1] if a["states"] else "", "resp": b["states"][-1] if b["states"] else ""}
    for side, state in final.items():
        chart.marks.append(Mark(side, chart.rows, state, "state"))
    for f in conn.findings:
        chart.notes[max(1, min(chart.rows, next((i for i, (n, _, _) in enumerate(conn.packets, 1)
                                                  if n == f.packet), 1)))] = f"finding: {f.what[:60]}"
    return chart
