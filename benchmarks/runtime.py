"""Events/s through Endpoint on whole lifecycles, next to a bare transitions.Machine.

One lifecycle = handshake, 4 data segments each way, the 4-way close, the 2MSL timeout:
every user call, every segment arrival and the timer count as one event. In the same run,
a bare ``transitions.Machine`` with the same 11 states triggers the same state sequence
(one trigger per transition), and the ratio is printed.

Like for like: the bare baseline has two models on one shared Machine (as the two Endpoints
share the spec's one Machine), each model triggers only its own endpoint's transitions, and a
lifecycle starts by putting both models in the initial state (as making two Endpoints does):
two ``set_state`` calls per lifecycle, none inside it. The figure compared is wall time per
whole lifecycle on each side, best of ``--repeat``, in one process. Usage:

    python benchmarks/runtime.py [--lifecycles 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from typing import Any

from transitions import Machine

from tcpfsm import Endpoint, load_spec


def lifecycle(engine: str, observe: object = None) -> int:
    """Run one whole connection, driving two Endpoints directly; return the events fed to them.

    ``observe(who)`` (who: 0 for the active opener, 1 for the listener) gives each end's observer."""
    a = Endpoint(100, engine=engine)
    b = Endpoint(300, engine=engine)
    if observe is not None:
        a.observe(observe(0))  # type: ignore[operator]
        b.observe(observe(1))  # type: ignore[operator]
    to_b: list[Any] = []
    to_a: list[Any] = []
    events = 2
    b.listen()
    to_b += a.connect()

    def drain() -> int:
        n = 0
        while to_a or to_b:
            if to_b:
                to_a.extend(b.receive(to_b.pop(0)))
                n += 1
            if to_a:
                to_b.extend(a.receive(to_a.pop(0)))
                n += 1
        return n

    events += drain()
    for _ in range(4):
        to_b += a.send(100)
        to_a += b.send(100)
        events += 2 + drain()
    to_b += a.close()
    events += 1 + drain()
    to_a += b.close()
    events += 1 + drain()
    a.timeout("time_wait")
    return events + 1


def state_sequence() -> list[tuple[int, str, str, str]]:
    """The (endpoint, state, event, next state) sequence of one lifecycle, in order."""
    seq: list[tuple[int, str, str, str]] = []

    def observer(who: int) -> object:
        return lambda s: seq.append((who, str(s.source), s.event, str(s.target)))

    lifecycle("transitions", observer)
    return seq


def bare_machine(lifecycles: int, sequence: list[tuple[int, str, str, str]]) -> float:
    """Lifecycles/s of a bare Machine with two models walking the same two state sequences."""
    spec = load_spec()

    class Model:
        pass

    models = [Model(), Model()]
    machine = Machine(model=models, states=list(spec.state_names), initial=spec.initial, auto_transitions=False)
    walk = []
    for who, source, ev, target in sequence:
        name = f"{ev}__{source}__{target}"
        if name not in machine.events:
            machine.add_transition(name, source, None if source == target else target)
        walk.append(getattr(models[who], name))  # the bound trigger, looked up once as Endpoint's is
    for m in models:  # the walk is valid as recorded: each model is where its next trigger starts
        machine.set_state(spec.initial, m)
    for trigger in walk:
        assert trigger(), "the bare walk must follow the recorded transitions"
    initial = spec.initial
    t0 = time.perf_counter()
    for _ in range(lifecycles):
        machine.set_state(initial, models[0])  # what making two Endpoints does, and nothing more
        machine.set_state(initial, models[1])
        for trigger in walk:
            trigger()
    return lifecycles / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lifecycles", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    seq = state_sequence()
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for engine in ("transitions", "table"):
            t0 = time.perf_counter()
            events = sum(lifecycle(engine) for _ in range(args.lifecycles))
            rate = events / (time.perf_counter() - t0)
            best[engine] = max(best.get(engine, 0.0), rate)
        best["bare"] = max(best.get("bare", 0.0), bare_machine(args.lifecycles, seq) * len(seq))
    per = events // args.lifecycles
    print(f"lifecycle: {per} events into the two Endpoints ({len(seq)} transitions), "
          f"{args.lifecycles} lifecycles, best of {args.repeat}")
    rows = [("Endpoint, transitions engine", best["transitions"], per),
            ("Endpoint, compiled table", best["table"], per),
            ("bare transitions.Machine", best["bare"], len(seq))]
    for label, rate, unit in rows:
        print(f"{label:30} {rate:10,.0f} {'events' if unit == per else 'triggers'}/s  "
              f"= {rate / unit:8,.0f} lifecycles/s")
    ratio = (best["bare"] / len(seq)) / (best["transitions"] / per)
    ratio_table = (best["bare"] / len(seq)) / (best["table"] / per)
    print(f"wall time per lifecycle, Endpoint(transitions) / bare Machine: {ratio:.2f}x (target <= 3x); "
          f"Endpoint(compiled table) / bare Machine: {ratio_table:.2f}x")
    print("method: one process, best of --repeat; per lifecycle on both sides (2 Endpoints made and "
          f"{per} events fed; 2 set_state calls and {len(seq)} bound triggers on 2 models of one Machine)")
    n = 10_000
    tracemalloc.start()
    t0 = time.perf_counter()
    endpoints = [Endpoint(i) for i in range(n)]
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{n:,} Endpoints (one shared Machine): {n / elapsed:,.0f} created/s, "
          f"{peak / n:,.0f} bytes each (peak, tracemalloc); {len(endpoints)} alive")


if __name__ == "__main__":
    main()
