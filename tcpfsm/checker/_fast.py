"""Vectorised breadth-first search: whole BFS levels expanded with numpy table lookups.

The endpoint-local tables (from :mod:`._local`, i.e. from the spec's own Endpoint) are first
closed over every input they can meet, then laid out as dense integer arrays. A global state
is one uint64 (fields: local ids, retransmission counters, history values, two channels as
sequences of small segment ids, head in the low bits). Each level of the search is one batch:
every event kind is a handful of array operations over the whole frontier; successors are
deduplicated with ``np.unique`` and merged into a sorted visited array.

Same states, transitions, depths, verdicts and shortest counterexamples as the plain search
(tests compare them); used for FIFO channels (lossy or not) and safety properties.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from tcpfsm.checker._local import Result
from tcpfsm.checker._properties import Property, step_matches
from tcpfsm.checker._search import EVENT_NAME, TIMERS, Finding, Stats, System, end_of_level, peak_rss_mib
from tcpfsm.checker._search import USER_CALLS as USER_MOVES

TIMER_MOVES = TIMERS

U64 = np.uint64



class Unsupported(Exception):
    """The configuration needs the plain search (reordering, duplication, too many bits)."""


@dataclass
class Table:
    """A local move table over (local id[, segment id]): next local, outputs, state changed."""

    nxt: np.ndarray      # -1 where disabled
    outs: np.ndarray     # [..., M] segment ids, 0 = none
    nout: np.ndarray
    changed: np.ndarray  # bool
    hist: list[np.ndarray]  # per history var: [..., values] -> new value
    step_hit: np.ndarray | None = None  # the move matches a step property


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


def _bits(n: int) -> int:
    return max(1, int(n).bit_length())


class FastSearch:
    def __init__(self, system: System, properties: list[Property]) -> None:
        ch = system.cfg.channel
        if ch.reordering or ch.duplicating or ch.when_full != "block":
            raise Unsupported("the vectorised search covers FIFO channels with blocking sends")
        if any(p.kind == "leads_to" for p in properties):
            raise Unsupported("liveness needs the state graph of the plain search")
        self.sys = system
        self.props = properties
        self.findings: dict[str, Finding] = {}
        self.stats = Stats()
        self.graph = None
        self._close_tables()
        self._layout()

    # ------------------------------------------------------------ tables
    MAX_LOCALS = 4096

    def _close_tables(self) -> None:
        """Run every input on every local state until no new local state or segment appears."""
        sys_, lm = self.sys, self.sys.lm
        self.init_py = sys_.initial()
        done: set[int] = set()
        while True:
            before = (len(lm.locals), len(lm.segments))
            for lid in range(len(lm.locals)):
                known = lid in done
                for c in USER_MOVES:
                    lm.user(lid, c)
                for t in TIMER_MOVES:
                    lm.timer(lid, t)
                for sid in range(1, len(lm.segments)):
                    if not known or sid >= before[1] - 0:
                        lm.receive(lid, sid)
                done.add(lid)
            if len(lm.locals) > self.MAX_LOCALS or len(lm.segments) > 255:
                raise Unsupported("the local tables are too large for the vectorised search")
            if (len(lm.locals), len(lm.segments)) == before:
                break
        sys_._sync_segments()
        self.nl = len(lm.locals)
        self.ns = len(lm.segments)  # ids 0..ns-1; 0 is "no segment"
        hists = sys_.hist
        sizes = [len(r.sent) for (_l, _k, _a), r in lm._memo.items() if r is not None]
        M = self.M = max([*sizes, 1])
        self.state_names = [lm.state_name(i) for i in range(self.nl)]

        def build(move: Callable[[int], Result | None], event: str, who: str) -> Table:
            nxt = np.full((self.nl,), -1, dtype=np.int64)
            outs = np.zeros((self.nl, M), dtype=np.int64)
            nout = np.zeros((self.nl,), dtype=np.int64)
            changed = np.zeros((self.nl,), dtype=bool)
            hist = [np.tile(np.arange(len(h.values), dtype=np.int64), (self.nl, 1)) for h in hists]
            for lid in range(self.nl):
                res = move(lid)
                if res is not None:
                    self._fill(lid, res, nxt, outs, nout, changed, hist, who, event, 0)
            return Table(nxt, outs, nout, changed, hist, None)

        self.tables: dict[tuple[str, str], Table] = {}
        for who in ("A", "B"):
            for c in USER_MOVES:
                self.tables[(who, c)] = build(partial(lm.user, call=c), EVENT_NAME[c], who)
            for timer in TIMER_MOVES:
                self.tables[(who, "timer_" + timer)] = build(partial(lm.timer, timer=timer), EVENT_NAME[timer], who)
            shape2 = (self.nl, self.ns)
            nxt = np.full(shape2, -1, dtype=np.int64)
            outs = np.zeros((*shape2, M), dtype=np.int64)
            nout = np.zeros(shape2, dtype=np.int64)
            changed = np.zeros(shape2, dtype=bool)
            hist = [np.tile(np.arange(len(h.values), dtype=np.int64), (self.nl, self.ns, 1)) for h in hists]
            for lid in range(self.nl):
                for sid in range(1, self.ns):
                    self._fill((lid, sid), lm.receive(lid, sid), nxt, outs, nout, changed, hist, who, "recv", sid)
            self.tables[(who, "recv")] = Table(nxt, outs, nout, changed, hist, np.zeros(shape2, dtype=bool))
        self.seg_bits = np.array([lm.segments[i].bits for i in range(self.ns)], dtype=np.int64)
        steps = [p for p in self.props if p.kind == "step"]
        if steps:
            # a per-move flag: does this move match some step property's pattern?
            for key, tab in self.tables.items():
                flags = np.zeros(tab.nxt.shape, dtype=np.bool_)
                for idx in np.ndindex(*tab.nxt.shape):
                    if tab.nxt[idx] < 0:
                        continue
                    lid = idx[0]
                    sid = idx[1] if len(idx) > 1 else 0
                    res = lm.receive(lid, sid) if key[1] == "recv" else (
                        lm.user(lid, key[1]) if key[1] in USER_MOVES else lm.timer(lid, key[1][6:]))
                    assert res is not None
                    sent = [int(self.seg_bits[o]) for o in res.sent]
                    flags[idx] = any(step_matches(p, res.info.source, res.info.target, lm.passive(lid),
                                                  int(self.seg_bits[sid]) if sid else 0, sent) for p in steps)
                tab.step_hit = flags

    def _fill(self, idx: Any, res: Result, nxt: np.ndarray, outs: np.ndarray, nout: np.ndarray,
              changed: np.ndarray, hist: list[np.ndarray], who: str, event: str, input_sid: int) -> None:
        sys_, lm = self.sys, self.sys.lm
        nxt[idx] = res.local
        for j, sid in enumerate(res.sent):
            outs[(*idx, j) if isinstance(idx, tuple) else (idx, j)] = sid
        nout[idx] = len(res.sent)
        lid = idx[0] if isinstance(idx, tuple) else idx
        changed[idx] = lm.state_name(res.local) != lm.state_name(lid)
        for i, hv in enumerate(sys_.hist):
            for v in range(len(hv.values)):
                h = sys_._history(v << (4 * i), who, event, input_sid, res)
                hist[i][(*idx, v) if isinstance(idx, tuple) else (idx, v)] = (h >> (4 * i)) & 0xF

    # ------------------------------------------------------------ layout
    def _layout(self) -> None:
        sys_ = self.sys
        self.K, self.R = sys_.K, sys_.R
        self.lbits = _bits(self.nl - 1)
        self.sbits = _bits(self.ns - 1)
        self.rbits = _bits(self.R)
        self.hbits = [_bits(len(h.values) - 1) for h in sys_.hist]
        offs = {}
        pos = 0
        for name, width in (("la", self.lbits), ("lb", self.lbits), ("ra", self.rbits), ("rb", self.rbits)):
            offs[name] = pos
            pos += width
        self.hoff = []
        for w in self.hbits:
            self.hoff.append(pos)
            pos += w
        offs["ab"] = pos
        pos += self.sbits * self.K
        offs["ba"] = pos
        pos += self.sbits * self.K
        if pos > 64:
            raise Unsupported(f"a state needs {pos} bits; the vectorised search packs at most 64")
        self.offs = offs
        self.total_bits = pos

    def encode_py(self, s: int) -> int:
        la, lb, ra, rb, h, ab, ba = self.sys.unpack(s)
        v = la << self.offs["la"] | lb << self.offs["lb"] | ra << self.offs["ra"] | rb << self.offs["rb"]
        for i, off in enumerate(self.hoff):
            v |= ((h >> (4 * i)) & 0xF) << off
        for name, q in (("ab", ab), ("ba", ba)):
            for j, sid in enumerate(q):
                v |= sid << (self.offs[name] + self.sbits * j)
        return v

    def decode_to_py(self, v: int) -> int:
        def field(off: int, width: int) -> int:
            return (v >> off) & ((1 << width) - 1)

        la, lb = field(self.offs["la"], self.lbits), field(self.offs["lb"], self.lbits)
        ra, rb = field(self.offs["ra"], self.rbits), field(self.offs["rb"], self.rbits)
        h = 0
        for i, (off, w) in enumerate(zip(self.hoff, self.hbits, strict=True)):
            h |= field(off, w) << (4 * i)
        qs = []
        for name in ("ab", "ba"):
            q = []
            for j in range(self.K):
                sid = field(self.offs[name] + self.sbits * j, self.sbits)
                if sid:
                    q.append(sid)
            qs.append(tuple(q))
        return self.sys.pack(la, lb, ra, rb, h, qs[0], qs[1])

    # ------------------------------------------------------------ expansion
    def _fields(self, F: np.ndarray) -> dict[str, np.ndarray]:
        f: dict[str, np.ndarray] = {}

        def mask(w: int) -> np.uint64:
            return U64((1 << w) - 1)

        for name, w in (("la", self.lbits), ("lb", self.lbits), ("ra", self.rbits), ("rb", self.rbits)):
            f[name] = ((F >> U64(self.offs[name])) & mask(w)).astype(np.int64)
        for i, (off, w) in enumerate(zip(self.hoff, self.hbits, strict=True)):
            f[f"h{i}"] = ((F >> U64(off)) & mask(w)).astype(np.int64)
        cbits = self.sbits * self.K
        for name in ("ab", "ba"):
            f[name] = (F >> U64(self.offs[name])) & mask(cbits)
            length = np.zeros(len(F), dtype=np.int64)
            for j in range(self.K):
                length += (((f[name] >> U64(self.sbits * j)) & mask(self.sbits)) != 0)
            f["len_" + name] = length
        return f

    def expand(self, F: np.ndarray) -> tuple[list[tuple[str, np.ndarray, np.ndarray]],
                                                                            np.ndarray, list[tuple[str, np.ndarray]]]:
        """Successors of every state of F, per event: (label, successor array, source index)."""
        f = self._fields(F)
        K, sb = self.K, self.sbits
        smask = U64((1 << sb) - 1)
        idx_all = np.arange(len(F))
        enabled = np.zeros(len(F), dtype=np.int64)
        out: list[tuple[str, np.ndarray, np.ndarray]] = []
        steps: list[tuple[str, np.ndarray]] = []
        clear = {name: ~(U64((1 << w) - 1) << U64(self.offs[name])) for name, w in
                 (("la", self.lbits), ("lb", self.lbits), ("ra", self.rbits), ("rb", self.rbits))}
        cmask = U64((1 << (sb * K)) - 1)

        def put(base: np.ndarray, name: str, values: np.ndarray) -> np.ndarray:
            return (base & clear[name]) | (values.astype(np.uint64) << U64(self.offs[name]))

        def put_chan(base: np.ndarray, name: str, values: np.ndarray) -> np.ndarray:
            return (base & ~(cmask << U64(self.offs[name]))) | (values << U64(self.offs[name]))

        for who in ("A", "B"):
            me, rx = f["la" if who == "A" else "lb"], f["ra" if who == "A" else "rb"]
            lname, rname = ("la", "ra") if who == "A" else ("lb", "rb")
            inq, outq = ("ba", "ab") if who == "A" else ("ab", "ba")

            def finish(label: str, sel: np.ndarray, table: Table, key: tuple[Any, ...], new_in: np.ndarray | None,
                       rtx_inc: bool, me: np.ndarray = me, rx: np.ndarray = rx, lname: str = lname,
                       rname: str = rname, inq: str = inq, outq: str = outq, who: str = who) -> None:
                nxt = table.nxt[key]
                ok = nxt >= 0
                nout = table.nout[key]
                ok &= f["len_" + outq][sel] + nout <= K
                if not ok.any():
                    return
                src = sel[ok]
                k2 = tuple(k[ok] for k in key)
                base = F[src]
                base = put(base, lname, table.nxt[k2])
                ch = table.changed[k2]
                nrx = rx[src] + 1 if rtx_inc else np.where(ch, 0, rx[src])
                base = put(base, rname, nrx)
                for i, hv in enumerate(self.sys.hist):
                    if hv.of != who:
                        continue
                    hcur = f[f"h{i}"][src]
                    hnew = table.hist[i][(*k2, hcur)]
                    off, w = self.hoff[i], self.hbits[i]
                    base = (base & ~(U64((1 << w) - 1) << U64(off))) | (hnew.astype(np.uint64) << U64(off))
                oq = f[outq][src]
                olen = f["len_" + outq][src]
                outs = table.outs[k2]
                for j in range(self.M):
                    sid = outs[:, j].astype(np.uint64)
                    has = sid != 0
                    shift = ((olen + j) * sb).astype(np.uint64)
                    oq = np.where(has, oq | (sid << np.minimum(shift, U64(63))), oq)
                base = put_chan(base, outq, oq)
                if new_in is not None:
                    base = put_chan(base, inq, new_in[ok])
                enabled[src] += 1
                out.append((f"{label}_{who}", base, src))
                if table.step_hit is not None and table.step_hit[k2].any():
                    steps.append((f"{label}_{who}", table.step_hit[k2]))

            # RECV
            head = (f[inq] & smask).astype(np.int64)
            sel = idx_all[head != 0]
            if len(sel):
                finish("RECV", sel, self.tables[(who, "recv")], (me[sel], head[sel]),
                       f[inq][sel] >> U64(sb), False)
            for call, label in (("close", "CLOSE"), ("abort", "ABORT"), ("send", "CONNECT")):  # §9 order
                finish(label, idx_all, self.tables[(who, call)], (me,), None, False)
            sel = idx_all[rx < self.R] if self.sys.count_rtx else idx_all
            if len(sel):
                finish("TIMEOUT", sel, self.tables[(who, "timer_retransmit")], (me[sel],), None,
                       self.sys.count_rtx)
            finish("TW", idx_all, self.tables[(who, "timer_time_wait")], (me,), None, False)
            finish("USER_TIMEOUT", idx_all, self.tables[(who, "timer_user")], (me,), None, False)
        if self.sys.cfg.channel.lossy:
            for name in ("ab", "ba"):
                sel = idx_all[f["len_" + name] > 0]
                if len(sel):
                    base = put_chan(F[sel], name, f[name][sel] >> U64(sb))
                    enabled[sel] += 1
                    out.append((f"LOSE_{name.upper()}", base, sel))
        return out, enabled, steps

    # ------------------------------------------------------------ predicates
    def _np_predicate(self, raw: Any, f: dict[str, np.ndarray]) -> np.ndarray:
        (key, arg), = raw.items()
        n = len(f["la"])
        if key == "all":
            res = np.ones(n, dtype=bool)
            for sub in arg or []:
                res &= self._np_predicate(sub, f)
            return res
        if key == "any":
            res = np.zeros(n, dtype=bool)
            for sub in arg or []:
                res |= self._np_predicate(sub, f)
            return res
        if key == "not":
            return ~self._np_predicate(arg, f)
        if key == "state":
            res = np.ones(n, dtype=bool)
            for who, want in arg.items():
                names = {want} if isinstance(want, str) else set(want)
                lut = np.array([s in names for s in self.state_names], dtype=bool)
                res &= lut[f["la" if who == "A" else "lb"]]
            return res
        if key == "history":
            res = np.ones(n, dtype=bool)
            for hname, val in arg.items():
                i = next(j for j, h in enumerate(self.sys.hist) if h.name == hname)
                res &= f[f"h{i}"] == self.sys.hist[i].values.index(val)
            return res
        if key == "channels_empty":
            empty: np.ndarray = (f["len_ab"] == 0) & (f["len_ba"] == 0)
            return empty
        if key == "channel_has":
            res = np.zeros(n, dtype=bool)
            smask = U64((1 << self.sbits) - 1)
            for chan, kind in arg.items():
                bit = int(self.sys.lm.segments[0].flags.parse(kind))
                q = f[chan.lower()]
                for j in range(self.K):
                    sid = ((q >> U64(self.sbits * j)) & smask).astype(np.int64)
                    res |= (self.seg_bits[sid] & bit) != 0
            return res
        raise ValueError(key)

    # ------------------------------------------------------------ search
    def run(self, keep_graph: bool = False) -> Stats:
        cfg, stats = self.sys.cfg, self.stats
        t0 = time.perf_counter()
        init = np.array([self.encode_py(self.init_py)], dtype=np.uint64)
        visited = init.copy()
        frontier = init
        self.levels: list[np.ndarray] = [init]
        self._check(frontier, 0)
        depth = 0
        next_report = time.perf_counter() + 1.0
        try:
            while len(frontier):
                if cfg.max_depth is not None and depth >= cfg.max_depth:
                    stats.stopped = f"depth bound {cfg.max_depth}"
                    break
                succ, enabled, steps = self.expand(frontier)
                stats.transitions += int(enabled.sum())
                dead = np.flatnonzero(enabled == 0)
                if len(dead):
                    self._deadlocks(frontier[dead], depth)
                for label, flags in steps:
                    self._step_findings(label, flags, frontier, succ, depth)
                cand = _sorted_unique(np.concatenate([s for _, s, _ in succ])) if succ else np.empty(0, np.uint64)
                pos = np.searchsorted(visited, cand)
                pos = np.minimum(pos, len(visited) - 1)
                new = cand[visited[pos] != cand]
                if len(new):
                    visited = np.concatenate([visited, new])
                    visited.sort()  # numpy's SIMD sort; measured faster than a merge of the two runs
                    depth += 1
                    self.levels.append(new)
                    self._check(new, depth)
                frontier = new
                if cfg.max_states is not None and len(visited) >= cfg.max_states and len(frontier):
                    stats.stopped = f"state bound {cfg.max_states:,}"
                    break
                next_report = end_of_level(cfg, stats, t0, len(visited), len(frontier), depth, next_report)
                if stats.stopped:
                    break
            stats.complete = not stats.stopped
        except KeyboardInterrupt:
            stats.stopped, stats.complete = "interrupted (Ctrl-C)", False
        stats.states = len(visited)
        stats.depth = len(self.levels) - 1
        stats.seconds = time.perf_counter() - t0
        stats.peak_mib = peak_rss_mib()
        stats.local_states = self.nl
        stats.segments = self.ns - 1
        return stats

    def _check(self, states: np.ndarray, depth: int) -> None:
        pending = [p for p in self.props if p.kind in ("invariant", "reach") and p.name not in self.findings]
        if not pending:
            return
        f = self._fields(states)
        for p in pending:
            hit = np.flatnonzero(self._np_predicate(p.predicate, f))
            if len(hit):
                first = int(np.min(states[hit]))
                self.findings[p.name] = Finding(p, self.decode_to_py(first), depth)

    def _deadlocks(self, states: np.ndarray, depth: int) -> None:
        for p in self.props:
            if p.kind != "deadlock" or p.name in self.findings:
                continue
            f = self._fields(states)
            bad = np.flatnonzero(~self._np_predicate(p.predicate, f))
            if len(bad):
                self.findings[p.name] = Finding(p, self.decode_to_py(int(np.min(states[bad]))), depth)

    def _step_findings(self, label: str, flags: np.ndarray, frontier: np.ndarray, succ: list[Any],
                       depth: int) -> None:
        for p in self.props:
            if p.kind != "step" or p.name in self.findings:
                continue
            for lab, nxt, src in succ:
                if lab != label or len(nxt) != len(flags):
                    continue
                hit = np.flatnonzero(flags)
                if len(hit):
                    i = hit[0]
                    parent = self.decode_to_py(int(frontier[src[i]]))
                    self.findings[p.name] = Finding(p, self.decode_to_py(int(nxt[i])), depth + 1, (parent, label))
                break

    # ------------------------------------------------------------ traces
    def path_to(self, target_py: int, depth: int) -> list[tuple[str, int]]:
        target = U64(self.encode_py(target_py))
        path: list[tuple[str, int]] = []
        for d in range(depth, 0, -1):
            level = self.levels[d - 1]
            succ, _, _ = self.expand(level)
            best: tuple[int, str] | None = None
            for label, nxt, src in succ:
                hit = np.flatnonzero(nxt == target)
                if len(hit):
                    cand = int(level[src[hit[0]]])
                    if best is None or cand < best[0]:
                        best = (cand, label)
            assert best is not None, "no predecessor while rebuilding a counterexample"
            path.append((best[1], self.decode_to_py(int(target))))
            target = U64(best[0])
        return list(reversed(path))
