"""``tcpfsm replay`` and ``tcpfsm monitor``: conformance of traces and captures; ``tcpfsm samples``."""

from __future__ import annotations

import sys

import click

from tcpfsm.base import Flags
from tcpfsm.cli._common import EXIT_OK, EXIT_USAGE, chart_path, echo_json, load, spec_options, table, write_chart
from tcpfsm.spec import resolve_spec


@click.command("samples")
@click.argument("name", required=False)
def samples_cmd(name: str | None) -> int:
    """The sample captures and traces shipped with tcpfsm: their paths, for the examples.

    \b
    Examples:
      tcpfsm samples                                   every sample, with what it shows
      tcpfsm monitor "$(tcpfsm samples normal_close_client_v4.pcap)"
    """
    from tcpfsm.base._resources import samples_dir

    folder = samples_dir()
    files = sorted(p for p in folder.iterdir() if p.suffix in (".pcap", ".pcapng", ".jsonl"))
    if name is None:
        for p in files:
            click.echo(str(p))
        return EXIT_OK
    match = [p for p in files if p.name == name or p.stem == name]
    if not match:
        click.echo(f"error: no sample {name!r}; samples: {', '.join(p.name for p in files)}", err=True)
        return EXIT_USAGE
    click.echo(str(match[0]))
    return EXIT_OK


@click.command("replay")
@click.argument("trace", type=click.Path(dir_okay=False, allow_dash=True))
@spec_options
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/replay.schema.json).")
def replay_cmd(trace: str, spec_file: str | None, profile: str | None, as_json: bool) -> int:
    """Replay an event trace (JSON Lines) through one endpoint; report every divergence.

    Exit 0: the endpoint did what the trace says; 1: a divergence; 2: a malformed trace
    (with its line number; the lines before it are still replayed). TRACE may be a pipe, or -
    for the standard input. A line is UTF-8, at most 1 MiB, split at newlines only.

    \b
    A trace (tcpfsm/schema/trace.schema.json), one object per line:
      {"config": {"iss": 1000, "profile": "rfc9293"}}
      {"call": "connect"}
      {"out": {"flags": "SYN", "seq": 1000}}
      {"in": {"flags": "SYN,ACK", "seq": 5000, "ack": 1001}}
      {"out": {"flags": "ACK", "seq": 1001, "ack": 5001}}
      {"expect": "ESTABLISHED"}
    Examples:
      tcpfsm replay tests/data/traces/client.jsonl
      tcpfsm replay trace.jsonl --profile linux --json
      tcpfsm replay trace.jsonl --spec my-profile.yaml
      tcpfsm replay "$(tcpfsm samples client.jsonl)"      the trace shipped with tcpfsm
    Without --spec or --profile, the trace's config line names the profile (default rfc9293).
    """
    from tcpfsm.conformance import replay

    report = replay(trace, profile=profile, spec=resolve_spec(file=spec_file) if spec_file else None)
    if as_json:
        echo_json(report.to_dict())
    else:
        rows = [[str(st.line), st.event, f"{st.before} -> {st.after}" if st.before != st.after else st.after,
                 ", ".join(f"{i} §{r}" for i, r in st.transitions), "; ".join(st.sent),
                 ("DIVERGES: " + st.divergence) if st.divergence else ""] for st in report.steps]
        click.echo(f"{trace} - profile {report.profile}")
        click.echo(table(rows, ["line", "event", "state", "rules", "sent", ""]))
        click.echo(f"{len(report.steps)} steps, {len(report.divergences)} divergence(s)")
    for p in report.problems:
        click.echo(f"error: {p}", err=True)
    return report.exit_code


@click.command("monitor")
@click.argument("capture", type=click.Path(dir_okay=False, allow_dash=True))
@spec_options
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/monitor.schema.json).")
@click.option("--csv", "as_csv", is_flag=True, help="One row per connection.")
@click.option("--connection", "conn_id", type=click.IntRange(min=1), metavar="N",
              help="Only connection N (its id), with its packets.")
@click.option("--chart", type=click.Path(dir_okay=False), callback=chart_path,
              help="With --connection: a sequence chart (.svg/.png/.pdf/.dot).")
