"""``tcpfsm glossary`` and ``tcpfsm explore``: the learner's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
@click.option("--no-walk", is_flag=True, help="Leave out the HTTP GET walk's TCP part (tcpfsm walk http-get).")
@click.option("--lessons", is_flag=True,
              help="Also the TIME-WAIT lesson: each reason's shortest counterexample (runs the checks: about a "
                   "minute; tcpfsm explain time-wait).")
def explore_cmd(output: str, no_walk: bool, lessons: bool) -> int:
    """Write the explorer: one static HTML page (no server, no network) to open in a browser.

    Click a state to see its transitions with their labels and RFC §s, pick a profile to see what
    it changes, step through any shipped scenario, the HTTP GET walk's TCP part and (--lessons)
    the TIME-WAIT lesson's counterexamples: the diagram highlights the current state and the
    sequence chart grows step by step.

    \b
    Examples:
      tcpfsm explore -o site/ && xdg-open site/index.html
      tcpfsm explore -o site/ --lessons
    """
    from tcpfsm.render import write_explorer
    from tcpfsm.render._explorer import Walkthrough
    from tcpfsm.spec import load_spec

    extra: list[Walkthrough] = []
    if not no_walk:
        from tcpfsm.walk import walk

        run = walk("http-get")
        extra.append(Walkthrough("walk-http-get", "the HTTP GET walk's TCP part: client (A) and web server (B)",
                                 run.trace, load_spec(profile=run.profile), "§3.5, §3.6", ("client", "server")))
    if lessons:
        from tcpfsm.explain import time_wait_lessons

        click.echo("running the TIME-WAIT lesson's checks (about a minute)", err=True)
        extra += lesson_walkthroughs(time_wait_lessons())
    path = write_explorer(Path(output), extra)
    click.echo(f"wrote {path} ({path.stat().st_size:,} bytes): open it in a browser")
    return EXIT_OK


def lesson_walkthroughs(lessons: list[Any]) -> list[Any]:
    """Each lesson's counterexample, replayed on Endpoints, as a walkthrough for the explorer."""
    from tcpfsm.capture import ReplayError, counterexample_pair
    from tcpfsm.render._explorer import Walkthrough

    out = []
    for ls in lessons:
        v = ls.counterexample
        if not v.counterexample:
            continue
        try:
            pair = counterexample_pair(ls.broken, v)
        except ReplayError as exc:
            click.echo(f"note: {ls.reason.name} left out of the explorer: {exc}", err=True)
            continue
        out.append(Walkthrough(f"time-wait-{ls.reason.name}", f"{ls.reason.title}; without the protection "
                               f"({ls.reason.broken}); {ls.reason.rfc}", pair.trace, ls.broken.spec))
    return out
