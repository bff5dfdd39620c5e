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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ._errors import Problem, SpecError
from ._paths import schema_path, specs_dir
from ._segment import Flags
from ._tcb import CHECKS, EFFECTS, PREDICATES
from ._yaml import LDict, LList, line_of, load_yaml

SAME = "same"
USER, SEGMENT, TIMER = "user", "segment", "timer"


@dataclass(frozen=True)
class StateDef:
    name: str
    group: str
    rfc: str
    meaning: str = ""
    initial: bool = False

    @property
    def code_name(self) -> str:
        """The Python spelling: ``SYN-RECEIVED`` -> ``SYN_RECEIVED``."""
        return self.name.replace("-", "_")


@dataclass(frozen=True)
class EventDef:
    name: str
    kind: str
    label: str
    rfc: str = ""
    timer: str | None = None


@dataclass(frozen=True)
class GuardDef:
    name: str
    predicate: str
    doc: str
    rfc: str = ""
    implies: tuple[GuardRef, ...] = ()


@dataclass(frozen=True)
class GuardRef:
    name: str
    negated: bool = False

    def __str__(self) -> str:
        return ("not " if self.negated else "") + self.name

    def negation(self) -> GuardRef:
        return GuardRef(self.name, not self.negated)


@dataclass(frozen=True)
class Send:
    """A segment to emit: control bits and where SEQ and ACK come from (RFC 9293 notation)."""

    ctl: Flags
    seq: str = "SND.NXT"
    ack: str | None = None
    data: bool = False

    def __str__(self) -> str:
        parts = [f"<SEQ={self.seq}>"]
        if self.ack:
            parts.append(f"<ACK={self.ack}>")
        parts.append(f"<CTL={self.ctl}>")
        return "".join(parts) + (" +data" if self.data else "")


@dataclass(frozen=True)
class Action:
    """One action: ``kind`` is send, effect, notice, error, drop, start, restart or stop."""

    kind: str
    arg: Any

    def __str__(self) -> str:
        if self.kind == "effect":
            return str(self.arg)
        if self.kind == "send":
            return f"snd {self.arg}"
        return f"{self.kind} {self.arg}"


@dataclass(frozen=True)
class Step:
    """One arrival step: fire ``event`` when ``flags`` are set, ``without`` are clear, ``check`` holds."""

    event: str
    flags: Flags = Flags(0)  # noqa: RUF009 - an immutable IntFlag value
    without: Flags = Flags(0)  # noqa: RUF009
    check: str | None = None
    final: bool = False

    @property
    def flag_bits(self) -> int:
        return int(self.flags)

    @property
    def without_bits(self) -> int:
        return int(self.without)


@dataclass(frozen=True)
class ArrivalGroup:
    name: str
    mode: str
    steps: tuple[Step, ...]
    rfc: str = ""


@dataclass(frozen=True)
class Transition:
    """One row of the spec: sources x events, guards, actions, target, RFC section."""

    id: str
    row: str
    sources: tuple[str, ...]
    events: tuple[str, ...]
    guard: tuple[GuardRef, ...]
    target: str  # a state name, or SAME
    actions: tuple[Action, ...]
    rfc: str
    label: str = ""
    file: str = ""
    line: int = 0
    finding: str = ""  # what a capture monitor reports when this transition is taken

    def target_from(self, source: str) -> str:
        return source if self.target == SAME else self.target

    @property
    def sends(self) -> tuple[Send, ...]:
        return tuple(a.arg for a in self.actions if a.kind == "send")

    @property
    def error(self) -> str | None:
        return next((a.arg for a in self.actions if a.kind == "error"), None)

    @property
    def drop(self) -> str | None:
        return next((a.arg for a in self.actions if a.kind == "drop"), None)

    @property
    def notices(self) -> tuple[str, ...]:
        return tuple(a.arg for a in self.actions if a.kind == "notice")

    @property
    def ends_processing(self) -> bool:
        """The segment's remaining steps are skipped (a drop, or the RFC's "and return")."""
        return any(a.kind == "drop" or (a.kind == "effect" and a.arg == "return") for a in self.actions)

    def changes_state(self, source: str) -> bool:
        return self.target_from(source) != source


