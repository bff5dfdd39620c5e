"""``tcpfsm check --engine spin``: export the model to Promela, build and run SPIN's pan, and read
its verdicts, state count and trails back as tcpfsm's own :class:`~tcpfsm.checker.Report`.

pan stops at its first error, so each violated property costs one pan run: after a violation
(its trail replayed with ``pan -r`` into move labels), pan runs again with that property
switched off (``TCPFSM_SKIP``), until a run ends without an error; that last run's figures
(states, transitions) are the whole space's. A trail's labels are replayed through tcpfsm's
composed system, so a counterexample is the same list of TraceSteps (rules, segments,
histories) tcpfsm's own engines give, and the step table and the sequence charts work on it.
By default pan searches breadth first (``-DBFS``): its counterexamples are shortest, as
tcpfsm's. ``cores`` > 1 (``-DNCORE``) and ``bitstate`` (``-DBITSTATE``) search depth first;
a bitstate search that finds nothing is inconclusive (it may have skipped states).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from tcpfsm.checker import HOLDS, INCONCLUSIVE, VIOLATED, Report, TraceStep, Verdict
from tcpfsm.checker._api import trace_of
from tcpfsm.checker._driver import Search, Stats
from tcpfsm.checker._spin import PanRun, SpinFailed, build, require_tools, run
from tcpfsm.export._promela import PromelaModel, promela
from tcpfsm.spec._properties import AnyProperty, Deadlock, Reach


def replay(model: PromelaModel, labels: list[str]) -> list[TraceStep]:
    """A pan trail (its move labels) as tcpfsm's trace, replayed through the composed system."""
    search = model.report.search
    assert search is not None
    system = search.system
    path: list[tuple[str, int]] = []
    cur = search.initial
    for label in labels:
        nxt = next((n for lab, n, _ in system.successors(cur) if lab == label), None)
        if nxt is None:
            raise SpinFailed(f"pan's trail takes {label} after {len(path)} steps, which tcpfsm's model does not "
                             "enable there: the export and the model disagree")
        path.append((label, nxt))
        cur = nxt
    return trace_of(search, path)


def check_spin(*, cores: int = 1, bitstate: bool = False, memory: int | None = None, workdir: str | Path | None = None,
               keep: bool = False, **options: Any) -> Report:
    """Check the model ``tcpfsm.checker.check(**options)`` composes with SPIN (see the module doc).

    ``cores``: pan's ``-DNCORE``; ``bitstate``: ``-DBITSTATE``; ``memory``: pan's ``-DMEMLIM`` in
    MiB (reached: inconclusive); ``workdir``: where pan is built (default: a temporary folder).
    """
    require_tools()
    timeout = options.pop("timeout", None)
    options.pop("progress", None)
    model = promela(**options)
    base = model.report
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="tcpfsm-spin-")
        folder = Path(tmp.name)
    else:
        tmp = None
        folder = Path(workdir)
    try:
        return _run(model, base, folder, cores, bitstate, memory, timeout)
    finally:
        if tmp is not None and not keep:
            tmp.cleanup()


def _run(model: PromelaModel, base: Report, folder: Path, cores: int, bitstate: bool, memory: int | None,
         timeout: float | None) -> Report:
    b = build(model.text, folder, bfs=not bitstate and cores <= 1, cores=cores, bitstate=bitstate, memory_mib=memory)
    states = max(base.stats.states, 1)
    hash_bits = min(max(math.ceil(math.log2(states)) + 1, 18), 28)
    if bitstate:  # -w is the number of bits of the bit array: some 64 bits per state keep collisions rare
        hash_bits = min(math.ceil(math.log2(states)) + 6, 34)
    found: dict[str, tuple[list[TraceStep], PanRun]] = {}
    skip: list[str] = []
    deadlock = model.deadlock
    last = PanRun()
    for _ in range(len(model.flags) + 2):
        end_states = deadlock is not None and deadlock.name not in skip
        last = run(b, skip=skip, end_states=end_states, depth=states + 10, hash_bits=hash_bits, timeout=timeout)
        if last.stopped or not last.error:
            break
        if last.error.startswith("tcpfsm property "):
            name = last.error.split()[-1]
        elif last.error == "invalid end state" and deadlock is not None:
            name = deadlock.name
        else:
            raise SpinFailed(f"pan reported {last.error!r}, which the export does not make:\n{last.output[-1500:]}")
        if name in skip:  # pragma: no cover - pan ignoring TCPFSM_SKIP
            raise SpinFailed(f"pan reported {name} again although it was switched off")
        found[name] = (replay(model, last.trail), last)
        skip.append(name)
    if last.stopped.startswith("memory bound") and memory:
        last.stopped = f"memory bound {memory:,} MiB (pan -DMEMLIM)"
    complete = not last.stopped and not last.error and not bitstate
    stopped = last.stopped or ("bitstate search (-DBITSTATE): states may have been skipped" if bitstate else "")
    stats = Stats(states=last.stored, transitions=max(last.transitions - 1, 0), depth=last.depth,
                  seconds=last.seconds, peak_mib=last.peak_mib, complete=complete, stopped=stopped,
                  local_states=base.stats.local_states, segments=base.stats.segments)
    report = Report(base.model, base.spec, base.channel, base.retransmissions, stats, initial=base.initial,
                    engine="spin", left_out=list(base.left_out), data=base.data)
    search: Search | None = base.search
    assert search is not None
    for p in search.props:
        report.verdicts.append(_verdict(p, model, found, complete, stopped, b.seconds))
    report.search = search
    report.extra["spin"] = {"compile_seconds": round(b.seconds, 3), "flags": list(b.flags), "runs": len(found) + 1,
                            "pan_seconds": last.pan_seconds, "tcpfsm_states": base.stats.states}
    return report


def _verdict(p: AnyProperty, model: PromelaModel, found: dict[str, tuple[list[TraceStep], PanRun]], complete: bool,
             stopped: str, compile_seconds: float) -> Verdict:
    v = Verdict(p.name, p.title, p.kind, INCONCLUSIVE)
    left = dict(model.left_out)
    if p.name in left:
        v.note = left[p.name]
        return v
    if p.name in model.initial_violations:
        v.verdict, v.counterexample = (HOLDS if isinstance(p, Reach) else VIOLATED), []
        v.note = "the initial state (checked by tcpfsm at export)"
        return v
    hit = found.get(p.name)
    if hit is not None:
        v.counterexample = hit[0]
        v.verdict = HOLDS if isinstance(p, Reach) else VIOLATED
        v.note = "witness (pan)" if isinstance(p, Reach) else ("invalid end state (pan)" if isinstance(p, Deadlock)
                                                                else "")
        return v
    if complete:
        v.verdict = VIOLATED if isinstance(p, Reach) else HOLDS
        if isinstance(p, Reach):
            v.note = "no reachable state satisfies it"
    else:
        v.note = f"bound reached: {stopped}"
    return v


__all__ = ["check_spin", "replay"]
