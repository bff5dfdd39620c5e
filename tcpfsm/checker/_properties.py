"""The two evaluators of the property language (``tcpfsm.spec._properties``), side by side.

- :func:`holds`: Python, one decoded global state (a :class:`View`), for the plain engine,
  liveness, traces and the stateful tests over an ``EndpointPair``;
- :func:`mask`: numpy, a whole BFS level at once (:class:`Fields`), for the vector engine.
Both read the same frozen nodes; a new predicate keyword is one branch in each (and a
differential test, ``tests/test_properties.py``, makes them agree on random states).
History rules (:func:`next_history`) and step patterns (:func:`step_matches`) have one
implementation each, used by both engines (the vector engine tabulates them) and by the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from tcpfsm.spec._properties import (
    All,
    Any,
    BeyondPeer,
    ChannelHas,
    ChannelsEmpty,
    Delivered,
    History,
    HistoryVar,
    InState,
    Not,
    Predicate,
    StepPattern,
)

_ACK = 0x10
_SEQ_MOD, _HALF = 1 << 32, 1 << 31
PEER = {"A": "B", "B": "A"}
OUT = {"A": "AB", "B": "BA"}  # the channel an endpoint sends into


class Numbers(Protocol):
    """What the numeric nodes read of one endpoint (``tcpfsm.checker._local.Numbers``)."""

    @property
    def iss(self) -> int: ...
    @property
    def irs(self) -> int: ...
    @property
    def snd_nxt(self) -> int: ...
    @property
    def rcv_nxt(self) -> int: ...
    @property
    def synced(self) -> int: ...
    @property
    def sent_first(self) -> int: ...
    @property
    def sent_total(self) -> int: ...
    @property
    def delivered_start(self) -> int: ...
    @property
    def delivered_len(self) -> int: ...


def _seq_lt(a: int, b: int) -> bool:
    return 0 < (b - a) % _SEQ_MOD < _HALF


def _delivered_ok(x: Numbers, y: Numbers, extent: str) -> bool:
    """Are x's delivered bytes a prefix of (or all of) the bytes y's user sent?"""
    sent = y.sent_total - y.sent_first
    if x.delivered_len == 0:
        return extent == "prefix" or sent == 0
    in_order = x.delivered_start == y.sent_first and x.delivered_len <= sent
    return in_order and (extent == "prefix" or x.delivered_len == sent)


# ------------------------------------------------------------------ Python, one state
class View:
    """A decoded global state: the states of A and B, history values by name, and the control
    bits of every segment in flight (``ab``: from A to B, head first). The numeric nodes also
    read ``numbers`` (per endpoint, :class:`Numbers`) and ``acks`` (per channel, the SEG.ACK of
    each segment in flight, aligned with ``ab``/``ba``); a view without them (a control
    projection, a hand-made view) has no two endpoints in one incarnation, so nothing to compare
    (the checker never asks: it refuses those properties on the control projection)."""

    __slots__ = ("ab", "acks", "ba", "hist", "numbers", "sa", "sb")

    def __init__(self, sa: str, sb: str, hist: Mapping[str, str], ab: tuple[int, ...], ba: tuple[int, ...],
                 numbers: Mapping[str, Numbers] | None = None,
                 acks: Mapping[str, tuple[int, ...]] | None = None) -> None:
        self.sa, self.sb, self.hist, self.ab, self.ba = sa, sb, hist, ab, ba
        self.numbers, self.acks = numbers, acks

    def __repr__(self) -> str:
        return f"View(A={self.sa}, B={self.sb}, hist={dict(self.hist)}, AB={self.ab}, BA={self.ba})"


def holds(p: Predicate, v: View) -> bool:
    """Does the predicate hold in this state?"""
    if isinstance(p, InState):
        return (v.sa if p.who == "A" else v.sb) in p.states
    if isinstance(p, All):
        return all(holds(x, v) for x in p.items)
    if isinstance(p, Any):
        return any(holds(x, v) for x in p.items)
    if isinstance(p, Not):
        return not holds(p.item, v)
    if isinstance(p, History):
        return v.hist.get(p.name) == p.value
    if isinstance(p, ChannelsEmpty):
        return not v.ab and not v.ba
    if isinstance(p, ChannelHas):
        return any(bits & p.flag_bits for bits in (v.ab if p.channel == "AB" else v.ba))
    if isinstance(p, BeyondPeer | Delivered):
        if v.numbers is None or v.acks is None:
            return isinstance(p, Delivered)  # no numbers: as if not in one incarnation
        x, y = v.numbers[p.who], v.numbers[PEER[p.who]]
        if not (x.synced and x.irs == y.iss):  # not the same incarnation: nothing to compare
            return isinstance(p, Delivered)
        if isinstance(p, Delivered):
            return _delivered_ok(x, y, p.extent)
        if p.variable == "RCV.NXT":
            return _seq_lt(y.snd_nxt, x.rcv_nxt)
        chan = OUT[p.who]
        return any(bits & _ACK and _seq_lt(y.snd_nxt, ack)
                   for bits, ack in zip(v.ab if chan == "AB" else v.ba, v.acks[chan], strict=True))
    raise TypeError(f"not a predicate node: {p!r}")


# ------------------------------------------------------------------ numpy, a level
@dataclass
class Fields:
    """A batch of global states, one array per field (all of length ``n``).

    ``local``: local ids of A and B; ``state_names``: the state of each local id; ``hist``:
    value index per history variable; ``slots``: per channel, the segment id in each slot (0:
    empty; slots fill from 0); ``seg_bits``: the control bits of each segment id; for the
    numeric nodes, ``numbers``: per :class:`Numbers` field an array over local ids, and
    ``seg_ack``: the SEG.ACK of each segment id.
    """

    n: int
    local: dict[str, np.ndarray]
    state_names: Sequence[str]
    hist: dict[str, np.ndarray]
    hist_values: dict[str, tuple[str, ...]]
    slots: dict[str, list[np.ndarray]]
    seg_bits: np.ndarray
    luts: dict[InState, np.ndarray] = field(default_factory=dict)  # per node: which local ids match
    numbers: Mapping[str, np.ndarray] | None = None
    seg_ack: np.ndarray | None = None


def _seq_lt_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (b - a) % _SEQ_MOD
    out: np.ndarray = (d > 0) & (d < _HALF)
    return out


def mask(p: Predicate, f: Fields) -> np.ndarray:
    """A boolean array: does the predicate hold in each state of the batch?"""
    if isinstance(p, InState):
        lut = f.luts.get(p)
        if lut is None:
            lut = f.luts[p] = np.array([s in p.states for s in f.state_names], dtype=bool)
        out: np.ndarray = lut[f.local[p.who]]
        return out
    if isinstance(p, All):
        res = np.ones(f.n, dtype=bool)
        for x in p.items:
            res &= mask(x, f)
        return res
    if isinstance(p, Any):
        res = np.zeros(f.n, dtype=bool)
        for x in p.items:
            res |= mask(x, f)
        return res
    if isinstance(p, Not):
        return ~mask(p.item, f)
    if isinstance(p, History):
        eq: np.ndarray = f.hist[p.name] == f.hist_values[p.name].index(p.value)
        return eq
    if isinstance(p, ChannelsEmpty):
        empty: np.ndarray = (f.slots["AB"][0] == 0) & (f.slots["BA"][0] == 0)
        return empty
    if isinstance(p, ChannelHas):
        res = np.zeros(f.n, dtype=bool)
        for sid in f.slots[p.channel]:
            res |= (f.seg_bits[sid] & p.flag_bits) != 0
        return res
    if isinstance(p, BeyondPeer | Delivered):
        if f.numbers is None or f.seg_ack is None:  # no numbers: as if not in one incarnation (see View)
            none: np.ndarray = np.full(f.n, isinstance(p, Delivered), dtype=bool)
            return none
        num = f.numbers
        lx, ly = f.local[p.who], f.local[PEER[p.who]]
        paired = (num["synced"][lx] != 0) & (num["irs"][lx] == num["iss"][ly])
        if isinstance(p, Delivered):
            start, length = num["delivered_start"][lx], num["delivered_len"][lx]
            first = num["sent_first"][ly]
            sent = num["sent_total"][ly] - first
            in_order = (start == first) & (length <= sent)
            ok = np.where(length == 0, sent == 0, in_order & (length == sent)) if p.extent == "all" else \
                (length == 0) | in_order
            fine: np.ndarray = ~paired | ok
            return fine
        snd_nxt = num["snd_nxt"][ly]
        if p.variable == "RCV.NXT":
            beyond: np.ndarray = paired & _seq_lt_np(snd_nxt, num["rcv_nxt"][lx])
            return beyond
        acks = np.zeros(f.n, dtype=bool)
        for sid in f.slots[OUT[p.who]]:
            acks |= ((f.seg_bits[sid] & _ACK) != 0) & _seq_lt_np(snd_nxt, f.seg_ack[sid])
        acks &= paired
        return acks
    raise TypeError(f"not a predicate node: {p!r}")


# ------------------------------------------------------------------ history rules, step patterns
def next_history(hv: HistoryVar, cur: int, event: str, input_bits: int, source: str, target: str) -> int:
    """The value of ``hv`` after a move of its endpoint (``cur`` and the result: value indices).

    ``event`` is the move's event (``close``, ``recv``, ``timeout``, ...), ``input_bits`` the
    control bits of the segment received (0: none), ``source``/``target`` the states before and after.
    """
    for r in hv.rules:
        if r.source is not None and r.source != cur:
            continue
        if r.enters is not None and not (target == r.enters and source != target):
            continue
        if r.event is not None and r.event != event:
            continue
        if r.input_bits and not input_bits & r.input_bits:
            continue
        if r.changes_state is not None and r.changes_state != (source != target):
            continue
        return r.to
    return cur


def step_matches(pat: StepPattern, source: str, target: str, passive: bool, input_bits: int,
                 sent_bits: Sequence[int], relation: str | None = None, accepts: bool = False,
                 clean: bool = False) -> bool:
    """Does one endpoint move match a step property's ``never:`` pattern? ``relation``: the received
    segment's incarnation against the receiver's (same, older, newer; None: unknown), ``accepts``:
    the move accepted text or a FIN of it, ``clean``: its sender reopened after an orderly end
    (incarnations: ``check --reopen``)."""
    if pat.receives and not input_bits & pat.receives:
        return False
    if pat.sends and not any(b & pat.sends for b in sent_bits):
        return False
    if pat.source is not None and source != pat.source:
        return False
    if pat.target is not None and target != pat.target:
        return False
    if pat.incarnation is not None:
        if relation is None:
            return False
        if relation != pat.incarnation and not (pat.incarnation == "other" and relation != "same"):
            return False
    if pat.accepts is not None and accepts != pat.accepts:
        return False
    if pat.reopened_in_order is not None and clean != pat.reopened_in_order:
        return False
    return not (pat.passive is not None and passive != pat.passive)


__all__ = ["PEER", "Fields", "Numbers", "View", "holds", "mask", "next_history", "step_matches"]
