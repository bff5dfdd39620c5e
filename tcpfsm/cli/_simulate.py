"""``tcpfsm simulate``: named scenarios, step by step."""

from __future__ import annotations

from pathlib import Path

import click

from tcpfsm.cli._common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, echo_json, load, spec_options, table, write_chart


@click.command()
@click.argument("scenario", required=False)
@spec_options
@click.option("--scenarios", "scenarios_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="A scenario file of your own (the format of specs/scenarios.yaml).")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/simulate.schema.json).")
@click.option("--list", "list_", is_flag=True, help="List the named scenarios.")
@click.option("--chart", type=click.Path(dir_okay=False), help="Also draw a sequence chart (.svg, .png, .pdf, .dot).")
def simulate(scenario: str | None, spec_file: str | None, profile: str | None, scenarios_file: str | None,
             as_json: bool, list_: bool, chart: str | None) -> int:
    """Run a named scenario step by step: who, event, segment, state before -> after, rule, RFC §.

    \b
    Examples:
      tcpfsm simulate handshake
      tcpfsm simulate simultaneous-close --json
      tcpfsm simulate simultaneous-close --chart close.svg
      tcpfsm simulate --list
      tcpfsm simulate --scenarios my-scenarios.yaml my-scenario --spec my-spec.yaml
    """
    from tcpfsm.runtime import run_scenario, step_rows
    from tcpfsm.spec import load_scenarios

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
    if chart:
        from tcpfsm.render import chart_dot, scenario_chart

        write_chart(chart_dot(scenario_chart(run)), chart, err=as_json)
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
        click.echo(table(body, ["#", "end", "event", "segment in", "state", "rule", "rfc", "output"]))
        click.echo("final: " + ", ".join(f"{k} {v}" for k, v in final.items()))
        for f in run.failures:
            click.echo(f"FAILED {f}", err=True)
    return EXIT_FINDINGS if run.failures else EXIT_OK
