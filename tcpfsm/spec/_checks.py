"""Semantic checks of a loaded spec: determinism and coverage of guards, arrival coverage,
user calls defined everywhere, reachability and traps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tcpfsm.base._errors import Problem
from tcpfsm.base._segment import Flags
from tcpfsm.spec._records import SAME, USER, GuardDef, GuardRef, Spec, StateDef, Transition


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
            if step.trim is not None:  # not an event: the segment is trimmed from here on
                todo.append((state, i + 1, has, lacks))
                continue
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


@dataclass(frozen=True)
class Change:
    """What a profile overlay did to a transition of its base (``remove:``, ``replace:``, ``patch:``),
    and where: a coverage problem that the change caused is reported at the change."""

    tid: str
    verb: str  # removed | replaced | patched
    file: str
    line: int
    sources: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    guard: tuple[GuardRef, ...] = ()
    target: str = SAME

    def covered(self, state: str, event: str) -> bool:
        return state in self.sources and event in self.events


@lru_cache(maxsize=64)
def _name(file: str) -> str:
    return Path(file).name


def _at(file: str, line: int) -> str:
    return f"{_name(file)}:{line}" if line else _name(file)


# Hints that name a nearby transition or list where a state leads are worked out for this many
# problems; past them a problem says what is wrong without them (a spec of 40,000 broken states
# would otherwise take minutes for hints nobody reads, issue 16).
DETAILED = 32


def _nearest(ts: tuple[Transition, ...], closure: set[GuardRef], files: tuple[str, ...]
             ) -> tuple[Transition, list[GuardRef]]:
    """The transition closest to firing in the case ``closure``: fewest guards against it, then most
    for it, then the one of the latest file of a profile chain (what the profile wrote)."""
    rank = {f: i for i, f in enumerate(files)}

    def cost(t: Transition) -> tuple[int, int, int]:
        return (sum(g.negation() in closure for g in t.guard), -sum(g in closure for g in t.guard),
                -rank.get(t.file, -1))
    best = min(ts, key=cost)
    return best, [g for g in best.guard if g.negation() in closure]


def _later(a: Transition, b: Transition, files: tuple[str, ...]) -> tuple[Transition, Transition]:
    """(the one to report at, the other): the transition of the later file of a profile chain, else ``b``."""
    rank = {f: i for i, f in enumerate(files)}
    return (a, b) if rank.get(a.file, -1) > rank.get(b.file, -1) else (b, a)


def _semantic_problems(spec: Spec, complete: bool = True, changes: tuple[Change, ...] = ()) -> list[Problem]:
    """Determinism always; coverage and reachability only when nothing else is wrong
    (a transition left out for a bad name would make them report ghosts).

    Each problem names the transition that caused it, or the one nearest to it, with its
    file:line: a profile's ``remove:``/``replace:``/``patch:`` entry when that change lost the
    case, else the transition of the gap, else (a missing row) the state's declaration."""
    problems: list[Problem] = []
    guards = {g.name: g for g in spec.guards}
    files = spec.files or (spec.file,)
    # determinism
    for (state, event), ts in spec._index.items():
        for i, a in enumerate(ts):
            for b in ts[i + 1:]:
                if not exclusive(a, b, guards):
                    here, other = _later(a, b, files)
                    problems.append(Problem(
                        here.file, here.line,
                        f"transitions {a.id} and {b.id} both fire on {event} in {state}: their guards "
                        f"[{', '.join(map(str, a.guard)) or 'none'}] and [{', '.join(map(str, b.guard)) or 'none'}] "
                        f"are not mutually exclusive ({other.id} is at {_at(other.file, other.line)})",
                        "add a guard to one and its negation (`not NAME`) to the other"))
    if not complete:
        return problems

    def cause(state: str, event: str, case: set[GuardRef] | None = None) -> Change | None:
        """The last overlay change that took (state, event) - in ``case`` - away."""
        found = [c for c in changes if c.covered(state, event)
                 and (case is None or all(g in case for g in c.guard))]
        return found[-1] if found else None

    order = {name: i for i, name in enumerate(spec.state_names)}
    budget = [DETAILED]

    def detailed() -> bool:
        budget[0] -= 1
        return budget[0] >= 0

    def example(event: str, state: str, states: Iterable[str]) -> str:
        """A hint: the transition of ``event`` in the state of ``states`` declared nearest to ``state``."""
        if not detailed():
            return ""
        allowed = set(states) - {state}
        best: tuple[int, int, Transition] | None = None
        for i, t in enumerate(spec.transitions):
            near = [abs(order[s] - order[state]) for s in t.sources if s in allowed]
            if event in t.events and near and (best is None or (min(near), i) < best[:2]):
                best = (min(near), i, t)
        return f", e.g. add it to the source of {best[2].id} ({_at(best[2].file, best[2].line)})" if best else ""

    # the guards of (state, segment or timer event) cover every case
    for (state, event), ts in spec._index.items():
        if spec.event(event).kind == USER:
            continue
        gap = _uncovered_case(ts, guards)
        if gap is not None:
            case = ", ".join(str(g) for g in gap) or "no guard"
            closure = _closure(gap, guards)
            msg = f"no transition of {event} in {state} holds when {case}"
            c = cause(state, event, closure)
            if c is not None:
                problems.append(Problem(c.file, c.line, f"{msg} ({c.tid} covered that case before it was "
                                        f"{c.verb} here)", "add a transition for that case (a `drop:` if the "
                                        "RFC discards it), or keep the base's"))
                continue
            near, against = _nearest(ts, closure, files)
            problems.append(Problem(near.file, near.line,
                                    f"{msg} (nearest: {near.id}, which needs {', '.join(map(str, against))})",
                                    "add a transition for that case (a `drop:` if the RFC discards it)"))

    def missing(st: StateDef, event: str, msg: str, hint: str, detail: str = "") -> None:
        c = cause(st.name, event)
        if c is not None:
            where = f"{c.tid} covered it before it was {c.verb} here; {st.name} is declared at {_at(st.file, st.line)}"
            problems.append(Problem(c.file, c.line, f"{msg} ({'; '.join(filter(None, (detail, where)))})", hint))
        else:
            problems.append(Problem(st.file or spec.file, st.line, f"{msg} ({detail})" if detail else msg, hint))

    # user calls are defined in every state (an effect or a documented error)
    for ev in spec.events:
        if ev.kind != USER:
            continue
        for st in spec.states:
            if not spec.candidates(st.name, ev.name):
                missing(st, ev.name, f"no rule for user call {ev.name} in {st.name}",
                        "add a transition, or an `error:` with the RFC's words"
                        + example(ev.name, st.name, spec.state_names))
    # every segment event that arrival can produce is covered
    for state, event in sorted(arrival_events(spec)):
        if not spec.candidates(state, event):
            st = spec.state(state)
            group = spec.group(st.group)
            step = next((s for s in group.steps if s.event == event), None)
            missing(st, event, f"no transition for {event} in {state}, which the arrival steps of group "
                    f"{group.name!r} can produce", "add a transition (a `drop:` if the RFC discards the segment)"
                    + example(event, state, (s.name for s in spec.states if s.group == group.name)),
                    f"its step at {_at(step.file, step.line)}" if step is not None else "")
    # reachability and traps
    succ: dict[str, set[str]] = {s: set() for s in spec.state_names}
    pred: dict[str, set[str]] = {s: set() for s in spec.state_names}
    entering: dict[str, list[Transition]] = {}
    for s, _e, t in spec.edges():
        target = t.target_from(s)
        succ[s].add(target)
        pred[target].add(s)
        if target != s:
            entering.setdefault(target, []).append(t)
    reach = _reach(spec.initial, succ)
    back = _reach(spec.initial, pred)  # the states the initial state can be reached from
    first_from: dict[str, Transition] = {}
    for t in spec.transitions:
        for s in t.sources:
            first_from.setdefault(s, t)
    for st in spec.states:
        if st.name not in reach:
            into = entering.get(st.name, [])
            entered = [c for c in changes if c.target == st.name]
            msg = f"state {st.name} is unreachable from {spec.initial}"
            hint = "add a transition into it, or remove it"
            if entered:
                c = entered[-1]
                problems.append(Problem(c.file, c.line, f"{msg} ({c.tid} entered it before it was {c.verb} "
                                        "here)", hint))
                continue
            detail = (f": only {', '.join(dict.fromkeys(t.id for t in into))}, from unreachable states, enter it"
                      if into else ": no transition enters it")
            problems.append(Problem(st.file or spec.file, st.line, msg + detail, hint))
        elif st.name not in back:
            closed = _reach(st.name, succ) if detailed() else set()
            ways_out = [c for c in changes if any(s in closed for s in c.sources)
                        and c.target not in (SAME, *closed)]
            msg = (f"state {st.name} is a trap: {spec.initial} cannot be reached from it (its transitions "
                   f"lead only to {', '.join(sorted(closed))}" if closed else
                   f"state {st.name} is a trap: {spec.initial} cannot be reached from it (")
            hint = "add a way out (ABORT, a timeout, an RST)"
            if ways_out:
                c = ways_out[-1]
                problems.append(Problem(c.file, c.line, f"{msg}; {c.tid} led out before it was {c.verb} here)",
                                        hint))
                continue
            first = first_from.get(st.name)
            nearby = f"{', e.g. ' if closed else ''}{first.id} at {_at(first.file, first.line)}" if first else ""
            problems.append(Problem(st.file or spec.file, st.line, f"{msg}{nearby})".replace(" ()", ""), hint))
    return problems


def _reach(start: str, succ: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for n in succ[todo.pop()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen
