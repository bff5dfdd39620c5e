"""``tcpfsm glossary`` and ``tcpfsm explore``: the learner's commands."""

from __future__ import annotations

from pathlib import Path

import click

from tcpfsm.cli._common import EXIT_FINDINGS, EXIT_OK, echo_json


@click.command("glossary")
@click.argument("term", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: {terms: [{term, also, means, rfc}]} "
                   "(schema: tcpfsm/schema/glossary.schema.json).")
def glossary_cmd(term: str | None, as_json: bool) -> int:
    """The words of TCP used in tables, charts and narration, each with its RFC section.

    \b
    Examples:
      tcpfsm glossary                 every term
      tcpfsm glossary MSL             one term (any spelling: ISS finds ISN)
      tcpfsm glossary "half"          terms whose names contain it
    """
    from tcpfsm.spec import load_glossary, lookup

    entries = list(load_glossary())
    if term is not None:
        entries = lookup(term)
        if not entries:
            click.echo(f"no term {term!r} in the glossary; try `tcpfsm glossary` for the list", err=True)
            return EXIT_FINDINGS
    if as_json:
        echo_json({"terms": [{"term": e.term, "also": list(e.also), "means": e.means, "rfc": e.where}
                             for e in entries]})
        return EXIT_OK
    for e in entries:
        also = f" (also: {', '.join(e.also)})" if e.also else ""
        click.echo(f"{e.term}{also} - {e.where}")
        click.echo(f"    {e.means}")
    return EXIT_OK


@click.command("explore")
@click.option("-o", "--output", type=click.Path(file_okay=False), default="site", show_default=True,
              help="The folder to write index.html into.")
def explore_cmd(output: str) -> int:
    """Write the explorer: one static HTML page (no server, no network) to open in a browser.

    Click a state to see its transitions with their labels and RFC §s, pick a profile to see what
    it changes, step through any shipped scenario: the diagram highlights the current state and
    the sequence chart grows step by step.

    \b
    Examples:
      tcpfsm explore -o site/ && xdg-open site/index.html
    """
    from tcpfsm.render import write_explorer

    path = write_explorer(Path(output))
    click.echo(f"wrote {path} ({path.stat().st_size:,} bytes): open it in a browser")
    return EXIT_OK
