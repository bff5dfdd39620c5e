"""``check``: compose the model, choose the engine, run the search, turn findings into verdicts and traces."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tcpfsm.base._errors import Problem, SpecError
from tcpfsm.base._resources import specs_dir
from tcpfsm.checker._driver import Search, Stats, peak_rss_mib
from tcpfsm.checker._fast import Outgrown, Unsupported, VectorExpander
from tcpfsm.checker._liveness import check_leads_to
from tcpfsm.checker._local import MAX_DATA, MAX_REOPEN, incarnation_name, projection_for
from tcpfsm.checker._moves import REOPEN_CHOICES, STANDARD_EVENTS, Channel, MoveTable
from tcpfsm.checker._search import Config, PlainExpander, System
from tcpfsm.spec import Spec, load_spec, resolve_spec
from tcpfsm.spec._properties import AnyProperty, LeadsTo, PropertyFile, Reach, load_properties

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
    # with incarnations (reopen): the ghost incarnation of A, B and of each segment in flight (0: a
    # listener not bound to a SYN yet)
    incarnations: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "A": self.a, "B": self.b, "AB": list(self.ab), "BA": list(self.ba),
                "history": self.history, "transitions": list(self.transitions)} | (
                    {"incarnations": self.incarnations} if self.incarnations else {})


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


@dataclass(frozen=True)
class LeftOut:
    """A property of the model's default set that was not checked, and why (e.g. it names a
    state the spec lacks: a user's spec with renamed states)."""

    name: str
    title: str
    note: str
    file: str = ""
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "note": self.note, "file": self.file, "line": self.line}


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
    left_out: list[LeftOut] = field(default_factory=list)
    data: int = 0  # SEND calls of one byte each user could make
    reopen: int = 0  # opens of the same 4-tuple after the first each user could make
    # the search that made it (exports and coverage read its system and levels); not serialised
    search: Search | None = field(default=None, repr=False, compare=False)
    # more JSON keys an engine or the coverage adds (e.g. "spin": compile time, pan flags; "coverage")
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

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
            "retransmissions": self.retransmissions, "data": self.data, "reopen": self.reopen,
            "states": s.states, "transitions": s.transitions, "depth": s.depth, "complete": s.complete,
            "stopped": s.stopped or None, "seconds": round(s.seconds, 4),
            **({"tables_seconds": round(s.tables_seconds, 4)} if s.tables_seconds is not None else {}),
            "states_per_second": round(s.rate),
            "peak_mib": round(s.peak_mib, 1), "local_states": s.local_states, "segments": s.segments,
            "initial": self.initial.to_dict() if self.initial else None,
            "properties": [v.to_dict() for v in self.verdicts],
        } | ({"left_out": [x.to_dict() for x in self.left_out]} if self.left_out else {}) | self.extra


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
    return name, spec, m.opening, m.properties


def _choose(props: PropertyFile, spec: Spec, wanted: list[str], asked: bool,
            moves: MoveTable) -> tuple[list[AnyProperty], list[LeftOut]]:
    """The properties to check on ``spec``. One that names a state the spec lacks, or reads
    sequence numbers the model's control projection lacks, is left out (with a note) from a
    model's default set, and refused (SpecError, file:line) when asked for."""
    control = projection_for(spec) == "control"
    chosen: list[AnyProperty] = []
    left_out: list[LeftOut] = []
    problems: list[Problem] = []
    for n in wanted:
        p = props.properties[n]
        missing = [m for m in props.states_named(p) if m[0] not in spec.state_names]
        numeric = props.numeric_nodes(p) if control else []
        if numeric:
            where = ", ".join(dict.fromkeys(n.where for n in numeric))
            if asked:
                problems += [Problem(n.file, n.line, f"property {p.name}: it reads sequence numbers or data, which "
                                     f"the control projection of {Path(spec.file).name} keeps none of",
                                     "check it on an RFC spec (--spec, --profile)")
                             for n in {(n.file, n.line): n for n in numeric}.values()]
            else:
                left_out.append(LeftOut(p.name, p.title, f"left out: it reads sequence numbers ({where}); this "
                                        "model's control projection has none", p.file, p.line))
        elif not missing:
            chosen.append(p)
        elif asked:
            problems += props.missing_states(p, spec.state_names)
        else:
            names = ", ".join(dict.fromkeys(state for state, *_ in missing))
            where = ", ".join(dict.fromkeys(f"{file}:{line}" for _, file, line, _ in missing))
            left_out.append(LeftOut(p.name, p.title, f"left out: it names {names} ({where}), a state the spec "
                                    f"{Path(spec.file).name} lacks; ask for it by name to see "
                                    "the error", p.file, p.line))
    events = moves.events | STANDARD_EVENTS
    for h in dict.fromkeys(h for p in chosen for h in p.history):
        for r in props.histories[h].rules:
            if r.event is not None and r.event not in events:
                problems.append(Problem(r.file, r.line, f"history {h}: unknown move event {r.event!r}",
                                        f"events: {', '.join(sorted(events))}"))
    if problems:
        raise SpecError(problems)
    return chosen, left_out


