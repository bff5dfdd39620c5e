"""Leads-to properties under weak fairness, on the explored state graph.

``P leads to Q`` fails when some reachable P-state that is not a Q-state can reach, through
non-Q states only, either
- a state where no fair event is enabled (the system may stop there forever: weak
  fairness does not force anything), or
- a fair cycle: a non-trivial strongly connected component of non-Q states in which every
  event of a fair class that is enabled in all of its states is also taken inside it.
Weak fairness is per event label (RECV_A, TIMEOUT_B, ...), for the classes the property
names (deliver, timer, user, loss; the move table gives each label its class). The
counterexample is a lasso: a shortest path to the P-state, a path into the bad region, and
the cycle (empty for a stuck state).
"""

from __future__ import annotations

from collections import deque

from tcpfsm.checker._driver import Search
from tcpfsm.checker._properties import holds
from tcpfsm.spec._properties import LeadsTo

Path = list[tuple[str, int]]


def _sccs(nodes: set[int], edges: dict[int, list[tuple[str, int]]]) -> list[list[int]]:
    """Tarjan's algorithm, iterative, over the subgraph induced by ``nodes``."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            succ = [n for _, n in edges.get(v, ()) if n in nodes]
            recurse = False
            for j in range(i, len(succ)):
                w = succ[j]
                if w not in index:
                    work.append((v, j + 1))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


def check_leads_to(search: Search, prop: LeadsTo) -> tuple[Path, Path, str] | None:
    """None when ``prop`` holds on the search's graph; else (prefix, cycle, why): a lasso."""
    graph = search.graph
    assert graph is not None
    sys_ = search.system
    event_class = sys_.moves.fairness
    fair = set(prop.fairness)
    not_q = {s for s in graph if not holds(prop.target, sys_.view(s))}
    if not not_q:
        return None
    bad: dict[int, str] = {}
    for s in not_q:
        if not any(event_class(lab) in fair for lab, _ in graph[s]):
            bad[s] = "stuck: no fair event is enabled, so the system may stay here forever"
    cycles: dict[int, list[int]] = {}
    for comp in _sccs(not_q, graph):
        members = set(comp)
        if len(comp) == 1 and not any(n == comp[0] for _, n in graph[comp[0]]):
            continue
        labels_inside = {lab for s in comp for lab, n in graph[s] if n in members}
        always_enabled = set.intersection(*({lab for lab, _ in graph[s] if event_class(lab) in fair} for s in comp))
        if always_enabled <= labels_inside:
            for s in comp:
                cycles[s] = comp
                bad.setdefault(s, "a fair cycle that never reaches the goal")
    if not bad:
        return None
    # backward search from the bad region, through non-Q states
    reverse: dict[int, list[int]] = {}
    for s in not_q:
        for _, n in graph[s]:
            if n in not_q:
                reverse.setdefault(n, []).append(s)
    can_reach_bad = set(bad)
    todo = deque(bad)
    while todo:
        n = todo.popleft()
        for s in reverse.get(n, ()):
            if s not in can_reach_bad:
                can_reach_bad.add(s)
                todo.append(s)
    depth_of = search.depth_of()
    starts = [s for s in can_reach_bad if holds(prop.source, sys_.view(s))]
    if not starts:
        return None
    start = min(starts, key=lambda s: (depth_of[s], s))
    prefix = search.path_to(start, depth_of[start])
    # forward, inside non-Q states, to the nearest bad state
    parent: dict[int, tuple[int, str]] = {}
    seen = {start}
    todo = deque([start])
    goal = start if start in bad else None
    while todo and goal is None:
        s = todo.popleft()
        for lab, n in graph[s]:
            if n in not_q and n in can_reach_bad and n not in seen:
                seen.add(n)
                parent[n] = (s, lab)
                if n in bad:
                    goal = n
                    break
                todo.append(n)
    assert goal is not None
    tail: Path = []
    cur = goal
    while cur != start:
        prev, lab = parent[cur]
        tail.append((lab, cur))
        cur = prev
    prefix += list(reversed(tail))
    cycle: Path = []
    if goal in cycles:
        members = set(cycles[goal])
        # a shortest way around the component, back to the goal
        back: dict[int, tuple[int, str]] = {}
        todo = deque([goal])
        found = False
        while todo and not found:
            s = todo.popleft()
            for lab, n in graph[s]:
                if n == goal:
                    back[goal] = (s, lab)
                    found = True
                    break
                if n in members and n not in back:
                    back[n] = (s, lab)
                    todo.append(n)
        cur = goal
        while True:
            prev, lab = back[cur]
            cycle.append((lab, cur))
            cur = prev
            if cur == goal:
                break
        cycle.reverse()
    return prefix, cycle, bad[goal]
