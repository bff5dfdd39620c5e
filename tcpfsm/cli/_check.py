"""``tcpfsm check``: the model checker over two endpoints and a network."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from tcpfsm.cli._common import (
    CAPACITY,
    DEPTH_BOUND,
    RETRANSMISSIONS,
    STATE_BOUND,
    Seconds,
    chart_path,
    echo_json,
    spec_options,
    table,
    write_chart,
)


@click.command("check")
@spec_options
@click.option("--model", help="A model of specs/properties.yaml, e.g. `reference` (the benchmark model).")
@click.option("--channel", "channels", multiple=True, type=click.Choice(["reliable", "lossy", "dup", "reorder"]),
              help="Channel model; repeat to combine (default reliable FIFO).")
@click.option("--lossy", is_flag=True, help="Same as --channel lossy.")
@click.option("--capacity", "-k", type=CAPACITY, default=2, show_default=True, help="Segments each channel holds.")
@click.option("--when-full", type=click.Choice(["block", "drop"]), default="block", show_default=True)
@click.option("--retransmissions", "-r", type=RETRANSMISSIONS, default=1, show_default=True,
              help="Retransmissions per state visit (R).")
@click.option("--property", "properties", multiple=True, help="Check only these (repeatable).")
@click.option("--properties", "properties_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="A property file of your own (the format of specs/properties.yaml) instead of the shipped one.")
@click.option("--max-states", type=STATE_BOUND, help="Stop after this many states (verdict: inconclusive).")
@click.option("--max-depth", type=DEPTH_BOUND, help="Stop at this BFS depth (verdict: inconclusive).")
@click.option("--timeout", type=Seconds(), help="Stop after this many seconds (verdict: inconclusive).")
@click.option("--engine", type=click.Choice(["auto", "vector", "plain"]), default="auto", show_default=True)
@click.option("--b-opens", type=click.Choice(["passive", "active"]),
              help="How B opens (A opens actively); `active` explores simultaneous opens.")
@click.option("--data", type=click.IntRange(0, 26), default=0, show_default=True, metavar="N",
              help="Each user may SEND one byte, up to N times (RFC specs): explores data, FINs and their "
                   "reordering (no_phantom_ack, data_delivered_in_order).")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/check.schema.json).")
@click.option("--trace-out", type=click.Path(dir_okay=False), callback=chart_path,
              help="Write counterexamples: .json, or a sequence chart per property (.svg/.png/.dot: NAME inserted).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def check_cmd(spec_file: str | None, profile: str | None, model: str | None, channels: tuple[str, ...], lossy: bool,
              capacity: int, when_full: str, retransmissions: int, properties: tuple[str, ...],
              properties_file: str | None,
              max_states: int | None, max_depth: int | None, timeout: float | None, engine: str, b_opens: str | None,
              data: int, as_json: bool, trace_out: str | None, quiet: bool) -> int:
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
      tcpfsm check --properties my-properties.yaml --property my_invariant
    """
    from tcpfsm.checker import check as run_check
    from tcpfsm.checker import progress_printer

    chans = set(channels)
    if lossy:
        chans.add("lossy")
    progress = None if (quiet or as_json or not sys.stderr.isatty()) else progress_printer()
    report = run_check(model=model, spec_file=spec_file, profile=profile, capacity=capacity,
                       retransmissions=retransmissions, lossy="lossy" in chans, duplicating="dup" in chans,
                       reordering="reorder" in chans, when_full=when_full, properties=list(properties) or None,
                       max_states=max_states, max_depth=max_depth, timeout=timeout, progress=progress, engine=engine,
                       b_opens=b_opens, properties_file=properties_file, data=data)
    if progress:
        click.echo("", err=True)
    if trace_out:
        _write_traces(report, Path(trace_out))
    if as_json:
        echo_json(report.to_dict())
        return report.exit_code
    click.echo(_check_text(report))
    return report.exit_code


def _check_text(report: Any) -> str:
    s = report.stats
    lines = [f"model {report.model} ({report.spec.profile or report.spec.name}), channel: {report.channel.describe()}, "
             f"R={report.retransmissions}{f', data {report.data}' if getattr(report, 'data', 0) else ''}, "
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
    for v in report.verdicts:
        if not v.counterexample:
            continue
        kind = "witness" if v.verdict == "holds" else "counterexample"
        lines.append(f"\n{kind} for {v.name} ({len(v.counterexample)} steps): {v.title}")
        trows = [[str(i), st.event, st.a, st.b, " ".join(st.ab) or "-", " ".join(st.ba) or "-",
                  ",".join(st.transitions), " ".join(f"{k}={x}" for k, x in st.history.items())]
                 for i, st in enumerate(v.counterexample, 1)]
        lines.append(table(trows, ["#", "event", "A", "B", "A->B in flight", "B->A in flight", "rules", "history"]))
        if v.cycle:
            lines.append("  ...then forever around: " + " -> ".join(st.event for st in v.cycle))
    return "\n".join(lines)


def _write_traces(report: Any, out: Path) -> None:
    from tcpfsm.render._counterexample import counterexample_chart
    from tcpfsm.render._sequence import chart_dot

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        out.write_text(json.dumps([v.to_dict() for v in report.verdicts if v.counterexample], indent=2))
        click.echo(f"counterexamples: {out}", err=True)
        return
    for v in report.verdicts:
        if not v.counterexample:
            continue
        path = out.with_name(f"{out.stem}-{v.name}{out.suffix or '.svg'}")
        write_chart(chart_dot(counterexample_chart(report, v)), path, what=f"sequence chart of {v.name}")
