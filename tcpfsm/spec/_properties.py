"""The property language of ``specs/properties.yaml``, parsed into typed, frozen records.

Theory of operation: the file is read once (cached by path, mtime and size) into
- predicate nodes (:class:`All`, :class:`Any`, :class:`Not`, :class:`InState`, :class:`History`,
  :class:`ChannelsEmpty`, :class:`ChannelHas`, and over sequence numbers and user data
  :class:`BeyondPeer`, :class:`Delivered`): the only thing the checker's two evaluators
  (Python over a decoded state, numpy over whole BFS levels; ``tcpfsm.checker._properties``)
  and the stateful tests read; nodes compare and hash by meaning, never by where they were
  written, yet each carries its file and line for messages;
- property records, one class per kind (:class:`Invariant`, :class:`Reach`,
  :class:`StepProperty`, :class:`Deadlock`, :class:`LeadsTo`), history variables
  (:class:`HistoryVar` and its :class:`HistoryRule` s) and models (:class:`ModelDef`).
Parsing needs no spec: keys, kinds, history values, flags, fairness classes, channel names and
endpoints are checked here, and every problem is reported at once with file:line. States are
the spec's business: :meth:`PropertyFile.missing_states` says which states a property names
that a given spec lacks (each with its file:line), so that a caller may leave the property out
(a user's spec with renamed states) or refuse it (the user asked for it by name).

Spelling in YAML (a predicate is a one-key mapping):
``{state: {A: S or [S, ...], B: ...}}`` (every endpoint named is in one of its states),
``{history: {hA: value, ...}}``, ``{channels_empty: true}``, ``{channel_has: {AB: RST}}`` (a
segment with any of those control bits in flight from A to B; several channels: any of them),
``{beyond_peer: {A: RCV.NXT or SEG.ACK or [both]}}`` (A acknowledges beyond the peer's SND.NXT,
same incarnation; several: any of them), ``{delivered: {A: prefix or all}}`` (what A delivered
to its user is a prefix of, or all of, what the peer's user sent; several endpoints: each),
``{all: [...]}``, ``{any: [...]}``, ``{not: P}``.
The last two read numbers: the checker's full projection (the RFC specs) has them, the control
projection (the reference model) has not, and refuses them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar, NamedTuple

from tcpfsm.base._errors import Problem, SpecError
from tcpfsm.base._resources import specs_dir
from tcpfsm.base._segment import Flags
from tcpfsm.base._yaml import LDict, LList, load_yaml, read_input

KINDS = ("invariant", "reach", "step", "deadlock", "leads_to")
FAIRNESS = ("deliver", "timer", "user", "loss")
CHANNEL_ASSUMPTIONS = ("any", "reliable", "lossy")
ENDPOINTS = ("A", "B")
CHANNELS = ("AB", "BA")  # AB: in flight from A to B
OPEN_CALLS = ("open_active", "open_passive")
PREDICATE_KEYS = ("all", "any", "not", "state", "history", "channels_empty", "channel_has", "beyond_peer",
                  "delivered")
SEQ_FIELDS = ("RCV.NXT", "SEG.ACK")   # beyond_peer: what of an endpoint is compared with the peer's SND.NXT
DELIVERY_EXTENTS = ("prefix", "all")  # delivered: a prefix of, or all of, what the peer's user sent
STEP_KEYS = ("receives", "sends", "from", "to", "passive", "incarnation", "accepts", "reopened_in_order")
# a step's `incarnation:`: the received segment's incarnation against the receiver's (`check --reopen`)
INCARNATION_RELATIONS = ("same", "other", "older", "newer")
COMMON_KEYS = ("name", "title", "rfc", "kind", "history", "channels")
KIND_KEYS = {"invariant": ("never",), "reach": ("reach",), "step": ("never",), "deadlock": ("terminal",),
             "leads_to": ("from", "to", "fairness")}
HISTORY_KEYS = ("of", "values", "rules")
RULE_KEYS = ("to", "enters", "from", "event", "input", "changes_state")
MODEL_KEYS = ("spec", "open", "properties")
TOP_KEYS = ("history", "properties", "models")


# ------------------------------------------------------------------ predicate nodes
@dataclass(frozen=True)
class Node:
    """A predicate over one global state (two endpoints, two channels, history values)."""

    file: str = field(default="", compare=False, repr=False, kw_only=True)
    line: int = field(default=0, compare=False, repr=False, kw_only=True)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class All(Node):
    """Every item holds (``{all: []}`` holds everywhere)."""

    items: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class Any(Node):
    """Some item holds (``{any: []}`` holds nowhere)."""

    items: tuple[Predicate, ...] = ()


@dataclass(frozen=True)
class Not(Node):
    item: Predicate


@dataclass(frozen=True)
class InState(Node):
    """Endpoint ``who`` (A or B) is in one of ``states`` (RFC spellings: ``SYN-RECEIVED``)."""

    who: str
    states: frozenset[str]


@dataclass(frozen=True)
class History(Node):
    """History variable ``name`` has the value ``value``."""

    name: str
    value: str


@dataclass(frozen=True)
class ChannelsEmpty(Node):
    """Nothing in flight in either direction."""


@dataclass(frozen=True)
class ChannelHas(Node):
    """A segment with any of the control bits ``flag_bits`` is in flight in ``channel`` (AB or BA)."""

    channel: str
    flag_bits: int


@dataclass(frozen=True)
class BeyondPeer(Node):
    """Endpoint ``who`` acknowledges beyond what its peer has sent: its ``field`` (``RCV.NXT``, or
    the SEG.ACK of an ACK in flight from it: ``SEG.ACK``) is above the peer's SND.NXT (mod 2**32),
    in the same incarnation (``who`` has taken the peer's SYN: IRS = the peer's ISS).

    RFC 9293 §3.4: an acknowledgment says every octet below it was received, so it is never above
    SND.NXT; §3.10.7.4 fifth: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT)" the
    receiver drops it.
    """

    who: str
    variable: str


@dataclass(frozen=True)
class Delivered(Node):
    """The bytes ``who`` delivered to its user in this incarnation are, in order, a prefix
    (``extent`` prefix) of, or exactly (all), what the peer's user gave SEND in its
    incarnation; holds when the two are not in one incarnation (RFC 9293 §3.10.3, §3.10.7.4
    seventh and eighth: text in sequence, and all text before a FIN before the FIN)."""

    who: str
    extent: str


Predicate = All | Any | Not | InState | History | ChannelsEmpty | ChannelHas | BeyondPeer | Delivered
NUMERIC_NODES = (BeyondPeer, Delivered)  # nodes that read sequence numbers or data: the full projection only


def walk(node: Predicate) -> Iterator[Predicate]:
    """The node and every node below it, depth first."""
    yield node
    if isinstance(node, All | Any):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Not):
        yield from walk(node.item)


# ------------------------------------------------------------------ histories
@dataclass(frozen=True, kw_only=True)
class HistoryRule:
    """``to`` becomes the value when every condition given holds; the first matching rule wins.

    ``enters``: the endpoint enters that state (from another); ``source``: the value before
    (``from:``); ``event``: the checker's move event (``close``, ``abort``, ``connect``,
    ``recv``, ``timeout``, ``tw``, ``user_timeout``); ``input_bits``: the segment received has
    one of these control bits; ``changes_state``: the move does (not) change the state.
    Values are indices into the variable's ``values``.
    """

    to: int
    enters: str | None = None
    source: int | None = None
    event: str | None = None
    input_bits: int = 0
    changes_state: bool | None = None
    file: str = field(default="", compare=False, repr=False)
    line: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class HistoryVar:
    """A history variable of endpoint ``of``: starts at ``values[0]``, updated on that endpoint's moves."""

    name: str
    of: str
    values: tuple[str, ...]
    rules: tuple[HistoryRule, ...]
    file: str = field(default="", compare=False, repr=False)
    line: int = field(default=0, compare=False, repr=False)