def check(*, model: str | None = None, spec: Spec | None = None, spec_file: str | Path | None = None,
          profile: str | None = None, capacity: int = 2, retransmissions: int = 1, lossy: bool = False,
          duplicating: bool = False, reordering: bool = False, when_full: str = "block",
          properties: list[str] | None = None, max_states: int | None = None, max_depth: int | None = None,
          timeout: float | None = None, progress: Callable[[dict[str, Any]], None] | None = None,
          engine: str = "auto", b_opens: str | None = None,
          properties_file: str | Path | None = None, data: int = 0, reopen: int = 0,
          reopen_iss: tuple[str, ...] = ("clock", "wrap"), memory: int | None = None) -> Report:
    """Explore every interleaving and check the properties; see ``specs/properties.yaml``.

    The spec is chosen as everywhere (:func:`tcpfsm.spec.resolve_spec`): ``spec``, a
    ``spec_file`` or a ``profile``; a ``model`` of the property file may name its own spec.
    ``properties_file`` is a property file of the user's (default: the shipped one).
    Properties of the model's default set that name states the spec lacks are left out
    (``Report.left_out`` says why); asked for by name, they are a SpecError.
    ``data`` N > 0: each endpoint's user may SEND one byte, at most N times (the DATA move),
    so that data, FINs and their reordering are explored (the RFC specs only).
    ``reopen`` N > 0: after a connection ends, each user may open the same 4-tuple again, up to N
    times (incarnations, with ghost incarnation numbers on segments and endpoints, and a 2MSL timer
    that fires only once the network is empty; the RFC specs, A active and B passive, plain engine);
    ``reopen_iss``: the ISS a reopen may choose, ``clock`` (beyond the old numbers) and/or ``wrap``
    (the old ISS again, only after an orderly close).
    ``memory`` MiB: the search stops once the process's peak RSS passes it (verdicts: inconclusive).
    """
    chosen_spec = resolve_spec(spec, file=spec_file, profile=profile)
    props = load_properties(properties_file)
    name, the_spec, opening, default_props = _resolve(model, chosen_spec, props)
    wanted = list(properties or default_props)
    unknown = [p for p in wanted if p not in props.properties]
    if unknown:
        raise SpecError([Problem(props.file, props.line_of_properties, f"unknown property {', '.join(unknown)}",
                                 f"properties: {', '.join(props.properties)}")])
    channel = Channel(capacity, lossy, duplicating, reordering, when_full)
    if data and projection_for(the_spec) == "control":
        raise SpecError([Problem(the_spec.file, 0, f"data={data}: the model {name} abstracts sequence numbers "
                                 "away (its control projection), so its users cannot send data",
                                 "check data on an RFC spec (--spec, --profile) or leave data at 0")])
    if reopen and projection_for(the_spec) == "control":
        raise SpecError([Problem(the_spec.file, 0, f"reopen={reopen}: the model {name} abstracts sequence numbers "
                                 "away, so its incarnations cannot differ", "reopen an RFC spec (--spec, --profile)")])
    if not 0 <= reopen <= MAX_REOPEN:
        raise SpecError([Problem(props.file, 0, f"reopen={reopen}: out of range", f"0 to {MAX_REOPEN}")])
    if reopen and (b_opens == "active" or opening.get("A") != "open_active"):
        raise SpecError([Problem(props.file, 0, "reopen: incarnations are modelled for an active A and a passive B",
                                 "leave --b-opens at passive")])
    if not reopen_iss or set(reopen_iss) - set(REOPEN_CHOICES.values()):
        raise SpecError([Problem(props.file, 0, f"reopen_iss={reopen_iss!r}",
                                 f"one or more of {', '.join(REOPEN_CHOICES.values())}")])
    if not 0 <= data <= MAX_DATA:
        raise SpecError([Problem(props.file, 0, f"data={data}: out of range", f"0 to {MAX_DATA} bytes per endpoint")])
    chosen, left_out = _choose(props, the_spec, wanted, bool(properties),
                               MoveTable.build(the_spec, channel, data, reopen, tuple(reopen_iss)))
    hist_names: list[str] = []
    for p in chosen:
        hist_names += [h for h in p.history if h not in hist_names]
    if model == "reference" and "hA" not in hist_names:
        hist_names.insert(0, "hA")  # part of the reference model's state vector (section 2)
    if b_opens is not None:  # e.g. both active: a simultaneous open
        opening = dict(opening, B="open_active" if b_opens == "active" else "open_passive")
    cfg = Config(the_spec, channel, retransmissions, opening, tuple(props.histories[h] for h in hist_names),
                 max_states, max_depth, timeout, progress, data, reopen, tuple(reopen_iss))
    system = System(cfg)
    search: Search | None = None
    needs_graph = any(isinstance(p, LeadsTo) for p in chosen)
    # auto: the vectorised search (liveness too: it hands over the state graph), unless it cannot
    # take the model: then the plain one; the two give the same answers (tests/test_engine_equivalence.py)
    if engine in ("vector", "auto"):
        try:
            search = Search(VectorExpander(system, chosen), chosen)
        except Unsupported as exc:
            if engine == "vector":
                raise SpecError([Problem(props.file, 0, f"--engine vector: {exc}", "use --engine plain")]) from None
            system = System(cfg)
    if search is None:
        search = Search(PlainExpander(system), chosen)
    try:
        search.memory_mib = memory  # MiB of peak RSS: a bound (inconclusive)
        spent = tables = 0.0  # seconds (of them: building tables) of the starts the layout did not hold
        while True:
            t0 = time.perf_counter()
            try:
                stats = search.run(keep_graph=needs_graph)
                break
            except Outgrown as grown:  # again, in a layout fitted to the tables met so far
                spent += time.perf_counter() - t0
                tables += getattr(search.expander, "table_seconds", 0.0)
                try:
                    search = Search(VectorExpander(system, chosen, grown), chosen)
                except Unsupported as exc:
                    if engine != "vector":
                        raise
                    # asked for the vector engine: its encoding is a bound like any other (inconclusive,
                    # issue 9); what was found so far stands, in the layout it was found in
                    stats = _stopped(search, f"encoding limit: {exc}")
                    break
                search.memory_mib = memory
        stats.seconds += spent
        if stats.tables_seconds is not None:
            stats.tables_seconds += tables
    except Unsupported as exc:  # the lazy tables outgrew the vector layout mid-run
        if engine == "vector":
            raise SpecError([Problem(props.file, 0, f"--engine vector: {exc}", "use --engine plain")]) from None
        system = System(cfg)
        search = Search(PlainExpander(system), chosen)
        search.memory_mib = memory  # MiB of peak RSS: a bound (inconclusive)
        stats = search.run(keep_graph=needs_graph)
    report = Report(name, the_spec, channel, retransmissions, stats,
                    initial=_trace_step(system, "initial", search.initial), left_out=left_out, data=data,
                    reopen=reopen)
    report.engine = "vector" if isinstance(search.expander, VectorExpander) else "plain"
    report.search = search
    for p in chosen:
        report.verdicts.append(_verdict(p, search, stats))
    return report


