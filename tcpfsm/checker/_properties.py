"""Properties, history variables and models from ``specs/properties.yaml``, compiled to closures.

A predicate is data (see the file's header); it compiles to a function of a decoded global
state ``View``. Unknown keys, states or history values are reported with file:line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tcpfsm.base._errors import Problem, SpecError
from tcpfsm.base._resources import specs_dir
from tcpfsm.base._segment import Flags
from tcpfsm.base._yaml import LDict, line_of, load_yaml

KINDS = ("invariant", "reach", "step", "deadlock", "leads_to")
FAIRNESS = ("deliver", "timer", "user", "loss")


@dataclass(frozen=True)
class HistoryRule:
    to: int
    enters: str | None = None
    source: int | None = None  # the value before (``from:``)
    event: str | None = None
    input_bit: int = 0
    changes_state: bool | None = None


@dataclass(frozen=True)
class History:
    name: str
    of: str
    values: tuple[str, ...]
    rules: tuple[HistoryRule, ...]


@dataclass(frozen=True)
class Property:
    name: str
    title: str
    kind: str
    rfc: str = ""
    history: tuple[str, ...] = ()
    predicate: Any = None      # never / reach / terminal / from (raw data)
    target: Any = None         # leads_to: to
    step: tuple[int, int] = (0, 0)  # step: (receives bits, sends bits)
    step_from: str | None = None
    step_to: str | None = None
    step_passive: bool | None = None
    fairness: tuple[str, ...] = ()
    channels: str = "any"


@dataclass(frozen=True)
class ModelDef:
    name: str
    spec: str | None
    open: dict[str, str]
    properties: tuple[str, ...]


@dataclass
class PropertyFile:
    histories: dict[str, History] = field(default_factory=dict)
    properties: dict[str, Property] = field(default_factory=dict)
    models: dict[str, ModelDef] = field(default_factory=dict)
    file: str = ""


def properties_file() -> Path:
    return specs_dir() / "properties.yaml"


def _bits(name: str) -> int:
    return int(Flags.parse(name))


def load_properties(path: Path | None = None, states: tuple[str, ...] = ()) -> PropertyFile:
    """Load and check the property file; raise SpecError with every problem."""
    path = path or properties_file()
    data, problems = load_yaml(path.read_text(encoding="utf-8"), str(path))
    out = PropertyFile(file=str(path))
    if not isinstance(data, LDict):
        raise SpecError(problems or [Problem(str(path), 1, "expected a mapping", "see the file's header")])

    def bad(where: list[Any], msg: str, hint: str = "") -> None:
        f, ln = line_of(data, where)
        problems.append(Problem(f, ln, msg, hint))

    for name, h in (data.get("history") or {}).items():
        values = tuple(str(v) for v in h.get("values") or [])
        rules = []
        for i, r in enumerate(h.get("rules") or []):
            if r.get("to") not in values or (r.get("from") is not None and r.get("from") not in values):
                bad(["history", name, "rules", i], f"history {name}: unknown value in {dict(r)}",
                    f"values: {', '.join(values)}")
                continue
            if r.get("enters") and states and r["enters"] not in states:
                bad(["history", name, "rules", i], f"history {name}: unknown state {r['enters']!r}")
            rules.append(HistoryRule(values.index(r["to"]), r.get("enters"),
                                     values.index(r["from"]) if r.get("from") is not None else None,
                                     r.get("event"), _bits(r["input"]) if r.get("input") else 0,
                                     r.get("changes_state")))
        out.histories[str(name)] = History(str(name), str(h.get("of", "A")), values, tuple(rules))
    for i, p in enumerate(data.get("properties") or []):
        kind = p.get("kind")
        if kind not in KINDS:
            bad(["properties", i], f"property {p.get('name')!r}: unknown kind {kind!r}", f"kinds: {', '.join(KINDS)}")
            continue
        for h in p.get("history") or []:
            if h not in out.histories:
                bad(["properties", i], f"property {p.get('name')!r} needs unknown history {h!r}")
        fair = tuple(p.get("fairness") or [])
        for f in fair:
            if f not in FAIRNESS:
                bad(["properties", i], f"unknown fairness class {f!r}", f"classes: {', '.join(FAIRNESS)}")
        step = (0, 0)
        never = p.get("never") or {}
        if kind == "step":
            step = (_bits(never.get("receives", "")), _bits(never.get("sends", "")))
            for key in ("from", "to"):
                if never.get(key) and states and never[key] not in states:
                    bad(["properties", i], f"property {p.get('name')!r}: unknown state {never[key]!r}")
        predicate = {"invariant": p.get("never"), "reach": p.get("reach"), "deadlock": p.get("terminal"),
                     "leads_to": p.get("from"), "step": None}[kind]
        def report(msg: str, _i: int = i) -> None:
            bad(["properties", _i], msg)

        for raw in (predicate, p.get("to")):
            if raw is not None:
                _validate(raw, states, out.histories, report)
        out.properties[str(p.get("name"))] = Property(
            name=str(p.get("name")), title=str(p.get("title", "")), kind=kind, rfc=str(p.get("rfc", "")),
            history=tuple(p.get("history") or []), predicate=predicate, target=p.get("to"), step=step,
            fairness=fair, channels=str(p.get("channels", "any")),
            step_from=never.get("from") if kind == "step" else None,
            step_to=never.get("to") if kind == "step" else None,
            step_passive=never.get("passive") if kind == "step" else None)
    for name, m in (data.get("models") or {}).items():
        props = tuple(str(x) for x in m.get("properties") or [])
        for x in props:
            if x not in out.properties:
                bad(["models", name], f"model {name}: unknown property {x!r}")
        out.models[str(name)] = ModelDef(str(name), m.get("spec"), dict(m.get("open") or {}), props)
    if problems:
        raise SpecError(problems)
    return out


def _validate(raw: Any, states: tuple[str, ...], histories: dict[str, History], bad: Callable[[str], None]) -> None:
    if not isinstance(raw, dict) or len(raw) != 1:
        bad(f"a predicate is a one-key mapping, not {raw!r}")
        return
    (key, arg), = raw.items()
    if key in ("all", "any"):
        for sub in arg or []:
            _validate(sub, states, histories, bad)
    elif key == "not":
        _validate(arg, states, histories, bad)
    elif key == "state":
        for who, want in (arg or {}).items():
            for s in [want] if isinstance(want, str) else want:
                if states and s not in states:
                    bad(f"unknown state {s!r} for {who}")
    elif key == "history":
        for h, v in (arg or {}).items():
            if h not in histories or v not in histories[h].values:
                bad(f"unknown history value {h}={v}")
    elif key not in ("channels_empty", "channel_has"):
        bad(f"unknown predicate {key!r}")


def step_matches(p: Property, source: str, target: str, passive: bool, input_bits: int,
                 sent_bits: list[int]) -> bool:
    """Does one endpoint move match a step property's `never:` pattern?"""
    rcv, snd = p.step
    if rcv and not input_bits & rcv:
        return False
    if snd and not any(b & snd for b in sent_bits):
        return False
    if p.step_from is not None and source != p.step_from:
        return False
    if p.step_to is not None and target != p.step_to:
        return False
    return not (p.step_passive is not None and passive != p.step_passive)


