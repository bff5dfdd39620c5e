"""Load, overlay and validate machine specs (``specs/*.yaml``) into frozen records.

Theory of operation: a spec file is parsed with a safe YAML loader that remembers lines,
validated against the JSON Schema shipped in ``tcpfsm/schema`` (structure), then checked for
meaning: every name against the vocabulary (``tcpfsm.spec._vocabulary``: predicates, checks,
effects, send sources, TCP flags, duration parameters, action kinds) or against the spec's
own declarations (states, sets, events, guards, timers), one initial state, deterministic
guards, covered arrival steps, reachable states. Every problem is collected and reported at
once, each with the file:line of the entry that caused it and a hint naming what is allowed.
A profile is an overlay file (``profile:``, ``base:``) over a base spec or another profile
(``tcpfsm.spec._profiles``); the merged result is validated the same way.
"""

from __future__ import annotations

import math
import re
import stat
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NoReturn

from tcpfsm.base._errors import Problem, SpecError
from tcpfsm.base._yaml import LDict, line_of
from tcpfsm.spec._checks import Change, _closure, _semantic_problems
from tcpfsm.spec._profiles import (
    BASE_SPEC,
    RawChange,
    available_profiles,
    base_names,
    is_path,
    profile_path,
    raw_spec,
)
from tcpfsm.spec._records import (
    SAME,
    SEGMENT,
    TIMER,
    USER,
    Action,
    ArrivalGroup,
    DiagramHints,
    Duration,
    EventDef,
    GuardDef,
    GuardRef,
    Spec,
    StateDef,
    Step,
    TimerDef,
    Transition,
)
from tcpfsm.spec._send import parse_flags, parse_send
from tcpfsm.spec._vocabulary import ACTIONS, ARMING, CHECKS, DURATIONS, EFFECTS, PREDICATES

__all__ = ["BASE_SPEC", "available_profiles", "base_names", "load_spec", "profile_path", "resolve_spec"]


def load_spec(path: str | Path | None = None, *, profile: str | None = None) -> Spec:
    """Load and validate a spec.

    ``path`` may be a base spec or a profile overlay file; ``profile`` names a shipped
    profile (``rfc9293`` is the default). Raises :class:`SpecError` listing every problem.
    """
    if path is not None and profile is not None:
        raise SpecError([Problem(str(path), 0, "give a spec file or a profile, not both",
                                 "drop --profile, or drop the file")])
    if path is None:
        return _load_profile("rfc9293" if profile is None else profile)
    given = Path(path)
    try:
        regular = stat.S_ISREG(given.stat().st_mode)
    except (OSError, ValueError):
        regular = True  # missing or unreadable: reported by the read, under the name given
    if not regular:
        # a pipe (`<(cat x.yaml)`, /dev/stdin) or a device: read once, by the name given (its
        # resolved name, /proc/self/fd/N -> "pipe:[N]", cannot be opened), never cached
        return _load_file(str(given))
    resolved = given.resolve()
    try:
        st = resolved.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except (OSError, ValueError):
        stamp = (0, 0)
    return _load_cached(str(resolved), stamp)


def resolve_spec(spec: Spec | None = None, *, file: str | Path | None = None, profile: str | None = None) -> Spec:
    """The one way every command and API entry point chooses its spec.

    A ``Spec`` as given, else a spec or profile ``file`` of the user's, else a shipped
    ``profile`` by name, else the default (rfc9293). Giving two of them is an error.
    """
    given = [name for name, value in (("spec", spec), ("file", file), ("profile", profile)) if value is not None]
    if len(given) > 1:
        raise SpecError([Problem(str(file or profile or "<spec>"), 0,
                                 f"give one of a spec, a spec file or a profile, not {' and '.join(given)}",
                                 "drop --profile, or drop the file")])
    if spec is not None:
        return spec
    if file is not None:
        return load_spec(file)
    return load_spec(profile=profile)


_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _load_profile(profile: object) -> Spec:
    """A shipped profile by name: a name, never a path (a file of the user's goes through
    ``--spec FILE`` / ``load_spec(path)``), so no name can reach a file outside ``specs/profiles``."""
    if isinstance(profile, str) and _PROFILE_NAME.fullmatch(profile):
        return _load_named(profile)
    _unknown_profile(profile)


@cache
def _load_named(profile: str) -> Spec:
    if profile not in available_profiles():
        _unknown_profile(profile)
    return load_spec(profile_path(profile))


def _unknown_profile(profile: object) -> NoReturn:
    known = available_profiles()
    text = repr(profile) if len(repr(profile)) <= 80 else repr(profile)[:77] + "..."
    hint = f"known profiles: {', '.join(known)}"
    if isinstance(profile, str) and (is_path(profile) or profile.startswith(".")):
        hint += "; a profile file of your own goes through --spec FILE (load_spec(path) in Python)"
    what = "unknown profile" if isinstance(profile, str) else "a profile is a name (str), not"
    raise SpecError([Problem("<profile>", 0, f"{what} {text}", hint)])


@cache
def _load_cached(path_text: str, stamp: tuple[int, int]) -> Spec:
    """One file's spec, cached by path and (mtime, size): a file rewritten in place is read again
    (the bases of a profile are read with it, but an edit of a base alone is not noticed)."""
    del stamp  # part of the cache key only
    return _load_file(path_text)


def _load_file(path_text: str) -> Spec:
    path = Path(path_text)
    problems: list[Problem] = []
    raw = raw_spec(path, problems)
    if raw is None:
        raise SpecError(problems)
    spec = _build(raw.data, raw.profile or str(raw.data.get("name", path.stem)), str(path), problems,
                  files=raw.files, raw_changes=raw.changes)
    if problems or spec is None:
        raise SpecError(problems)
    return spec


# ------------------------------------------------------------------ small parsers
def _as_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _list(value: Any) -> list[Any]:
    """A list from the YAML, or [] for anything else (the schema reported it)."""
    return value if isinstance(value, list) else []


def _listing(names: Any, limit: int = 24) -> str:
    """Names for a hint, in the order given; a long list is cut (naming 40,000 states helps nobody)."""
    out = [str(n) for n in names]
    if len(out) > limit:
        return ", ".join(out[:limit]) + f", ... ({len(out):,} in all)"
    return ", ".join(out) or "none"


@lru_cache(maxsize=16)
def _sorted_names(names: frozenset[str]) -> str:
    return _listing(sorted(names))


def _sorted_listing(names: Any) -> str:
    """``_listing(sorted(names))``, worked out once per set of names (a hint per problem, thousands)."""
    return _sorted_names(frozenset(str(n) for n in names))


def _guard_ref(text: str) -> GuardRef:
    return GuardRef(text[4:], True) if text.startswith("not ") else GuardRef(text)


DURATION_PARAMS = tuple(n for n in DURATIONS if n != "seconds")


def _duration(raw: Any, bad: Callable[[str, str], None]) -> Duration | None:
    """``{seconds: 60}``, ``{param: msl, times: 2}``, ``{param: rto, backoff: true}``, ``{param: user_timeout}``."""
    hint = "e.g. duration: {param: msl, times: 2} or duration: {seconds: 60} (see docs/spec-format.md)"
    if raw is None:
        bad("the timer has no `duration:`", hint)
        return None
    if not isinstance(raw, dict):
        bad(f"duration must be a mapping, not {raw!r}", hint)
        return None
    if ("seconds" in raw) == ("param" in raw):
        bad("a duration gives exactly one of `seconds:` or `param:`", hint)
        return None
    if "seconds" in raw:
        seconds = raw["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < math.inf:
            bad(f"duration seconds must be a positive number, not {seconds!r}", hint)
            return None
        return Duration(seconds=float(seconds))
    param, times, backoff = raw.get("param"), raw.get("times", 1), raw.get("backoff", False)
    if param not in DURATION_PARAMS:
        bad(f"unknown duration parameter {param!r}", f"parameters: {', '.join(DURATION_PARAMS)}")
        return None
    if isinstance(times, bool) or not isinstance(times, int | float) or not 0 < times < math.inf:
        bad(f"duration times must be a positive number, not {times!r}", hint)
        return None
    if not isinstance(backoff, bool):
        bad(f"duration backoff must be true or false, not {backoff!r}", hint)
        return None
    return Duration(str(param), float(times), None, backoff)


def _expand_sets(raw: Any, state_names: set[str], report: Callable[[tuple[Any, ...], str, str], None]
                 ) -> dict[str, tuple[str, ...]]:
    """``sets: {name: [STATE or set, ...]}`` expanded to states, in the order written.

    A member names a state or another set; unknown names, repeats and cycles are reported."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, tuple[str, ...]] = {}

    def expand(name: str, stack: tuple[str, ...]) -> tuple[str, ...]:
        if name in out:
            return out[name]
        if name in stack:
            cycle = " -> ".join((*stack[stack.index(name):], name))
            report(("sets", name), f"set {name!r} includes itself ({cycle})", "a set lists states and other sets")
            return ()
        states: list[str] = []
        members = raw[name] if isinstance(raw[name], list) else []
        for j, member in enumerate(members):
            m = str(member)
            found = (m,) if m in state_names else expand(m, (*stack, name)) if m in raw else None
            if found is None:
                report(("sets", name, j), f"set {name!r}: unknown state or set {m!r}",
                       f"states: {_sorted_listing(state_names)}; sets: {_listing(raw)}")
                continue
            for st in found:
                if st in states:
                    report(("sets", name, j), f"set {name!r} lists {st} twice", "name each state once")
                else:
                    states.append(st)
        out[name] = tuple(states)
        return out[name]

    for name in raw:
        expand(str(name), ())
    return {str(name): out[str(name)] for name in raw}  # in the order declared


def _states(value: Any, sets: dict[str, tuple[str, ...]], state_names: set[str],
            bad: Callable[[str, str], None], what: str) -> tuple[tuple[str, ...], bool]:
    """A state list (one name or a list; each a state or a set) expanded; (states, all names known)."""
    out: list[str] = []
    ok = True
    for name in _as_tuple(value):
        if name in state_names:
            found: tuple[str, ...] = (name,)
        elif name in sets:
            found = sets[name]
        else:
            ok = False
            bad(f"unknown {what} state or set {name!r}",
                f"states: {_sorted_listing(state_names)}" + (f"; sets: {_listing(sets)}" if sets else ""))
            continue
        for st in found:
            if st in out:
                via = f" (via set {name!r})" if name in sets else ""
                bad(f"{what} lists {st} twice{via}", "name each state once")
                ok = False
            else:
                out.append(st)
    return tuple(out), ok


def _where(x: Any, fallback: tuple[str, int]) -> tuple[str, int]:
    """The file:line an entry of the spec came from (an overlay's entry keeps its own)."""
    line = getattr(x, "line", 0)
    return (getattr(x, "file", fallback[0]), line) if line else fallback


# ------------------------------------------------------------------------- build
def _build(data: LDict, profile: str, file: str, problems: list[Problem], *,
           files: tuple[str, ...] = (), raw_changes: tuple[RawChange, ...] = ()) -> Spec | None:
    """Build the records, tolerating malformed parts (the schema reported them)."""

    def problem(path: tuple[Any, ...], msg: str, hint: str, item: Any = None) -> None:
        f, ln = _where(item, line_of(data, list(path)))
        problems.append(Problem(f, ln, msg, hint))

    def items(key: str) -> list[tuple[int, LDict]]:
        seq = data.get(key)
        if not isinstance(seq, list):
            return []
        return [(i, x) for i, x in enumerate(seq) if isinstance(x, LDict)]

    # states
    states: list[StateDef] = []
    declared: set[str] = set()  # a set, not a scan per state: 40,000 states stay linear (issue 16)
    for i, s in items("states"):
        name = str(s.get("name", ""))
        if name in declared:
            problem(("states", i), f"duplicate state {name!r}", "each state is declared once", s)
            continue
        declared.add(name)
        states.append(StateDef(name, str(s.get("group", "")), str(s.get("rfc", "")),
                               str(s.get("meaning", "")), bool(s.get("initial", False)),
                               file=getattr(s, "file", file), line=getattr(s, "line", 0)))
    state_names = {s.name for s in states}
    initials = [s.name for s in states if s.initial]
    if len(initials) != 1:
        problem(("states",), f"exactly one initial state is required, found {len(initials)}"
                + (f" ({_listing(initials)})" if initials else ""),
                "mark one state `initial: true`")
    sets = _expand_sets(data.get("sets"), state_names, lambda path, msg, hint: problem(path, msg, hint))

    timers = tuple(str(t.get("name")) for _, t in items("timers"))
    timer_defs: list[TimerDef] = []
    for i, t in items("timers"):
        def bad_duration(msg: str, hint: str, _i: int = i, _t: LDict = t) -> None:
            where = _t.get("duration") if isinstance(_t.get("duration"), LDict) else _t
            problem(("timers", _i, "duration"), f"timer {_t.get('name')!r}: {msg}", hint, where)

        armed = str(t.get("armed", "by_actions"))
        if armed not in ARMING:
            problem(("timers", i), f"timer {t.get('name')!r}: unknown arming {armed!r}",
                    f"armed: {' or '.join(ARMING)}", t)
        timer_defs.append(TimerDef(str(t.get("name")), str(t.get("rfc", "")), str(t.get("meaning", "")),
                                   _duration(t.get("duration"), bad_duration), armed))

    events: list[EventDef] = []
    event_names: set[str] = set()
    for i, e in items("events"):
        name = str(e.get("name", ""))
        if name in event_names:
            problem(("events", i), f"duplicate event {name!r}", "each event is declared once", e)
            continue
        event_names.add(name)
        timer = e.get("timer")
        if e.get("kind") == TIMER and timer not in timers:
            problem(("events", i), f"event {name!r} names unknown timer {timer!r}",
                    f"declare it under `timers:` (known: {_listing(timers)})", e)
        events.append(EventDef(name, str(e.get("kind", "")), str(e.get("label", name)),
                               str(e.get("rfc", "")), str(timer) if timer else None))
    event_kind = {e.name: e.kind for e in events}

    guards: list[GuardDef] = []
    for i, g in items("guards"):
        name = str(g.get("name", ""))
        pred = str(g.get("predicate", name))
        if pred not in PREDICATES:
            problem(("guards", i), f"guard {name!r} names unknown predicate {pred!r}",
                    f"predicates: {', '.join(sorted(PREDICATES))} (`tcpfsm spec vocabulary`)", g)
        implies = tuple(_guard_ref(str(x)) for x in _list(g.get("implies")))
        guards.append(GuardDef(name, pred, str(g.get("doc", "")), str(g.get("rfc", "")), implies))
    guard_names = {g.name for g in guards}
    for i, g in items("guards"):
        for x in _list(g.get("implies")):
            ref = _guard_ref(str(x))
            if ref.name not in guard_names:
                problem(("guards", i), f"guard {g.get('name')!r} implies unknown guard {ref.name!r}",
                        f"declare it under `guards:` (known: {_sorted_listing(guard_names)})", g)

    by_name = {g.name: g for g in guards}
    for i, g in items("guards"):
        # a guard whose implications contradict each other can never hold (or never fail): every
        # transition naming it is dead, and the coverage reasoning built on `implies` is unsound
        name = str(g.get("name", ""))
        if name not in by_name or not by_name[name].implies:
            continue
        for ref in (GuardRef(name), GuardRef(name, True)):
            closure = _closure({ref}, by_name)
            clash = sorted({c.name for c in closure if c.negation() in closure})
            if clash:
                problem(("guards", i), f"guard {name!r}: its `implies:` contradict each other: `{ref}` would "
                        f"imply both {clash[0]} and not {clash[0]}",
                        "an implication says what must also hold when the guard holds; drop the one that is wrong",
                        g)
                break
    checks = tuple(str(c.get("name")) for _, c in items("checks"))
    for i, c in items("checks"):
        if str(c.get("name")) not in CHECKS:
            problem(("checks", i), f"unknown check {c.get('name')!r}",
                    f"checks: {', '.join(sorted(CHECKS))} (`tcpfsm spec vocabulary`)", c)

    arrival: list[ArrivalGroup] = []
    raw_arrival = data.get("arrival")
    if isinstance(raw_arrival, dict):
        for gname, g in raw_arrival.items():
            if not isinstance(g, dict):
                continue
            steps = []
            for j, st in enumerate(_list(g.get("steps"))):
                if not isinstance(st, dict):
                    continue
                path = ("arrival", gname, "steps", j)
                if "trim" in st:
                    if st.get("trim") != "window" or set(st) - {"trim", "rfc"}:
                        problem(path, f"a trim step is just {{trim: window}}, not {dict(st)!r}",
                                "e.g. - {trim: window, rfc: \"3.10.7.4\"}", st)
                    steps.append(Step("", trim="window", file=getattr(st, "file", file), line=getattr(st, "line", 0)))
                    continue
                ev = str(st.get("event"))
                if event_kind.get(ev) != SEGMENT:
                    problem(path, f"step event {ev!r} is not a segment event",
                            "declare it under `events:` with kind: segment", st)
                chk = st.get("check")
                if chk is not None and chk not in checks:
                    problem(path, f"unknown check {chk!r}",
                            f"declare it under `checks:` (declared: {_listing(checks)})", st)
                report: list[tuple[str, str]] = []
                flags = parse_flags(st.get("flags") or [], f"arrival step {ev} flags", report)
                without = parse_flags(st.get("without") or [], f"arrival step {ev} without", report)
                for msg, hint in report:
                    problem(path, msg, hint, st)
                steps.append(Step(ev, flags, without, str(chk) if chk else None, bool(st.get("final", False)),
                                  resume=bool(st.get("resume", False)),
                                  file=getattr(st, "file", file), line=getattr(st, "line", 0)))
            arrival.append(ArrivalGroup(str(gname), str(g.get("mode", "first")), tuple(steps),
                                        str(g.get("rfc", ""))))
    groups = {ag.name for ag in arrival}
    for sd in states:
        if sd.group not in groups:
            problems.append(Problem(sd.file, sd.line, f"state {sd.name} names unknown arrival group {sd.group!r}",
                                    f"declare it under `arrival:` (known: {_sorted_listing(groups)})"))

    transitions: list[Transition] = []
    seen_ids: dict[str, tuple[str, int]] = {}
    for i, t in items("transitions"):
        f, ln = _where(t, line_of(data, ["transitions", i]))
        tid = str(t.get("id", f"#{i}"))

        def bad(msg: str, hint: str, _f: str = f, _ln: int = ln, _tid: str = tid) -> None:
            problems.append(Problem(_f, _ln, f"transition {_tid}: {msg}", hint))

        if tid in seen_ids:
            first_f, first_ln = seen_ids[tid]
            at = f"line {first_ln}" if first_f == f else f"{Path(first_f).name}:{first_ln}"
            bad(f"duplicate transition id {tid!r} (first at {at})",
                "ids are stable and unique; pick a new one (e.g. a letter suffix)")
        seen_ids.setdefault(tid, (f, ln))
        sources, sources_ok = _states(t.get("source"), sets, state_names, bad, "source")
        evs = _as_tuple(t.get("event"))
        target = str(t.get("target", SAME))
        for ev_name in evs:
            if ev_name not in event_kind:
                bad(f"unknown event {ev_name!r}", f"known events: {_sorted_listing(event_kind)}")
        if target != SAME and target not in state_names:
            bad(f"unknown target state {target!r}",
                f"use one of {_sorted_listing(state_names)}, or `same`")
        if not str(t.get("rfc", "")).strip():
            bad("missing RFC reference", "every transition cites its RFC section, e.g. rfc: \"3.10.7.4\"")
        guard = tuple(_guard_ref(str(x)) for x in _list(t.get("guard")))
        for ref in guard:
            if ref.name not in guard_names:
                bad(f"unknown guard {ref.name!r}",
                    f"declare it under `guards:` (known: {_sorted_listing(guard_names)})")
        actions = _actions(t.get("actions") or [], {event_kind.get(x) for x in evs}, timers, bad)
        broken = (not sources_ok or any(e not in event_kind for e in evs)
                  or (target != SAME and target not in state_names) or any(r.name not in guard_names for r in guard)
                  or not sources or not evs)
        if broken:
            continue  # reported above; keep it out of the records the semantic checks read
        transitions.append(Transition(
            id=tid, row=str(t.get("row", tid)), sources=sources, events=evs, guard=guard,
            target=target, actions=tuple(actions), rfc=str(t.get("rfc", "")),
            label=str(t.get("label", "")), file=f, line=ln, finding=str(t.get("finding", ""))))

    raw_checklist: dict[str, Any] = data["checklist"] if isinstance(data.get("checklist"), dict) else {}
    checklist = tuple((str(k), str(v)) for k, v in raw_checklist.items())
    raw_diagram: dict[str, Any] = data["diagram"] if isinstance(data.get("diagram"), dict) else {}
    ids = {t.id for t in transitions}
    for key in ("client_path", "server_path", "figure"):
        for j, tid in enumerate(_list(raw_diagram.get(key))):
            if str(tid) not in ids and len(files) <= 1:  # a profile may remove what the base's diagram names
                problem(("diagram", key, j), f"diagram: {key} names unknown transition {tid!r}",
                        "name a transition id of this spec")
    ranks: list[tuple[str, ...]] = []
    for j, rank in enumerate(_list(raw_diagram.get("ranks"))):
        def bad_rank(msg: str, hint: str, _j: int = j) -> None:
            problem(("diagram", "ranks", _j), f"diagram: ranks: {msg}", hint)
        ranks.append(_states(rank, sets, state_names, bad_rank, "rank")[0] if isinstance(rank, list) else ())
    diagram = DiagramHints(
        tuple(r for r in ranks if r),
        *(tuple(str(x) for x in _list(raw_diagram.get(k)) if str(x) in ids)
          for k in ("client_path", "server_path", "figure")))
    name = str(data.get("name", "spec"))
    if not states or not events:
        return None
    spec = Spec(name=name, title=str(data.get("title", name)), profile=profile, file=file,
                states=tuple(states), events=tuple(events), guards=tuple(guards), timers=timers,
                checks=checks, arrival=tuple(arrival), transitions=tuple(transitions),
                checklist=checklist, files=files or (file,), diagram=diagram, timer_defs=tuple(timer_defs),
                sets=tuple(sets.items()))
    if len(initials) == 1 and all(s.group in groups for s in states):
        changes = tuple(_change(c, sets, state_names) for c in raw_changes)
        problems += _semantic_problems(spec, complete=not problems, changes=changes)
    return spec


def _actions(raw: Any, kinds: set[str | None], timers: tuple[str, ...],
             bad: Callable[[str, str], None]) -> list[Action]:
    """A transition's ``actions:``: effect names and ``{KIND: ARG}`` actions, checked against the vocabulary."""
    actions: list[Action] = []
    for a in raw if isinstance(raw, list) else []:
        if isinstance(a, str):
            if a not in EFFECTS:
                bad(f"unknown action {a!r}", f"effects: {', '.join(sorted(EFFECTS))} (`tcpfsm spec vocabulary`)")
            actions.append(Action("effect", a))
            continue
        if not (isinstance(a, dict) and len(a) == 1):
            continue  # the schema reported it
        (kind, arg), = a.items()
        if kind not in ACTIONS:
            bad(f"unknown action kind {kind!r}",
                f"action kinds: {', '.join(ACTIONS)}; an effect is a bare name (`tcpfsm spec vocabulary`)")
            continue
        if kind == "send":
            report: list[tuple[str, str]] = []
            arg = parse_send(arg, report)
            for msg, hint in report:
                bad(msg, hint)
            if arg is None:
                continue
        elif kind in ("start", "restart", "stop") and arg not in timers and not (kind == "stop" and arg == "all"):
            bad(f"{kind}: unknown timer {arg!r}",
                f"timers: {_listing(timers)}" + ("; `stop: all` stops every timer" if kind == "stop" else ""))
        elif kind == "error" and kinds != {USER}:
            bad("`error:` is only for user calls", "a segment is dropped (`drop:`), never an error")
        elif kind == "drop" and kinds != {SEGMENT}:
            bad("`drop:` is only for segment events", "a refused user call is an `error:`")
        actions.append(Action(kind, arg))
    return actions


def _change(c: RawChange, sets: dict[str, tuple[str, ...]], state_names: set[str]) -> Change:
    """A raw overlay change with the base transition's states expanded (unknown names dropped)."""
    t = c.before if isinstance(c.before, dict) else LDict()

    def ignore(msg: str, hint: str) -> None:
        pass

    sources = _states(t.get("source"), sets, state_names, ignore, "source")[0]
    guard = tuple(_guard_ref(str(x)) for x in _list(t.get("guard")) if isinstance(x, str))
    return Change(c.tid, c.verb, c.file, c.line, sources, _as_tuple(t.get("event")), guard,
                  str(t.get("target", SAME)))