# ------------------------------------------------------------------ properties
@dataclass(frozen=True, kw_only=True)
class Property:
    """What every property has; ``history`` lists the variables its predicates read."""

    kind: ClassVar[str] = ""
    name: str
    title: str = ""
    rfc: str = ""
    history: tuple[str, ...] = ()
    channels: str = "any"  # the channel models it is expected to hold under
    file: str = field(default="", compare=False, repr=False)
    line: int = field(default=0, compare=False, repr=False)

    def predicates(self) -> tuple[Predicate, ...]:
        return ()


@dataclass(frozen=True, kw_only=True)
class Invariant(Property):
    """``never`` holds in no reachable state."""

    kind: ClassVar[str] = "invariant"
    never: Predicate

    def predicates(self) -> tuple[Predicate, ...]:
        return (self.never,)


@dataclass(frozen=True, kw_only=True)
class Reach(Property):
    """Some reachable state satisfies ``reach`` (a witness)."""

    kind: ClassVar[str] = "reach"
    reach: Predicate

    def predicates(self) -> tuple[Predicate, ...]:
        return (self.reach,)


@dataclass(frozen=True, kw_only=True)
class StepPattern:
    """One endpoint move, matched on every key given (``from:``/``to:`` are ``source``/``target``)."""

    receives: int = 0  # the segment received has one of these bits
    sends: int = 0     # some segment sent has one of these bits
    source: str | None = None
    target: str | None = None
    passive: bool | None = None  # the connection came from a passive OPEN
    incarnation: str | None = None  # same, other, older, newer: the segment's incarnation to the receiver's
    accepts: bool | None = None     # the move accepts text or a FIN of the segment (RCV.NXT advances)
    reopened_in_order: bool | None = None  # the segment's sender reopened after an orderly end (FINs, TIME-WAIT)
    file: str = field(default="", compare=False, repr=False)
    line: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True)
class StepProperty(Property):
    """No endpoint move matches ``never``."""

    kind: ClassVar[str] = "step"
    never: StepPattern


@dataclass(frozen=True, kw_only=True)
class Deadlock(Property):
    """Every reachable state without an enabled event satisfies ``terminal``."""

    kind: ClassVar[str] = "deadlock"
    terminal: Predicate

    def predicates(self) -> tuple[Predicate, ...]:
        return (self.terminal,)


@dataclass(frozen=True, kw_only=True)
class LeadsTo(Property):
    """Every path from a ``source`` state reaches a ``target`` state, under weak fairness on ``fairness``."""

    kind: ClassVar[str] = "leads_to"
    source: Predicate
    target: Predicate
    fairness: tuple[str, ...] = ()

    def predicates(self) -> tuple[Predicate, ...]:
        return (self.source, self.target)


AnyProperty = Invariant | Reach | StepProperty | Deadlock | LeadsTo


# ------------------------------------------------------------------ models and the file
@dataclass(frozen=True, kw_only=True)
class ModelDef:
    """A composition to check: the spec (None: the caller's), how A and B open, its default properties."""

    name: str
    spec: str | None
    open: tuple[tuple[str, str], ...]
    properties: tuple[str, ...]
    file: str = field(default="", compare=False, repr=False)
    line: int = field(default=0, compare=False, repr=False)

    @property
    def opening(self) -> dict[str, str]:
        return dict(self.open)


@dataclass(frozen=True, kw_only=True)
class PropertyFile:
    file: str
    histories: Mapping[str, HistoryVar]
    properties: Mapping[str, AnyProperty]
    models: Mapping[str, ModelDef]
    line_of_properties: int = 0

    def states_named(self, prop: Property) -> list[tuple[str, str, int, str]]:
        """Every state ``prop`` names, in its predicates, its step pattern and the rules of its
        histories: (state, file, line, where in the property)."""
        out: list[tuple[str, str, int, str]] = []
        for pred in prop.predicates():
            for node in walk(pred):
                if isinstance(node, InState):
                    out += [(s, node.file, node.line, f"`state:` of {node.who}") for s in sorted(node.states)]
        if isinstance(prop, StepProperty):
            pat = prop.never
            out += [(named, pat.file, pat.line, f"`{key}:`") for key, named in (("from", pat.source),
                                                                               ("to", pat.target)) if named]
        for h in prop.history:
            out += [(r.enters, r.file, r.line, f"history {h} (`enters:`)") for r in self.histories[h].rules
                    if r.enters is not None]
        return out

    def numeric_nodes(self, prop: Property) -> list[Predicate]:
        """The nodes of ``prop`` that read sequence numbers or data (:data:`NUMERIC_NODES`)."""
        return [n for pred in prop.predicates() for n in walk(pred) if isinstance(n, NUMERIC_NODES)]

    def missing_states(self, prop: Property, states: tuple[str, ...] | frozenset[str]) -> list[Problem]:
        """Every state ``prop`` names that is not one of ``states``; each a Problem with file:line."""
        hint = f"states of this spec: {', '.join(states)}"
        return [Problem(file, line, f"property {prop.name}: {what} names state {state!r}, which the spec lacks",
                        hint) for state, file, line, what in self.states_named(prop) if state not in states]


