"""Load, overlay and validate machine specs (``specs/*.yaml``) into frozen records.

Theory of operation: a spec file is parsed with a safe YAML loader that remembers lines,
validated against the JSON Schema shipped in ``tcpfsm/schema``, then checked for meaning
(known names, one initial state, deterministic guards, covered arrival steps, reachable
states). Every problem is collected and reported at once, each with file:line and a hint.
A profile is an overlay file (``profile:``, ``base:``) that removes, replaces or adds
transitions by id and may rebind guards; the merged result is validated the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from tcpfsm.base._errors import Problem, SpecError
from tcpfsm.base._resources import schema_path, specs_dir
from tcpfsm.base._segment import Flags
from tcpfsm.base._yaml import LDict, LList, line_of, load_yaml
from tcpfsm.spec._checks import _semantic_problems
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
    Send,
    Spec,
    StateDef,
    Step,
    TimerDef,
    Transition,
)
from tcpfsm.spec._vocabulary import CHECKS, DURATIONS, EFFECTS, PREDICATES


# ----------------------------------------------------------------------- loading
@cache
def _schema_text() -> str:
    return schema_path("spec.schema.json").read_text(encoding="utf-8")


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tcpfsm" / "schema-valid.json"


@cache
def _known_valid() -> set[str]:
    """Hashes of (schema, spec text) that passed the schema: a cache of a pure function's
    result (JSON, hashes only), so that loading a shipped spec need not import jsonschema."""
    try:
        return set(json.loads(_cache_file().read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return set()


def _remember_valid(digest: str) -> None:
    known = _known_valid()
    known.add(digest)
    try:
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sorted(known)[-256:]), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: validate every time


def _read_text(path: Path) -> tuple[Any, list[Problem], str | None]:
    text: str | None = None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(str(path), 0, "no such file", "give the path of a spec or a profile")], None
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 0, f"cannot read: {exc}", "a spec is a UTF-8 YAML file")], None
    data, problems = load_yaml(text, str(path))
    if not problems and not isinstance(data, LDict):
        problems.append(Problem(str(path), 1, "the top level is not a mapping",
                                "a spec starts with keys like `name:`, `states:`, `transitions:`"))
        data = None
    return data, problems, text


def _schema_problems(data: LDict, text: str | None = None) -> list[Problem]:
    digest = hashlib.sha256((_schema_text() + "\0" + text).encode()).hexdigest() if text is not None else None
    if digest is not None and digest in _known_valid():
        return []
    import jsonschema  # only when a text is new (a 40 ms import)

    validator = jsonschema.Draft202012Validator(json.loads(_schema_text()))
    out = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(err.absolute_path)
        file, line = line_of(data, path)
        where = "/".join(str(p) for p in path) or "top level"
        msg = err.message
        if err.validator == "required":
            hint = "add the missing key"
        elif err.validator == "additionalProperties":
            hint = "remove or rename the key; see tcpfsm/schema/spec.schema.json"
        elif err.validator in ("enum", "pattern"):
            hint = "use one of the allowed spellings"
        else:
            hint = "see tcpfsm/schema/spec.schema.json"
        out.append(Problem(file, line, f"{where}: {msg}", hint))
    if not out and digest is not None:
        _remember_valid(digest)
    return out


def profile_path(profile: str) -> Path:
    return specs_dir() / "profiles" / f"{profile}.yaml"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in (specs_dir() / "profiles").glob("*.yaml"))


def _overlay(base: LDict, overlay: LDict, problems: list[Problem]) -> LDict:
    """Apply a profile overlay to the raw base spec (remove, replace, add by id; merge guards)."""
    merged = LDict(base)
    merged.file, merged.line, merged.lines = base.file, base.line, dict(base.lines)
    transitions = LList(base.get("transitions") or [])
    transitions.file, transitions.line = base.file, 0
    transitions.lines = list(getattr(base.get("transitions"), "lines", [0] * len(transitions)))
    ids = [t.get("id") if isinstance(t, dict) else None for t in transitions]

    def where(key: str, i: int) -> tuple[str, int]:
        return line_of(overlay, [key, i])

    for i, tid in enumerate(overlay.get("remove") or []):
        if tid not in ids:
            f, ln = where("remove", i)
            problems.append(Problem(f, ln, f"remove: no transition {tid!r} in the base spec",
                                    "name an id of the base spec (`tcpfsm spec show`)"))
            continue
        k = ids.index(tid)
        del transitions[k], transitions.lines[k], ids[k]
    for i, t in enumerate(overlay.get("replace") or []):
        tid = t.get("id") if isinstance(t, dict) else None
        if tid not in ids:
            f, ln = where("replace", i)
            problems.append(Problem(f, ln, f"replace: no transition {tid!r} in the base spec",
                                    "use `add:` for a new id"))
            continue
        k = ids.index(tid)
        transitions[k] = t
        transitions.lines[k] = getattr(t, "line", 0)
    for i, t in enumerate(overlay.get("add") or []):
        tid = t.get("id") if isinstance(t, dict) else None
        if tid in ids:
            f, ln = where("add", i)
            problems.append(Problem(f, ln, f"add: transition {tid!r} exists already",
                                    "use `replace:` to change it, or pick a new id"))
            continue
        transitions.append(t)
        transitions.lines.append(getattr(t, "line", 0))
        ids.append(tid)
    merged["transitions"] = transitions
    for key in ("timers", "events"):
        if overlay.get(key):
            items = list(base.get(key) or [])
            names = [x.get("name") for x in items if isinstance(x, dict)]
            for x in overlay[key]:
                if isinstance(x, dict) and x.get("name") in names:
                    items[names.index(x["name"])] = x
                else:
                    items.append(x)
            merged[key] = items
    if overlay.get("guards"):
        guards = list(base.get("guards") or [])
        names = [g.get("name") for g in guards if isinstance(g, dict)]
        for g in overlay["guards"]:
            if isinstance(g, dict) and g.get("name") in names:
                guards[names.index(g["name"])] = g
            else:
                guards.append(g)
        merged["guards"] = guards
    checklist = LDict(base.get("checklist") or {})
    checklist.update(overlay.get("checklist") or {})
    merged["checklist"] = checklist
    return merged


def load_spec(path: str | Path | None = None, *, profile: str | None = None) -> Spec:
    """Load and validate a spec.

    ``path`` may be a base spec or a profile overlay file; ``profile`` names a shipped
    profile (``rfc9293`` is the default). Raises :class:`SpecError` listing every problem.
    """
    if path is not None and profile is not None:
        raise SpecError([Problem(str(path), 0, "give a spec file or a profile, not both",
                                 "drop --profile, or drop the file")])
    if path is None:
        return _load_profile(profile or "rfc9293")
    return _load_cached(str(Path(path).resolve()))


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


@cache
def _load_profile(profile: str) -> Spec:
    path = profile_path(profile)
    if not path.is_file():
        known = ", ".join(available_profiles())
        raise SpecError([Problem(str(path), 0, f"unknown profile {profile!r}", f"known profiles: {known}")])
    return _load_cached(str(path.resolve()))


@cache
def _load_cached(path_text: str) -> Spec:
    path = Path(path_text)
    data, problems, text = _read_text(path)
    if data is None:
        raise SpecError(problems)
    problems += _schema_problems(data, text)
    files = [str(path)]
    profile_name = ""
    if "profile" in data:
        profile_name = str(data.get("profile"))
        base_rel = data.get("base", "../tcp.yaml")
        base_path = (path.parent / str(base_rel)).resolve()
        base, base_problems, base_text = _read_text(base_path)
        problems += base_problems
        if base is None:
            raise SpecError(problems)
        if "profile" in base:
            problems.append(Problem(str(base_path), 1, "a profile's base must be a base spec",
                                    "overlays do not stack; point `base:` at specs/tcp.yaml"))
        problems += _schema_problems(base, base_text)
        data = _overlay(base, data, problems)
        files.insert(0, str(base_path))
    spec = _build(data, profile_name or str(data.get("name", path.stem)), str(path), problems)
    if problems or spec is None:
        raise SpecError(problems)
    return spec


def _as_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def _guard_ref(text: str) -> GuardRef:
    return GuardRef(text[4:], True) if text.startswith("not ") else GuardRef(text)


def _flags(names: Iterable[str]) -> Flags:
    out = Flags(0)
    for n in names:
        if n in Flags.__members__:
            out |= Flags[n]
    return out


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
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            bad(f"duration seconds must be a positive number, not {seconds!r}", hint)
            return None
        return Duration(seconds=float(seconds))
    param, times, backoff = raw.get("param"), raw.get("times", 1), raw.get("backoff", False)
    if param not in DURATION_PARAMS:
        bad(f"unknown duration parameter {param!r}", f"parameters: {', '.join(DURATION_PARAMS)}")
        return None
    if isinstance(times, bool) or not isinstance(times, int | float) or times <= 0:
        bad(f"duration times must be a positive number, not {times!r}", hint)
        return None
    if not isinstance(backoff, bool):
        bad(f"duration backoff must be true or false, not {backoff!r}", hint)
        return None
    return Duration(str(param), float(times), None, backoff)


def _build(data: LDict, profile: str, file: str, problems: list[Problem]) -> Spec | None:
    """Build the records, tolerating malformed parts (the schema reported them)."""

    def at(*path: Any) -> tuple[str, int]:
        return line_of(data, list(path))

    def problem(path: tuple[Any, ...], msg: str, hint: str) -> None:
        f, ln = at(*path)
        problems.append(Problem(f, ln, msg, hint))

    def items(key: str) -> list[tuple[int, LDict]]:
        seq = data.get(key)
        if not isinstance(seq, list):
            return []
        return [(i, x) for i, x in enumerate(seq) if isinstance(x, LDict)]

    # states
    states: list[StateDef] = []
    for i, s in items("states"):
        name = str(s.get("name", ""))
        if name in {x.name for x in states}:
            problem(("states", i), f"duplicate state {name!r}", "each state is declared once")
            continue
        states.append(StateDef(name, str(s.get("group", "")), str(s.get("rfc", "")),
                               str(s.get("meaning", "")), bool(s.get("initial", False))))
    state_names = {s.name for s in states}
    initials = [s.name for s in states if s.initial]
    if len(initials) != 1:
        problem(("states",), f"exactly one initial state is required, found {len(initials)}"
                + (f" ({', '.join(initials)})" if initials else ""),
                "mark one state `initial: true`")

    timers = tuple(str(t.get("name")) for _, t in items("timers"))
    timer_defs: list[TimerDef] = []
    for i, t in items("timers"):
        def bad_duration(msg: str, hint: str, _i: int = i) -> None:
            problem(("timers", _i, "duration"), msg, hint)

        timer_defs.append(TimerDef(str(t.get("name")), str(t.get("rfc", "")), str(t.get("meaning", "")),
                                   _duration(t.get("duration"), bad_duration)))

    events: list[EventDef] = []
    for i, e in items("events"):
        name = str(e.get("name", ""))
        if name in {x.name for x in events}:
            problem(("events", i), f"duplicate event {name!r}", "each event is declared once")
            continue
        timer = e.get("timer")
        if e.get("kind") == TIMER and timer not in timers:
            problem(("events", i), f"event {name!r} names unknown timer {timer!r}",
                    f"declare it under `timers:` (known: {', '.join(timers) or 'none'})")
        events.append(EventDef(name, str(e.get("kind", "")), str(e.get("label", name)),
                               str(e.get("rfc", "")), str(timer) if timer else None))
    event_kind = {e.name: e.kind for e in events}

    guards: list[GuardDef] = []
    for i, g in items("guards"):
        name = str(g.get("name", ""))
        pred = str(g.get("predicate", name))
        if pred not in PREDICATES:
            problem(("guards", i), f"guard {name!r} names unknown predicate {pred!r}",
                    f"shipped predicates: {', '.join(sorted(PREDICATES))}")
        implies = tuple(_guard_ref(str(x)) for x in (g.get("implies") or []))
        guards.append(GuardDef(name, pred, str(g.get("doc", "")), str(g.get("rfc", "")), implies))
    guard_names = {g.name for g in guards}
    for i, gd in enumerate(guards):
        for ref in gd.implies:
            if ref.name not in guard_names:
                problem(("guards", i), f"guard {gd.name!r} implies unknown guard {ref.name!r}",
                        "declare it under `guards:`")

    checks = tuple(str(c.get("name")) for _, c in items("checks"))
    for i, c in items("checks"):
        if c.get("name") not in CHECKS:
            problem(("checks", i), f"unknown check {c.get('name')!r}",
                    f"shipped checks: {', '.join(sorted(CHECKS))}")

    arrival: list[ArrivalGroup] = []
    raw_arrival = data.get("arrival")
    if isinstance(raw_arrival, dict):
        for gname, g in raw_arrival.items():
            if not isinstance(g, dict):
                continue
            steps = []
            for j, st in enumerate(g.get("steps") or []):
                if not isinstance(st, dict):
                    continue
                ev = str(st.get("event"))
                if event_kind.get(ev) != SEGMENT:
                    problem(("arrival", gname, "steps", j), f"step event {ev!r} is not a segment event",
                            "declare it under `events:` with kind: segment")
                chk = st.get("check")
                if chk is not None and chk not in checks:
                    problem(("arrival", gname, "steps", j), f"unknown check {chk!r}",
                            "declare it under `checks:`")
                steps.append(Step(ev, _flags(st.get("flags") or []), _flags(st.get("without") or []),
                                  str(chk) if chk else None, bool(st.get("final", False))))
            arrival.append(ArrivalGroup(str(gname), str(g.get("mode", "first")), tuple(steps),
                                        str(g.get("rfc", ""))))
    groups = {ag.name for ag in arrival}
    for i, sd in enumerate(states):
        if sd.group not in groups:
            problem(("states", i), f"state {sd.name} names unknown arrival group {sd.group!r}",
                    f"declare it under `arrival:` (known: {', '.join(sorted(groups)) or 'none'})")

    transitions: list[Transition] = []
    seen_ids: dict[str, int] = {}
    for i, t in items("transitions"):
        f, ln = getattr(t, "file", file), getattr(t, "line", 0)
        tid = str(t.get("id", f"#{i}"))

        def bad(msg: str, hint: str, _f: str = f, _ln: int = ln, _tid: str = tid) -> None:
            problems.append(Problem(_f, _ln, f"transition {_tid}: {msg}", hint))

        if tid in seen_ids:
            bad(f"duplicate transition id {tid!r} (first at line {seen_ids[tid]})",
                "ids are stable and unique; pick a new one (e.g. a letter suffix)")
        seen_ids.setdefault(tid, ln)
        sources = _as_tuple(t.get("source"))
        evs = _as_tuple(t.get("event"))
        target = str(t.get("target", SAME))
        for src in sources:
            if src not in state_names:
                bad(f"unknown source state {src!r}", f"known states: {', '.join(sorted(state_names))}")
        for ev_name in evs:
            if ev_name not in event_kind:
                bad(f"unknown event {ev_name!r}", f"known events: {', '.join(sorted(event_kind))}")
        if target != SAME and target not in state_names:
            bad(f"unknown target state {target!r}",
                f"use one of {', '.join(sorted(state_names))}, or `same`")
        if not str(t.get("rfc", "")).strip():
            bad("missing RFC reference", "every transition cites its RFC section, e.g. rfc: \"3.10.7.4\"")
        guard = tuple(_guard_ref(str(x)) for x in (t.get("guard") or []))
        for ref in guard:
            if ref.name not in guard_names:
                bad(f"unknown guard {ref.name!r}",
                    f"declare it under `guards:` (known: {', '.join(sorted(guard_names))})")
        actions = []
        kinds = {event_kind.get(x) for x in evs}
        for a in t.get("actions") or []:
            if isinstance(a, str):
                if a not in EFFECTS:
                    bad(f"unknown action {a!r}", f"effects: {', '.join(sorted(EFFECTS))}")
                actions.append(Action("effect", a))
            elif isinstance(a, dict) and len(a) == 1:
                (kind, arg), = a.items()
                if kind == "send" and isinstance(arg, dict):
                    ctl = _flags(str(arg.get("ctl", "")).split(","))
                    arg = Send(ctl, str(arg.get("seq", "SND.NXT")),
                               str(arg["ack"]) if arg.get("ack") else None, bool(arg.get("data", False)))
                    if arg.ack and not ctl & Flags.ACK:
                        bad("a send with an ACK value must set the ACK bit", "add ACK to ctl")
                elif kind in ("start", "restart", "stop") and arg not in timers and arg != "all":
                    bad(f"{kind}: unknown timer {arg!r}", f"timers: {', '.join(timers)}")
                elif kind == "error" and kinds != {USER}:
                    bad("`error:` is only for user calls", "a segment is dropped (`drop:`), never an error")
                elif kind == "drop" and kinds != {SEGMENT}:
                    bad("`drop:` is only for segment events", "a refused user call is an `error:`")
                actions.append(Action(kind, arg))
        broken = (any(x not in state_names for x in sources) or any(e not in event_kind for e in evs)
                  or (target != SAME and target not in state_names) or any(r.name not in guard_names for r in guard)
                  or not sources or not evs)
        if broken:
            continue  # reported above; keep it out of the records the semantic checks read
        transitions.append(Transition(
            id=tid, row=str(t.get("row", tid)), sources=sources, events=evs, guard=guard,
            target=target, actions=tuple(actions), rfc=str(t.get("rfc", "")),
            label=str(t.get("label", "")), file=f, line=ln, finding=str(t.get("finding", ""))))

    checklist = tuple((str(k), str(v)) for k, v in (data.get("checklist") or {}).items())
    raw_diagram: dict[str, Any] = data["diagram"] if isinstance(data.get("diagram"), dict) else {}
    ids = {t.id for t in transitions}
    for key in ("client_path", "server_path", "figure"):
        for j, tid in enumerate(raw_diagram.get(key) or []):
            if tid not in ids and profile == str(data.get("name", "")):
                problem(("diagram", key, j), f"diagram: {key} names unknown transition {tid!r}",
                        "name a transition id of this spec")
    for j, rank in enumerate(raw_diagram.get("ranks") or []):
        for st_name in rank if isinstance(rank, list) else []:
            if st_name not in state_names:
                problem(("diagram", "ranks", j), f"diagram: unknown state {st_name!r} in ranks",
                        "use the states' RFC names")
    diagram = DiagramHints(
        tuple(tuple(str(x) for x in r) for r in (raw_diagram.get("ranks") or []) if isinstance(r, list)),
        *(tuple(str(x) for x in (raw_diagram.get(k) or []) if str(x) in ids)
          for k in ("client_path", "server_path", "figure")))
    name = str(data.get("name", "spec"))
    if not states or not events:
        return None
    spec = Spec(name=name, title=str(data.get("title", name)), profile=profile, file=file,
                states=tuple(states), events=tuple(events), guards=tuple(guards), timers=timers,
                checks=checks, arrival=tuple(arrival), transitions=tuple(transitions),
                checklist=checklist, files=(file,), diagram=diagram, timer_defs=tuple(timer_defs))
    if len(initials) == 1 and all(s.group in groups for s in states):
        problems += _semantic_problems(spec, complete=not problems)
    return spec


