"""``tcpfsm walk``: the seed's HTTP GET through all four layers; and the capture options of
``simulate`` (``--pcap``, ``--layers``) and ``check --trace-out X.pcap``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tcpfsm.cli._common import EXIT_OK, F, echo_json, load, spec_options, table, write_chart

WALK_NAMES = ("http-get",)  # tcpfsm.walk.WALKS, named here so that --help needs no import


def capture_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: a capture's suffix (.pcap or .pcapng) is checked when the command starts."""
    if value is not None and Path(value).suffix.lower() not in (".pcap", ".pcapng"):
        raise click.BadParameter(f"{value}: a capture is written as .pcap or .pcapng (classic pcap, or pcapng "
                                 "with a comment per packet naming its rule and RFC section)", ctx=ctx, param=param)
    return value


CAPTURE_POINTS = ("receivers", "hosts")  # tcpfsm.capture.TAPS, named here so that --help needs no dpkt


def capture_at_option(what: str) -> Callable[[F], F]:
    """``--capture-at receivers|hosts`` for a command whose ``what`` writes a capture."""
    return click.option(
        "--capture-at", "at", type=click.Choice(CAPTURE_POINTS), default="receivers", show_default=True,
        help=f"Where {what} is taken: at the receivers (one interface; a segment when it arrives) or at the "
             "hosts (.pcapng: each host's own interface, every segment outbound when sent and inbound when it "
             "arrives, so tcpfsm monitor also sees what was lost, still in flight, or injected).")


def check_capture_at(path: str | None, at: str) -> None:
    """A capture at the hosts needs pcapng (interfaces and directions): a usage error otherwise."""
    if at == "hosts" and path and Path(path).suffix.lower() == ".pcap":
        raise click.UsageError(f"--capture-at hosts: {path}: a capture at the hosts is written as .pcapng "
                               "(classic pcap has no interfaces to say which host saw each packet)")


def scenario_outputs(run: Any, pcap: str | None, layers: bool, *, err: bool, at: str = "receivers") -> None:
    """``simulate --pcap FILE`` and ``--layers``: the scenario's segments as a capture (taken
    ``at`` the receivers or the hosts), and each packet's headers layer by layer."""
    from tcpfsm.capture import layers_of, layers_text, scenario_frames, write_capture

    frames = scenario_frames(run, at=at)
    if pcap:
        out = write_capture(pcap, frames, application=f"tcpfsm simulate {run.scenario.name}")
        click.echo(f"capture: {out} ({len(frames)} packets)", err=err)
    if layers:
        click.echo(layers_text(layers_of(f, i) for i, f in enumerate(frames, 1)))


def write_counterexample_captures(report: Any, out: Path, at: str = "receivers") -> None:
    """``check --trace-out X.pcap``: one capture per counterexample, NAME inserted."""
    from tcpfsm.capture import ReplayError, write_counterexample

    for v in report.verdicts:
        if not v.counterexample:
            continue
        path = out.with_name(f"{out.stem}-{v.name}{out.suffix}")
        try:
            write_counterexample(report, v, path, at=at)
        except ReplayError as exc:
            click.echo(f"no capture of {v.name}: {exc}", err=True)
            continue
        click.echo(f"capture of {v.name}: {path}", err=True)


@click.command("walk")
@click.argument("name", type=click.Choice(WALK_NAMES), default="http-get")
@spec_options
@click.option("--host", default="www.example.com", show_default=True, metavar="NAME",
              help="The host name the browser asks for (DNS A query; HTTP Host header).")
@click.option("--ipv6", is_flag=True, help="The IPv6 variant: RFC 3849 addresses, NDP instead of ARP, a AAAA query.")
@click.option("--msl", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              metavar="SECONDS", help="MSL; TIME-WAIT lasts 2*MSL (RFC 9293 §3.4.2).")
@click.option("--pcap", type=click.Path(dir_okay=False), callback=capture_path,
              help="Write the capture taken at the client: .pcap, or .pcapng with a comment per packet.")
@click.option("--chart", type=click.Path(dir_okay=False),
              help="Draw the TCP part as a sequence chart (.svg, .png, .pdf, .dot).")
@click.option("--layers", is_flag=True, help="Print every packet's headers layer by layer (TCP/IP's four layers, "
                                              "OSI's names beside): down at the sender, up at the receiver.")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/walk.schema.json).")
def walk_cmd(name: str, spec_file: str | None, profile: str | None, host: str, ipv6: bool, msl: float,
             pcap: str | None, chart: str | None, layers: bool, as_json: bool) -> int:
    """Walk one HTTP GET through the four layers: ARP, DNS, the TCP handshake, GET and 200, the close, TIME-WAIT.

    The client, its gateway, a DNS resolver and a web server have documentation addresses
    (RFC 5737, RFC 7042); the TCP part is two of the spec's Endpoints, so every profile walks.

    \b
    Examples:
      tcpfsm walk http-get
      tcpfsm walk http-get --pcap walk.pcap        then: wireshark walk.pcap
      tcpfsm walk http-get --layers                each packet, layer by layer
      tcpfsm walk http-get --profile linux --pcap walk.pcapng --chart walk.svg
      tcpfsm walk http-get --host www.example.org --json
      tcpfsm walk http-get --ipv6 --pcap walk6.pcapng  NDP, AAAA, TCP over IPv6
    """
    from tcpfsm.walk import walk  # first: a missing h11 names the walk extra, which brings dpkt too

    s = load(spec_file, profile)
    from tcpfsm.capture import layers_of, layers_text, write_capture

    run = walk(name, host=host, spec=s, ipv6=ipv6, msl=msl)
    if pcap:
        out = write_capture(pcap, run.frames, application=f"tcpfsm walk {name}")
        click.echo(f"capture: {out} ({len(run.frames)} packets, taken at the client)", err=True)
    if chart:
        from tcpfsm.render import chart_dot, chart_from_trace

        c = chart_from_trace(run.trace, f"{name}: GET http://{host}/ (the TCP part)", ("client", "server"),
                             closed=s.initial)
        c.times = {row: t for row, t in enumerate(run.trace_times, 1)}
        write_chart(chart_dot(c), chart, err=True)
    packets = [layers_of(f, i) for i, f in enumerate(run.frames, 1)]
    if as_json:
        data = run.to_dict()
        data["packets"] = []
        for p in packets:
            d = p.to_dict()
            d["ts"] = round(p.ts - run.start, 6)  # seconds from the walk's start, as the timeline
            if not layers:
                del d["layers"]
            data["packets"].append(d)
        echo_json(data)
        return EXIT_OK
    net = run.network
    click.echo(f"walk {name}: GET http://{host}/ — profile {run.profile}")
    click.echo("hosts: " + ", ".join(f"{h.name} {h.ip} ({h.mac})" for h in
                                     (net.client, net.gateway, net.resolver, net.server)))
    click.echo(f"ISS: client {run.client_iss} (its SYN's SEQ; the server ACKs {(run.client_iss + 1) % 2**32} = "
               f"ISS+1), server {run.server_iss} (the client ACKs {(run.server_iss + 1) % 2**32})")
    if layers:
        click.echo(layers_text(packets, start=run.start))
    rows = [[f"{m.t:.6f}", m.who, m.what] for m in run.timeline]
    click.echo(table(rows, ["t (s)", "who", "what"]))
    for who, states in run.states.items():
        click.echo(f"{who}: {' > '.join(states)}")
    return EXIT_OK