def properties_file() -> Path:
    """The shipped property file."""
    return specs_dir() / "properties.yaml"


def load_properties(path: str | Path | None = None, states: tuple[str, ...] = ()) -> PropertyFile:
    """Parse a property file (default: the shipped one); raise SpecError listing every problem.

    With ``states`` (a spec's state names), also every state a property names that is not one
    of them (strict: for validating a file against one spec; ``check`` is lenient, see
    :meth:`PropertyFile.missing_states`).
    """
    p = Path(path) if path is not None else properties_file()
    try:
        st = p.stat()
    except OSError:
        raise SpecError([Problem(str(p), 0, "no such property file", "give the path of a YAML file")]) from None
    out = _load_cached(str(p.resolve()), (st.st_mtime_ns, st.st_size))
    if states:
        problems = [pr for prop in out.properties.values() for pr in out.missing_states(prop, states)]
        if problems:
            raise SpecError(problems)
    return out


@cache
def _load_cached(path_text: str, stamp: tuple[int, int]) -> PropertyFile:
    del stamp  # part of the cache key only: a file rewritten in place is read again
    return _Parser(Path(path_text)).parse()


# ------------------------------------------------------------------ the parser
class _Parser:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = str(path)
        self.problems: list[Problem] = []
        self.histories: dict[str, HistoryVar] = {}

    def bad(self, line: int, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.file, line, message, hint))

    def keys(self, raw: LDict, allowed: tuple[str, ...], what: str) -> None:
        for key in raw:
            if key not in allowed:
                self.bad(raw.lines.get(key, raw.line), f"{what}: unknown key {key!r}", f"keys: {', '.join(allowed)}")

    def parse(self) -> PropertyFile:
        text, problem = read_input(self.path)
        if text is None:
            raise SpecError([problem] if problem is not None else [])
        data, problems = load_yaml(text, self.file)
        self.problems += problems
        if not isinstance(data, LDict):
            raise SpecError(self.problems or [Problem(self.file, 1, "expected a mapping",
                                                      "see the header of specs/properties.yaml")])
        self.keys(data, TOP_KEYS, "top level")
        for name, raw in self.mapping(data, "history").items():
            h = self.history(str(name), raw, data.lines.get("history", 0))
            if h is not None:
                self.histories[h.name] = h
        props: dict[str, AnyProperty] = {}
        plist = data.get("properties") or []
        if not isinstance(plist, LList):
            self.bad(data.lines.get("properties", 1), "`properties:` must be a list", "")
            plist = LList()
        for i, raw in enumerate(plist):
            p = self.prop(raw, plist.lines[i])
            if p is None:
                continue
            if p.name in props:
                self.bad(p.line, f"property {p.name!r} is defined twice", "names are unique")
            props[p.name] = p
        models: dict[str, ModelDef] = {}
        for name, raw in self.mapping(data, "models").items():
            m = self.model(str(name), raw, data["models"].lines.get(name, 0), props)
            if m is not None:
                models[m.name] = m
        if self.problems:
            raise SpecError(self.problems)
        return PropertyFile(file=self.file, histories=MappingProxyType(self.histories),
                            properties=MappingProxyType(props), models=MappingProxyType(models),
                            line_of_properties=data.lines.get("properties", 0))

    def mapping(self, data: LDict, key: str) -> LDict:
        raw = data.get(key)
        if raw is None:
            return LDict()
        if not isinstance(raw, LDict):
            self.bad(data.lines.get(key, data.line), f"`{key}:` must be a mapping", "")
            return LDict()
        return raw

    # -------------------------------------------------------------- histories
    def history(self, name: str, raw: object, line: int) -> HistoryVar | None:
        if not isinstance(raw, LDict):
            self.bad(line, f"history {name}: expected a mapping with of, values, rules", "")
            return None
        self.keys(raw, HISTORY_KEYS, f"history {name}")
        of = str(raw.get("of", "A"))
        if of not in ENDPOINTS:
            self.bad(raw.lines.get("of", raw.line), f"history {name}: unknown endpoint {of!r}",
                     f"endpoints: {', '.join(ENDPOINTS)}")
        values = tuple(str(v) for v in raw.get("values") or [])
        if not values:
            self.bad(raw.line, f"history {name}: `values:` lists no value", "the first value is the initial one")
        rules: list[HistoryRule] = []
        rlist = raw.get("rules") or LList()
        for i, r in enumerate(rlist):
            rline = rlist.lines[i] if isinstance(rlist, LList) else raw.line
            if not isinstance(r, LDict):
                self.bad(rline, f"history {name}: a rule is a mapping, not {r!r}", f"keys: {', '.join(RULE_KEYS)}")
                continue
            self.keys(r, RULE_KEYS, f"history {name} rule {i + 1}")
            ok = True
            for key in ("to", "from"):
                v = r.get(key)
                if (key == "to" or v is not None) and str(v) not in values:
                    self.bad(r.lines.get(key, rline), f"history {name}: unknown value {v!r} in `{key}:`",
                             f"values: {', '.join(values)}")
                    ok = False
            bits = self.flags(r.get("input"), rline, f"history {name}") if r.get("input") is not None else 0
            changes = r.get("changes_state")
            if changes is not None and not isinstance(changes, bool):
                self.bad(rline, f"history {name}: `changes_state:` is true or false, not {changes!r}", "")
            if not ok or bits is None:
                continue
            src = r.get("from")
            rules.append(HistoryRule(to=values.index(str(r["to"])), enters=_opt_str(r.get("enters")),
                                     source=values.index(str(src)) if src is not None else None,
                                     event=_opt_str(r.get("event")), input_bits=bits,
                                     changes_state=changes if isinstance(changes, bool) else None,
                                     file=self.file, line=rline))
        return HistoryVar(name=name, of=of, values=values, rules=tuple(rules), file=self.file, line=raw.line)

    def flags(self, raw: object, line: int, what: str) -> int | None:
        try:
            bits = int(Flags.parse(str(raw)))
        except ValueError as exc:
            self.bad(line, f"{what}: {exc}", "flags: FIN, SYN, RST, PSH, ACK, URG (several: SYN,ACK)")
            return None
        if not bits:
            self.bad(line, f"{what}: {raw!r} names no control bit", "flags: FIN, SYN, RST, PSH, ACK, URG")
            return None
        return bits

    # -------------------------------------------------------------- properties
    def prop(self, raw: object, line: int) -> AnyProperty | None:
        if not isinstance(raw, LDict):
            self.bad(line, f"a property is a mapping, not {raw!r}", f"keys: {', '.join(COMMON_KEYS)}, ...")
            return None
        line = raw.line
        name = str(raw.get("name", ""))
        if not name:
            self.bad(line, "a property needs a `name:`", "")
        kind = raw.get("kind")
        if kind not in KINDS:
            self.bad(raw.lines.get("kind", line), f"property {name!r}: unknown kind {kind!r}",
                     f"kinds: {', '.join(KINDS)}")
            return None
        allowed = COMMON_KEYS + KIND_KEYS[str(kind)]
        self.keys(raw, allowed, f"property {name!r} ({kind})")
        declared = [str(h) for h in raw.get("history") or []]
        for h in declared:
            if h not in self.histories:
                self.bad(raw.lines.get("history", line), f"property {name!r} needs unknown history {h!r}",
                         f"histories: {', '.join(self.histories) or 'none declared'}")
        channels = str(raw.get("channels", "any"))
        if channels not in CHANNEL_ASSUMPTIONS:
            self.bad(raw.lines.get("channels", line), f"property {name!r}: unknown channel assumption "
                     f"{channels!r}", f"channels: {', '.join(CHANNEL_ASSUMPTIONS)}")
        for key in KIND_KEYS[str(kind)]:
            if key != "fairness" and key not in raw:
                self.bad(line, f"property {name!r} ({kind}) needs `{key}:`", "")
        if any(key != "fairness" and key not in raw for key in KIND_KEYS[str(kind)]):
            return None
        common = _Common(name, str(raw.get("title", "")), str(raw.get("rfc", "")), channels, self.file,
                         line)._asdict()

        def pred(key: str) -> Predicate:
            node = self.predicate(raw[key], raw.lines.get(key, line), name)
            return node if node is not None else All()

        out: AnyProperty
        if kind == "invariant":
            out = Invariant(**common, never=pred("never"))
        elif kind == "reach":
            out = Reach(**common, reach=pred("reach"))
        elif kind == "deadlock":
            out = Deadlock(**common, terminal=pred("terminal"))
        elif kind == "leads_to":
            fair = tuple(str(f) for f in raw.get("fairness") or [])
            for f in fair:
                if f not in FAIRNESS:
                    self.bad(raw.lines.get("fairness", line), f"property {name!r}: unknown fairness class {f!r}",
                             f"classes: {', '.join(FAIRNESS)}")
            out = LeadsTo(**common, source=pred("from"), target=pred("to"), fairness=fair)
        else:
            out = StepProperty(**common, never=self.pattern(raw["never"], raw.lines.get("never", line), name))
        # the variables to track: those declared, then any other a predicate reads
        used = [n.name for pr in out.predicates() for n in walk(pr) if isinstance(n, History)]
        hist = tuple(dict.fromkeys([*declared, *[u for u in used if u in self.histories]]))
        return replace(out, history=hist)

    def pattern(self, raw: object, line: int, name: str) -> StepPattern:
        if not isinstance(raw, LDict) or not raw:
            self.bad(line, f"property {name!r}: a step's `never:` is a mapping of {', '.join(STEP_KEYS)}", "")
            return StepPattern(file=self.file, line=line)
        line = raw.line
        self.keys(raw, STEP_KEYS, f"property {name!r} `never:`")
        bits = {}
        for key in ("receives", "sends"):
            if raw.get(key) is not None:
                bits[key] = self.flags(raw[key], raw.lines.get(key, line), f"property {name!r} `{key}:`") or 0
        flags: dict[str, bool | None] = {}
        for key in ("passive", "accepts", "reopened_in_order"):
            value = raw.get(key)
            if value is not None and not isinstance(value, bool):
                self.bad(raw.lines.get(key, line), f"property {name!r}: `{key}:` is true or false", "")
                value = None
            flags[key] = value
        incarnation = _opt_str(raw.get("incarnation"))
        if incarnation is not None and incarnation not in INCARNATION_RELATIONS:
            self.bad(raw.lines.get("incarnation", line), f"property {name!r}: unknown `incarnation:` {incarnation!r}",
                     f"one of {', '.join(INCARNATION_RELATIONS)}")
            incarnation = None
        return StepPattern(receives=bits.get("receives", 0), sends=bits.get("sends", 0),
                           source=_opt_str(raw.get("from")), target=_opt_str(raw.get("to")), passive=flags["passive"],
                           incarnation=incarnation, accepts=flags["accepts"],
                           reopened_in_order=flags["reopened_in_order"], file=self.file, line=line)

    def predicate(self, raw: object, line: int, name: str) -> Predicate | None:
        """One predicate node, or None (after reporting) when ``raw`` is not one."""
        if isinstance(raw, LDict):
            line = raw.line or line
        if not isinstance(raw, dict) or len(raw) != 1:
            self.bad(line, f"property {name!r}: a predicate is a one-key mapping, not {raw!r}",
                     f"keys: {', '.join(PREDICATE_KEYS)}")
            return None
        ((key, arg),) = raw.items()
        fl = self.file
        if key in ("all", "any"):
            if not isinstance(arg, list):
                self.bad(line, f"property {name!r}: `{key}:` takes a list of predicates, not {arg!r}", "")
                return None
            lines = arg.lines if isinstance(arg, LList) else [line] * len(arg)
            items = [self.predicate(x, ln, name) for x, ln in zip(arg, lines, strict=True)]
            kept = tuple(x for x in items if x is not None)
            return All(kept, file=fl, line=line) if key == "all" else Any(kept, file=fl, line=line)
        if key == "not":
            sub = self.predicate(arg, line, name)
            return Not(sub, file=fl, line=line) if sub is not None else None
        if key == "state":
            return self.conj(self.states(arg, line, name), All, line)
        if key == "history":
            return self.conj(self.hist_values(arg, line, name), All, line)
        if key == "channels_empty":
            if not isinstance(arg, bool):
                self.bad(line, f"property {name!r}: `channels_empty:` is true or false, not {arg!r}", "")
                return None
            empty = ChannelsEmpty(file=fl, line=line)
            return empty if arg else Not(empty, file=fl, line=line)
        if key == "channel_has":
            return self.conj(self.channel_has(arg, line, name), Any, line)
        if key == "beyond_peer":
            return self.conj(self.per_endpoint(arg, line, name, key, SEQ_FIELDS, BeyondPeer), Any, line)
        if key == "delivered":
            return self.conj(self.per_endpoint(arg, line, name, key, DELIVERY_EXTENTS, Delivered), All, line)
        self.bad(line, f"property {name!r}: unknown predicate {key!r}", f"predicates: {', '.join(PREDICATE_KEYS)}")
        return None

    def conj(self, nodes: list[Predicate] | None, kind: type[All] | type[Any], line: int) -> Predicate | None:
        if not nodes:
            return None
        if len(nodes) == 1:
            return nodes[0]
        return kind(tuple(nodes), file=self.file, line=line)

    def sub_lines(self, arg: object, line: int) -> dict[str, int]:
        return {k: (arg.lines.get(k, line) if isinstance(arg, LDict) else line) for k in arg} if isinstance(
            arg, dict) else {}

    def states(self, arg: object, line: int, name: str) -> list[Predicate] | None:
        if not isinstance(arg, dict) or not arg:
            self.bad(line, f"property {name!r}: `state:` maps A and/or B to a state or a list of states", "")
            return None
        lines = self.sub_lines(arg, line)
        out: list[Predicate] = []
        for who, want in arg.items():
            ln = lines[who]
            if who not in ENDPOINTS:
                self.bad(ln, f"property {name!r}: unknown endpoint {who!r} in `state:`",
                         f"endpoints: {', '.join(ENDPOINTS)}")
                continue
            names = [want] if isinstance(want, str) else want
            if not isinstance(names, list) or not names or not all(isinstance(s, str) for s in names):
                self.bad(ln, f"property {name!r}: `state:` of {who} is a state or a list of states, not {want!r}",
                         "")
                continue
            out.append(InState(who, frozenset(names), file=self.file, line=ln))
        return out if len(out) == len(arg) else None

    def hist_values(self, arg: object, line: int, name: str) -> list[Predicate] | None:
        if not isinstance(arg, dict) or not arg:
            self.bad(line, f"property {name!r}: `history:` maps a history variable to one of its values", "")
            return None
        lines = self.sub_lines(arg, line)
        out: list[Predicate] = []
        for h, v in arg.items():
            hv = self.histories.get(h)
            if hv is None:
                self.bad(lines[h], f"property {name!r}: unknown history {h!r}",
                         f"histories: {', '.join(self.histories) or 'none declared'}")
            elif str(v) not in hv.values:
                self.bad(lines[h], f"property {name!r}: unknown history value {h}={v}",
                         f"values of {h}: {', '.join(hv.values)}")
            else:
                out.append(History(str(h), str(v), file=self.file, line=lines[h]))
        return out if len(out) == len(arg) else None

    def channel_has(self, arg: object, line: int, name: str) -> list[Predicate] | None:
        if not isinstance(arg, dict) or not arg:
            self.bad(line, f"property {name!r}: `channel_has:` maps AB and/or BA to control bits", "")
            return None
        lines = self.sub_lines(arg, line)
        out: list[Predicate] = []
        for chan, flags in arg.items():
            if chan not in CHANNELS:
                self.bad(lines[chan], f"property {name!r}: unknown channel {chan!r}",
                         "channels: AB (from A to B), BA")
                continue
            bits = self.flags(flags, lines[chan], f"property {name!r} `channel_has:`")
            if bits is not None:
                out.append(ChannelHas(str(chan), bits, file=self.file, line=lines[chan]))
        return out if len(out) == len(arg) else None

    def per_endpoint(self, arg: object, line: int, name: str, key: str, choices: tuple[str, ...],
                     node: type[BeyondPeer] | type[Delivered]) -> list[Predicate] | None:
        """``{key: {A: X or [X, ...], B: ...}}`` with each X one of ``choices``: one node each."""
        if not isinstance(arg, dict) or not arg:
            self.bad(line, f"property {name!r}: `{key}:` maps A and/or B to one of {', '.join(choices)}",
                     f"e.g. {{{key}: {{A: {choices[0]}}}}}")
            return None
        lines = self.sub_lines(arg, line)
        out: list[Predicate] = []
        ok = True
        for who, want in arg.items():
            ln = lines[who]
            if who not in ENDPOINTS:
                self.bad(ln, f"property {name!r}: unknown endpoint {who!r} in `{key}:`",
                         f"endpoints: {', '.join(ENDPOINTS)}")
                ok = False
                continue
            items = want if isinstance(want, list) else [want]
            for item in items:
                if not isinstance(item, str) or item not in choices:
                    self.bad(ln, f"property {name!r}: `{key}:` of {who} is one of {', '.join(choices)}, "
                             f"not {item!r}", "")
                    ok = False
                else:
                    out.append(node(str(who), item, file=self.file, line=ln))
        return out if ok and out else None

    # -------------------------------------------------------------- models
    def model(self, name: str, raw: object, line: int, props: dict[str, AnyProperty]) -> ModelDef | None:
        if not isinstance(raw, LDict):
            self.bad(line, f"model {name}: expected a mapping of {', '.join(MODEL_KEYS)}", "")
            return None
        self.keys(raw, MODEL_KEYS, f"model {name}")
        opening = raw.get("open") or {}
        pairs: list[tuple[str, str]] = []
        for who, call in (opening.items() if isinstance(opening, dict) else []):
            if who not in ENDPOINTS or call not in OPEN_CALLS:
                self.bad(raw.lines.get("open", raw.line), f"model {name}: `open:` {who}: {call} is not an opening",
                         f"A and B each open with one of {', '.join(OPEN_CALLS)}")
            pairs.append((str(who), str(call)))
        if {w for w, _ in pairs} != set(ENDPOINTS):
            self.bad(raw.lines.get("open", raw.line), f"model {name}: `open:` must say how A and B open",
                     "e.g. open: {A: open_active, B: open_passive}")
        names = tuple(str(x) for x in raw.get("properties") or [])
        for x in names:
            if x not in props:
                self.bad(raw.lines.get("properties", raw.line), f"model {name}: unknown property {x!r}",
                         f"properties: {', '.join(props)}")
        spec = raw.get("spec")
        return ModelDef(name=name, spec=str(spec) if spec is not None else None, open=tuple(pairs),
                        properties=names, file=self.file, line=raw.line)


class _Common(NamedTuple):
    name: str
    title: str
    rfc: str
    channels: str
    file: str
    line: int


def _opt_str(v: object) -> str | None:
    return None if v is None else str(v)


__all__ = [
    "CHANNELS",
    "DELIVERY_EXTENTS",
    "ENDPOINTS",
    "FAIRNESS",
    "KINDS",
    "NUMERIC_NODES",
    "SEQ_FIELDS",
    "All",
    "Any",
    "AnyProperty",
    "BeyondPeer",
    "ChannelHas",
    "ChannelsEmpty",
    "Deadlock",
    "Delivered",
    "History",
    "HistoryRule",
    "HistoryVar",
    "InState",
    "Invariant",
    "LeadsTo",
    "ModelDef",
    "Node",
    "Not",
    "Predicate",
    "Property",
    "PropertyFile",
    "Reach",
    "StepPattern",
    "StepProperty",
    "load_properties",
    "properties_file",
    "walk",
]
