"""``tcpfsm simulate``: named scenarios, step by step."""

from __future__ import annotations

from pathlib import Path

import click

from tcpfsm.cli._common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, echo_json, load, spec_options, table, write_chart
from tcpfsm.cli._walk import capture_at_option, capture_path, check_capture_at, scenario_outputs


@click.command()
@click.argument("scenario", required=False)
@spec_options
@click.option("--scenarios", "scenarios_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="A scenario file of your own (the format of specs/scenarios.yaml).")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/simulate.schema.json).")
@click.option("--list", "list_", is_flag=True, help="List the named scenarios.")
@click.option("--chart", type=click.Path(dir_okay=False), help="Also draw a sequence chart (.svg, .png, .pdf, .dot).")
@click.option("--pcap", type=click.Path(dir_okay=False), callback=capture_path,
              help="Also write the segments as a capture: .pcap, or .pcapng with each packet's rule and RFC §.")
@capture_at_option("--pcap's capture")
@click.option("--layers", is_flag=True, help="Print each packet's headers layer by layer (TCP/IP and OSI names).")
@click.option("--explain", is_flag=True, help="Under each row, what the endpoint did and why, in plain words "
              "(from the spec's labels, guards and RFC §s; terms: tcpfsm glossary).")
@click.option("--time", "timed", is_flag=True, help="With --chart: a time axis (RTT 100 ms; timers per the spec).")
def simulate(scenario: str | None, spec_file: str | None, profile: str | None, scenarios_file: str | None,
             as_json: bool, list_: bool, chart: str | None, pcap: str | None, layers: bool,
             explain: bool = False, timed: bool = False, at: str = "receivers") -> int:
    """Run a named scenario step by step: who, event, segment, state before -> after, rule, RFC §.

    \b
    Examples:
      tcpfsm simulate handshake
      tcpfsm simulate simultaneous-close --json
      tcpfsm simulate simultaneous-close --chart close.svg
      tcpfsm simulate close --pcap close.pcapng --layers
      tcpfsm simulate listener-reset --pcap lr.pcapng --capture-at hosts
      tcpfsm simulate close --explain                   each step in plain words
      tcpfsm simulate close --chart close.svg --time    with a time axis: RTTs, 2MSL
      tcpfsm simulate --list
      tcpfsm simulate --scenarios my-scenarios.yaml my-scenario --spec my-spec.yaml
    """
    from tcpfsm.runtime import run_scenario, step_rows
    from tcpfsm.spec import load_scenarios

    check_capture_at(pcap, at)
    scenarios = load_scenarios(Path(scenarios_file) if scenarios_file else None)
    if list_ or not scenario:
        for name, sc in scenarios.items():
            click.echo(f"{name:28} {sc.title}")
        return EXIT_OK if list_ else EXIT_USAGE
    if scenario not in scenarios:
        raise click.UsageError(f"unknown scenario {scenario!r}; known: {', '.join(scenarios)}")
    s = load(spec_file, profile)
    run = run_scenario(scenarios[scenario], s)
    rows = step_rows(run.pair.trace)
    if timed and not chart:
        raise click.UsageError("--time draws a time axis on the sequence chart: add --chart FILE")
    if chart:
        from tcpfsm.render import chart_dot, scenario_chart

        write_chart(chart_dot(scenario_chart(run, timed=timed)), chart, err=as_json)
    if pcap or layers:
        if layers and as_json:
            raise click.UsageError("--layers prints text: drop --json (or see tcpfsm walk --json --layers)")
        scenario_outputs(run, pcap, layers, err=as_json, at=at)
    final = {str(ep.name): str(ep.state) for ep in (run.pair.a, run.pair.b)}
    if as_json:
        echo_json({"scenario": scenario, "title": run.scenario.title, "profile": s.profile, "steps": rows,
                    "final": final, "failures": run.failures})
    else:
        click.echo(f"{scenario}: {run.scenario.title} — profile {s.profile}")
        body = []
        for i, r in enumerate(rows, 1):
            change = f"{r['from']} -> {r['to']}" if r["from"] else ""
            extra = "; ".join(filter(None, [
                ("sent " + ", ".join(r["sent"])) if r["sent"] else "",
                ("dropped: " + r["dropped"]) if r["dropped"] else "",
                ("notice: " + ", ".join(r["notices"])) if r["notices"] else ""]))
            body.append([str(i), r["endpoint"] or "", r["event"], r["segment"], change, r["transition"],
                          ("§" + r["rfc"]) if r["rfc"] else "", extra])
        text = table(body, ["#", "end", "event", "segment in", "state", "rule", "rfc", "output"])
        if explain:
            from tcpfsm.render import narrate

            lines = text.splitlines()
            text = "\n".join(lines[:2] + [f"{row}\n      {why}" for row, why in
                                          zip(lines[2:], narrate(run.pair.trace, run.pair.a.spec), strict=True)])
        click.echo(text)
        click.echo("final: " + ", ".join(f"{k} {v}" for k, v in final.items()))
        for f in run.failures:
            click.echo(f"FAILED {f}", err=True)
    return EXIT_FINDINGS if run.failures else EXIT_OK
