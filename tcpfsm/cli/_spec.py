"""``tcpfsm spec``: validate and show specs and profiles; list the vocabulary they may use."""

from __future__ import annotations

import click

from tcpfsm.base import SpecError
from tcpfsm.cli._common import EXIT_OK, EXIT_USAGE, echo_json, load, spec_options, table
from tcpfsm.spec import VOCABULARY, available_profiles, checklist_rows, spec_to_dict
from tcpfsm.spec._format_doc import spec_format_markdown
from tcpfsm.spec._vocabulary import KINDS


@click.group()
def spec() -> None:
    """Validate and show machine specs (specs/*.yaml) and their profiles; list their vocabulary.

    \b
    Examples:
      tcpfsm spec validate --all
      tcpfsm spec show --profile linux
      tcpfsm spec vocabulary --kind predicate
    """


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
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/spec-show.schema.json).")
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


@spec.command("vocabulary")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: every kind with its terms.")
@click.option("--markdown", is_flag=True, help="The whole spec-format reference (docs/spec-format.md).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(list(VOCABULARY)),
              help="Only these kinds of term (repeatable).")
def spec_vocabulary(as_json: bool, markdown: bool, kinds: tuple[str, ...]) -> int:
    """The names a spec may use where data meets code, with their meaning and RFC section.

    Predicates (behind guards), arrival checks, effects, the SEQ and ACK sources of a send,
    timer duration parameters, action kinds and TCP flags: the loader accepts these names
    only, and the runtime implements each of them.

    \b
    Examples:
      tcpfsm spec vocabulary                      every kind, as tables
      tcpfsm spec vocabulary --kind effect --kind predicate
      tcpfsm spec vocabulary --json | jq '.predicate.terms[].name'
      tcpfsm spec vocabulary --markdown > docs/spec-format.md    regenerate the reference
    """
    if as_json and markdown:
        raise click.UsageError("give --json or --markdown, not both")
    if markdown:
        if kinds:
            raise click.UsageError("--markdown is the whole reference; drop --kind")
        click.echo(spec_format_markdown(), nl=False)
        return EXIT_OK
    chosen = kinds or tuple(VOCABULARY)
    if as_json:
        echo_json({kind: {"doc": KINDS[kind],
                          "terms": [{"name": t.name, "rfc": t.rfc, "doc": t.doc} for t in VOCABULARY[kind].values()]}
                   for kind in chosen})
        return EXIT_OK
    for i, kind in enumerate(chosen):
        click.echo(("\n" if i else "") + f"{kind}: {KINDS[kind]}")
        rows = [[t.name, _section(t.rfc), t.doc] for t in VOCABULARY[kind].values()]
        click.echo(table(rows, ["name", "rfc", "meaning"]))
    return EXIT_OK


def _section(rfc: str) -> str:
    return "-" if not rfc else rfc if rfc[0].isalpha() else "§" + rfc