def monitor_cmd(capture: str, spec_file: str | None, profile: str | None, as_json: bool, as_csv: bool,
                conn_id: int | None, chart: str | None) -> int:
    """Both endpoints' RFC states for every TCP connection of a pcap/pcapng capture.

    Every packet is accounted for: read, TCP, used, and skipped by reason. Each connection
    gets Zeek's conn_state and history and the findings that break the profile's rules, with
    the packet number, the rule and its RFC section. Exit 0: no finding; 1: findings; 2: the
    capture could not be read to its end (the results are partial); 3: interrupted (Ctrl-C or
    SIGTERM; the results so far are printed).

    CAPTURE is pcap or pcapng (several interfaces and link types, several sections), plain or
    gzip/bzip2/xz compressed, a file, a pipe or FIFO, or - for the standard input. Payload
    lengths come from the IP headers, so a capture cut by a snaplen is monitored as the full
    one (segments whose fixed TCP header was cut off are skipped, with that reason).

    \b
    Examples:
      tcpfsm monitor capture.pcap
      tcpfsm monitor capture.pcapng --profile linux --json
      tcpfsm monitor capture.pcap --connection 3 --chart conn3.svg
      tcpfsm monitor --spec my-profile.yaml capture.pcap
      zcat capture.pcap.gz | tcpfsm monitor -
      tcpdump -i eth0 -w - 'tcp port 80' | tcpfsm monitor -
      tcpfsm monitor "$(tcpfsm samples normal_close_client_v4.pcap)" --profile linux
    """
    from tcpfsm.conformance import monitor

    if chart and conn_id is None:
        raise click.UsageError("--chart needs --connection N")
    report = monitor(capture, spec=load(spec_file, profile), connection=conn_id)
    conns = report.connections
    if conn_id is not None:
        conns = [c for c in conns if c.id == conn_id]
        if not conns:
            if report.error:
                click.echo(f"error: {report.error}", err=True)
            raise click.UsageError(f"no connection {conn_id}: the capture has {len(report.connections)}"
                                   + (" (read up to the error above)" if report.error else ""))
    if as_json:
        data = report.to_dict()
        data["connections"] = [c.to_dict() for c in conns]
        # compact: a capture can hold many thousands of connections (pipe it to `jq .` to read)
        echo_json(data, compact=True)
    elif as_csv:
        import csv

        out = csv.writer(sys.stdout)
        out.writerow(["id", "orig", "resp", "conn_state", "history", "orig_states", "resp_states", "findings"])
        for c in conns:
            d = c.to_dict()
            a, b = d["endpoints"]
            out.writerow([c.id, f"{a['addr']}:{a['port']}", f"{b['addr']}:{b['port']}", d["conn_state"],
                          d["history"], " > ".join(a["states"]), " > ".join(b["states"]), len(c.findings)])
    else:
        k = report.packets
        skipped = ", ".join(f"{n} {r}" for r, n in sorted(k.skipped.items())) or "none"
        cut = f"; {k.cut:,} cut by the snaplen (lengths from the IP headers)" if k.cut else ""
        click.echo(f"{capture} - profile {report.profile}: {k.read:,} packets read, {k.tcp:,} TCP, {k.used:,} used, "
                   f"skipped: {skipped}; {k.bad_checksum:,} with a bad TCP checksum (offload; kept){cut}")
        rows = []
        for c in conns:
            d = c.to_dict()
            a, b = d["endpoints"]
            rows.append([str(c.id), f"{a['addr']}:{a['port']}", f"{b['addr']}:{b['port']}", d["conn_state"],
                         d["history"], " > ".join(a["states"]), " > ".join(b["states"]), str(len(c.findings))])
        click.echo(table(rows, ["id", "originator", "responder", "conn_state", "history", "originator states",
                                 "responder states", "findings"]))
        for c in conns:
            for f in c.findings:
                rule = f" rule {f.transition}" if f.transition else ""
                sec = f" (RFC 9293 §{f.rfc})" if f.rfc and f.rfc[0].isdigit() else (f" ({f.rfc})" if f.rfc else "")
                click.echo(f"  connection {c.id}, packet {f.packet}, {f.endpoint}: {f.what}{rule}{sec}")
        if conn_id is not None:
            for number, who, p in conns[0].packets:
                click.echo(f"  #{number:<6} {who:4} {p.src}:{p.sport} > {p.dst}:{p.dport} {Flags(p.flags)} "
                           f"seq={p.seq} ack={p.ack} len={p.length}")
    if chart:
        from tcpfsm.render import chart_dot, connection_chart

        assert conns[0].detail is not None
        write_chart(chart_dot(connection_chart(conns[0].detail)), chart)
    if report.interrupted:
        click.echo(f"{report.error} (results above are partial: inconclusive)", err=True)
    elif report.error:
        click.echo(f"error: {report.error} (results above are partial)", err=True)
    return report.exit_code
