"""Sequence charts: two lifelines, segments as slanted arrows, states beside each change.

The renderer takes a :class:`Chart` value (rows of marks and messages); whoever has a run
(a scenario, a replayed trace, a checker counterexample) converts it to a Chart. Drawn with
Graphviz ``neato`` at pinned positions: each row is a height with one node per lifeline and a
middle column for the network (losses end there in a red x, injected segments start there).

Every position is computed here, so the text can be kept off the drawing: each box is given
a size at least that of its text (Helvetica's advance widths, with a margin), and each
segment's label is put at the first place along its arrow where its box meets no arrow, no
lifeline, no other box and no label placed before it (see :func:`_place`). Every box on a
lifeline names the state the endpoint is in. ``Chart.times`` (seconds per row) adds a time
axis on the left, with the long waits (2MSL, RTOs) written where the clock jumps.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    colour: str = ""      # overrides the kind's colour (a counterexample's incarnations)


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
    times: dict[int, float] = field(default_factory=dict)  # seconds since the start, per row (a time axis)
    waits: dict[int, str] = field(default_factory=dict)  # why the clock jumped before a row ("2MSL")


_MARK_STYLE = {
    "state": {"fillcolor": "#fff3c4", "color": "#c9a227"},
    "call": {"fillcolor": "#e3edff", "color": "#5b7fc7"},
    "timer": {"fillcolor": "#efe3ff", "color": "#8a63c7"},
    "note": {"fillcolor": "#f2f2f2", "color": "#aaaaaa"},
}


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_plain(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


ROW_HEIGHT = 0.8  # inches between rows
COLUMN_X = (0.0, 4.2, 8.4)  # left lifeline, network, right lifeline (inches)
TIME_X = -2.0  # the time axis, left of the left lifeline's boxes

# Helvetica's advance widths (1/1000 em; Adobe's AFM metrics, which Liberation Sans and Arial share)
_WIDE = {"m": 833, "w": 722, "M": 833, "W": 944, "@": 1015, "%": 889, "\u00d7": 584}
_NARROW = {"i": 222, "j": 222, "l": 222, " ": 278, ".": 278, ",": 278, ":": 278, ";": 278, "!": 278, "'": 191,
           "f": 278, "t": 278, "I": 278, "[": 278, "]": 278, "/": 278, "r": 333, "(": 333, ")": 333, "-": 333,
           "|": 260, "*": 389, "J": 500, "c": 500, "k": 500, "s": 500, "v": 500, "x": 500, "y": 500, "z": 500,
           "L": 556, "F": 611, "T": 611, "Z": 611, "+": 584, "=": 584, "<": 584, ">": 584}
_CAPS = {"C": 722, "D": 722, "H": 722, "N": 722, "R": 722, "U": 722, "G": 778, "O": 778, "Q": 778}


def _advance(ch: str) -> int:
    if ch in _WIDE:
        return _WIDE[ch]
    if ch in _NARROW:
        return _NARROW[ch]
    if ch in _CAPS:
        return _CAPS[ch]
    return 667 if ch.isupper() else 556


def text_width(text: str, size: float, bold: bool = False) -> float:
    """An upper bound of ``text``'s width in inches at ``size`` points (bold: 10% wider)."""
    em = sum(_advance(c) for c in text) / 1000
    return em * size / 72 * (1.1 if bold else 1.0) * 1.06


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle, centre and size in inches (y grows upwards, as in Graphviz)."""

    x: float
    y: float
    w: float
    h: float

    def meets(self, other: Box, gap: float = 0.03) -> bool:
        return (abs(self.x - other.x) * 2 < self.w + other.w + 2 * gap
                and abs(self.y - other.y) * 2 < self.h + other.h + 2 * gap)

    def crosses(self, seg: tuple[float, float, float, float], gap: float = 0.04) -> bool:
        """The segment (x0, y0, x1, y1) passes through this box grown by ``gap`` (Liang-Barsky clip)."""
        x0, y0, x1, y1 = seg
        dx, dy = x1 - x0, y1 - y0
        lo, hi = 0.0, 1.0
        for p, q in ((-dx, x0 - (self.x - self.w / 2 - gap)), (dx, (self.x + self.w / 2 + gap) - x0),
                     (-dy, y0 - (self.y - self.h / 2 - gap)), (dy, (self.y + self.h / 2 + gap) - y0)):
            if p == 0:
                if q < 0:
                    return False
                continue
            r = q / p
            if p < 0:
                lo = max(lo, r)
            else:
                hi = min(hi, r)
            if lo > hi:
                return False
        return True


def _place(w: float, h: float, candidates: Iterable[tuple[float, float]], boxes: list[Box],
           lines: list[tuple[float, float, float, float]]) -> Box:
    """The first candidate centre where a ``w`` x ``h`` box meets no box and crosses no line; else
    the candidate with the fewest meetings."""
    best: tuple[int, Box] | None = None
    for x, y in candidates:
        b = Box(x, y, w, h)
        hits = sum(b.meets(o) for o in boxes) + sum(b.crosses(s) for s in lines)
        if hits == 0:
            return b
        if best is None or hits < best[0]:
            best = (hits, b)
    assert best is not None
    return best[1]


def _mark_lines(here: list[Mark], state: str) -> list[tuple[str, float, bool, str]]:
    """A box's lines: (text, size, bold, colour); the state it is in is always one of them."""
    out = [(m.text, 8.0 if m.kind == "rule" else 10.0, m.kind == "state", "#666666" if m.kind == "rule" else "")
           for m in here]
    if not any(m.kind == "state" for m in here) and state:
        out.insert(0, (state, 10.0, False, "#7a6400"))
    return out


