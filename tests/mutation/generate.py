"""Generate one-edit mutants of a base spec (``specs/tcp.yaml``) from its own data.

Each operator walks the loaded transitions (tcpfsm's records) and edits the YAML node that writes
the value (PyYAML's composer gives its exact span). The operators (``KINDS``):

- ``target``: the target becomes another state: ``same``, the initial state (CLOSED), or the state
  another transition of one of its (source, event) pairs enters, i.e. the wrong branch
  (``all_targets=True``: every declared state).
- ``guard-drop`` / ``guard-negate``: one guard of the list is removed, or ``G`` <-> ``not G``.
- ``action-drop``: one effect, notice, error or drop of the actions is removed.
- ``send-drop``: one ``send:`` is removed.
- ``timer-drop``: one ``start:`` / ``restart:`` / ``stop:`` is removed; ``timer-swap``: a started
  timer becomes another declared timer.
- ``send-ctl``: one control bit of a send with several is dropped (dropping ACK drops its ACK field).
- ``send-seq`` / ``send-ack``: SEQ or ACK comes from another source of the vocabulary
  (SND.NXT, ISS, SEG.ACK, ZERO; RCV.NXT, SEG.SEQ+SEG.LEN), or the ACK field is dropped.
- ``send-data``: a send that carries the queued data does not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from tcpfsm import load_spec
from tcpfsm.base._segment import Flags
from tcpfsm.spec import Spec
from tcpfsm.spec._records import SAME, Send, Transition
from tcpfsm.spec._vocabulary import FLAGS, SEND_ACK, SEND_SEQ

KINDS = ("target", "guard-drop", "guard-negate", "action-drop", "send-drop", "timer-drop", "timer-swap",
         "send-ctl", "send-seq", "send-ack", "send-data")


@dataclass(frozen=True)
class Mutant:
    """One text edit of the spec: ``text[start:end]`` becomes ``new``."""

    id: str  # stable: transition id, operator, detail (e.g. ``S31.target=CLOSED``)
    kind: str  # one of KINDS
    transition: str
    line: int  # 1-based line of the edit
    description: str  # e.g. ``S31 [FIN-WAIT-1 rcv_fin]: target CLOSING -> CLOSED``
    start: int
    end: int
    new: str

    def apply(self, text: str) -> str:
        """The mutated file: the edit, padded so that every later line and column stays where it was."""
        old = text[self.start:self.end]
        pad = old.count("\n") - self.new.count("\n")
        new = self.new
        if pad > 0:
            end_col = self.end - (text.rfind("\n", 0, self.end) + 1)
            new += "\n" * pad + " " * end_col
        return text[:self.start] + new + text[self.end:]

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "transition": self.transition, "line": self.line,
                "description": self.description}


def _span(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.index, node.end_mark.index


def _scalar(text: str) -> str:
    """A YAML flow scalar: bare when safe, else double-quoted."""
    safe = text and all(c.isalnum() or c in "-_." for c in text) and not text[0].isdigit()
    return text if safe else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flag_names(ctl: Flags) -> list[str]:
    return [name for name in FLAGS if ctl & Flags[name]]


def render_send(send: Send, notation: bool) -> str:
    """A send as the spec writes it: the RFC notation (a quoted string) or the flow mapping."""
    flags = ",".join(_flag_names(send.ctl))
    if notation and send.throttle is None:
        seq = "0" if send.seq == "ZERO" else send.seq
        text = f"<SEQ={seq}>" + (f"<ACK={send.ack}>" if send.ack else "") + f"<CTL={flags}>"
        return _scalar(text + (" +data" if send.data else ""))
    parts = [f"ctl: {_scalar(flags)}", f"seq: {_scalar(send.seq)}"]
    if send.ack is not None:
        parts.append(f"ack: {_scalar(send.ack)}")
    if send.data:
        parts.append("data: true")
    if send.throttle is not None:
        parts.append(f"throttle: {_scalar(send.throttle)}")
    return "{" + ", ".join(parts) + "}"


def _flow_list(texts: list[str]) -> str:
    return "[" + ", ".join(texts) + "]"


def _transition_nodes(text: str) -> dict[str, yaml.MappingNode]:
    """Each transition's mapping node, by id."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    out: dict[str, yaml.MappingNode] = {}
    if not isinstance(root, yaml.MappingNode):
        return out
    for key, value in root.value:
        if key.value == "transitions" and isinstance(value, yaml.SequenceNode):
            for item in value.value:
                if isinstance(item, yaml.MappingNode):
                    fields = {k.value: v for k, v in item.value}
                    tid = fields.get("id")
                    if isinstance(tid, yaml.ScalarNode):
                        out[str(tid.value)] = item
    return out