@dataclass(frozen=True)
class DiagramHints:
    """Presentation hints for the state diagram (``diagram:`` in the spec)."""

    ranks: tuple[tuple[str, ...], ...] = ()
    client_path: tuple[str, ...] = ()
    server_path: tuple[str, ...] = ()
    figure: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class Spec:
    """A validated machine: the one source of truth that everything else derives from."""

    name: str
    title: str
    profile: str
    file: str
    states: tuple[StateDef, ...]
    events: tuple[EventDef, ...]
    guards: tuple[GuardDef, ...]
    timers: tuple[str, ...]
    checks: tuple[str, ...]
    arrival: tuple[ArrivalGroup, ...]
    transitions: tuple[Transition, ...]
    checklist: tuple[tuple[str, str], ...] = ()
    files: tuple[str, ...] = ()
    diagram: DiagramHints = field(default_factory=lambda: DiagramHints())
    _index: dict[tuple[str, str], tuple[Transition, ...]] = field(
        default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], list[Transition]] = {}
        for t in self.transitions:
            for s in t.sources:
                for e in t.events:
                    index.setdefault((s, e), []).append(t)
        self._index.update({k: tuple(v) for k, v in index.items()})

    # --- derived queries (automat style) -----------------------------------
    @property
    def initial(self) -> str:
        return next(s.name for s in self.states if s.initial)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    def state(self, name: str) -> StateDef:
        return next(s for s in self.states if s.name == name)

    def event(self, name: str) -> EventDef:
        return next(e for e in self.events if e.name == name)

    def guard(self, name: str) -> GuardDef:
        return next(g for g in self.guards if g.name == name)

    def group(self, name: str) -> ArrivalGroup:
        return next(g for g in self.arrival if g.name == name)

    def candidates(self, state: str, event: str) -> tuple[Transition, ...]:
        """The transitions of (state, event), in spec order; their guards are exclusive."""
        return self._index.get((state, event), ())

    def enabled_events(self, state: str) -> tuple[str, ...]:
        """Events that have at least one transition in ``state``, in spec order."""
        return tuple(e.name for e in self.events if (state, e.name) in self._index)

    def edges(self) -> Iterator[tuple[str, str, Transition]]:
        """Every (source, event, transition) triple, in spec order."""
        for t in self.transitions:
            for s in t.sources:
                for e in t.events:
                    yield s, e, t

    def transition(self, tid: str) -> Transition:
        return next(t for t in self.transitions if t.id == tid)


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
                checklist=checklist, files=(file,), diagram=diagram)
    if len(initials) == 1 and all(s.group in groups for s in states):
        problems += _semantic_problems(spec, complete=not problems)
    return spec


# ----------------------------------------------------------- semantic checks
def _closure(refs: Iterable[GuardRef], guards: dict[str, GuardDef]) -> set[GuardRef]:
    """Guard literals implied by ``refs`` (with contrapositives of declared implications)."""
    out = set(refs)
    changed = True
    while changed:
        changed = False
        for g in guards.values():
            for imp in g.implies:
                pos, conclusion = GuardRef(g.name), imp
                for premise, concl in ((pos, conclusion), (conclusion.negation(), pos.negation())):
                    if premise in out and concl not in out:
                        out.add(concl)
                        changed = True
    return out


def exclusive(a: Transition, b: Transition, guards: dict[str, GuardDef]) -> bool:
    """True when no segment/TCB can satisfy the guards of both a and b."""
    ca, cb = _closure(a.guard, guards), _closure(b.guard, guards)
    return any(g.negation() in cb for g in ca)


def arrival_events(spec: Spec) -> set[tuple[str, str]]:
    """Every (state, segment event) that arrival processing can produce (over-approximated).

    Walks each group's steps from each of its states; a step may fire or not depending on
    the segment, except when the flags already known force it; after it fires, processing
    continues in each possible target unless the step is final or the transition drops.
    """
    seen: set[tuple[str, str]] = set()
    groups = {g.name: g for g in spec.arrival}
    for st in spec.states:
        start_group = groups[st.group]
        todo = [(st.name, 0, Flags(0), Flags(0))]
        visited = set()
        while todo:
            item = todo.pop()
            if item in visited:
                continue
            visited.add(item)
            state, i, has, lacks = item
            group = start_group  # a segment runs the steps of the group it arrived in
            if i >= len(group.steps):
                continue
            step = group.steps[i]
            if step.flags & lacks or step.without & has:
                todo.append((state, i + 1, has, lacks))
                continue
            forced = step.check is None and (step.flags & ~has) == 0 and (step.without & ~lacks) == 0
            if not forced:
                # the step does not fire: learn one flag when the condition names just one
                nh, nl = has, lacks
                if step.check is None and not step.without and bin(int(step.flags)).count("1") == 1:
                    nl = lacks | step.flags
                if step.check is None and not step.flags and bin(int(step.without)).count("1") == 1:
                    nh = has | step.without
                todo.append((state, i + 1, nh, nl))
            seen.add((state, step.event))
            if group.mode == "first":
                continue
            for t in spec.candidates(state, step.event):
                if step.final or t.ends_processing:
                    continue
                todo.append((t.target_from(state), i + 1, has | step.flags, lacks | step.without))
    return seen


