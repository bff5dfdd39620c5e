"""``tcpfsm packetdrill``: packetdrill scripts run against the socket layer and the spec."""

from __future__ import annotations

import click

from tcpfsm.cli._common import EXIT_FINDINGS, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_USAGE, echo_json, load, spec_options


@click.command("packetdrill")
@click.argument("scripts", nargs=-1, required=True, type=click.Path(dir_okay=False))
@spec_options
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/packetdrill.schema.json).")
@click.option("--verbose", "-v", is_flag=True, help="Every line with its rules, not only the divergences.")
def packetdrill_cmd(scripts: tuple[str, ...], spec_file: str | None, profile: str | None, as_json: bool,
                    verbose: bool) -> int:
    """Run packetdrill scripts (.pkt) against the socket layer and the spec.

    Each line is reported: an inbound packet with the rules it met, an outbound one compared with
    what the model sent (flags, seq, ack, length; relative numbers), a system call with its result,
    and options, shell commands, python blocks and calls the model lacks as not modelled. A
    divergence names its line and the rule (transition id and RFC section, or the Linux function
    of the socket layer) behind what the model did. Exit 1 on a divergence, 2 on a syntax error,
    3 when a script had no line the model could run (inconclusive).

    The profile is linux here unless --profile or --spec names another (a script that uses TCP
    Fast Open then runs on tfo, the linux profile with RFC 7413's overlay; tfo and icmp may be
    named too).

    \b
    Examples:
      tcpfsm packetdrill tests/data/packetdrill/*.pkt --profile linux
      tcpfsm packetdrill close.pkt -v
      tcpfsm packetdrill close.pkt --json
    """
    from tcpfsm.packetdrill import ScriptError, run_script

    # a spec file is loaded once; a profile is given by name, so that a script using TCP Fast Open
    # runs on the tfo overlay of the linux profile (the runner says so on its first line)
    spec = load(spec_file, profile) if spec_file else None
    name = profile or "linux"
    results = []
    for path in scripts:
        try:
            results.append(run_script(path, spec=spec, profile=None if spec else name))
        except ScriptError as exc:
            click.echo(f"error: {exc}", err=True)
            return EXIT_USAGE
        except (OSError, UnicodeError) as exc:
            click.echo(f"error: {path}: {getattr(exc, 'strerror', None) or exc}", err=True)
            return EXIT_USAGE
    failed = [r for r in results if not r.passed]
    unsure = [r for r in results if r.verdict == "inconclusive"]
    # a divergence is a finding (1); a script of which nothing ran proves nothing (3)
    code = EXIT_FINDINGS if failed else EXIT_INCONCLUSIVE if unsure else EXIT_OK
    if as_json:
        asked = (spec.profile or spec.name) if spec else name
        echo_json({"profile": asked,
                   "verdict": "divergence" if failed else "inconclusive" if unsure else "pass",
                   "scripts": [r.to_dict() for r in results],
                   "summary": {"scripts": len(results), "passed": len(results) - len(failed) - len(unsure),
                               "diverged": len(failed), "inconclusive": len(unsure)}})
        return code
    for r in results:
        c = r.counts()
        reasons = ", ".join(f"{k} {v}" for k, v in c["not_modelled_by_reason"].items())
        click.echo(f"{r.verdict.upper()}  {r.file}  ({r.profile}): read {c['read']} = "
                   f"run {c['run']} + not modelled {c['not_modelled']}{f' ({reasons})' if reasons else ''}"
                   f" + not run {c['not_run']}")
        for line in r.lines:
            if line.status == "divergence":
                click.echo(f"  {r.file}:{line.line}: divergence: {line.text}")
                click.echo(f"    expected {line.expected or '-'}; the model: {line.actual or '-'}")
                click.echo(f"    {line.message}")
            elif verbose:
                rules = ", ".join(f"{x.rule} ({x.ref})" for x in line.rules)
                tag = line.status if line.status != "not_modelled" else f"not modelled: {line.reason}"
                click.echo(f"  {line.line:>4} {tag:<8} {line.text}" + (f"  <- {rules}" if rules else ""))
                for note in line.notes:
                    click.echo(f"       note: {note}")
    click.echo(f"{len(results) - len(failed) - len(unsure)} of {len(results)} script(s) pass"
               + (f", {len(unsure)} inconclusive (no line run)" if unsure else ""))
    return code
