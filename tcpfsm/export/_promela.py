"""The composed model of ``tcpfsm check`` as Promela, for SPIN.

Theory of operation. The export does not translate the spec's rules a second time: it runs
tcpfsm's own search of the model (:func:`tcpfsm.checker.check`, the same options), then reads
off, for every reachable global state, the endpoint moves it needs (a local state and a
segment at a channel position it may take, a user call, a timer), asks the checker's
LocalModel (the spec's own Endpoint, memoized) for their results, and writes those results
as constant C tables (``c_decl``). So the tables are the reachable local tables closed over
what the composed search meets, no more: an entry the search never met is marked ``-2``, and
reaching one in SPIN is an assertion ("a table entry tcpfsm's search did not meet"), which
would mean the two disagree about the model.

The Promela model is one process, one ``do`` loop, one option per move label (``RECV_A``,
``RECV1_B``, ``CLOSE_A``, ``LOSE_AB``, ...; the checker's move table), each a ``d_step``:
- the state vector is exactly the checker's: the local ids of A and B, their retransmission
  counters (control projection only), one byte per history variable, and ``K`` slots per
  channel holding segment ids head first (0: empty);
- a guard (``c_expr``) says whether the move is enabled: the table entry exists, the
  retransmission budget allows it, the replies fit a blocking channel;
- the effect (``c_code``) sets the new local id, the counters (reset when the endpoint's state
  changes), the history variables (tabulated with the checker's own rule function), appends
  the replies (dropping what does not fit with ``when_full: drop``) and takes the segment out;
- every safety property is an assertion (pan's own ``spin_assert``, message ``tcpfsm property
  NAME``) on a flag that is a C static, not in the state vector: invariants on the state after
  the move, step properties on the move (the checker's own step matcher, tabulated), reach
  properties as the assertion of ``!P`` (a violation is the witness); deadlock as pan's invalid
  end state, with a stutter step in the terminal states.

Counting convention (SPIN 6.5): pan's "states, stored" equals tcpfsm's states (the process's
program counter is the same at every loop head and the flags are not stored); pan's
"transitions" is tcpfsm's transitions + 1 (pan counts the initial state), plus one per
reachable terminal state when the deadlock check's stutter step is in. The initial state's
invariants are checked by tcpfsm at export time (a ``d_step`` guards only later states).
Liveness (``leads_to``) is not exported. Properties can be switched off when pan runs, without
recompiling: ``TCPFSM_SKIP="I1 I4" ./pan`` (the SPIN engine uses this to report every
violated property, one pan run each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tcpfsm.base import Flags
from tcpfsm.base._errors import Problem, SpecError
from tcpfsm.checker import Report
from tcpfsm.checker import check as run_check
from tcpfsm.checker._coverage import endpoint_groups
from tcpfsm.checker._local import Result
from tcpfsm.checker._moves import CALL, DATA, DUP, LOSE, RECV, Move
from tcpfsm.checker._properties import next_history
from tcpfsm.checker._search import System
from tcpfsm.spec._properties import (
    All,
    AnyProperty,
    BeyondPeer,
    ChannelHas,
    ChannelsEmpty,
    Deadlock,
    Delivered,
    History,
    InState,
    Invariant,
    LeadsTo,
    Not,
    Predicate,
    Reach,
    StepProperty,
)
from tcpfsm.spec._properties import Any as AnyOf

UNMET = -2  # a table entry tcpfsm's search never met
ACK = int(Flags.ACK)


@dataclass
class PromelaModel:
    """An exported model: the Promela text and what the SPIN engine needs to read pan back."""

    text: str
    report: Report                 # tcpfsm's own search of the same model
    system: System                 # its composed system (decodes states, replays labels)
    labels: tuple[str, ...]        # the move labels, in the checker's order
    flags: dict[str, AnyProperty]  # the properties asserted ("tcpfsm property NAME" when violated)
    deadlock: AnyProperty | None = None
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (property, why) not exported
    initial_violations: list[str] = field(default_factory=list)     # invariants the initial state breaks

    @property
    def needs_end_states(self) -> bool:
        """pan must check invalid end states (no ``-E``): the deadlock property is exported."""
        return self.deadlock is not None


CHUNK_CHARS = 40_000  # spin -a refuses a c_decl block of 64 KiB or more ("inline text too long")


def _c_array(ctype: str, name: str, values: Sequence[int]) -> list[str]:
    """A constant array as C declarations, each short enough for one ``c_decl`` block: chunks of
    2**shift values and a table of them, read with ``GET(name, i)``."""
    vals = [str(int(v)) for v in values] or ["0"]
    width = max(len(v) for v in vals) + 1
    shift = max(4, min(30, (CHUNK_CHARS // width).bit_length() - 1))
    size = 1 << shift
    chunks = [vals[i: i + size] for i in range(0, len(vals), size)]
    out = [f"static const {ctype} {name}_{j}[{len(c)}] = {{{','.join(c)}}};" for j, c in enumerate(chunks)]
    out.append(f"static const {ctype} *const {name}_chunks[{len(chunks)}] = {{"
               + ",".join(f"{name}_{j}" for j in range(len(chunks))) + "};")
    out.append(f"#define {name}_SHIFT {shift}")
    return out


def _ctype(largest: int, smallest: int = 0) -> str:
    if smallest >= 0 and largest < 256:
        return "unsigned char"
    if smallest >= -32768 and largest < 32768:
        return "short"
    return "int"


class _Emitter:
    """Everything the text needs, computed once from the finished search."""

    def __init__(self, report: Report, exported: list[AnyProperty]) -> None:
        search = report.search
        assert search is not None
        self.report, self.search = report, search
        self.system: System = search.system
        sys_ = self.system
        self.lm = sys_.lm
        self.K = sys_.K
        self.R = sys_.R
        self.ch = sys_.cfg.channel
        self.count_rtx = sys_.count_rtx
        self.hist = sys_.hist
        self.exported = exported
        self.steps = [p for p in exported if isinstance(p, StepProperty)]
        self.endpoint_moves = [m for m in sys_.moves.moves if m.who]
        self.positions = range(self.K) if self.ch.reordering else range(1)
        self._collect()

    # ------------------------------------------------------------ what the search met
    def _collect(self) -> None:
        """The (local, input) pairs the reachable states need, and their results."""
        sys_, lm = self.system, self.lm
        recv_pairs: set[tuple[int, int]] = set()
        locals_: dict[str, set[int]] = {"A": set(), "B": set()}
        for who, lid, _rx, inq, _out, _busy in endpoint_groups(self.search):
            locals_[who].add(lid)
            recv_pairs.update((lid, sid) for sid in inq)
        self.initial = sys_.decode(self.search.initial)
        # results per table (kind, arg): key -> Result | None
        self.tables: dict[tuple[str, str], dict[tuple[int, ...], Result | None]] = {}
        for mv in self.endpoint_moves:
            tk = (mv.kind, mv.arg)
            if tk in self.tables:
                continue
            got: dict[tuple[int, ...], Result | None] = {}
            if mv.kind == RECV:
                for lid, sid in sorted(recv_pairs):
                    got[(lid, sid)] = lm.receive(lid, sid)
            else:
                for lid in sorted(locals_["A"] | locals_["B"]):
                    got[(lid,)] = (lm.user(lid, mv.arg) if mv.kind == CALL else lm.data(lid) if mv.kind == DATA
                                   else lm.timer(lid, mv.arg))
            self.tables[tk] = got
        self.NL = len(lm.locals)
        self.NS = len(lm.segments)
        self.seg_bits = [seg.bits for seg in lm.segments]
        results: dict[Result, int] = {}
        for got in self.tables.values():
            for res in got.values():
                if res is not None and res not in results:
                    results[res] = len(results)
        self.results = list(results)
        self.result_index = results
        self.M = max([len(r.sent) for r in self.results] + [1])

    # ------------------------------------------------------------ C helpers
    def _slot(self, chan: str, i: int) -> str:
        return f"now.{chan.lower()}{i}"

    def _channel_c(self) -> list[str]:
        K = self.K
        out = []
        for chan in ("AB", "BA"):
            c = chan.lower()
            slots = [self._slot(chan, i) for i in range(K)]
            out.append(f"static int len_{c}(void) {{ return " + " + ".join(f"({s} != 0)" for s in slots) + "; }")
            cases = " ".join(f"case {i}: return {s};" for i, s in enumerate(slots))
            out.append(f"static int get_{c}(int i) {{ switch (i) {{ {cases} }} return 0; }}")
            cases = " ".join(f"case {i}: {s} = v; break;" for i, s in enumerate(slots))
            out.append(f"static void set_{c}(int i, int v) {{ switch (i) {{ {cases} }} }}")
            out.append(f"static void push_{c}(int v) {{ int n = len_{c}(); if (n < {K}) set_{c}(n, v); }}")
            out.append(f"static void del_{c}(int i) {{ int j; for (j = i; j + 1 < {K}; j++) "
                       f"set_{c}(j, get_{c}(j + 1)); set_{c}({K - 1}, 0); }}")
        return out

    def _table_name(self, tk: tuple[str, str]) -> str:
        return f"T_{list(self.tables).index(tk)}"

    def _tables_c(self) -> list[str]:
        NL, NS = self.NL, self.NS
        out = [f"#define NL {NL}", f"#define NS {NS}", f"#define MAXOUT {self.M}",
               "#define GET(A, i) (A##_chunks[(i) >> A##_SHIFT][(i) & ((1 << A##_SHIFT) - 1)])"]
        for tk, got in self.tables.items():
            size = NL * NS if tk[0] == RECV else NL
            vals = [UNMET] * size
            for key, res in got.items():
                idx = key[0] * NS + key[1] if tk[0] == RECV else key[0]
                vals[idx] = -1 if res is None else self.result_index[res]
            out.append(f"/* {tk[0]} {tk[1]}: result per {'local * NS + segment' if tk[0] == RECV else 'local'} "
                       "(-1 disabled, -2 not met by tcpfsm's search) */")
            out.extend(_c_array(_ctype(max([*vals, 0]), -2), self._table_name(tk), vals))
        rs = self.results
        out.extend(_c_array(_ctype(max([r.local for r in rs] + [0])), "R_NXT", [r.local for r in rs]))
        out.extend(_c_array("unsigned char", "R_NOUT", [len(r.sent) for r in rs]))
        outs: list[int] = []
        for r in rs:
            outs += list(r.sent) + [0] * (self.M - len(r.sent))
        out.extend(_c_array(_ctype(self.NS), "R_OUT", outs))
        out.extend(_c_array("unsigned char", "R_CHG", [int(r.info.source != r.info.target) for r in rs]))
        out.extend(_c_array("unsigned char", "SEG_BITS", self.seg_bits))
        names = self.system.cfg.spec.state_names
        out.append("/* state of each local id: " + ", ".join(f"{i} {n}" for i, n in enumerate(names)) + " */")
        out.extend(_c_array("unsigned char", "ST", [names.index(self.lm.state_name(i)) for i in range(NL)]))
        # history: per endpoint move and history variable of its endpoint, the next value per key and value
        for m, mv in enumerate(self.endpoint_moves):
            got = self.tables[(mv.kind, mv.arg)]
            for i, hv in enumerate(self.hist):
                if hv.of != mv.who:
                    continue
                nv = len(hv.values)
                size = (NL * NS if mv.kind == RECV else NL) * nv
                vals = [0] * size
                for key, res in got.items():
                    if res is None:
                        continue
                    idx = key[0] * NS + key[1] if mv.kind == RECV else key[0]
                    bits = self.seg_bits[key[1]] if mv.kind == RECV else 0
                    for cur in range(nv):
                        vals[idx * nv + cur] = next_history(hv, cur, mv.event, bits, res.info.source,
                                                            res.info.target)
                out.extend(_c_array("unsigned char", f"H_{m}_{i}", vals))
        if self.steps:
            for tk, got in self.tables.items():
                size = NL * NS if tk[0] == RECV else NL
                vals = [0] * size
                for key, res in got.items():
                    if res is None:
                        continue
                    idx = key[0] * NS + key[1] if tk[0] == RECV else key[0]
                    vals[idx] = self.system.step_mask(self.steps, (key[0], key[1] if tk[0] == RECV else 0, res))
                out.extend(_c_array("unsigned long long", f"S{self._table_name(tk)}", vals))
        if self._numeric():
            rows = [self.lm.numbers(i) for i in range(NL)]
            for fld in ("iss", "irs", "snd_nxt", "rcv_nxt", "synced", "sent_first", "sent_total",
                        "delivered_start", "delivered_len"):
                out.extend(_c_array("long long", f"N_{fld.upper()}", [getattr(r, fld) for r in rows]))
            out.extend(_c_array("long long", "SEG_ACK", [seg.ack for seg in self.lm.segments]))
        return out

    def _numeric(self) -> bool:
        def walk(p: Predicate) -> bool:
            if isinstance(p, BeyondPeer | Delivered):
                return True
            if isinstance(p, All | AnyOf):
                return any(walk(x) for x in p.items)
            if isinstance(p, Not):
                return walk(p.item)
            return False
        return any(walk(pred) for p in self.exported for pred in _predicates(p))

    # ------------------------------------------------------------ predicates
    def pred_c(self, p: Predicate) -> str:
        la, lb = "now.la", "now.lb"
        if isinstance(p, InState):
            names = self.system.cfg.spec.state_names
            var = la if p.who == "A" else lb
            codes = sorted(names.index(s) for s in p.states if s in names)
            return "(" + (" || ".join(f"GET(ST, {var}) == {c}" for c in codes) or "0") + ")"
        if isinstance(p, All):
            return "(" + (" && ".join(self.pred_c(x) for x in p.items) or "1") + ")"
        if isinstance(p, AnyOf):
            return "(" + (" || ".join(self.pred_c(x) for x in p.items) or "0") + ")"
        if isinstance(p, Not):
            return f"(!{self.pred_c(p.item)})"
        if isinstance(p, History):
            i = next(j for j, hv in enumerate(self.hist) if hv.name == p.name)
            return f"(now.h_{i} == {self.hist[i].values.index(p.value)})"
        if isinstance(p, ChannelsEmpty):
            return f"({self._slot('AB', 0)} == 0 && {self._slot('BA', 0)} == 0)"
        if isinstance(p, ChannelHas):
            return "(" + " || ".join(f"(GET(SEG_BITS, {self._slot(p.channel, i)}) & {p.flag_bits})"
                                     for i in range(self.K)) + ")"
        if isinstance(p, BeyondPeer):
            x, y = (la, lb) if p.who == "A" else (lb, la)
            if p.variable == "RCV.NXT":
                return f"beyond_rcv({x}, {y})"
            return f"beyond_ack_{'ab' if p.who == 'A' else 'ba'}({x}, {y})"
        if isinstance(p, Delivered):
            x, y = (la, lb) if p.who == "A" else (lb, la)
            return f"delivered_ok({x}, {y}, {int(p.extent == 'all')})"
        raise SpecError([Problem(getattr(p, "file", ""), getattr(p, "line", 0),
                                 f"the Promela export cannot translate {type(p).__name__}", "")])

    def _numeric_c(self) -> list[str]:
        out = ["static int seq_lt(long long a, long long b) { unsigned int d = (unsigned int)(b - a); "
               "return d > 0u && d < 0x80000000u; }",
               "static int paired(int x, int y) { return GET(N_SYNCED, x) != 0 && GET(N_IRS, x) == GET(N_ISS, y); }",
               "static int beyond_rcv(int x, int y) { return paired(x, y) && "
               "seq_lt(GET(N_SND_NXT, y), GET(N_RCV_NXT, x)); }"]
        for chan in ("AB", "BA"):
            terms = " || ".join(f"((GET(SEG_BITS, {self._slot(chan, i)}) & {ACK}) && "
                                f"seq_lt(GET(N_SND_NXT, y), GET(SEG_ACK, {self._slot(chan, i)})))"
                                for i in range(self.K))
            out.append(f"static int beyond_ack_{chan.lower()}(int x, int y) {{ return paired(x, y) && ({terms}); }}")
        out.append("static int delivered_ok(int x, int y, int all) { long long sent; int in_order; "
                   "if (!paired(x, y)) return 1; sent = GET(N_SENT_TOTAL, y) - GET(N_SENT_FIRST, y); "
                   "if (GET(N_DELIVERED_LEN, x) == 0) return !all || sent == 0; "
                   "in_order = GET(N_DELIVERED_START, x) == GET(N_SENT_FIRST, y) && GET(N_DELIVERED_LEN, x) <= sent; "
                   "return in_order && (!all || GET(N_DELIVERED_LEN, x) == sent); }")
        return out

    # ------------------------------------------------------------ moves
    def _move_c(self, m: int, mv: Move, pos: int) -> tuple[str, str]:
        """C functions en_<m>_<pos> (result index, or -1) and fire_<m>_<pos>."""
        who = mv.who
        me = "now.la" if who == "A" else "now.lb"
        rx = "now.ra" if who == "A" else "now.rb"
        inq = "ba" if who == "A" else "ab"
        outq = "ab" if who == "A" else "ba"
        tab = self._table_name((mv.kind, mv.arg))
        recv = mv.kind == RECV
        key = f"(int){me} * NS + get_{inq}({pos})" if recv else f"(int){me}"
        rtx_inc = self.count_rtx and mv.retries
        block = self.ch.when_full == "block"
        name = f"{m}_{pos}"
        en = [f"static int en_{name}(void) {{", "  int r;"]
        if recv:
            en.append(f"  if (get_{inq}({pos}) == 0) return -1;")
        if rtx_inc:
            en.append(f"  if ({rx} >= {self.R}) return -1;")
        en.append(f"  r = GET({tab}, {key});")
        en.append(f"  if (r == {UNMET}) return {UNMET};")
        en.append("  if (r < 0) return -1;")
        if block:
            en.append(f"  if (len_{outq}() + GET(R_NOUT, r) > {self.K}) return -1;")
        en.append("  return r;\n}")
        fire = [f"static void fire_{name}(void) {{", f"  int key = {key}, r = GET({tab}, key), j;",
                f"  if (r == {UNMET}) {{ f_unmet = 1; return; }}"]
        for i, hv in enumerate(self.hist):
            if hv.of == who:
                fire.append(f"  now.h_{i} = GET(H_{m}_{i}, key * {len(hv.values)} + now.h_{i});")
        for j in range(len(self.steps)):
            fire.append(f"  f_s{j} = (int)((GET(S{tab}, key) >> {j}) & 1ULL);")
        if recv:
            fire.append(f"  del_{inq}({pos});")
        fire.append(f"  for (j = 0; j < GET(R_NOUT, r); j++) push_{outq}(GET(R_OUT, r * MAXOUT + j));")
        if self.count_rtx:
            fire.append(f"  {rx} = {rx + ' + 1' if rtx_inc else f'GET(R_CHG, r) ? 0 : {rx}'};")
        fire.append(f"  {me} = GET(R_NXT, r);\n}}")
        return "\n".join(en), "\n".join(fire)

    # ------------------------------------------------------------ the text
    def text(self) -> str:
        sys_, rep = self.system, self.report
        K = self.K
        invariants = [p for p in self.exported if isinstance(p, Invariant | Reach)]
        deadlock = next((p for p in self.exported if isinstance(p, Deadlock)), None)
        lines = ["/* Generated by `tcpfsm export promela`; do not edit (regenerate instead).",
                 f" * model {rep.model}, spec {rep.spec.profile or rep.spec.name}, channel: {rep.channel.describe()}, "
                 f"R={rep.retransmissions}{f', data {rep.data}' if rep.data else ''}",
                 f" * tcpfsm's search: {rep.stats.states:,} states, {rep.stats.transitions:,} transitions, "
                 f"depth {rep.stats.depth}; pan: the same states, transitions + 1"
                 + (" + the terminal states (deadlock stutter)" if deadlock else "") + ".",
                 f" * {self.NL} local states, {self.NS - 1} segments, {len(self.results)} distinct local results.",
                 " * Build: spin -a FILE && gcc -O2 -DSAFETY -o pan pan.c && ./pan" + ("" if deadlock else " -E"),
                 " * Skip properties at run time: TCPFSM_SKIP=\"NAME NAME\" ./pan",
                 " * Segments: " + "; ".join(f"{i} {s}" for i, s in enumerate(self.lm.segments) if i) + ".",
                 " */", ""]
        lines += _blocks("c_decl", self._tables_c())
        lines.append("")
        lt = "byte" if self.NL <= 256 else "short"
        st = "byte" if self.NS <= 256 else "short"
        d = self.initial
        lines.append(f"{lt} la = {d.la};")
        lines.append(f"{lt} lb = {d.lb};")
        if self.count_rtx:
            lines.append("byte ra = 0;")
            lines.append("byte rb = 0;")
        for i, hv in enumerate(self.hist):
            lines.append(f"byte h_{i} = {self.system.layout.hist_get(d.h, i)};  /* history {hv.name}: "
                         + ", ".join(f"{j} {v}" for j, v in enumerate(hv.values)) + " */")
        for chan, q in (("AB", d.ab), ("BA", d.ba)):
            for i in range(K):
                lines.append(f"{st} {chan.lower()}{i} = {q[i] if i < len(q) else 0};")
        flags = [f"f_{i}" for i in range(len(invariants))] + [f"f_s{j}" for j in range(len(self.steps))]
        lines.append("")
        code: list[str] = []
        code.append("/* the property flags: C statics, not in the state vector */")
        code.append("static int f_unmet" + "".join(f", {f}" for f in flags) + ";")
        code += [x for x in self._channel_c()]
        if self._numeric():
            code += [x for x in self._numeric_c()]
        names = [p.name for p in self.exported]
        code.append("/* properties switched off at run time: TCPFSM_SKIP, names separated by spaces */")
        code.append(f"static int on[{max(len(names), 1)}]; static int on_ready;")
        code.append("static int skipped(const char *name) { const char *s = getenv(\"TCPFSM_SKIP\"); "
                     "size_t n = strlen(name); while (s && *s) { while (*s == ' ' || *s == ',') s++; "
                     "if (strncmp(s, name, n) == 0 && (s[n] == 0 || s[n] == ' ' || s[n] == ',')) return 1; "
                     "while (*s && *s != ' ' && *s != ',') s++; } return 0; }")
        inits = " ".join(f"on[{i}] = !skipped(\"{n}\");" for i, n in enumerate(names))
        code.append(f"static void ready(void) {{ if (!on_ready) {{ {inits} on_ready = 1; }} }}")
        checks = []
        for i, p in enumerate(invariants):
            pred = p.never if isinstance(p, Invariant) else p.reach
            checks.append(f"f_{i} = on[{names.index(p.name)}] && {self.pred_c(pred)};")
        code.append("static void check_states(void) { ready(); " + " ".join(checks) + " }")
        for j, sp in enumerate(self.steps):
            code.append(f"/* f_s{j}: step property {sp.name} */")
        steps_off = " ".join(f"f_s{j} = f_s{j} && on[{names.index(p.name)}];" for j, p in enumerate(self.steps))
        code.append(f"static void check_steps(void) {{ ready(); {steps_off} }}")
        if deadlock is not None:
            assert isinstance(deadlock, Deadlock)
            code.append(f"static int terminal(void) {{ ready(); return on[{names.index(deadlock.name)}] && "
                         f"{self.pred_c(deadlock.terminal)}; }}")
            code.append("#define TERMINAL (terminal() != 0)")
        # pan's own assertion (BFS refuses hidden variables, so the flags are C statics)
        msgs = [("f_unmet", "tcpfsm: a table entry the search did not meet")]
        msgs += [(f"f_s{j}", f"tcpfsm property {p.name}") for j, p in enumerate(self.steps)]
        msgs += [(f"f_{i}", f"tcpfsm property {p.name}") for i, p in enumerate(invariants)]
        code.append("#define ASSERTS " + " ".join(f"spin_assert(!{f}, \"{msg}\", II, tt, t);" for f, msg in msgs))
        opts: list[str] = []
        for m, mv in enumerate(self.endpoint_moves):
            for pos in (self.positions if mv.kind == RECV else range(1)):
                en, fire = self._move_c(m, mv, pos)
                code += [en, fire]
                # SPIN takes a function call in c_expr for a side effect: the guard is a macro
                code.append(f"#define EN_{m}_{pos} (en_{m}_{pos}() != -1)")
                opts.append(self._option(mv.labels[pos], f"c_expr {{ EN_{m}_{pos} }}",
                                         f"fire_{m}_{pos}();"))
        for mv in sys_.moves.network:
            c = mv.channel.lower()
            if mv.kind == LOSE:
                for pos in self.positions:
                    opts.append(self._option(mv.labels[pos], f"c_expr {{ {self._slot(mv.channel, pos)} != 0 }}",
                                             f"del_{c}({pos}); " + self._no_steps()))
            elif mv.kind == DUP:
                opts.append(self._option(mv.labels[0], f"c_expr {{ {self._slot(mv.channel, 0)} != 0 && "
                                                       f"{self._slot(mv.channel, K - 1)} == 0 }}",
                                         f"push_{c}(get_{c}(0)); " + self._no_steps()))
        lines += _blocks("c_code", code)
        lines.append("")
        props = [f" *   f_{i}: {p.kind} {p.name}" for i, p in enumerate(invariants)]
        props += [f" *   f_s{j}: step {p.name}" for j, p in enumerate(self.steps)]
        if deadlock is not None:
            props.append(f" *   invalid end state: deadlock {deadlock.name}")
        lines.append("/* properties (a violated assert names its flag):")
        lines += props or [" *   (none)"]
        lines.append(" */")
        lines.append("active proctype tcp()")
        lines.append("{")
        lines.append("  do")
        lines += opts
        if deadlock is not None:
            lines.append("  :: d_step { c_expr { TERMINAL } -> skip }  /* TERMINAL: a proper end, not a deadlock */")
        lines.append("  od")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _no_steps(self) -> str:
        return " ".join(f"f_s{j} = 0;" for j in range(len(self.steps)))

    def _option(self, label: str, guard: str, effect: str) -> str:
        return (f"  :: d_step {{ {guard} -> c_code {{ {effect} check_steps(); check_states(); }}; "
                f"printf(\"@move {label}\\n\"); c_code {{ ASSERTS }} }}")


def _blocks(kind: str, decls: list[str]) -> list[str]:
    """Declarations in as few ``c_decl``/``c_code`` blocks as spin -a takes (each under 64 KiB)."""
    out: list[str] = []
    block: list[str] = []
    size = 0
    for d in decls:
        if block and size + len(d) > CHUNK_CHARS:
            out += [f"{kind} {{", *block, "}"]
            block, size = [], 0
        block.append("  " + d)
        size += len(d) + 3
    if block:
        out += [f"{kind} {{", *block, "}"]
    return out


def _predicates(p: AnyProperty) -> list[Predicate]:
    if isinstance(p, Invariant):
        return [p.never]
    if isinstance(p, Reach):
        return [p.reach]
    if isinstance(p, Deadlock):
        return [p.terminal]
    return []


def promela(**options: Any) -> PromelaModel:
    """The model ``tcpfsm.checker.check(**options)`` composes, as Promela (see the module doc).

    Runs tcpfsm's own search first (it learns which local tables the model reaches). Options as
    :func:`tcpfsm.checker.check`; ``reopen`` is not exported yet (a SpecError).
    """
    if options.get("reopen"):
        raise SpecError([Problem("--reopen", 0, "the Promela export (and --engine spin) does not model incarnations "
                                 "yet", "use tcpfsm's own engine for --reopen, or leave --reopen at 0")])
    options = dict(options, engine=options.get("engine", "auto"))
    report = run_check(**options)
    search = report.search
    if report.stats.stopped.startswith("interrupted"):
        raise KeyboardInterrupt  # Ctrl-C during tcpfsm's search: an interrupt (exit 3), not an input error
    if search is None or not report.stats.complete:
        raise SpecError([Problem(report.spec.file, 0, "the Promela export needs tcpfsm's search to finish "
                                 f"({report.stats.stopped or 'no search'})", "raise or drop the bounds")])
    exported: list[AnyProperty] = []
    left_out: list[tuple[str, str]] = []
    for p in search.props:
        if isinstance(p, LeadsTo):
            left_out.append((p.name, "liveness (leads_to) is not exported"))
        else:
            exported.append(p)
    em = _Emitter(report, exported)
    invariants = [p for p in exported if isinstance(p, Invariant | Reach)]
    flags: dict[str, AnyProperty] = {p.name: p for p in invariants + list(em.steps)}
    deadlock = next((p for p in exported if isinstance(p, Deadlock)), None)
    initial_bad = [v.name for v in report.verdicts
                   if v.counterexample is not None and len(v.counterexample) == 0]
    labels = tuple(lab for m in search.system.moves.moves for lab in m.labels)
    return PromelaModel(em.text(), report, search.system, labels, flags, deadlock, left_out, initial_bad)


__all__ = ["PromelaModel", "promela"]
