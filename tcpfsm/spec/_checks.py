"""Semantic checks of a loaded spec: determinism and coverage of guards, arrival coverage,
user calls defined everywhere, reachability and traps."""

from __future__ import annotations

from collections.abc import Iterable

from tcpfsm.base._errors import Problem
from tcpfsm.base._segment import Flags
from tcpfsm.spec._records import USER, GuardDef, GuardRef, Spec, Transition


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


def _semantic_problems(spec: Spec, complete: bool = True) -> list[Problem]:
    """Determinism always; coverage and reachability only when nothing else is wrong
    (a transition left out for a bad name would make them report ghosts)."""
    problems: list[Problem] = []
    guards = {g.name: g for g in spec.guards}
    # determinism
    for (state, event), ts in spec._index.items():
        for i, a in enumerate(ts):
            for b in ts[i + 1:]:
                if not exclusive(a, b, guards):
                    problems.append(Problem(
                        b.file, b.line,
                        f"transitions {a.id} and {b.id} both fire on {event} in {state}: their guards "
                        f"[{', '.join(map(str, a.guard)) or 'none'}] and [{', '.join(map(str, b.guard)) or 'none'}] "
                        "are not mutually exclusive",
                        "add a guard to one and its negation (`not NAME`) to the other"))
    if not complete:
        return problems
    # the guards of (state, segment or timer event) cover every case
    for (state, event), ts in spec._index.items():
        if spec.event(event).kind == USER:
            continue
        gap = _uncovered_case(ts, guards)
        if gap is not None:
            case = ", ".join(str(g) for g in gap) or "no guard"
            problems.append(Problem(ts[0].file, ts[0].line,
                                    f"no transition of {event} in {state} holds when {case}",
                                    "add a transition for that case (a `drop:` if the RFC discards it)"))
    # user calls are defined in every state (an effect or a documented error)
    for ev in spec.events:
        if ev.kind != USER:
            continue
        for st in spec.states:
            if not spec.candidates(st.name, ev.name):
                problems.append(Problem(spec.file, 0, f"no rule for user call {ev.name} in {st.name}",
                                        "add a transition, or an `error:` with the RFC's words"))
    # every segment event that arrival can produce is covered
    for state, event in sorted(arrival_events(spec)):
        if not spec.candidates(state, event):
            problems.append(Problem(spec.file, 0, f"no transition for {event} in {state}, which the "
                                    f"arrival steps of group {spec.state(state).group!r} can produce",
                                    "add a transition (a `drop:` if the RFC discards the segment)"))
    # reachability and traps
    succ: dict[str, set[str]] = {s: set() for s in spec.state_names}
    for s, _e, t in spec.edges():
        succ[s].add(t.target_from(s))
    reach = _reach(spec.initial, succ)
    for st in spec.states:
        if st.name not in reach:
            problems.append(Problem(spec.file, 0, f"state {st.name} is unreachable from {spec.initial}",
                                    "add a transition into it, or remove it"))
        elif spec.initial not in _reach(st.name, succ):
            problems.append(Problem(spec.file, 0, f"state {st.name} is a trap: {spec.initial} cannot be "
                                    "reached from it", "add a way out (ABORT, a timeout, an RST)"))
    return problems


def _reach(start: str, succ: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for n in succ[todo.pop()]:
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen
