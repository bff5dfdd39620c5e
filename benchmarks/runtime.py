"""Events/s through Endpoint on whole lifecycles, next to a bare transitions.Machine.

One lifecycle = handshake, 4 data segments each way, the 4-way close, the 2MSL timeout:
every user call, every segment arrival and the timer count as one event. In the same run,
a bare ``transitions.Machine`` with the same 11 states triggers the same state sequence
(one trigger per event), and the ratio is printed. Usage:

    python benchmarks/runtime.py [--lifecycles 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from transitions import Machine

from tcpfsm import Endpoint, load_spec


def lifecycle(engine: str, observe: object = None) -> int:
    """Run one whole connection, driving two Endpoints directly; return the events fed to them."""
    a = Endpoint(100, engine=engine)
    b = Endpoint(300, engine=engine)
    if observe is not None:
        a.observe(observe)  # type: ignore[arg-type]
        b.observe(observe)  # type: ignore[arg-type]
    to_b: list = []
    to_a: list = []
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


def state_sequence() -> list[tuple[str, str, str]]:
    """The (state, event, next state) sequence the two endpoints go through in one lifecycle."""
    seq: list[tuple[str, str, str]] = []
    lifecycle("transitions", lambda s: seq.append((str(s.source), s.event, str(s.target))))
    return seq


def bare_machine(calls: int, sequence: list[tuple[str, str, str]]) -> float:
    """Calls/s of Machine.trigger walking the same state sequence (one trigger per transition)."""
    spec = load_spec()

    class Model:
        pass

    model = Model()
    machine = Machine(model=model, states=list(spec.state_names), initial=spec.initial, auto_transitions=False)
    triggers = []
    for source, ev, target in sequence:
        name = f"{ev}__{source}__{target}"
        if name not in machine.events:
            machine.add_transition(name, source, None if source == target else target)
        triggers.append(name)
    start = sequence[0][0]
    t0 = time.perf_counter()
    done = 0
    while done < calls:
        machine.set_state(start, model)
        for (source, _ev, _target), name in zip(sequence, triggers, strict=True):
            if model.state != source:  # type: ignore[attr-defined]
                machine.set_state(source, model)  # the walk interleaves two endpoints
            model.trigger(name)  # type: ignore[attr-defined]
            done += 1
    return done / (time.perf_counter() - t0)


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
        best["bare"] = max(best.get("bare", 0.0), bare_machine(events, seq))
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
    print(f"wall time per lifecycle, Endpoint(transitions) / bare Machine: {ratio:.2f}x (target <= 3x); "
          f"per call: {best['bare'] / best['transitions']:.2f}x")
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
