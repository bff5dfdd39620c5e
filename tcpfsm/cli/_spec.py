"""``tcpfsm spec``: validate and show specs and profiles."""

from __future__ import annotations

import click

from tcpfsm.base import SpecError
from tcpfsm.cli._common import EXIT_OK, EXIT_USAGE, echo_json, load, spec_options, table
from tcpfsm.spec import available_profiles, checklist_rows, spec_to_dict


@click.group()
def spec() -> None:
    """Validate and show machine specs (specs/*.yaml) and their profiles."""


@spec.command("validate")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@spec_options
@click.option("--all", "all_", is_flag=True, help="Validate every shipped profile.")
def spec_validate(file: str | None, spec_file: str | None, profile: str | None, all_: bool) -> int:
    """Check a spec or profile: schema, names, determinism, coverage, reachability.

    \b
    Examples:
      tcpfsm spec validate                       the default (rfc9293)
      tcpfsm spec validate --profile rfc5961
      tcpfsm spec validate my-spec.yaml          exit 2 and every problem with file:line
      tcpfsm spec validate --spec my-profile.yaml   a profile of your own (`base: rfc9293`)
    """
    targets: list[tuple[str | None, str | None]]
    targets = [(None, p) for p in available_profiles()] if all_ else [(file or spec_file, profile)]
    status = EXIT_OK
    for f, p in targets:
        try:
            s = load(f, p)
        except SpecError as exc:
            click.echo(f"invalid: {f or p or 'rfc9293'}", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            status = EXIT_USAGE
            continue
        edges = sum(1 for _ in s.edges())
        click.echo(f"ok: {s.profile or s.name} ({s.file}): {len(s.states)} states, {len(s.events)} events, "
                   f"{len(s.transitions)} transitions ({edges} state x event rows)")
    return status


@spec.command("show")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@spec_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def spec_show(file: str | None, spec_file: str | None, profile: str | None, as_json: bool) -> int:
    """The transition table with ids and RFC sections, and the checklist coverage.

    \b
    Examples:
      tcpfsm spec show
      tcpfsm spec show --profile rfc1337 --json | jq '.transitions[] | select(.id=="S17b")'
    """
    s = load(spec_file, profile, file)
    if as_json:
        echo_json(spec_to_dict(s))
        return EXIT_OK
    click.echo(f"{s.title} — profile {s.profile} ({s.file})")
    click.echo("states: " + ", ".join(st.name for st in s.states) + f"; initial {s.initial}")
    rows = [[t.id, ",".join(t.sources) if len(t.sources) < 4 else f"{len(t.sources)} states",
             ",".join(t.events), " & ".join(map(str, t.guard)) or "-", t.target,
             "; ".join(map(str, t.actions)) or "-", "§" + t.rfc] for t in s.transitions]
    click.echo(table(rows, ["id", "from", "event", "guard", "to", "actions", "rfc"]))
    missing = [r for r in checklist_rows(s) if r["status"] != "implemented"]
    if missing:
        click.echo("\nchecklist rows without a transition of their own:")
        for r in missing:
            click.echo(f"  {r['row']}: {r['why']}")
    return EXIT_OK