class View:
    """A decoded global state, as the compiled predicates read it."""

    __slots__ = ("ab", "ba", "hist", "sa", "sb")

    def __init__(self, sa: str, sb: str, hist: dict[str, str], ab: tuple[int, ...], ba: tuple[int, ...]) -> None:
        self.sa, self.sb, self.hist, self.ab, self.ba = sa, sb, hist, ab, ba


def compile_predicate(raw: Any, seg_bits: list[int]) -> Callable[[View], bool]:
    """A closure over a ``View``; ``seg_bits`` maps segment ids to their control bits (grows)."""
    (key, arg), = raw.items()
    if key == "all":
        subs = [compile_predicate(x, seg_bits) for x in arg or []]
        return lambda v: all(f(v) for f in subs)
    if key == "any":
        subs = [compile_predicate(x, seg_bits) for x in arg or []]
        return lambda v: any(f(v) for f in subs)
    if key == "not":
        sub = compile_predicate(arg, seg_bits)
        return lambda v: not sub(v)
    if key == "state":
        want = {who: frozenset([s] if isinstance(s, str) else s) for who, s in arg.items()}
        a, b = want.get("A"), want.get("B")
        if a is not None and b is not None:
            return lambda v: v.sa in a and v.sb in b
        if a is not None:
            return lambda v: v.sa in a
        assert b is not None
        return lambda v: v.sb in b
    if key == "history":
        items = list(arg.items())
        return lambda v: all(v.hist.get(h) == val for h, val in items)
    if key == "channels_empty":
        return lambda v: not v.ab and not v.ba
    if key == "channel_has":
        checks = [(chan, _bits(kind)) for chan, kind in arg.items()]

        def has(v: View) -> bool:
            for chan, bit in checks:
                for sid in (v.ab if chan == "AB" else v.ba):
                    if seg_bits[sid] & bit:
                        return True
            return False
        return has
    raise ValueError(f"unknown predicate {key!r}")
