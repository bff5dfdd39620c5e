"""``tcpfsm diagram``: the state machine drawn from the spec."""

from __future__ import annotations

from pathlib import Path

import click

from tcpfsm.cli._common import EXIT_FINDINGS, EXIT_OK, load, spec_options
from tcpfsm.spec import Spec, resolve_spec

FORMATS = ("dot", "svg", "png", "pdf", "mermaid")


def _spec_arg(text: str) -> Spec:
    """A profile name, or a spec/profile file (a path that exists or ends in .yaml)."""
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        return resolve_spec(file=text)
    return resolve_spec(profile=text)


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@spec_options
@click.option("--only", type=click.Choice(["all", "normal"]), default="all", show_default=True,
              help="normal: the client and server paths and RFC 9293 Figure 5's other edges.")
@click.option("--highlight", metavar="STATE", help="Emphasise one state and its edges (RFC name, e.g. TIME-WAIT).")
@click.option("--show-ids", is_flag=True, help="Prefix each edge label with its transition id and RFC section.")
@click.option("--labels", type=click.Choice(["figure", "guards"]), default="figure", show_default=True,
              help="figure: RFC 9293 Figure 5's words (rcv ACK of FIN); guards: each event with the guards "
                   "that decide it.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: from the -o suffix, else dot).")
@click.option("-o", "--output", type=click.Path(), help="A file, or a folder (ending in /) for every diagram.")
@click.option("--diff", nargs=2, metavar="OLD NEW",
              help="Draw what changes from OLD to NEW: profile names or spec/profile files.")
@click.option("--check", is_flag=True, help="Exit 1 naming the committed diagrams that are stale.")
@click.option("--specs", "specs_dir", type=click.Path(file_okay=False, exists=True),
              help="With -o DIR/ or --check: draw from this specs folder (laid out like specs/) instead.")
def diagram(file: str | None, spec_file: str | None, profile: str | None, only: str, highlight: str | None,
            show_ids: bool, labels: str, fmt: str | None, output: str | None, diff: tuple[str, str] | None, check: bool,
            specs_dir: str | None) -> int:
    """Draw the state machine from the spec with Graphviz (or as Mermaid text).

    \b
    Examples:
      tcpfsm diagram -o diagrams/                       regenerate every committed diagram
      tcpfsm diagram --check                            are the committed diagrams fresh?
      tcpfsm diagram --only normal -o tcp.svg
      tcpfsm diagram --spec my.yaml -o my.svg           a spec of your own
      tcpfsm diagram --highlight TIME-WAIT --show-ids -o tw.png
      tcpfsm diagram --labels guards -o precise.svg     events and guards instead of Figure 5's words
      tcpfsm diagram --diff rfc793 rfc9293 -o diff.svg
      tcpfsm diagram --diff specs/tcp.yaml my.yaml -o what-i-changed.svg
      tcpfsm diagram --format mermaid                   stateDiagram-v2 for a README
    """
    from tcpfsm.render import diagrams_dir, render_state_diagram, stale, write_all

    specs = Path(specs_dir) if specs_dir else None
    if check:
        folder = Path(output) if output else diagrams_dir()
        problems = stale(folder, specs)
        for p in problems:
            click.echo(f"stale: {p}", err=True)
        if problems:
            click.echo(f"regenerate with: tcpfsm diagram -o {folder}/", err=True)
            return EXIT_FINDINGS
        click.echo(f"ok: every diagram in {folder} matches the specs")
        return EXIT_OK
    if output and (output.endswith("/") or Path(output).is_dir()):
        click.echo(f"writing every diagram to {output}")
        written = write_all(Path(output), progress=True, specs=specs)
        click.echo(f"{len(written)} files written")
        return EXIT_OK
    fmt = fmt or (Path(output).suffix.lstrip(".") if output and Path(output).suffix else "dot")
    if fmt == "mmd":
        fmt = "mermaid"
    if fmt not in FORMATS:
        raise click.UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt not in ("dot", "mermaid") and not output:
        raise click.UsageError(f"--format {fmt} needs -o FILE")
    try:
        if diff:
            data = render_state_diagram(_spec_arg(diff[1]), diff_from=_spec_arg(diff[0]), show_ids=show_ids,
                                        fmt=fmt, output=output)
        else:
            data = render_state_diagram(load(spec_file, profile, file), only=only, highlight=highlight,
                                        show_ids=show_ids, fmt=fmt, output=output, labels=labels)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if not output:
        click.echo(data.decode(), nl=False)
    else:
        click.echo(f"wrote {output} ({len(data):,} bytes)")
    return EXIT_OK