def _stopped(search: Search, why: str) -> Stats:
    """The figures of a search that stopped by raising (the vector layout could not be refitted);
    its seconds are the caller's to add."""
    stats = search.stats
    stats.states, stats.depth = search.expander.visited_count(), len(search.levels) - 1
    stats.seconds, stats.tables_seconds = 0.0, 0.0
    stats.stopped, stats.complete = why, False
    stats.peak_mib = peak_rss_mib()
    stats.local_states, stats.segments = len(search.system.lm.locals), len(search.system.lm.segments) - 1
    return stats


def _trace_step(system: System, label: str, state: int, transitions: tuple[str, ...] = ()) -> TraceStep:
    d = system.decode(state)
    segs, name = system.lm.segments, system.lm.state_name

    def fmt(sid: int) -> str:
        return str(segs[sid].flags) if system.lm.control else str(segs[sid])

    ghosts: dict[str, Any] = {}
    if system.cfg.reopen:
        inc, env, nm = system.lm.segment_inc, system.lm.env, incarnation_name
        ghosts = {"A": nm(env(d.la).own), "B": nm(env(d.lb).own), "AB": [nm(inc[x]) for x in d.ab],
                  "BA": [nm(inc[x]) for x in d.ba], "peers": {"A": nm(env(d.la).peer), "B": nm(env(d.lb).peer)}}
    return TraceStep(label, name(d.la), name(d.lb), tuple(fmt(x) for x in d.ab), tuple(fmt(x) for x in d.ba),
                     system.history_values(d.h), transitions, ghosts)


