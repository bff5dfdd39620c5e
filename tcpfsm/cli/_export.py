"""``tcpfsm export``: the checker's composed model as Promela (SPIN); one endpoint's machine as
JSON or W3C SCXML."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tcpfsm.cli._common import EXIT_INCONCLUSIVE, load, model_options, spec_options


@click.group("export")
def export_cmd() -> None:
    """Export the model for other tools.

    \b
    Examples:
      tcpfsm export promela --lossy -k 2 -o tcp.pml     the checker's model, for SPIN
      tcpfsm export promela --lossy -k 2 | spin -a /dev/stdin
      tcpfsm export promela --model reference -k 3 -r 2 --lossy --property I1
      tcpfsm export json --profile rfc793 -o rfc793.json
      tcpfsm export scxml -o tcp.scxml
    """


def _write(text: str, out: str | None, what: str) -> None:
    if out is None or out == "-":
        click.echo(text, nl=False)
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"{what}: {path}", err=True)


@export_cmd.command("promela")
@spec_options
@model_options
@click.option("--property", "properties", multiple=True, help="Export only these (repeatable).")
@click.option("--properties", "properties_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="A property file of your own instead of the shipped one.")
@click.option("--b-opens", type=click.Choice(["passive", "active"]), help="How B opens (A opens actively).")
@click.option("--data", type=click.IntRange(0, 26), default=0, show_default=True, metavar="N",
              help="Each user may SEND one byte, up to N times (RFC specs).")
@click.option("--output", "-o", metavar="FILE", help="Write here (default: standard output).")
def promela_cmd(spec_file: str | None, profile: str | None, model: str | None, channels: tuple[str, ...],
                lossy: bool, capacity: int, when_full: str, retransmissions: int, properties: tuple[str, ...],
                properties_file: str | None, b_opens: str | None, data: int, output: str | None) -> int:
    """The model `tcpfsm check` explores (same options), as Promela for SPIN.

    tcpfsm's own search runs first: it learns which local tables the model reaches, and writes
    them as C tables; pan then reports the same number of states (transitions + 1: pan counts
    the initial state). Safety properties become assertions; liveness is not exported.

    \b
    Build and run it:
      tcpfsm export promela --lossy -o tcp.pml
      spin -a tcp.pml && gcc -O2 -DSAFETY -o pan pan.c && ./pan -E
    """
    from tcpfsm.export import promela

    chans = set(channels) | ({"lossy"} if lossy else set())
    try:
        m = promela(model=model, spec_file=spec_file, profile=profile, capacity=capacity,
                    retransmissions=retransmissions, lossy="lossy" in chans, duplicating="dup" in chans,
                    reordering="reorder" in chans, when_full=when_full, properties=list(properties) or None,
                    b_opens=b_opens, properties_file=properties_file, data=data)
    except OverflowError as exc:  # the model outgrew the checker's encoding: no tables to export
        click.echo(f"inconclusive: tcpfsm's search could not finish the model ({exc}); nothing exported", err=True)
        return EXIT_INCONCLUSIVE
    for name, why in m.left_out:
        click.echo(f"not exported: {name}: {why}", err=True)
    s = m.report.stats
    click.echo(f"tcpfsm: {s.states:,} states, {s.transitions:,} transitions (pan: the same states, "
               f"transitions + 1)", err=True)
    _write(m.text, output, "promela")
    return 0


@export_cmd.command("json")
@spec_options
@click.option("--output", "-o", metavar="FILE", help="Write here (default: standard output).")
def json_cmd(spec_file: str | None, profile: str | None, output: str | None) -> int:
    """One endpoint's state machine as JSON (schema: tcpfsm/schema/machine.schema.json)."""
    from tcpfsm.export import machine_json

    _write(json.dumps(machine_json(load(spec_file, profile)), indent=2) + "\n", output, "machine JSON")
    return 0


@export_cmd.command("scxml")
@spec_options
@click.option("--output", "-o", metavar="FILE", help="Write here (default: standard output).")
def scxml_cmd(spec_file: str | None, profile: str | None, output: str | None) -> int:
    """One endpoint's state machine as W3C SCXML (guards as ECMAScript conditions)."""
    from tcpfsm.export import machine_scxml

    _write(machine_scxml(load(spec_file, profile)), output, "SCXML")
    return 0
