"""The committed sequence charts, laid out by the real Graphviz: no text on an arrow or a box.

Each committed ``diagrams/seq-*.dot`` is rendered to SVG by Graphviz's ``dot`` (neato layout at
pinned positions). The test reads the SVG Graphviz writes: a node's box is its outline's bounding
box (Graphviz grows a box to the size of its text, so the outline holds the text), an edge is its
path (cubic Bezier pieces, sampled finely, joined by straight pieces) and its arrowhead. It checks
that no text box (segment labels, network notes, the time axis) meets an arrow, a lifeline, a
state box or another text box, and that no arrow runs through a state box. The geometry here is
written for the test, not imported from tcpfsm.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import ROOT

SVG = "{http://www.w3.org/2000/svg}"
CHARTS = sorted((ROOT / "diagrams").glob("seq-*.dot"))
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed "
                               "(make test installs it)")

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1
Seg = tuple[float, float, float, float]


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def _bbox(points: list[float]) -> Rect:
    xs, ys = points[0::2], points[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _bezier(p: list[tuple[float, float]], steps: int = 40) -> list[tuple[float, float]]:
    out = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
        out.append((a * p[0][0] + b * p[1][0] + c * p[2][0] + d * p[3][0],
                    a * p[0][1] + b * p[1][1] + c * p[2][1] + d * p[3][1]))
    return out


def _path_segments(d: str) -> list[Seg]:
    """Graphviz writes an edge as ``M x,y C x1,y1 x2,y2 x3,y3 ...``: the pieces as short lines."""
    nums = _numbers(d)
    pts = list(zip(nums[0::2], nums[1::2], strict=True))
    polyline = [pts[0]]
    for i in range(1, len(pts) - 2, 3):
        polyline += _bezier([polyline[-1], pts[i], pts[i + 1], pts[i + 2]])[1:]
    return [(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(polyline)]


def _crosses(r: Rect, s: Seg) -> bool:
    """The segment meets the rectangle (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = s
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - r[0]), (dx, r[2] - x0), (-dy, y0 - r[1]), (dy, r[3] - y0)):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            lo = max(lo, q / p)
        else:
            hi = min(hi, q / p)
        if lo > hi:
            return False
    return True


def _meets(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _shrink(r: Rect, by: float) -> Rect:
    return r[0] + by, r[1] + by, r[2] - by, r[3] - by


def _layout(dot_file: Path) -> tuple[dict[str, tuple[str, Rect]], list[tuple[str, list[Seg]]]]:
    svg = subprocess.run(["dot", "-Tsvg", str(dot_file)], capture_output=True, check=True).stdout
    root = ET.fromstring(svg)
    nodes: dict[str, tuple[str, Rect]] = {}
    edges: list[tuple[str, list[Seg]]] = []
    for g in root.iter(f"{SVG}g"):
        cls = (g.get("class") or "").split()
        title = g.findtext(f"{SVG}title") or ""
        if "node" in cls:
            shape = g.find(f"{SVG}polygon")
            if shape is None:
                shape = g.find(f"{SVG}path")
            if shape is None:
                continue  # a point on a lifeline, or the plain "network" heading
            nums = _numbers(shape.get("points") or shape.get("d") or "")
            nodes[title] = (" ".join(cls[1:]), _bbox(nums))
        elif "edge" in cls:
            segs: list[Seg] = []
            for path in g.iter(f"{SVG}path"):
                segs += _path_segments(path.get("d", ""))
            for head in g.iter(f"{SVG}polygon"):
                nums = _numbers(head.get("points", ""))
                pts = list(zip(nums[0::2], nums[1::2], strict=True))
                segs += [(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(pts)]
            edges.append((" ".join(cls[1:]), segs))
    return nodes, edges


def test_the_committed_charts_are_there() -> None:
    names = {p.stem for p in CHARTS}
    assert {"seq-handshake", "seq-close", "seq-simultaneous-open", "seq-simultaneous-close",
            "seq-time-wait-retransmitted-fin"} <= names


@needs_dot
@pytest.mark.parametrize("dot_file", CHARTS, ids=[p.stem for p in CHARTS])
def test_no_text_meets_an_arrow_or_a_box(dot_file: Path) -> None:
    nodes, edges = _layout(dot_file)
    texts = {n: r for n, (cls, r) in nodes.items() if cls in ("label", "note", "time")}
    boxes = {n: r for n, (cls, r) in nodes.items() if cls == "mark"}
    assert texts and boxes and edges, "the SVG has the classes the chart writes"
    lines = [(cls, s) for cls, segs in edges if cls in ("segment", "lifeline") for s in segs]
    problems = []
    for name, r in texts.items():
        problems += [f"{name} crosses a {cls}" for cls, s in lines if _crosses(r, s)][:1]
        problems += [f"{name} meets box {other}" for other, b in boxes.items() if _meets(r, b)]
        problems += [f"{name} meets text {other}" for other, b in texts.items() if other > name and _meets(r, b)]
    for name, b in boxes.items():
        inner = _shrink(b, 2.0)  # an arrow ends on a box's outline; it must not run through it
        problems += [f"a {cls} runs through box {name}" for cls, s in lines if _crosses(inner, s)][:1]
    assert problems == [], f"{dot_file.name}: " + "; ".join(problems)


@needs_dot
def test_every_box_on_a_lifeline_names_a_state() -> None:
    """A box that shows only a rule id (S29 §3.10.7.4) says nothing to a student: each box on a
    lifeline carries the endpoint's state (RFC 9293 §3.3.2's names)."""
    from tcpfsm import load_spec

    states = set(load_spec().state_names)
    for dot_file in CHARTS:
        text = dot_file.read_text()
        for m in re.finditer(r'^\s*(\w+)_(\d+) \[label=<(.*)> .*class=mark', text, re.M):
            shown = set(re.findall(r"[A-Z][A-Z0-9-]+", re.sub(r"<[^>]+>", " ", m.group(3))))
            assert shown & states, f"{dot_file.name}: box {m.group(1)}_{m.group(2)} names no state: {m.group(3)}"
