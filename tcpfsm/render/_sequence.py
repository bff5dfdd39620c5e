"""Sequence charts: two lifelines, segments as slanted arrows, states beside each change.

The renderer takes a :class:`Chart` value (rows of marks and messages); whoever has a run
(a scenario, a replayed trace, a checker counterexample) converts it to a Chart. Drawn with
Graphviz ``dot``: each row is a rank with one node per lifeline and a middle column for
the network (losses end there in a red x, injected segments start there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import graphviz

from tcpfsm.render._state import HEADER


@dataclass(frozen=True)
class Message:
    """A segment from ``sender`` (sent at ``send_row``) to ``receiver`` (at ``recv_row``)."""

    sender: str
    receiver: str
    label: str
    send_row: int
    recv_row: int
    kind: str = "normal"  # normal | lost | injected


@dataclass(frozen=True)
class Mark:
    """Text on a lifeline at a row: a user call, a timer, the new state, a drop."""

    who: str
    row: int
    text: str
    kind: str = "state"  # state | call | timer | note | rule


@dataclass
class Chart:
    title: str
    lifelines: tuple[str, str]
    initial: dict[str, str]
    rows: int = 0
    messages: list[Message] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)  # middle-column text per row


_MARK_STYLE = {
    "state": {"fillcolor": "#fff3c4", "color": "#c9a227"},
    "call": {"fillcolor": "#e3edff", "color": "#5b7fc7"},
    "timer": {"fillcolor": "#efe3ff", "color": "#8a63c7"},
    "note": {"fillcolor": "#f2f2f2", "color": "#aaaaaa"},
}


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_plain(text: str) -> str:
    return text.replace("\\", "\\\\")


def _mark_html(m: Mark) -> str:
    if m.kind == "state":
        return f"<b>{_esc(m.text)}</b>"
    if m.kind == "rule":
        return f'<font point-size="8" color="#666666">{_esc(m.text)}</font>'
    return _esc(m.text)


ROW_HEIGHT = 0.8  # inches between rows
COLUMN_X = (0.0, 4.2, 8.4)  # left lifeline, network, right lifeline (inches)


def chart_dot(chart: Chart) -> str:
    """Deterministic DOT text of a sequence chart (pinned positions, straight arrows)."""
    left, right = chart.lifelines
    g = graphviz.Digraph("sequence", comment=HEADER)
    g.attr(layout="neato", splines="false", overlap="true", fontname="Helvetica", label=chart.title,
           labelloc="t", fontsize="14", outputorder="edgesfirst", pad="0.3")
    g.attr("node", fontname="Helvetica", fontsize="10")
    g.attr("edge", fontname="Helvetica", fontsize="10", labelfloat="false")
    marks: dict[tuple[str, int], list[Mark]] = {}
    for mark in chart.marks:
        marks.setdefault((mark.who, mark.row), []).append(mark)
    columns = dict(zip((left, "net", right), COLUMN_X, strict=True))

    def pos(col: str, row: int) -> str:
        return f"{columns[col]:.2f},{-row * ROW_HEIGHT:.2f}!"

    for who in (left, right):
        g.node(f"{who}_0", f"<<b>{_esc(who)}</b><br/>{_esc(chart.initial.get(who, ''))}>", shape="box",
               style="filled,bold", fillcolor="#fff3c4", color="#c9a227", pos=pos(who, 0))
    g.node("net_0", "network", shape="plaintext", fontcolor="#888888", pos=pos("net", 0))
    for row in range(1, chart.rows + 1):
        for who in (left, right):
            here = marks.get((who, row))
            if here:
                kinds = {mk.kind for mk in here} - {"rule"}
                kind = "state" if "state" in kinds else (kinds.pop() if len(kinds) == 1 else "note")
                text = "<br/>".join(_mark_html(mk) for mk in here)
                g.node(f"{who}_{row}", f"<{text}>", shape="box", style="rounded,filled", pos=pos(who, row),
                       **_MARK_STYLE[kind])
            else:
                g.node(f"{who}_{row}", "", shape="point", width="0.03", color="#999999", pos=pos(who, row))
        note = chart.notes.get(row)
        if note:
            lost = note == "\u00d7"
            g.node(f"net_{row}", note, shape="plaintext", fontcolor="#c62828" if lost else "#666666",
                   fontsize="20" if lost else "9", pos=pos("net", row))
        elif any(msg.recv_row == row and msg.kind == "injected" for msg in chart.messages):
            g.node(f"net_{row}", "", shape="point", width="0.05", color="#7a5a00", pos=pos("net", row))
    for who in (left, right):
        for row in range(chart.rows):
            g.edge(f"{who}_{row}", f"{who}_{row + 1}", dir="none", color="#9a9a9a", penwidth="1.4")
    for i, m in enumerate(chart.messages):
        injected = m.kind == "injected"
        src = f"{m.sender}_{m.send_row}" if not injected else f"net_{m.recv_row}"
        x0, y0 = (columns["net"] if injected else columns[m.sender]), -(m.recv_row if injected else m.send_row)
        dst_col = "net" if m.kind == "lost" else m.receiver
        x1, y1 = columns[dst_col], -m.recv_row
        # the label sits above the arrow, 28% of the way from the sender: crossing arrows keep
        # their labels apart
        lx, ly = x0 + 0.28 * (x1 - x0), (y0 + 0.28 * (y1 - y0)) * ROW_HEIGHT + 0.14
        color = {"lost": "#c62828", "injected": "#7a5a00"}.get(m.kind, "black")
        g.node(f"label_{i}", _esc_plain(m.label), shape="plaintext", fontsize="10", fontcolor=color,
               pos=f"{lx:.2f},{ly:.2f}!", width="0", height="0", margin="0")
        if m.kind == "lost":
            if not chart.notes.get(m.recv_row):
                g.node(f"net_{m.recv_row}", "\u00d7", shape="plaintext", fontcolor="#c62828", fontsize="20",
                       pos=pos("net", m.recv_row))
            g.edge(src, f"net_{m.recv_row}", color=color, arrowhead="none", tooltip=m.label)
        else:
            style = {"style": "dotted"} if injected else {}
            g.edge(src, f"{m.receiver}_{m.recv_row}", color=color, tooltip=m.label, **style)
    return str(g.source)
