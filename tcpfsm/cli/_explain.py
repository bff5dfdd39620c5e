"""``tcpfsm explain``: lessons the model checker teaches (``time-wait``: why TIME-WAIT exists)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tcpfsm.cli._common import EXIT_FINDINGS, EXIT_OK, echo_json, table

TOPICS = ("time-wait",)


@click.command("explain")
@click.argument("topic", type=click.Choice(TOPICS))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Write each reason's counterexample as a sequence chart (DIR/time-wait-REASON.svg and .png) "
                   "and a capture to open in Wireshark (DIR/time-wait-REASON.pcapng).")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output, each reason with both reports "
                   "(schema: tcpfsm/schema/explain.schema.json).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def explain_cmd(topic: str, out_dir: str | None, as_json: bool, quiet: bool) -> int:
    """Ask the model checker why TIME-WAIT exists, and read its shortest counterexamples.

    For each reason (the seed's two, and RFC 1337's assassination) it checks a spec without the
    protection and one with it, under incarnations (`check --reopen 1`), and prints a plain account,
    both verdicts and the shortest counterexample; -o writes each as a sequence chart. Exit 0 when
    every reason comes out as its account says, 1 when the checker found otherwise (it says which).
    Takes about a minute.

    \b
    Examples:
      tcpfsm explain time-wait
      tcpfsm explain time-wait -o out/
    """
    from tcpfsm.explain import time_wait_lessons

    def say(text: str) -> None:
        click.echo(f"checking: {text}", err=True)

    lessons = time_wait_lessons(progress=None if quiet or as_json else say)
    charts = _write_charts(lessons, Path(out_dir), err=as_json) if out_dir else {}
    if as_json:
        echo_json({"topic": topic, "lessons": [ls.to_dict() | {"chart": str(charts.get(ls.reason.name, "")) or None}
                                                for ls in lessons]})
    else:
        click.echo(_text(lessons, charts))
    return EXIT_OK if all(ls.as_expected for ls in lessons) else EXIT_FINDINGS


def _text(lessons: list[Any], charts: dict[str, Path]) -> str:
    from tcpfsm.cli._check import _event_words, _step_row

    out = ["Why TIME-WAIT exists: the model checker's answer. Each user may open the same 4-tuple once more. "
           "A segment's #A2 names the TCB that sent it (A's second); an endpoint's #B2/A2 its own TCB and the "
           "peer TCB it is synchronized with."]
    for ls in lessons:
        r = ls.reason
        out += ["", f"== {r.title} ({r.rfc})", click.wrap_text(r.account, 100), ""]
        for which, rep in (("without the protection", ls.broken), ("with it", ls.fixed)):
            v, s = rep.verdicts[0], rep.stats
            steps = f", shortest counterexample {len(v.counterexample)} steps" if v.counterexample else ""
            out.append(f"  {which}: {r.prop} {v.verdict.upper()}{steps} ({s.states:,} states, "
                       f"{rep.channel.describe()}) -- {r.command('broken' if rep is ls.broken else 'fixed')}")
        v = ls.counterexample
        if v.counterexample:
            words = _event_words(ls.broken)
            rows = [_step_row(i, st, words) for i, st in enumerate(v.counterexample, 1)]
            out.append(table(rows, ["#", "event", "A", "B", "A->B in flight", "B->A in flight", "rules", "history"]))
        if r.name in charts:
            out.append(f"  chart: {charts[r.name]}")
        if not ls.as_expected:
            out.append("  NOTE: not what the account expects; the checker's verdicts above are what it found")
    return "\n".join(out)


def _write_charts(lessons: list[Any], out: Path, *, err: bool) -> dict[str, Path]:
    from tcpfsm.cli._common import write_chart
    from tcpfsm.render._counterexample import counterexample_chart
    from tcpfsm.render._sequence import chart_dot

    writer: Any = None
    try:
        from tcpfsm.capture import ReplayError, write_counterexample

        writer = write_counterexample
    except ModuleNotFoundError as exc:  # dpkt: the capture extra
        click.echo(f"note: no captures without {exc.name} (pip install 'tcpfsm[capture]')", err=True)
    written = {}
    for ls in lessons:
        v = ls.counterexample
        if v.counterexample:
            dot = chart_dot(counterexample_chart(ls.broken, v))
            for suffix in (".png", ".svg"):  # the picture to look at, and the one to zoom into
                path = out / f"time-wait-{ls.reason.name}{suffix}"
                written[ls.reason.name] = write_chart(dot, path, err=err, what=f"sequence chart of {ls.reason.name}")
            if writer is not None:  # as the receivers saw it: lost segments are not on it
                pcap = out / f"time-wait-{ls.reason.name}.pcapng"
                try:
                    writer(ls.broken, v, pcap)
                    click.echo(f"capture of {ls.reason.name}: {pcap}", err=err)
                except ReplayError as exc:
                    click.echo(f"note: no capture of {ls.reason.name}: {exc}", err=True)
    return written
