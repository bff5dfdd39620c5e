"""The explorer page (``tcpfsm explore -o site/``): one static HTML file a student opens in a browser.

Everything is inside the file (no server, no network): each shipped profile's state diagram as
SVG (drawn by Graphviz from the spec), each shipped scenario's sequence chart as SVG, and the
data the page's script reads as JSON: every state's transitions (label, guards, target, action,
RFC §), what each profile changes against RFC 9293, and every scenario's steps with their
narration (:mod:`tcpfsm.render._narrate`). Click a state to see its transitions; pick a profile
to see what changes; step through a scenario while the diagram highlights the state and the
chart grows row by row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tcpfsm.render._catalogue import render
from tcpfsm.render._narrate import narrate
from tcpfsm.render._sequence import chart_dot
from tcpfsm.render._state import action_text, node_id, to_dot
from tcpfsm.render._trace import chart_from_trace, scenario_chart
from tcpfsm.runtime import TraceEvent, run_scenario, step_rows
from tcpfsm.spec import Spec, Transition, available_profiles, load_scenarios, load_spec

DEFAULT = "rfc9293"


@dataclass(frozen=True)
class Walkthrough:
    """A run to step through beside the shipped scenarios: the walk's TCP part, a lesson's
    counterexample replayed on Endpoints. ``names``: its endpoints as the page's A and B."""

    name: str
    title: str
    trace: list[TraceEvent]
    spec: Spec
    rfc: str = ""
    names: tuple[str, str] = ("A", "B")


def _svg(dot: str) -> str:
    """Graphviz's SVG without its XML prolog and doctype (the page inlines it)."""
    text = render(dot, "svg").decode()
    return text[text.index("<svg"):]


def _rfc(rfc: str) -> str:
    return f"§{rfc}" if rfc[:1].isdigit() else rfc


def _behaviour(t: Transition) -> tuple[Any, ...]:
    return t.sources, t.events, t.guard, t.target, t.actions


def _profile(spec: Spec, base: Spec | None) -> dict[str, Any]:
    states = []
    for st in spec.states:
        rows = []
        for t in spec.transitions:
            if st.name not in t.sources:
                continue
            rows.append({"id": t.id, "events": [spec.event(e).label for e in t.events],
                         "label": t.label or " / ".join(spec.event(e).label for e in t.events),
                         "guard": [str(g).replace("_", " ") for g in t.guard], "target": t.target_from(st.name),
                         "action": action_text(spec, t) or (f'refuses: "{t.error}"' if t.error else "")
                         or (f"drops it ({t.drop})" if t.drop else ""), "rfc": _rfc(t.rfc)})
        states.append({"name": st.name, "meaning": st.meaning, "rfc": _rfc(st.rfc), "transitions": rows})
    nodes = {node_id(s): s for s in spec.state_names}
    nodes[node_id(spec.initial) + "__bottom"] = spec.initial
    changes: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    if base is not None:
        mine = {t.id: t for t in spec.transitions}
        theirs = {t.id: t for t in base.transitions}
        for tid, t in mine.items():
            if tid not in theirs:
                changes["added"].append(f"{tid}: {', '.join(t.sources)}: {t.label or t.events[0]} -> {t.target}")
            elif _behaviour(t) != _behaviour(theirs[tid]):
                changes["changed"].append(f"{tid}: {', '.join(t.sources)}: {t.label or t.events[0]} -> {t.target}")
        changes["removed"] = [f"{tid}: {', '.join(t.sources)}: {t.label or t.events[0]} -> {t.target}"
                              for tid, t in theirs.items() if tid not in mine]
    return {"title": spec.title, "svg": _svg(to_dot(spec, only="all")), "nodes": nodes, "states": states,
            "changes": changes}


def _scenario(name: str, spec: Spec) -> dict[str, Any]:
    sc = load_scenarios()[name]
    run = run_scenario(sc, spec)
    return _steps(run.pair.trace, spec, sc.title, _rfc(sc.rfc) if sc.rfc else "",
                  _svg(chart_dot(scenario_chart(run, timed=True))))


def _walkthrough(w: Walkthrough) -> dict[str, Any]:
    chart = chart_from_trace(w.trace, f"{w.name}: {w.title}", names=w.names, closed=w.spec.initial)
    return _steps(w.trace, w.spec, w.title, w.rfc, _svg(chart_dot(chart)), w.names)


def _steps(trace: list[TraceEvent], spec: Spec, title: str, rfc: str, svg: str,
           names: tuple[str, str] = ("A", "B")) -> dict[str, Any]:
    """A run's steps for the page: per table row its narration, states (as A and B) and chart row."""
    as_ab = {names[0]: "A", names[1]: "B"}
    lines = narrate(trace, spec)
    rows = step_rows(trace)
    chart_rows = []  # the chart's row (one per trace event) of each table row (one per step)
    for i, ev in enumerate(trace, 1):
        chart_rows += [i] * (1 if ev.kind in ("lose", "duplicate", "error") else len(ev.steps))
    states = {"A": spec.initial, "B": spec.initial}
    steps = []
    for r, why, chart_row in zip(rows, lines, chart_rows, strict=True):
        who = as_ab.get(str(r["endpoint"]), r["endpoint"]) if r["endpoint"] else r["endpoint"]
        if r["to"] and who:
            states[str(who)] = str(r["to"])
        steps.append({"endpoint": who, "event": r["event"], "segment": r["segment"], "from": r["from"],
                      "to": r["to"], "rule": r["transition"], "rfc": _rfc(r["rfc"]) if r["rfc"] else "",
                      "explain": why, "chart_row": chart_row, "states": dict(states)})
    return {"title": title, "rfc": rfc, "steps": steps, "svg": svg}


def explorer_data(extra: Sequence[Walkthrough] = ()) -> dict[str, Any]:
    """The page's data: profiles (diagram, states and transitions, changes), the shipped scenarios
    and the ``extra`` walkthroughs (after them, in the same list)."""
    base = load_spec(profile=DEFAULT)
    profiles = {p: _profile(load_spec(profile=p), None if p == DEFAULT else base) for p in available_profiles()}
    scenarios = {name: _scenario(name, base) for name in load_scenarios()}
    scenarios.update({w.name: _walkthrough(w) for w in extra})
    return {"default": DEFAULT, "profiles": profiles, "scenarios": scenarios}


def explorer_html(data: dict[str, Any] | None = None) -> str:
    """The whole page: HTML, CSS, the data as JSON and the script, in one file."""
    data = data if data is not None else explorer_data()
    blob = json.dumps(data, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    page = (Path(__file__).parent / "explorer.html").read_text(encoding="utf-8")
    return page.replace("/*DATA*/", blob)


def write_explorer(outdir: Path, extra: Sequence[Walkthrough] = ()) -> Path:
    """Write ``outdir/index.html`` (with the ``extra`` walkthroughs); returns its path."""
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "index.html"
    path.write_text(explorer_html(explorer_data(extra)), encoding="utf-8")
    return path
