"""``tcpfsm check``: the model checker over two endpoints and a network."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from tcpfsm.cli._common import (
    DEPTH_BOUND,
    STATE_BOUND,
    Seconds,
    chart_path,
    echo_json,
    model_options,
    spec_options,
    table,
    write_chart,
)
from tcpfsm.cli._walk import capture_at_option, check_capture_at


@click.command("check")
@spec_options
@model_options
@click.option("--property", "properties", multiple=True, help="Check only these (repeatable).")
@click.option("--properties", "properties_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="A property file of your own (the format of specs/properties.yaml) instead of the shipped one.")
@click.option("--max-states", type=STATE_BOUND, help="Stop after this many states (verdict: inconclusive).")
@click.option("--max-depth", type=DEPTH_BOUND, help="Stop at this BFS depth (verdict: inconclusive).")
@click.option("--timeout", type=Seconds(), help="Stop after this many seconds (verdict: inconclusive).")
@click.option("--engine", type=click.Choice(["auto", "vector", "plain", "spin"]), default="auto", show_default=True,
              help="spin: export the model to Promela, compile and run SPIN's pan (needs spin and gcc).")
@click.option("--cores", type=click.IntRange(1, 64), default=1, show_default=True,
              help="--engine spin: pan's cores (-DNCORE=N; a depth-first search).")
@click.option("--bitstate", is_flag=True, help="--engine spin: pan's bitstate hashing (-DBITSTATE); finding nothing "
              "is inconclusive.")
@click.option("--memory", type=click.IntRange(min=1), metavar="MiB",
              help="Stop when the search's memory passes this (verdict: inconclusive).")
@click.option("--b-opens", type=click.Choice(["passive", "active"]),
              help="How B opens (A opens actively); `active` explores simultaneous opens.")
@click.option("--data", type=click.IntRange(0, 26), default=0, show_default=True, metavar="N",
              help="Each user may SEND one byte, up to N times (RFC specs): explores data, FINs and their "
                   "reordering (no_phantom_ack, data_delivered_in_order).")
@click.option("--reopen", type=click.IntRange(0, 4), default=0, show_default=True, metavar="N",
              help="After a connection ends, each user may open the same 4-tuple again, up to N times "
                   "(incarnations; the 2MSL timer waits for an empty network): why TIME-WAIT exists "
                   "(no_cross_incarnation_data, reopen_not_refused; see `tcpfsm explain time-wait`).")
@click.option("--reopen-iss", type=click.Choice(["both", "clock", "wrap"]), default="both", show_default=True,
              help="The ISS of a reopened connection: from the clock (beyond the old numbers), the old one "
                   "again (wrap: a wrapped or slow ISN clock; only after an orderly close), or either.")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/check.schema.json).")
@click.option("--trace-out", type=click.Path(dir_okay=False), callback=chart_path,
              help="Write counterexamples: .json, a sequence chart per property (.svg/.png/.dot: NAME inserted), "
                   "or a capture per property (.pcap/.pcapng, to open in Wireshark).")
@capture_at_option("each --trace-out capture")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--coverage/--no-coverage", default=True, show_default=True,
              help="Report the spec rows no reachable move fired (a pass over the states after the search).")
def check_cmd(spec_file: str | None, profile: str | None, model: str | None, channels: tuple[str, ...], lossy: bool,
              capacity: int, when_full: str, retransmissions: int, properties: tuple[str, ...],
              properties_file: str | None,
              max_states: int | None, max_depth: int | None, timeout: float | None, engine: str, b_opens: str | None,
              data: int, reopen: int, reopen_iss: str, as_json: bool, trace_out: str | None, quiet: bool,
              cores: int = 1,
              bitstate: bool = False, memory: int | None = None, coverage: bool = True, at: str = "receivers") -> int:
    """Explore every interleaving of two endpoints and a network; check the properties.

    Exit 0: every property holds; 1: a property is violated; 2: usage or input error;
    3: inconclusive (a bound was reached; never reported as a pass).

    \b
    Examples:
      tcpfsm check                                   the RFC 9293 spec, reliable channel, capacity 2
      tcpfsm check --lossy --property I3             a half-open connection once segments can be lost
      tcpfsm check --model reference -k 5 -r 3 --lossy --json
      tcpfsm check --b-opens active                  both ends open actively: simultaneous opens
      tcpfsm check --data 1 --channel reorder --property data_delivered_in_order
                                                     each user sends a byte; segments overtake each other
      tcpfsm check --spec specs/mutants/skip_time_wait.yaml --property I1 --trace-out cex.svg
      tcpfsm check --reopen 1 --channel lossy --channel dup --property no_cross_incarnation_data
      tcpfsm check --properties my-properties.yaml --property my_invariant
      tcpfsm check --engine spin --lossy --property I3   the same model checked by SPIN's pan
    """
    from tcpfsm.checker import check as run_check
    from tcpfsm.checker import progress_printer

    check_capture_at(trace_out, at)
    chans = set(channels)
    if lossy:
        chans.add("lossy")
    progress = None if (quiet or as_json or not sys.stderr.isatty()) else progress_printer()
    if engine != "spin" and (cores > 1 or bitstate):
        raise click.UsageError("--cores and --bitstate are options of --engine spin")
    if engine == "spin":
        if max_states is not None or max_depth is not None:
            raise click.UsageError("--engine spin takes --timeout and --memory, not --max-states or --max-depth")
        from tcpfsm.export import check_spin

        report = check_spin(cores=cores, bitstate=bitstate, memory=memory, model=model, spec_file=spec_file,
                            profile=profile, capacity=capacity, retransmissions=retransmissions,
                            lossy="lossy" in chans, duplicating="dup" in chans, reordering="reorder" in chans,
                            when_full=when_full, properties=list(properties) or None, timeout=timeout,
                            b_opens=b_opens, properties_file=properties_file, data=data, reopen=reopen)
    else:
        report = run_check(model=model, spec_file=spec_file, profile=profile, capacity=capacity,
                           retransmissions=retransmissions, lossy="lossy" in chans, duplicating="dup" in chans,
                           reordering="reorder" in chans, when_full=when_full, properties=list(properties) or None,
                           max_states=max_states, max_depth=max_depth, timeout=timeout, progress=progress,
                           engine=engine, b_opens=b_opens, properties_file=properties_file, data=data,
                           reopen=reopen, reopen_iss=("clock", "wrap") if reopen_iss == "both" else (reopen_iss,),
                           memory=memory)
    if progress:
        click.echo("", err=True)
    if coverage and report.search is not None and report.stats.complete:  # spec rows that never fired
        from tcpfsm.checker._coverage import coverage as row_coverage

        report.extra["coverage"] = row_coverage(report.search).to_dict()
    if trace_out:
        _write_traces(report, Path(trace_out), at)
    if as_json:
        echo_json(report.to_dict())
        return report.exit_code
    click.echo(_check_text(report))
    return report.exit_code


def _check_text(report: Any) -> str:
    s = report.stats
    lines = [f"model {report.model} ({report.spec.profile or report.spec.name}), channel: {report.channel.describe()}, "
             f"R={report.retransmissions}{f', data {report.data}' if getattr(report, 'data', 0) else ''}"
             f"{f', reopen {report.reopen}' if getattr(report, 'reopen', 0) else ''}, "
             f"engine {report.engine}"]
    rows = [[v.name, v.verdict.upper() if v.verdict != "holds" else "holds",
             str(len(v.counterexample)) if v.counterexample is not None else "-", v.note or "", v.title]
            for v in report.verdicts]
    lines.append(table(rows, ["property", "verdict", "steps", "note", "what"]))
    for left in getattr(report, "left_out", ()):
        lines.append(f"left out: {left.name}: {left.note}")
    done = "exhaustive" if s.complete else f"INCOMPLETE ({s.stopped})"
    lines.append(f"{s.states:,} states, {s.transitions:,} transitions, depth {s.depth}, {s.seconds:.2f} s, "
                 f"{s.rate:,.0f} states/s, peak {s.peak_mib:.0f} MiB, {done}")
    extra = getattr(report, "extra", {})
    if "spin" in extra:
        sp = extra["spin"]
        lines.append(f"SPIN pan ({' '.join(sp['flags'])}): {sp['runs']} run(s), compile {sp['compile_seconds']:.2f} s "
                     f"apart; tcpfsm's own search of the model: {sp['tcpfsm_states']:,} states")
    if "coverage" in extra:
        cov = extra["coverage"]
        never = cov["never_fired"]
        lines.append(f"spec rows fired: {cov['fired']} of {cov['rows']}" + (
            f"; never fired ({len(never)}): {', '.join(never)}" if never else ""))
    for v in report.verdicts:
        if not v.counterexample:
            continue
        kind = "witness" if v.verdict == "holds" else "counterexample"
        lines.append(f"\n{kind} for {v.name} ({len(v.counterexample)} steps): {v.title}")
        words = _event_words(report)
        trows = [_step_row(i, st, words) for i, st in enumerate(v.counterexample, 1)]
        lines.append(table(trows, ["#", "event", "A", "B", "A->B in flight", "B->A in flight", "rules", "history"]))
        if v.cycle:
            lines.append("  ...then forever around: " + " -> ".join(st.event for st in v.cycle))
    return "\n".join(lines)


def _event_words(report: Any) -> Any:
    """A function from a move label to its words (the terse label stays in --json)."""
    from tcpfsm.checker import MoveTable

    moves = MoveTable.build(report.spec, report.channel, int(getattr(report, "data", 0) or 0),
                            int(getattr(report, "reopen", 0) or 0))
    return lambda label: f"{moves.describe(label, report.spec)} ({label})"


def _step_row(i: int, st: Any, words: Any = None) -> list[str]:
    """One row of a counterexample table; with incarnations, each endpoint shows its TCB and the peer
    TCB it is synchronized with (``ESTABLISHED #B2/A2``), each segment its sender's (``SYN seq=100 #A2``)."""
    inc = st.incarnations

    def end(who: str, state: str) -> str:
        if not inc or not inc[who]:
            return state
        peer = inc.get("peers", {}).get(who)
        return f"{state} #{inc[who]}" + (f"/{peer}" if peer else "")

    def flight(chan: str, segs: tuple[str, ...]) -> str:
        if inc:
            segs = tuple(f"{s} #{n}" for s, n in zip(segs, inc[chan], strict=True))
        return " ".join(segs) or "-"

    event = words(st.event) if words is not None else st.event
    return [str(i), event, end("A", st.a), end("B", st.b), flight("AB", st.ab), flight("BA", st.ba),
            ",".join(st.transitions), " ".join(f"{k}={x}" for k, x in st.history.items())]


def _write_traces(report: Any, out: Path, at: str = "receivers") -> None:
    from tcpfsm.render._counterexample import counterexample_chart
    from tcpfsm.render._sequence import chart_dot

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".pcap", ".pcapng"):  # one capture per counterexample (tcpfsm.capture)
        from tcpfsm.cli._walk import write_counterexample_captures

        write_counterexample_captures(report, out, at)
        return
    if out.suffix == ".json":
        out.write_text(json.dumps([v.to_dict() for v in report.verdicts if v.counterexample], indent=2))
        click.echo(f"counterexamples: {out}", err=True)
        return
    for v in report.verdicts:
        if not v.counterexample:
            continue
        path = out.with_name(f"{out.stem}-{v.name}{out.suffix or '.svg'}")
        write_chart(chart_dot(counterexample_chart(report, v)), path, what=f"sequence chart of {v.name}")