def trace_of(search: Search, path: list[tuple[str, int]]) -> list[TraceStep]:
    out = []
    prev = search.initial
    for label, state in path:
        detail = next((d for lab, n, d in search.system.successors(prev) if lab == label and n == state), None)
        ids = tuple(t[3] for t in detail[-1].info.transitions) if detail is not None else ()
        out.append(_trace_step(search.system, label, state, ids))
        prev = state
    return out


def _verdict(p: AnyProperty, search: Search, stats: Stats) -> Verdict:
    v = Verdict(p.name, p.title, p.kind, INCONCLUSIVE)
    finding = search.findings.get(p.name)
    if isinstance(p, LeadsTo):
        if not stats.complete or search.graph is None:
            v.note = "exploration incomplete: liveness needs the whole graph"
            return v
        res = check_leads_to(search, p)
        if res is None:
            v.verdict = HOLDS
        else:
            prefix, cycle, why = res
            v.verdict, v.counterexample, v.note = VIOLATED, trace_of(search, prefix), why
            if cycle:
                v.cycle = trace_of_cycle(search, cycle)
        return v
    reach = isinstance(p, Reach)
    if finding is not None:
        path = search.path_to(finding.via[0] if finding.via else finding.state,
                              finding.depth - 1 if finding.via else finding.depth)
        if finding.via:
            path.append((finding.via[1], finding.state))
        v.verdict = HOLDS if reach else VIOLATED
        v.counterexample = trace_of(search, path)
        if reach:
            v.note = "witness"
        return v
    if stats.complete:
        v.verdict = VIOLATED if reach else HOLDS
        if reach:
            v.note = "no reachable state satisfies it"
    else:
        v.note = f"bound reached: {stats.stopped}"
    return v


def trace_of_cycle(search: Search, cycle: list[tuple[str, int]]) -> list[TraceStep]:
    """The lasso's loop: it starts where the counterexample's prefix ends."""
    return [_trace_step(search.system, label, state) for label, state in cycle]


__all__ = ["HOLDS", "INCONCLUSIVE", "VIOLATED", "LeftOut", "Report", "TraceStep", "Verdict", "check", "trace_of"]