def _fields(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    return {str(k.value): v for k, v in node.value}


def _where(t: Transition) -> str:
    srcs = t.sources[0] if len(t.sources) == 1 else f"{t.sources[0]}+{len(t.sources) - 1}"
    return f"{t.id} [{srcs} {'/'.join(t.events)}]"


class _Builder:
    def __init__(self, text: str, spec: Spec, all_targets: bool) -> None:
        self.text = text
        self.spec = spec
        self.all_targets = all_targets
        self.out: list[Mutant] = []
        self.states = [s.name for s in spec.states]
        self.timers = list(spec.timers)
        initial = next(s.name for s in spec.states if s.initial)
        self.initial = initial

    def add(self, t: Transition, kind: str, detail: str, desc: str, node: yaml.Node, new: str) -> None:
        start, end = _span(node)
        self.add_span(t, kind, detail, desc, start, end, new)

    def add_span(self, t: Transition, kind: str, detail: str, desc: str, start: int, end: int, new: str) -> None:
        if self.text[start:end] == new:
            return
        line = self.text.count("\n", 0, start) + 1
        self.out.append(Mutant(f"{t.id}.{kind}:{detail}", kind, t.id, line, f"{_where(t)}: {desc}", start, end, new))

    # ------------------------------------------------------------------ operators
    def targets(self, t: Transition, node: yaml.Node) -> None:
        # the wrong branch: a state another transition of one of its (source, event) pairs enters
        entered = {other.target for other in self.spec.transitions
                   if set(other.sources) & set(t.sources) and set(other.events) & set(t.events)}
        options = [SAME] + [s for s in self.states if self.all_targets or s in entered or s == self.initial]
        for option in options:
            if option == t.target:
                continue
            if option == SAME and t.target in t.sources and len(t.sources) == 1:
                continue  # the same edge written another way
            if option != SAME and t.target == SAME and t.sources == (option,):
                continue
            self.add(t, "target", option, f"target {t.target} -> {option}", node, option)

    def guards(self, t: Transition, node: yaml.SequenceNode) -> None:
        items = [self.text[slice(*_span(n))] for n in node.value]
        start, end = _span(node)
        for i, ref in enumerate(t.guard):
            shown = ("not " if ref.negated else "") + ref.name
            kept = items[:i] + items[i + 1:]
            self.add_span(t, "guard-drop", shown, f"guard {shown!r} dropped", start, end, _flow_list(kept))
            flipped = ref.name if ref.negated else f"not {ref.name}"
            self.add_span(t, "guard-negate", shown, f"guard {shown!r} -> {flipped!r}", start, end,
                          _flow_list([*items[:i], _scalar(flipped), *items[i + 1:]]))

    def actions(self, t: Transition, node: yaml.SequenceNode) -> None:
        items = [self.text[slice(*_span(n))] for n in node.value]
        start, end = _span(node)
        if len(items) != len(t.actions):
            return  # an action the loader did not keep; nothing to align with
        for i, action in enumerate(t.actions):
            kept = _flow_list(items[:i] + items[i + 1:])
            if action.kind == "send":
                self.add_span(t, "send-drop", f"{i}", f"send {action.arg} dropped", start, end, kept)
                self.sends(t, i, action.arg, node.value[i])
            elif action.kind in ("start", "restart", "stop"):
                self.add_span(t, "timer-drop", f"{action.kind} {action.arg}", f"{action.kind}: {action.arg} dropped",
                              start, end, kept)
                if action.kind in ("start", "restart"):
                    for other in self.timers:
                        if other != action.arg:
                            self.add(t, "timer-swap", f"{action.kind} {action.arg}->{other}",
                                     f"{action.kind}: {action.arg} -> {other}", node.value[i],
                                     "{" + f"{action.kind}: {other}" + "}")
            else:
                what = str(action.arg) if action.kind == "effect" else f"{action.kind}: {action.arg}"
                self.add_span(t, "action-drop", f"{i}", f"action {what!r} dropped", start, end, kept)

    def sends(self, t: Transition, i: int, send: Send, node: yaml.Node) -> None:
        notation = isinstance(node, yaml.ScalarNode)
        target = node
        if isinstance(node, yaml.MappingNode):  # {send: ...}: the value
            value = node.value[0][1]
            notation = isinstance(value, yaml.ScalarNode)
            target = value

        def variant(kind: str, detail: str, desc: str, changed: Send) -> None:
            self.add(t, kind, f"{i}:{detail}", f"send {send} -> {changed} ({desc})", target,
                     render_send(changed, notation))

        names = _flag_names(send.ctl)
        if len(names) > 1:
            for name in names:
                rest = Flags(0)
                for other in names:
                    if other != name:
                        rest |= Flags[other]
                ack = None if name == "ACK" else send.ack
                variant("send-ctl", f"-{name}", f"CTL without {name}", Send(rest, send.seq, ack, send.data,
                                                                         send.throttle))
        for seq in SEND_SEQ:
            if seq != send.seq:
                variant("send-seq", seq, f"SEQ={seq}", Send(send.ctl, seq, send.ack, send.data, send.throttle))
        if send.ack is not None:
            for ack in SEND_ACK:
                if ack != send.ack:
                    variant("send-ack", ack, f"ACK={ack}", Send(send.ctl, send.seq, ack, send.data, send.throttle))
            variant("send-ack", "none", "no ACK field", Send(send.ctl, send.seq, None, send.data, send.throttle))
        if send.data:
            variant("send-data", "none", "no data", Send(send.ctl, send.seq, send.ack, False, send.throttle))


def generate(path: Path, *, all_targets: bool = False) -> list[Mutant]:
    """Every mutant of the base spec at ``path``, in file order (deterministic; ids unique)."""
    text = path.read_text()
    spec = load_spec(path)
    nodes = _transition_nodes(text)
    b = _Builder(text, spec, all_targets)
    for t in spec.transitions:
        node = nodes.get(t.id)
        if node is None or Path(t.file).resolve() != path.resolve():
            continue
        fields = _fields(node)
        if isinstance(fields.get("target"), yaml.ScalarNode):
            b.targets(t, fields["target"])
        guard = fields.get("guard")
        if isinstance(guard, yaml.SequenceNode) and len(guard.value) == len(t.guard):
            b.guards(t, guard)
        actions = fields.get("actions")
        if isinstance(actions, yaml.SequenceNode):
            b.actions(t, actions)
    ids = [m.id for m in b.out]
    if len(ids) != len(set(ids)):  # pragma: no cover - a bug of the operators
        raise AssertionError(f"duplicate mutant ids: {sorted(i for i in ids if ids.count(i) > 1)}")
    return sorted(b.out, key=lambda m: (m.start, m.id))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def iter_kinds(mutants: list[Mutant]) -> Iterator[tuple[str, int]]:
    for kind in KINDS:
        n = sum(1 for m in mutants if m.kind == kind)
        if n:
            yield kind, n