def _uncovered_case(ts: tuple[Transition, ...], guards: dict[str, GuardDef]) -> tuple[GuardRef, ...] | None:
    """A truth assignment of the guards in ``ts`` (consistent with the declared implications)
    under which no transition fires, or None when they cover every case."""
    names = sorted({g.name for t in ts for g in t.guard})
    if len(names) > 10:
        return None  # too many to enumerate; determinism is still checked
    for bits in range(1 << len(names)):
        case = tuple(GuardRef(n, not bits >> i & 1) for i, n in enumerate(names))
        closure = _closure(case, guards)
        if any(g.negation() in closure for g in closure):
            continue  # impossible by the declared implications
        if not any(all(g in closure for g in t.guard) for t in ts):
            return case
    return None


def _semantic_problems(spec: Spec, complete: bool = True) -> list[Problem]:
    """Determinism always; coverage and reachability only when nothing else is wrong
    (a transition left out for a bad name would make them report ghosts)."""
    problems: list[Problem] = []
    guards = {g.name: g for g in spec.guards}
    # determinism
    for (state, event), ts in spec._index.items():
        for i, a in enumerate(ts):
            for b in ts[i + 1:]:
                if not exclusive(a, b, guards):
                    problems.append(Problem(
                        b.file, b.line,
                        f"transitions {a.id} and {b.id} both fire on {event} in {state}: their guards "
                        f"[{', '.join(map(str, a.guard)) or 'none'}] and [{', '.join(map(str, b.guard)) or 'none'}] "
                        "are not mutually exclusive",
                        "add a guard to one and its negation (`not NAME`) to the other"))
    if not complete:
        return problems
    # the guards of (state, segment or timer event) cover every case
    for (state, event), ts in spec._index.items():
        if spec.event(event).kind == USER:
            continue
        gap = _uncovered_case(ts, guards)
        if gap is not None:
            case = ", ".join(str(g) for g in gap) or "no guard"
            problems.append(Problem(ts[0].file, ts[0].line,
                                    f"no transition of {event} in {state} holds when {case}",
                                    "add a transition for that case (a `drop:` if the RFC discards it)"))
    # user calls are defined in every state (an effect or a documented error)
    for ev in spec.events:
        if ev.kind != USER:
            continue
        for st in spec.states:
            if not spec.candidates(st.name, ev.name):
                problems.append(Problem(spec.file, 0, f"no rule for user call {ev.name} in {st.name}",
                                        "add a transition, or an `error:` with the RFC's words"))
    # every segment event that arrival can produce is covered
    for state, event in sorted(arrival_events(spec)):
        if not spec.candidates(state, event):
            problems.append(Problem(spec.file, 0, f"no transition for {event} in {state}, which the "
                                    f"arrival steps of group {spec.state(state).group!r} can produce",
                                    "add a transition (a `drop:` if the RFC discards the segment)"))
    # reachability and traps
    succ: dict[str, set[str]] = {s: set() for s in spec.state_names}
    for s, _e, t in spec.edges():
        succ[s].add(t.target_from(s))
    reach = _reach(spec.initial, succ)
    for st in spec.states:
        if st.name not in reach:
            problems.append(Problem(spec.file, 0, f"state {st.name} is unreachable from {spec.initial}",
                                    "add a transition into it, or remove it"))
        elif spec.initial not in _reach(st.name, succ):
            problems.append(Problem(spec.file, 0, f"state {st.name} is a trap: {spec.initial} cannot be "
                                    "reached from it", "add a way out (ABORT, a timeout, an RST)"))
    return problems


def _reach(start: str, succ: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for n in succ[todo.pop()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen
