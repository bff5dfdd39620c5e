"""The model checker: every interleaving of two endpoints and a network, breadth first.

>>> from tcpfsm.checker import check
>>> report = check(model="reference", capacity=2, retransmissions=1)
>>> report.stats.states, report.stats.transitions
(2197, 5640)
>>> {v.name: v.verdict for v in report.verdicts}["I4"]
'violated'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tcpfsm.base._errors import Problem, SpecError
from tcpfsm.base._resources import specs_dir
from tcpfsm.checker._fast import FastSearch, Unsupported
from tcpfsm.checker._liveness import check_leads_to
from tcpfsm.checker._properties import Property, PropertyFile, load_properties
from tcpfsm.checker._search import Channel, Config, Search, Stats, System, event_class, progress_printer
from tcpfsm.spec import Spec, load_spec, resolve_spec

HOLDS, VIOLATED, INCONCLUSIVE = "holds", "violated", "inconclusive"


@dataclass(frozen=True)
class TraceStep:
    """One event of a counterexample: what fired, and the global state after it."""

    event: str
    a: str
    b: str
    ab: tuple[str, ...]
    ba: tuple[str, ...]
    history: dict[str, str]
    transitions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "A": self.a, "B": self.b, "AB": list(self.ab), "BA": list(self.ba),
                "history": self.history, "transitions": list(self.transitions)}


@dataclass
class Verdict:
    name: str
    title: str
    kind: str
    verdict: str
    counterexample: list[TraceStep] | None = None
    cycle: list[TraceStep] | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "kind": self.kind, "verdict": self.verdict,
                "counterexample": [s.to_dict() for s in self.counterexample] if self.counterexample is not None
                else None,
                "cycle": [s.to_dict() for s in self.cycle] if self.cycle is not None else None,
                "note": self.note or None}


@dataclass
class Report:
    model: str
    spec: Spec
    channel: Channel
    retransmissions: int
    stats: Stats
    verdicts: list[Verdict] = field(default_factory=list)
    initial: TraceStep | None = None
    engine: str = "plain"

    @property
    def exit_code(self) -> int:
        if any(v.verdict == VIOLATED for v in self.verdicts):
            return 1
        if any(v.verdict == INCONCLUSIVE for v in self.verdicts):
            return 3
        return 0

    def to_dict(self) -> dict[str, Any]:
        s = self.stats
        return {
            "model": self.model, "engine": self.engine, "spec": self.spec.file, "profile": self.spec.profile,
            "channel": {"capacity": self.channel.capacity, "lossy": self.channel.lossy,
                        "duplicating": self.channel.duplicating, "reordering": self.channel.reordering,
                        "when_full": self.channel.when_full},
            "retransmissions": self.retransmissions,
            "states": s.states, "transitions": s.transitions, "depth": s.depth, "complete": s.complete,
            "stopped": s.stopped or None, "seconds": round(s.seconds, 4), "states_per_second": round(s.rate),
            "peak_mib": round(s.peak_mib, 1), "local_states": s.local_states, "segments": s.segments,
            "initial": self.initial.to_dict() if self.initial else None,
            "properties": [v.to_dict() for v in self.verdicts],
        }


def _resolve(model: str | None, spec: Spec, props: PropertyFile) -> tuple[str, Spec, dict[str, str], tuple[str, ...]]:
    """The model to compose: a named model of the property file (with its own spec, if it names
    one), else the ``tcp`` composition of the spec the caller chose."""
    name = model or "tcp"
    if name not in props.models:
        raise SpecError([Problem(props.file, 0, f"unknown model {name!r}", f"models: {', '.join(props.models)}")])
    m = props.models[name]
    if model is not None and m.spec:
        base = Path(props.file).parent
        spec = load_spec(base / m.spec if (base / m.spec).is_file() else specs_dir() / m.spec)
    return name, spec, m.open, m.properties


def check(*, model: str | None = None, spec: Spec | None = None, spec_file: str | Path | None = None,
          profile: str | None = None, capacity: int = 2, retransmissions: int = 1, lossy: bool = False,
          duplicating: bool = False, reordering: bool = False, when_full: str = "block",
          properties: list[str] | None = None, max_states: int | None = None, max_depth: int | None = None,
          timeout: float | None = None, progress: Callable[[dict[str, Any]], None] | None = None,
          engine: str = "auto", b_opens: str | None = None,
          properties_file: str | Path | None = None) -> Report:
    """Explore every interleaving and check the properties; see ``specs/properties.yaml``.

    The spec is chosen as everywhere (:func:`tcpfsm.spec.resolve_spec`): ``spec``, a
    ``spec_file`` or a ``profile``; a ``model`` of the property file may name its own spec.
    ``properties_file`` is a property file of the user's (default: the shipped one).
    """
    chosen_spec = resolve_spec(spec, file=spec_file, profile=profile)
    props_path = Path(properties_file) if properties_file is not None else None
    probe = load_properties(props_path, states=()) if model is not None else None
    model_spec = probe.models.get(model) if probe is not None and model is not None else None
    states = chosen_spec.state_names if model_spec is None or not model_spec.spec else ()
    props = load_properties(props_path, states=states)
    name, the_spec, opening, default_props = _resolve(model, chosen_spec, props)
    wanted = list(properties or default_props)
    unknown = [p for p in wanted if p not in props.properties]
    if unknown:
        raise SpecError([Problem(props.file, 0, f"unknown property {', '.join(unknown)}",
                                 f"properties: {', '.join(props.properties)}")])
    chosen: list[Property] = [props.properties[p] for p in wanted]
    hist_names: list[str] = []
    for p in chosen:
        hist_names += [h for h in p.history if h not in hist_names]
    if model == "reference" and "hA" not in hist_names:
        hist_names.insert(0, "hA")  # part of the reference model's state vector (section 2)
    if b_opens is not None:  # e.g. both active: a simultaneous open
        opening = dict(opening, B="open_active" if b_opens == "active" else "open_passive")
    channel = Channel(capacity, lossy, duplicating, reordering, when_full)
    cfg = Config(the_spec, channel, retransmissions, opening, tuple(props.histories[h] for h in hist_names),
                 max_states, max_depth, timeout, progress)
    system = System(cfg)
    search: Any = None
    needs_graph = any(p.kind == "leads_to" for p in chosen)
    # auto: the vectorised search where its local tables are small (the control projection)
    if (engine == "vector" or (engine == "auto" and system.lm.control)) and not needs_graph:
        try:
            search = FastSearch(system, chosen)
        except Unsupported as exc:
            if engine == "vector":
                raise SpecError([Problem(props.file, 0, f"--engine vector: {exc}", "use --engine plain")]) from None
            system = System(cfg)
    if search is None:
        search = Search(system, chosen)
    stats = search.run(keep_graph=needs_graph)
    initial = search.init_py if isinstance(search, FastSearch) else search.levels[0][0]
    report = Report(name, the_spec, channel, retransmissions, stats,
                    initial=_trace_step(search.sys, "initial", initial))
    report.engine = "vector" if isinstance(search, FastSearch) else "plain"
    for p in chosen:
        report.verdicts.append(_verdict(p, search, stats))
    return report


def _trace_step(system: System, label: str, state: int, transitions: tuple[str, ...] = ()) -> TraceStep:
    v = system.view(state)
    segs = system.lm.segments
    def fmt(sid: int) -> str:
        return str(segs[sid].flags) if system.lm.control else str(segs[sid])

    return TraceStep(label, v.sa, v.sb, tuple(fmt(x) for x in v.ab), tuple(fmt(x) for x in v.ba), v.hist,
                     transitions)


def trace_of(search: Any, path: list[tuple[str, int]]) -> list[TraceStep]:
    out = []
    prev = search.init_py if isinstance(search, FastSearch) else search.levels[0][0]
    for label, state in path:
        detail = next((d for lab, n, d in search.sys.successors(prev, labels=True) if lab == label and n == state),
                      None)
        ids: tuple[str, ...] = ()
        res = detail[-1] if detail else None
        if res is not None:
            ids = tuple(t[3] for t in res.info.transitions)
        out.append(_trace_step(search.sys, label, state, ids))
        prev = state
    return out


def _verdict(p: Property, search: Any, stats: Stats) -> Verdict:
    v = Verdict(p.name, p.title, p.kind, INCONCLUSIVE)
    finding = search.findings.get(p.name)
    if p.kind == "leads_to":
        if not stats.complete or search.graph is None:
            v.note = "exploration incomplete: liveness needs the whole graph"
            return v
        res = check_leads_to(search, p, event_class)
        if res is None:
            v.verdict = HOLDS
        else:
            prefix, cycle, why = res
            v.verdict, v.counterexample, v.note = VIOLATED, trace_of(search, prefix), why
            if cycle:
                v.cycle = trace_of_cycle(search, cycle)
        return v
    if finding is not None:
        path = search.path_to(finding.via[0] if finding.via else finding.state,
                              finding.depth - 1 if finding.via else finding.depth)
        if finding.via:
            path.append((finding.via[1], finding.state))
        v.verdict = HOLDS if p.kind == "reach" else VIOLATED
        v.counterexample = trace_of(search, path)
        if p.kind == "reach":
            v.note = "witness"
        return v
    if stats.complete:
        v.verdict = VIOLATED if p.kind == "reach" else HOLDS
        if p.kind == "reach":
            v.note = "no reachable state satisfies it"
    else:
        v.note = f"bound reached: {stats.stopped}"
    return v


def trace_of_cycle(search: Search, cycle: list[tuple[str, int]]) -> list[TraceStep]:
    """The lasso's loop: it starts where the counterexample's prefix ends."""
    return [_trace_step(search.sys, label, state) for label, state in cycle]


__all__ = ["HOLDS", "INCONCLUSIVE", "VIOLATED", "Channel", "Report", "TraceStep", "Verdict", "check",
           "progress_printer"]
