"""The vector expander: whole BFS levels expanded with numpy table lookups.

The endpoint-local tables (from :mod:`._local`, i.e. from the spec's own Endpoint) are first
closed over every move of the move table, then laid out as dense integer arrays, and the run's
layout is made tight (:meth:`~tcpfsm.checker._layout.Layout.tight`): a global state is one
uint64 with the same fields as the plain engine's ints, so traces and the Python evaluator read
the vector engine's states directly. Each chunk (a whole level) is one batch: every move is a
handful of array operations over it; successors are deduplicated by sorting and merged into a
sorted visited array, so every level is sorted.

Same states, transitions, depths, verdicts and shortest counterexamples as the plain expander
(tests compare them); used for FIFO channels (lossy or not) with blocking sends and safety
properties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tcpfsm.checker._driver import Expansion
from tcpfsm.checker._layout import Layout
from tcpfsm.checker._local import Result
from tcpfsm.checker._moves import CALL, LOSE, RECV, Move
from tcpfsm.checker._properties import Fields, mask, next_history
from tcpfsm.checker._search import System
from tcpfsm.spec._properties import AnyProperty, InState, LeadsTo, Predicate, StepProperty

U64 = np.uint64


class Unsupported(Exception):
    """The configuration needs the plain expander (reordering, duplication, too many bits)."""


@dataclass
class Table:
    """A local move over (local id[, segment id]): next local (-1: disabled), outputs, state changed,
    per history variable of the moving endpoint its new value for each current one, step matches."""

    nxt: np.ndarray
    outs: np.ndarray     # [..., M] segment ids, 0 = none
    nout: np.ndarray
    changed: np.ndarray  # bool
    hist: dict[int, np.ndarray] = field(default_factory=dict)  # history index -> [..., values] -> new value
    steps: np.ndarray | None = None  # int64: bit j set when the move matches step property j
    results: dict[tuple[int, ...], Result] = field(default_factory=dict)


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values; much faster than np.unique (hash based in numpy 2) on uint64."""
    if len(x) == 0:
        return x
    x = np.sort(x)
    keep = np.empty(len(x), dtype=bool)
    keep[0] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    out: np.ndarray = x[keep]
    return out