def _html(lines: list[tuple[str, float, bool, str]]) -> str:
    parts = []
    for text, size, bold, colour in lines:
        t = _esc(text)
        if bold:
            t = f"<b>{t}</b>"
        if size != 10.0 or colour:
            t = f'<font point-size="{size:g}"{f" color={chr(34)}{colour}{chr(34)}" if colour else ""}>{t}</font>'
        parts.append(t)
    return "<" + "<br/>".join(parts) + ">"


def _size(lines: list[tuple[str, float, bool, str]]) -> tuple[float, float]:
    w = max(text_width(t, s, b) for t, s, b, _ in lines) + 0.3
    h = sum(s * 1.25 for _, s, _, _ in lines) / 72 + 0.2
    return round(w + 0.005, 2), round(h + 0.005, 2)


def _fmt_time(seconds: float) -> str:
    if seconds >= 10:
        return f"t={seconds:,.1f} s"
    return f"t={seconds * 1000:,.0f} ms" if seconds < 1 else f"t={seconds:.2f} s"


def chart_dot(chart: Chart) -> str:
    """Deterministic DOT text of a sequence chart (pinned positions, straight arrows, text kept
    off the arrows and boxes)."""
    left, right = chart.lifelines
    g = graphviz.Digraph("sequence", comment=HEADER)
    g.attr(layout="neato", splines="false", overlap="true", fontname="Helvetica", label=chart.title,
           labelloc="t", fontsize="14", outputorder="edgesfirst", pad="0.3")
    g.attr("node", fontname="Helvetica", fontsize="10")
    g.attr("edge", fontname="Helvetica", fontsize="10")
    marks: dict[tuple[str, int], list[Mark]] = {}
    for mark in chart.marks:
        marks.setdefault((mark.who, mark.row), []).append(mark)
    columns = dict(zip((left, "net", right), COLUMN_X, strict=True))

    def y_of(row: int) -> float:
        return -row * ROW_HEIGHT

    def pin(x: float, y: float) -> str:
        return f"{x:.2f},{y:.2f}!"

    boxes: list[Box] = []  # what text must not meet
    lines: list[tuple[float, float, float, float]] = []  # what text must not cross
    for who in (left, right):
        head = [(who, 10.0, True, ""), (chart.initial.get(who, ""), 10.0, False, "")]
        w, h = _size(head)
        g.node(f"{who}_0", _html(head), shape="box", style="filled,bold", fillcolor="#fff3c4", color="#c9a227",
               pos=pin(columns[who], 0), width=f"{w:.2f}", height=f"{h:.2f}", **{"class": "mark"})
        boxes.append(Box(columns[who], 0, w, h))
        lines.append((columns[who], 0, columns[who], y_of(chart.rows)))  # the lifeline
    g.node("net_0", "network", shape="plaintext", fontcolor="#888888", pos=pin(columns["net"], 0))
    boxes.append(Box(columns["net"], 0, text_width("network", 10) + 0.1, 0.25))
    state = {who: chart.initial.get(who, "") for who in (left, right)}
    for row in range(1, chart.rows + 1):
        for who in (left, right):
            here = marks.get((who, row))
            if here:
                kinds = {mk.kind for mk in here} - {"rule"}
                kind = "state" if "state" in kinds else (kinds.pop() if len(kinds) == 1 else "note")
                text = _mark_lines(here, state[who])
                w, h = _size(text)
                g.node(f"{who}_{row}", _html(text), shape="box", style="rounded,filled",
                       pos=pin(columns[who], y_of(row)),
                       width=f"{w:.2f}", height=f"{h:.2f}", **{"class": "mark"}, **_MARK_STYLE[kind])
                boxes.append(Box(columns[who], y_of(row), w, h))
                for mk in here:
                    if mk.kind == "state":
                        state[who] = mk.text
            else:
                g.node(f"{who}_{row}", "", shape="point", width="0.03", color="#999999",
                       pos=pin(columns[who], y_of(row)))
    # the segments' lines first: notes and labels are placed around all of them
    arrows: list[tuple[Message, str, tuple[float, float, float, float]]] = []
    for m in chart.messages:
        injected = m.kind == "injected"
        src = f"{m.sender}_{m.send_row}" if not injected else f"net_{m.recv_row}"
        x0, y0 = (columns["net"] if injected else columns[m.sender]), y_of(m.recv_row if injected else m.send_row)
        x1 = columns["net" if m.kind == "lost" else m.receiver]
        seg = (x0, y0, x1, y_of(m.recv_row))
        arrows.append((m, src, seg))
        lines.append(seg)
    for row in range(1, chart.rows + 1):
        note = chart.notes.get(row)
        lost_here = any(m.kind == "lost" and m.recv_row == row for m in chart.messages)
        if note == "\u00d7" or (lost_here and not note):
            g.node(f"net_{row}", "\u00d7", shape="plaintext", fontcolor="#c62828", fontsize="20",
                   pos=pin(columns["net"], y_of(row)), **{"class": "cross"})
            boxes.append(Box(columns["net"], y_of(row), 0.25, 0.25))
        elif any(m.recv_row == row and m.kind == "injected" for m in chart.messages):
            g.node(f"net_{row}", "", shape="point", width="0.05", color="#7a5a00", pos=pin(columns["net"], y_of(row)))
        else:
            g.node(f"net_{row}", "", shape="point", width="0.01", color="transparent",
                   pos=pin(columns["net"], y_of(row)))
        if note and note != "\u00d7":
            w, h = text_width(note, 9) + 0.12, 0.22
            cx, cy = columns["net"], y_of(row)
            spots = [(cx + dx, cy + dy) for dy in (0.0, 0.2, -0.2, 0.32, -0.32) for dx in (0.0, -1.2, 1.2)]
            b = _place(w, h, spots, boxes, lines)
            g.node(f"note_{row}", _esc_plain(note), shape="box", color="transparent", fontcolor="#666666", fontsize="9",
                   margin="0", width=f"{w:.2f}", height=f"{h:.2f}", pos=pin(b.x, b.y), **{"class": "note"})
            boxes.append(b)
    if chart.times:
        g.node("time_head", "time", shape="box", color="transparent", fontcolor="#888888", margin="0",
               width="0.6", height="0.22", pos=pin(TIME_X, 0), **{"class": "time"})
        last = 0.0
        for row in range(1, chart.rows + 1):
            if row not in chart.times:
                continue
            now = chart.times[row]
            stamp = _fmt_time(now)
            w = text_width(stamp, 9) + 0.1
            g.node(f"time_{row}", stamp, shape="box", color="transparent", fontcolor="#555555", fontsize="9",
                   margin="0", width=f"{w:.2f}", height="0.22", pos=pin(TIME_X, y_of(row)), **{"class": "time"})
            boxes.append(Box(TIME_X, y_of(row), w, 0.22))
            why = chart.waits.get(row)
            if why:
                gap = f"\u22ee {why}: +{now - last:,.3g} s"
                gw = text_width(gap, 9) + 0.1
                g.node(f"wait_{row}", gap, shape="box", color="transparent", fontcolor="#8a63c7", fontsize="9",
                       margin="0", width=f"{gw:.2f}", height="0.22", pos=pin(TIME_X, y_of(row) + ROW_HEIGHT / 2),
                       **{"class": "time"})
                boxes.append(Box(TIME_X, y_of(row) + ROW_HEIGHT / 2, gw, 0.22))
            last = now
    for who in (left, right):
        for row in range(chart.rows):
            g.edge(f"{who}_{row}", f"{who}_{row + 1}", dir="none", color="#9a9a9a", penwidth="1.4",
                   **{"class": "lifeline"})
    for i, (m, src, (x0, y0, x1, y1)) in enumerate(arrows):
        color = m.colour or {"lost": "#c62828", "injected": "#7a5a00"}.get(m.kind, "black")
        w, h = round(text_width(m.label, 10) + 0.12, 2), 0.2
        slope = abs(y1 - y0) / max(abs(x1 - x0), 1e-9)
        lift = h / 2 + slope * w / 2 + 0.06
        ts = (0.3, 0.38, 0.22, 0.46, 0.55, 0.64, 0.72, 0.8) if m.kind != "lost" else (0.45, 0.3, 0.6, 0.2, 0.75)
        spots = [(x0 + t * (x1 - x0), y0 + t * (y1 - y0) + side * lift) for side in (1, -1) for t in ts]
        b = _place(w, h, spots, boxes, lines)
        boxes.append(b)
        g.node(f"label_{i}", _esc_plain(m.label), shape="box", color="transparent", fontsize="10", fontcolor=color,
               pos=pin(b.x, b.y), width=f"{w:.2f}", height=f"{h:.2f}", margin="0", **{"class": "label"})
        if m.kind == "lost":
            g.edge(src, f"net_{m.recv_row}", color=color, arrowhead="none", tooltip=m.label, **{"class": "segment"})
        else:
            style = {"style": "dotted"} if m.kind == "injected" else {}
            g.edge(src, f"{m.receiver}_{m.recv_row}", color=color, tooltip=m.label, **style,
                   **{"class": "segment"})
    return str(g.source)
