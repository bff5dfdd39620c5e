"""Coverage of the spec's rows by a finished search: which transitions (by id) some reachable
move fired, and which never did, as SPIN's "unreached in proctype" lists the statements a
search never executed.

A row fired when some reachable global state has an enabled move whose local step took it
(the Endpoint's ``last_steps``, kept in each memoized result). Enabled: as the search has it
(a retransmission within the budget, replies that fit a blocking channel). The reachable
states are read back from the expander's visited set, grouped by what decides an endpoint's
moves (its local id, retransmission counter, the segments it may take and how full its output
channel is), so the pass costs one decode per state and one lookup per group and move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tcpfsm.checker._driver import Search
from tcpfsm.checker._local import Result
from tcpfsm.checker._moves import CALL, DATA, RECV, REOPEN


@dataclass(frozen=True)
class Coverage:
    rows: int                       # the spec's transitions
    fired: tuple[str, ...]          # ids of the rows some reachable move took, in the spec's order
    never: tuple[str, ...]          # ids of the rows no reachable move took, in the spec's order

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "fired": len(self.fired), "never_fired": list(self.never)}


def endpoint_groups(search: Search) -> set[tuple[str, int, int, tuple[int, ...], int, bool]]:
    """What decides each endpoint's moves in the reachable states, deduplicated: (who, local id,
    retransmission counter, the segments it may take (the head; all when the network reorders),
    how many segments its output channel holds, whether any segment is in flight)."""
    system = search.system
    reorder = system.cfg.channel.reordering
    visited = search.expander.visited  # type: ignore[attr-defined]
    groups: set[tuple[str, int, int, tuple[int, ...], int, bool]] = set()
    if isinstance(visited, np.ndarray):  # the vector engine: one uint64 per state, fields by numpy
        L = system.layout
        U = np.uint64

        def field(off: int, bits: int) -> np.ndarray:
            return ((visited >> U(off)) & U((1 << bits) - 1)).astype(np.int64)

        la, lb = field(0, L.local_bits), field(L.off_lb, L.local_bits)
        ra, rb = (field(L.off_ra, L.retry_bits), field(L.off_rb, L.retry_bits)) if L.retry_bits else (
            np.zeros_like(la), np.zeros_like(la))
        slots = {c: [field(off + L.seg_bits * j, L.seg_bits) for j in range(L.capacity)]
                 for c, off in (("AB", L.off_ab), ("BA", L.off_ba))}
        length = {c: sum((q != 0).astype(np.int64) for q in qs) for c, qs in slots.items()}
        busy = ((length["AB"] + length["BA"]) > 0).astype(np.int64)
        for who, me, rx, inq, outq in (("A", la, ra, "BA", "AB"), ("B", lb, rb, "AB", "BA")):
            ins = slots[inq] if reorder else slots[inq][:1]
            rows = _unique_rows([me, rx, *ins, length[outq], busy])
            for row in rows:
                groups.add((who, row[0], row[1], tuple(x for x in row[2:-2] if x), row[-2], bool(row[-1])))
        return groups
    # "busy": the 2MSL timer is held back (System.successors): segments in flight, or (with
    # incarnations, plain engine only) the peer's retransmission armed
    rtx: frozenset[str] = (getattr(system, "retransmitting", frozenset()) if getattr(system, "outlasting", None)
                           else frozenset())
    armed = system.lm.armed
    for s in visited:
        d = system.decode(int(s))
        on = bool(d.ab or d.ba)
        groups.add(("A", d.la, d.ra, d.ba if reorder else d.ba[:1], len(d.ab), on or bool(rtx and armed(d.lb) & rtx)))
        groups.add(("B", d.lb, d.rb, d.ab if reorder else d.ab[:1], len(d.ba), on or bool(rtx and armed(d.la) & rtx)))
    return groups


def _unique_rows(cols: list[np.ndarray]) -> list[list[int]]:
    """The distinct rows of equal-length columns (one mixed-radix int64 key per row, sorted)."""
    radix = [int(c.max()) + 1 if len(c) else 1 for c in cols]
    if sum(r.bit_length() for r in radix) > 62:  # pragma: no cover - wider than any layout of 64 bits
        return [list(r) for r in np.unique(np.stack(cols, axis=1), axis=0).tolist()]
    key = np.zeros(len(cols[0]), dtype=np.int64)
    for c, r in zip(cols, radix, strict=True):
        key = key * r + c
    out = []
    for k in np.unique(key).tolist():
        row = []
        for r in reversed(radix):
            k, v = divmod(k, r)
            row.append(v)
        out.append(row[::-1])
    return out


def coverage(search: Search) -> Coverage:
    """The spec rows the search's reachable moves fired (the search must have finished)."""
    system = search.system
    lm, ch, K, R = system.lm, system.cfg.channel, system.K, system.R
    block = ch.when_full == "block"
    outlasting: frozenset[str] = getattr(system, "outlasting", frozenset())  # timers that wait for an empty network
    groups = endpoint_groups(search)
    fired: set[str] = set()

    def take(res: Result | None, out_len: int) -> None:
        if res is None or (block and out_len + len(res.sent) > K):
            return
        fired.update(t[3] for t in res.info.transitions)

    for who, me, rx, inq, out_len, busy in groups:
        for mv in system.moves.of(who):
            if mv.kind == RECV:
                for sid in inq:
                    take(lm.receive(me, sid), out_len)
            elif mv.kind == CALL:
                take(lm.user(me, mv.arg), out_len)
            elif mv.kind == DATA:
                take(lm.data(me), out_len)
            elif mv.kind == REOPEN:
                take(lm.reopen(me, mv.arg, who), out_len)
            else:
                if (system.count_rtx and mv.retries and rx >= R) or (mv.arg in outlasting and busy):
                    continue
                take(lm.timer(me, mv.arg), out_len)
    # the opening calls fire their rows once, before the first state
    for who in ("A", "B"):
        take(lm.open(who, system.cfg.open[who]), 0)
    ids = [t.id for t in system.cfg.spec.transitions]
    return Coverage(len(ids), tuple(i for i in ids if i in fired), tuple(i for i in ids if i not in fired))


__all__ = ["Coverage", "coverage", "endpoint_groups"]
