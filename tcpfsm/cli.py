"""The ``tcpfsm`` command: a thin shell over the library.

Exit codes: 0 ok, 1 findings (a failed expectation, a violated property), 2 usage or
input error (a bad spec, an unknown scenario).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ._errors import SpecError, TcpFsmError
from ._segment import Flags
from ._spec import Spec, available_profiles, load_spec

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _load(file: str | None, profile: str | None) -> Spec:
    return load_spec(file, profile=profile) if file else load_spec(profile=profile)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _spec_source(func: Any) -> Any:
    """The FILE argument and the --profile option that every spec command takes."""
    func = click.option("--profile", "-p", help="A shipped profile (default rfc9293).")(func)
    return click.argument("file", required=False, type=click.Path(dir_okay=False))(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tcpfsm")
def cli() -> None:
    """TCP's connection lifecycle (RFC 9293) as an executable, checkable, drawable spec.

    \b
    Examples:
      tcpfsm spec validate --all          check every shipped profile
      tcpfsm spec show --profile rfc793   the transition table of one profile
      tcpfsm simulate handshake           step through the 3-way handshake
      tcpfsm check --lossy                check every interleaving over a lossy network
      tcpfsm simulate --list              the named scenarios
    """


# ------------------------------------------------------------------ spec
@cli.group()
def spec() -> None:
    """Validate and show machine specs (specs/*.yaml) and their profiles."""


@spec.command("validate")
@_spec_source
@click.option("--all", "all_", is_flag=True, help="Validate every shipped profile.")
def spec_validate(file: str | None, profile: str | None, all_: bool) -> int:
    """Check a spec or profile: schema, names, determinism, coverage, reachability.

    \b
    Examples:
      tcpfsm spec validate                       the default (rfc9293)
      tcpfsm spec validate --profile rfc5961
      tcpfsm spec validate my-spec.yaml          exit 2 and every problem with file:line
    """
    targets: list[tuple[str | None, str | None]]
    targets = [(None, p) for p in available_profiles()] if all_ else [(file, profile)]
    status = EXIT_OK
    for f, p in targets:
        try:
            s = _load(f, p)
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


def checklist_rows(s: Spec) -> list[dict[str, Any]]:
    """Every checklist row (U/S/T ids): the transitions that implement it, or why it has none."""
    by_row: dict[str, list[str]] = {}
    for t in s.transitions:
        by_row.setdefault(t.row, []).append(t.id)
    why = dict(s.checklist)

    def key(row: str) -> tuple[str, int, str]:
        digits = "".join(ch for ch in row[1:] if ch.isdigit())
        return (row[0], int(digits) if digits else 0, row)

    rows = []
    for row in sorted(set(by_row) | set(why), key=key):
        if row in by_row:
            rows.append({"row": row, "status": "implemented", "transitions": by_row[row], "why": why.get(row)})
        else:
            rows.append({"row": row, "status": "not a transition here", "transitions": [], "why": why[row]})
    return rows


def spec_to_dict(s: Spec) -> dict[str, Any]:
    return {
        "name": s.name, "title": s.title, "profile": s.profile, "file": s.file,
        "states": [{"name": st.name, "code": st.code_name, "initial": st.initial, "group": st.group,
                    "rfc": st.rfc, "meaning": st.meaning} for st in s.states],
        "events": [{"name": e.name, "kind": e.kind, "label": e.label, "rfc": e.rfc, "timer": e.timer}
                   for e in s.events],
        "guards": [{"name": g.name, "predicate": g.predicate, "rfc": g.rfc, "doc": g.doc} for g in s.guards],
        "transitions": [{"id": t.id, "row": t.row, "sources": list(t.sources), "events": list(t.events),
                         "guard": [str(g) for g in t.guard], "target": t.target,
                         "actions": [str(a) for a in t.actions], "rfc": t.rfc, "label": t.label or None}
                        for t in s.transitions],
        "checklist": checklist_rows(s),
    }


@spec.command("show")
@_spec_source
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def spec_show(file: str | None, profile: str | None, as_json: bool) -> int:
    """The transition table with ids and RFC sections, and the checklist coverage.

    \b
    Examples:
      tcpfsm spec show
      tcpfsm spec show --profile rfc1337 --json | jq '.transitions[] | select(.id=="S17b")'
    """
    s = _load(file, profile)
    if as_json:
        _echo_json(spec_to_dict(s))
        return EXIT_OK
    click.echo(f"{s.title} — profile {s.profile} ({s.file})")
    click.echo("states: " + ", ".join(st.name for st in s.states) + f"; initial {s.initial}")
    rows = [[t.id, ",".join(t.sources) if len(t.sources) < 4 else f"{len(t.sources)} states",
             ",".join(t.events), " & ".join(map(str, t.guard)) or "-", t.target,
             "; ".join(map(str, t.actions)) or "-", "§" + t.rfc] for t in s.transitions]
    click.echo(_table(rows, ["id", "from", "event", "guard", "to", "actions", "rfc"]))
    missing = [r for r in checklist_rows(s) if r["status"] != "implemented"]
    if missing:
        click.echo("\nchecklist rows without a transition of their own:")
        for r in missing:
            click.echo(f"  {r['row']}: {r['why']}")
    return EXIT_OK


# --------------------------------------------------------------- diagram
FORMATS = ("dot", "svg", "png", "pdf", "mermaid")


@cli.command()
@_spec_source
@click.option("--only", type=click.Choice(["all", "normal"]), default="all", show_default=True,
              help="normal: the client and server paths and RFC 9293 Figure 5's other edges.")
@click.option("--highlight", metavar="STATE", help="Emphasise one state and its edges (RFC name, e.g. TIME-WAIT).")
@click.option("--show-ids", is_flag=True, help="Prefix each edge label with its transition id and RFC section.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: from the -o suffix, else dot).")
@click.option("-o", "--output", type=click.Path(), help="A file, or a folder (ending in /) for every diagram.")
@click.option("--diff", nargs=2, metavar="OLD NEW", help="Draw what changes from profile OLD to profile NEW.")
@click.option("--check", is_flag=True, help="Exit 1 naming the committed diagrams that are stale.")
def diagram(file: str | None, profile: str | None, only: str, highlight: str | None, show_ids: bool,
            fmt: str | None, output: str | None, diff: tuple[str, str] | None, check: bool) -> int:
    """Draw the state machine from the spec with Graphviz (or as Mermaid text).

    \b
    Examples:
      tcpfsm diagram -o diagrams/                       regenerate every committed diagram
      tcpfsm diagram --check                            are the committed diagrams fresh?
      tcpfsm diagram --only normal -o tcp.svg
      tcpfsm diagram --highlight TIME-WAIT --show-ids -o tw.png
      tcpfsm diagram --diff rfc793 rfc9293 -o diff.svg
      tcpfsm diagram --format mermaid                   stateDiagram-v2 for a README
    """
    from ._diagrams import diagrams_dir, render, stale, write_all
    from ._render_state import diff_dot, to_dot, to_mermaid

    if check:
        folder = Path(output) if output else diagrams_dir()
        problems = stale(folder)
        for p in problems:
            click.echo(f"stale: {p}", err=True)
        if problems:
            click.echo("regenerate with: tcpfsm diagram -o diagrams/", err=True)
            return EXIT_FINDINGS
        click.echo(f"ok: every diagram in {folder} matches the specs")
        return EXIT_OK
    if output and (output.endswith("/") or Path(output).is_dir()):
        click.echo(f"writing every diagram to {output}")
        written = write_all(Path(output), progress=True)
        click.echo(f"{len(written)} files written")
        return EXIT_OK
    fmt = fmt or (Path(output).suffix.lstrip(".") if output and Path(output).suffix else "dot")
    if fmt == "mmd":
        fmt = "mermaid"
    if fmt not in FORMATS:
        raise click.UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if diff:
        text = diff_dot(load_spec(profile=diff[0]), load_spec(profile=diff[1]), show_ids=show_ids)
    else:
        s = _load(file, profile)
        if fmt == "mermaid":
            text = to_mermaid(s, only=only)
        else:
            try:
                text = to_dot(s, only=only, highlight=highlight, show_ids=show_ids)
            except ValueError as exc:
                raise click.UsageError(str(exc)) from None
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("dot", "mermaid"):
        if output:
            Path(output).write_text(text, encoding="utf-8")
            click.echo(f"wrote {output}")
        else:
            click.echo(text, nl=False)
        return EXIT_OK
    data = render(text, fmt)
    if not output:
        raise click.UsageError(f"--format {fmt} needs -o FILE")
    Path(output).write_bytes(data)
    click.echo(f"wrote {output} ({len(data):,} bytes)")
    return EXIT_OK


# ----------------------------------------------------------------- check
@cli.command("check")
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False), help="A spec file (default: the RFC 9293 spec).")
@click.option("--profile", "-p", help="A shipped profile (default rfc9293).")
@click.option("--model", help="A model of specs/properties.yaml, e.g. `reference` (the benchmark model).")
@click.option("--channel", "channels", multiple=True, type=click.Choice(["reliable", "lossy", "dup", "reorder"]),
              help="Channel model; repeat to combine (default reliable FIFO).")
@click.option("--lossy", is_flag=True, help="Same as --channel lossy.")
@click.option("--capacity", "-k", type=int, default=2, show_default=True, help="Segments each channel holds.")
@click.option("--when-full", type=click.Choice(["block", "drop"]), default="block", show_default=True)
@click.option("--retransmissions", "-r", type=int, default=1, show_default=True,
              help="Retransmissions per state visit (R).")
@click.option("--property", "properties", multiple=True, help="Check only these (repeatable).")
@click.option("--max-states", type=int, help="Stop after this many states (verdict: inconclusive).")
@click.option("--max-depth", type=int, help="Stop at this BFS depth (verdict: inconclusive).")
@click.option("--timeout", type=float, help="Stop after this many seconds (verdict: inconclusive).")
@click.option("--engine", type=click.Choice(["auto", "vector", "plain"]), default="auto", show_default=True)
@click.option("--b-opens", type=click.Choice(["passive", "active"]),
              help="How B opens (A opens actively); `active` explores simultaneous opens.")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output (schema: tcpfsm/schema/check.schema.json).")
@click.option("--trace-out", type=click.Path(dir_okay=False),
              help="Write counterexamples: .json, or a sequence chart per property (.svg/.png/.dot: NAME inserted).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def check_cmd(spec_file: str | None, profile: str | None, model: str | None, channels: tuple[str, ...], lossy: bool,
              capacity: int, when_full: str, retransmissions: int, properties: tuple[str, ...],
              max_states: int | None, max_depth: int | None, timeout: float | None, engine: str, b_opens: str | None,
              as_json: bool, trace_out: str | None, quiet: bool) -> int:
    """Explore every interleaving of two endpoints and a network; check the properties.

    Exit 0: every property holds; 1: a property is violated; 2: usage or input error;
    3: inconclusive (a bound was reached; never reported as a pass).

    \b
    Examples:
      tcpfsm check                                   the RFC 9293 spec, reliable channel, capacity 2
      tcpfsm check --lossy --property I3             a half-open connection once segments can be lost
      tcpfsm check --model reference -k 5 -r 3 --lossy --json
      tcpfsm check --b-opens active                  both ends open actively: simultaneous opens
      tcpfsm check --spec specs/mutants/skip_time_wait.yaml --property I1 --trace-out cex.svg
    """
    from .checker import check as run_check
    from .checker._search import progress_printer

    if spec_file and profile:
        raise click.UsageError("give --spec or --profile, not both")
    chans = set(channels)
    if lossy:
        chans.add("lossy")
    progress = None if (quiet or as_json or not sys.stderr.isatty()) else progress_printer()
    report = run_check(model=model, spec_file=spec_file, profile=profile, capacity=capacity,
                       retransmissions=retransmissions, lossy="lossy" in chans, duplicating="dup" in chans,
                       reordering="reorder" in chans, when_full=when_full, properties=list(properties) or None,
                       max_states=max_states, max_depth=max_depth, timeout=timeout, progress=progress, engine=engine,
                       b_opens=b_opens)
    if progress:
        click.echo("", err=True)
    if trace_out:
        _write_traces(report, Path(trace_out))
    if as_json:
        _echo_json(report.to_dict())
        return report.exit_code
    click.echo(_check_text(report))
    return report.exit_code


def _check_text(report: Any) -> str:
    s = report.stats
    lines = [f"model {report.model} ({report.spec.profile or report.spec.name}), channel: {report.channel.describe()}, "
             f"R={report.retransmissions}, engine {report.engine}"]
    rows = [[v.name, v.verdict.upper() if v.verdict != "holds" else "holds",
             str(len(v.counterexample)) if v.counterexample is not None else "-", v.note or "", v.title]
            for v in report.verdicts]
    lines.append(_table(rows, ["property", "verdict", "steps", "note", "what"]))
    done = "exhaustive" if s.complete else f"INCOMPLETE ({s.stopped})"
    lines.append(f"{s.states:,} states, {s.transitions:,} transitions, depth {s.depth}, {s.seconds:.2f} s, "
                 f"{s.rate:,.0f} states/s, peak {s.peak_mib:.0f} MiB, {done}")
    for v in report.verdicts:
        if not v.counterexample:
            continue
        kind = "witness" if v.verdict == "holds" else "counterexample"
        lines.append(f"\n{kind} for {v.name} ({len(v.counterexample)} steps): {v.title}")
        trows = [[str(i), st.event, st.a, st.b, " ".join(st.ab) or "-", " ".join(st.ba) or "-",
                  ",".join(st.transitions), " ".join(f"{k}={x}" for k, x in st.history.items())]
                 for i, st in enumerate(v.counterexample, 1)]
        lines.append(_table(trows, ["#", "event", "A", "B", "A->B in flight", "B->A in flight", "rules", "history"]))
        if v.cycle:
            lines.append("  ...then forever around: " + " -> ".join(st.event for st in v.cycle))
    return "\n".join(lines)


def _write_traces(report: Any, out: Path) -> None:
    from ._diagrams import render
    from ._render_sequence import chart_dot
    from .checker._chart import counterexample_chart

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".json":
        out.write_text(json.dumps([v.to_dict() for v in report.verdicts if v.counterexample], indent=2))
        click.echo(f"counterexamples: {out}", err=True)
        return
    for v in report.verdicts:
        if not v.counterexample:
            continue
        path = out.with_name(f"{out.stem}-{v.name}{out.suffix or '.svg'}")
        dot = chart_dot(counterexample_chart(report, v))
        if path.suffix == ".dot":
            path.write_text(dot)
        else:
            path.write_bytes(render(dot, path.suffix.lstrip(".")))
        click.echo(f"sequence chart of {v.name}: {path}", err=True)


# ------------------------------------------------------------- conformance
@cli.command("replay")
@click.argument("trace", type=click.Path(dir_okay=False))
@click.option("--profile", "-p", help="A shipped profile (default: the trace's config line, else rfc9293).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def replay_cmd(trace: str, profile: str | None, as_json: bool) -> int:
    """Replay an event trace (JSON Lines) through one endpoint; report every divergence.

    Exit 0: the endpoint did what the trace says; 1: a divergence; 2: a malformed trace
    (with its line number; the lines before it are still replayed).

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
    """
    from .conformance import replay

    report = replay(trace, profile=profile)
    if as_json:
        _echo_json(report.to_dict())
    else:
        rows = [[str(st.line), st.event, f"{st.before} -> {st.after}" if st.before != st.after else st.after,
                 ", ".join(f"{i} §{r}" for i, r in st.transitions), "; ".join(st.sent),
                 ("DIVERGES: " + st.divergence) if st.divergence else ""] for st in report.steps]
        click.echo(f"{trace} - profile {report.profile}")
        click.echo(_table(rows, ["line", "event", "state", "rules", "sent", ""]))
        click.echo(f"{len(report.steps)} steps, {len(report.divergences)} divergence(s)")
    for p in report.problems:
        click.echo(f"error: {p}", err=True)
    return report.exit_code


@cli.command("monitor")
@click.argument("capture", type=click.Path(dir_okay=False))
@click.option("--profile", "-p", help="A shipped profile (default rfc9293; `linux` explains Linux's choices).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--csv", "as_csv", is_flag=True, help="One row per connection.")
@click.option("--connection", "conn_id", type=int, help="Only this connection, with its packets.")
@click.option("--chart", type=click.Path(dir_okay=False), help="With --connection: a sequence chart (.svg/.png/.dot).")
def monitor_cmd(capture: str, profile: str | None, as_json: bool, as_csv: bool, conn_id: int | None,
                chart: str | None) -> int:
    """Both endpoints' RFC states for every TCP connection of a pcap/pcapng capture.

    Every packet is accounted for: read, TCP, used, and skipped by reason. Each connection
    gets Zeek's conn_state and history and the findings that break the profile's rules, with
    the packet number, the rule and its RFC section. Exit 0: no finding; 1: findings; 2: the
    capture could not be read to its end (the results are partial).

    \b
    Examples:
      tcpfsm monitor capture.pcap
      tcpfsm monitor capture.pcapng --profile linux --json
      tcpfsm monitor capture.pcap --connection 3 --chart conn3.svg
    """
    from .conformance import monitor

    if chart and conn_id is None:
        raise click.UsageError("--chart needs --connection N")
    report = monitor(capture, profile=profile, keep_packets=conn_id is not None)
    conns = report.connections
    if conn_id is not None:
        conns = [c for c in conns if c.id == conn_id]
        if not conns:
            raise click.UsageError(f"no connection {conn_id} (the capture has {len(report.connections)})")
    if as_json:
        data = report.to_dict()
        data["connections"] = [c.to_dict() for c in conns]
        # compact: a capture can hold many thousands of connections (pipe it to `jq .` to read)
        click.echo(json.dumps(data, separators=(",", ":")))
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
        click.echo(f"{capture} - profile {report.profile}: {k.read:,} packets read, {k.tcp:,} TCP, {k.used:,} used, "
                   f"skipped: {skipped}; {k.bad_checksum:,} with a bad TCP checksum (offload; kept)")
        rows = []
        for c in conns:
            d = c.to_dict()
            a, b = d["endpoints"]
            rows.append([str(c.id), f"{a['addr']}:{a['port']}", f"{b['addr']}:{b['port']}", d["conn_state"],
                         d["history"], " > ".join(a["states"]), " > ".join(b["states"]), str(len(c.findings))])
        click.echo(_table(rows, ["id", "originator", "responder", "conn_state", "history", "originator states",
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
        from ._diagrams import render
        from ._render_sequence import chart_dot
        from .conformance._chart import connection_chart

        assert conns[0].detail is not None
        dot = chart_dot(connection_chart(conns[0].detail))
        Path(chart).parent.mkdir(parents=True, exist_ok=True)
        if chart.endswith(".dot"):
            Path(chart).write_text(dot)
        else:
            Path(chart).write_bytes(render(dot, Path(chart).suffix.lstrip(".") or "svg"))
        click.echo(f"sequence chart: {chart}", err=True)
    if report.error:
        click.echo(f"error: {report.error} (results above are partial)", err=True)
    return report.exit_code


# -------------------------------------------------------------- simulate
@cli.command()
@click.argument("scenario", required=False)
@click.option("--profile", "-p", help="A shipped profile (default rfc9293).")
@click.option("--spec", "spec_file", type=click.Path(dir_okay=False), help="A spec file instead of a profile.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--list", "list_", is_flag=True, help="List the named scenarios.")
@click.option("--chart", type=click.Path(dir_okay=False), help="Also draw a sequence chart (.svg, .png, .pdf, .dot).")
def simulate(scenario: str | None, profile: str | None, spec_file: str | None, as_json: bool, list_: bool,
             chart: str | None) -> int:
    """Run a named scenario step by step: who, event, segment, state before -> after, rule, RFC §.

    \b
    Examples:
      tcpfsm simulate handshake
      tcpfsm simulate simultaneous-close --json
      tcpfsm simulate simultaneous-close --chart close.svg
      tcpfsm simulate --list
    """
    from ._scenarios import load_scenarios, run_scenario, step_rows

    scenarios = load_scenarios()
    if list_ or not scenario:
        for name, sc in scenarios.items():
            click.echo(f"{name:28} {sc.title}")
        return EXIT_OK if list_ else EXIT_USAGE
    if scenario not in scenarios:
        raise click.UsageError(f"unknown scenario {scenario!r}; known: {', '.join(scenarios)}")
    s = _load(spec_file, profile)
    run = run_scenario(scenarios[scenario], s)
    rows = step_rows(run.pair.trace)
    if chart:
        from ._diagrams import render
        from ._render_sequence import chart_dot
        from ._scenarios import scenario_chart

        dot_text = chart_dot(scenario_chart(run))
        suffix = Path(chart).suffix.lstrip(".") or "svg"
        Path(chart).parent.mkdir(parents=True, exist_ok=True)
        if suffix == "dot":
            Path(chart).write_text(dot_text, encoding="utf-8")
        else:
            Path(chart).write_bytes(render(dot_text, suffix))
        click.echo(f"sequence chart: {chart}", err=as_json)
    final = {str(ep.name): str(ep.state) for ep in (run.pair.a, run.pair.b)}
    if as_json:
        _echo_json({"scenario": scenario, "title": run.scenario.title, "profile": s.profile, "steps": rows,
                    "final": final, "failures": run.failures})
    else:
        click.echo(f"{scenario}: {run.scenario.title} — profile {s.profile}")
        table = []
        for i, r in enumerate(rows, 1):
            change = f"{r['from']} -> {r['to']}" if r["from"] else ""
            extra = "; ".join(filter(None, [
                ("sent " + ", ".join(r["sent"])) if r["sent"] else "",
                ("dropped: " + r["dropped"]) if r["dropped"] else "",
                ("notice: " + ", ".join(r["notices"])) if r["notices"] else ""]))
            table.append([str(i), r["endpoint"] or "", r["event"], r["segment"], change, r["transition"],
                          ("§" + r["rfc"]) if r["rfc"] else "", extra])
        click.echo(_table(table, ["#", "end", "event", "segment in", "state", "rule", "rfc", "output"]))
        click.echo("final: " + ", ".join(f"{k} {v}" for k, v in final.items()))
        for f in run.failures:
            click.echo(f"FAILED {f}", err=True)
    return EXIT_FINDINGS if run.failures else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 findings, 2 usage or input error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="tcpfsm", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except SpecError as exc:
        click.echo(str(exc), err=True)
        return EXIT_USAGE
    except TcpFsmError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        return EXIT_USAGE
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["cli", "main"]