class VectorExpander:
    MAX_LOCALS = 4096
    MAX_SEGMENTS = 256  # ids 0..255

    def __init__(self, system: System, properties: Sequence[AnyProperty] = ()) -> None:
        ch = system.cfg.channel
        if ch.reordering or ch.duplicating or ch.when_full != "block":
            raise Unsupported("the vectorised search covers FIFO channels with blocking sends")
        if any(isinstance(p, LeadsTo) for p in properties):
            raise Unsupported("liveness needs the state graph of the plain search")
        self.system = system
        if not system.close_tables(self.MAX_LOCALS, self.MAX_SEGMENTS):
            raise Unsupported("the local tables are too large for the vectorised search")
        lm = system.lm
        self.nl, self.ns = len(lm.locals), len(lm.segments)
        layout = Layout.tight(self.nl, self.ns, system.R, tuple(len(h.values) for h in system.hist), system.K)
        if layout.total_bits > 64:
            raise Unsupported(f"a state needs {layout.total_bits} bits; the vectorised search packs at most 64")
        system.use_layout(layout)
        self.L = layout
        self.state_names = [lm.state_name(i) for i in range(self.nl)]
        self.seg_bits = np.array(system.seg_bits[: self.ns], dtype=np.int64)
        self.visited = np.empty(0, dtype=np.uint64)
        self._luts: dict[InState, np.ndarray] = {}
        self._build_tables()

    # ------------------------------------------------------------ tables
    def _build_tables(self) -> None:
        sys_, lm = self.system, self.system.lm
        base: dict[tuple[str, str], Table] = {}

        def build(kind: str, arg: str) -> Table:
            shape: tuple[int, ...] = (self.nl, self.ns) if kind == RECV else (self.nl,)
            results: dict[tuple[int, ...], Result] = {}
            for lid in range(self.nl):
                if kind == RECV:
                    for sid in range(1, self.ns):
                        results[(lid, sid)] = lm.receive(lid, sid)
                else:
                    res = lm.user(lid, arg) if kind == CALL else lm.timer(lid, arg)
                    if res is not None:
                        results[(lid,)] = res
            m = max([len(r.sent) for r in results.values()] + [1])
            tab = Table(np.full(shape, -1, dtype=np.int64), np.zeros((*shape, m), dtype=np.int64),
                        np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=bool), results=results)
            for idx, res in results.items():
                tab.nxt[idx] = res.local
                for j, sid in enumerate(res.sent):
                    tab.outs[(*idx, j)] = sid
                tab.nout[idx] = len(res.sent)
                tab.changed[idx] = res.info.source != res.info.target
            return tab

        self.tables: list[tuple[Move, Table]] = []
        for mv in sys_.moves.moves:
            if not mv.who:
                continue
            key = (mv.kind, mv.arg)
            if key not in base:
                base[key] = build(*key)
            b = base[key]
            tab = Table(b.nxt, b.outs, b.nout, b.changed, results=b.results)
            for i, hv in enumerate(sys_.hist):
                if hv.of != mv.who:
                    continue
                nv = len(hv.values)
                arr = np.tile(np.arange(nv, dtype=np.int64), (*b.nxt.shape, 1))
                for idx, res in b.results.items():
                    bits = int(self.seg_bits[idx[1]]) if mv.kind == RECV else 0
                    for v in range(nv):
                        arr[(*idx, v)] = next_history(hv, v, mv.event, bits, res.info.source, res.info.target)
                tab.hist[i] = arr
            self.tables.append((mv, tab))

    def watch_steps(self, steps: Sequence[StepProperty]) -> None:
        """Tabulate, per local move, which step properties it matches."""
        if len(steps) > 62:
            raise Unsupported("more than 62 step properties")
        for mv, tab in self.tables:
            if not steps:
                tab.steps = None
                continue
            arr = np.zeros(tab.nxt.shape, dtype=np.int64)
            for idx, res in tab.results.items():
                arr[idx] = self.system.step_mask(steps, (idx[0], idx[1] if mv.kind == RECV else 0, res))
            tab.steps = arr

    # ------------------------------------------------------------ fields
    def _slots(self, F: np.ndarray, off: int) -> list[np.ndarray]:
        sb = self.L.seg_bits
        smask = U64((1 << sb) - 1)
        return [((F >> U64(off + sb * j)) & smask).astype(np.int64) for j in range(self.L.capacity)]

    def fields(self, F: np.ndarray) -> Fields:
        """The batch as the numpy evaluator reads it."""
        L = self.L
        lmask = U64((1 << L.local_bits) - 1)
        hist = {}
        for i, hv in enumerate(self.system.hist):
            w = L.hist_bits[i]
            hist[hv.name] = ((F >> U64(L.off_h + L.hist_shift[i])) & U64((1 << w) - 1)).astype(np.int64)
        return Fields(len(F), {"A": (F & lmask).astype(np.int64), "B": ((F >> U64(L.off_lb)) & lmask).astype(np.int64)},
                      self.state_names, hist, {hv.name: hv.values for hv in self.system.hist},
                      {"AB": self._slots(F, L.off_ab), "BA": self._slots(F, L.off_ba)}, self.seg_bits, self._luts)

    # ------------------------------------------------------------ expansion
    def successors(self, F: np.ndarray) -> tuple[list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]],
                                                  np.ndarray]:
        """Successors of every state of F, per move: (label, successors, source index, step bits);
        and the number of enabled moves per state."""
        L, K = self.L, self.L.capacity
        sb = L.seg_bits
        smask = U64((1 << sb) - 1)
        cmask = U64((1 << L.chan_bits) - 1)
        lmask, rmask = U64((1 << L.local_bits) - 1), U64((1 << L.retry_bits) - 1)
        chan = {"AB": (F >> U64(L.off_ab)) & cmask, "BA": (F >> U64(L.off_ba)) & cmask}
        length = {}
        for name, q in chan.items():
            n = np.zeros(len(F), dtype=np.int64)
            for j in range(K):
                n += ((q >> U64(sb * j)) & smask) != 0
            length[name] = n
        local = {"A": (F & lmask).astype(np.int64), "B": ((F >> U64(L.off_lb)) & lmask).astype(np.int64)}
        retry = {"A": ((F >> U64(L.off_ra)) & rmask).astype(np.int64),
                 "B": ((F >> U64(L.off_rb)) & rmask).astype(np.int64)}
        hist = {i: ((F >> U64(L.off_h + L.hist_shift[i])) & U64((1 << w) - 1)).astype(np.int64)
                for i, w in enumerate(L.hist_bits)}
        off = {"la": 0, "lb": L.off_lb, "ra": L.off_ra, "rb": L.off_rb, "AB": L.off_ab, "BA": L.off_ba}
        idx_all = np.arange(len(F))
        enabled = np.zeros(len(F), dtype=np.int64)
        out: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]] = []

        def put(values: np.ndarray, base: np.ndarray, name: str, width: int) -> np.ndarray:
            o = U64(off[name])
            return (base & ~(U64((1 << width) - 1) << o)) | (values.astype(np.uint64) << o)

        for mv, tab in self.tables:
            who = mv.who
            me, rx = local[who], retry[who]
            lname, rname = ("la", "ra") if who == "A" else ("lb", "rb")
            inq, outq = ("BA", "AB") if who == "A" else ("AB", "BA")
            new_in: np.ndarray | None = None
            rtx_inc = False
            if mv.kind == RECV:
                head = (chan[inq] & smask).astype(np.int64)
                sel = idx_all[head != 0]
                if not len(sel):
                    continue
                key: tuple[np.ndarray, ...] = (me[sel], head[sel])
                new_in = chan[inq][sel] >> U64(sb)
            else:
                rtx_inc = self.system.count_rtx and mv.retries
                sel = idx_all[rx < self.system.R] if rtx_inc else idx_all
                if not len(sel):
                    continue
                key = (me[sel],)
            ok = tab.nxt[key] >= 0
            ok &= length[outq][sel] + tab.nout[key] <= K
            if not ok.any():
                continue
            src = sel[ok]
            k2 = tuple(k[ok] for k in key)
            nxt = put(tab.nxt[k2], F[src], lname, L.local_bits)
            nrx = rx[src] + 1 if rtx_inc else np.where(tab.changed[k2], 0, rx[src])
            nxt = put(nrx, nxt, rname, L.retry_bits)
            for i, arr in tab.hist.items():
                o = U64(L.off_h + L.hist_shift[i])
                nxt = (nxt & ~(U64((1 << L.hist_bits[i]) - 1) << o)) | (arr[(*k2, hist[i][src])].astype(np.uint64) << o)
            oq = chan[outq][src]
            olen = length[outq][src]
            outs = tab.outs[k2]
            for j in range(outs.shape[1]):
                sid = outs[:, j].astype(np.uint64)
                shift = ((olen + j) * sb).astype(np.uint64)
                oq = np.where(sid != 0, oq | (sid << np.minimum(shift, U64(63))), oq)
            nxt = put(oq, nxt, outq, L.chan_bits)
            if new_in is not None:
                nxt = put(new_in[ok], nxt, inq, L.chan_bits)
            enabled[src] += 1
            out.append((mv.labels[0], nxt, src, tab.steps[k2] if tab.steps is not None else None))
        for mv in self.system.moves.network:
            if mv.kind != LOSE:
                continue
            sel = idx_all[length[mv.channel] > 0]
            if len(sel):
                nxt = put(chan[mv.channel][sel] >> U64(sb), F[sel], mv.channel, L.chan_bits)
                enabled[sel] += 1
                out.append((mv.labels[0], nxt, sel, None))
        return out, enabled

    # ------------------------------------------------------------ the driver's interface
    def start(self) -> np.ndarray:
        init = np.array([self.system.initial()], dtype=np.uint64)
        self.visited = init.copy()
        return init

    def chunks(self, frontier: np.ndarray) -> list[np.ndarray]:
        return [frontier]

    def join(self, parts: list[np.ndarray]) -> np.ndarray:
        if not parts:
            return np.empty(0, dtype=np.uint64)
        return parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))

    def visited_count(self) -> int:
        return len(self.visited)

    def expand(self, chunk: np.ndarray, steps: bool, keep_graph: bool) -> Expansion:
        if keep_graph:
            raise Unsupported("the vectorised search keeps no state graph")
        succ, enabled = self.successors(chunk)
        cand = _sorted_unique(np.concatenate([s for _, s, _, _ in succ])) if succ else np.empty(0, np.uint64)
        visited = self.visited
        pos = np.minimum(np.searchsorted(visited, cand), len(visited) - 1)
        new = cand[visited[pos] != cand]
        if len(new):
            visited = np.concatenate([visited, new])
            visited.sort()  # numpy's SIMD sort; measured faster than a merge of the two runs
            self.visited = visited
        hits: dict[int, tuple[int, str, int]] = {}
        if steps:
            for label, nxt, src, bits in succ:
                if bits is None or not bits.any():
                    continue
                for j in range(int(np.bitwise_or.reduce(bits)).bit_length()):
                    if j in hits:
                        continue
                    hit = np.flatnonzero(bits & (1 << j))
                    if len(hit):
                        i = int(hit[0])
                        hits[j] = (int(chunk[src[i]]), label, int(nxt[i]))
        return Expansion(int(enabled.sum()), new, chunk[enabled == 0], hits)

    def first(self, predicates: Sequence[Predicate], states: np.ndarray) -> list[int | None]:
        f = self.fields(states)
        out: list[int | None] = []
        for p in predicates:
            hit = np.flatnonzero(mask(p, f))
            out.append(int(states[hit[0]]) if len(hit) else None)
        return out

    def predecessor(self, level: np.ndarray, target: int) -> tuple[int, str]:
        succ, _ = self.successors(level)
        best: tuple[int, str] | None = None
        t = U64(target)
        for label, nxt, src, _ in succ:
            hit = np.flatnonzero(nxt == t)
            if len(hit) and (best is None or int(src[hit[0]]) < best[0]):
                best = (int(src[hit[0]]), label)
        if best is None:  # pragma: no cover - levels always hold a predecessor
            raise RuntimeError("no predecessor while rebuilding a counterexample")
        return int(level[best[0]]), best[1]


__all__ = ["Unsupported", "VectorExpander"]
