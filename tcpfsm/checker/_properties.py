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

import numpy as np

from tcpfsm.spec._properties import (
    All,
    Any,
    ChannelHas,
    ChannelsEmpty,
    History,
    HistoryVar,
    InState,
    Not,
    Predicate,
    StepPattern,
)


# ------------------------------------------------------------------ Python, one state
class View:
    """A decoded global state: the states of A and B, history values by name, and the control
    bits of every segment in flight (``ab``: from A to B, head first)."""

    __slots__ = ("ab", "ba", "hist", "sa", "sb")

    def __init__(self, sa: str, sb: str, hist: Mapping[str, str], ab: tuple[int, ...], ba: tuple[int, ...]) -> None:
        self.sa, self.sb, self.hist, self.ab, self.ba = sa, sb, hist, ab, ba

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
    raise TypeError(f"not a predicate node: {p!r}")


# ------------------------------------------------------------------ numpy, a level
@dataclass
class Fields:
    """A batch of global states, one array per field (all of length ``n``).

    ``local``: local ids of A and B; ``state_names``: the state of each local id; ``hist``:
    value index per history variable; ``slots``: per channel, the segment id in each slot (0:
    empty; slots fill from 0); ``seg_bits``: the control bits of each segment id.
    """

    n: int
    local: dict[str, np.ndarray]
    state_names: Sequence[str]
    hist: dict[str, np.ndarray]
    hist_values: dict[str, tuple[str, ...]]
    slots: dict[str, list[np.ndarray]]
    seg_bits: np.ndarray
    luts: dict[InState, np.ndarray] = field(default_factory=dict)  # per node: which local ids match


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
                 sent_bits: Sequence[int]) -> bool:
    """Does one endpoint move match a step property's ``never:`` pattern?"""
    if pat.receives and not input_bits & pat.receives:
        return False
    if pat.sends and not any(b & pat.sends for b in sent_bits):
        return False
    if pat.source is not None and source != pat.source:
        return False
    if pat.target is not None and target != pat.target:
        return False
    return not (pat.passive is not None and passive != pat.passive)


__all__ = ["Fields", "View", "holds", "mask", "next_history", "step_matches"]
