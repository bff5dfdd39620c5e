"""``tcpfsm replay`` and ``tcpfsm monitor``: conformance of traces and captures; ``tcpfsm samples``."""

from __future__ import annotations

import sys
from typing import Any

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


_FORMATS = ("table", "json", "jsonl", "csv", "zeek", "zeek-json")


def _endpoint(addr: str, port: int) -> str:
    """``addr:port``, with an IPv6 address in brackets (RFC 3986 §3.2.2): ``[::1]:41020``."""
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def _wrap(label: str, items: list[str], width: int) -> list[str]:
    """``label`` and the items joined by " > ", wrapped under the label to fit ``width``."""
    lines, line = [], label
    for i, item in enumerate(items):
        piece = (" > " if i else "") + item
        if len(line) + len(piece) > width and line.strip():
            lines.append(line)
            line = " " * len(label) + item
        else:
            line += piece
    lines.append(line)
    return lines


def _taken_at_hosts(capture: str) -> bool:
    """A pcapng whose interfaces declare their hosts' addresses (``Capture.taps``)."""
    from tcpfsm.conformance._packets import Capture, CaptureError

    try:
        with Capture(capture) as cap:
            if cap.kind != "pcapng":
                return False
            next(cap.records(), None)
            return bool(cap.taps)
    except (CaptureError, OSError):
        return False  # the monitor itself reports what is wrong with the file


def _bpf(capture: str, expression: str) -> str:
    """The capture filtered by a BPF expression with tcpdump (libpcap's own compiler), to a
    temporary classic pcap file; UsageError when tcpdump is missing or refuses the expression."""
    import os
    import shutil
    import subprocess
    import tempfile

    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        raise click.UsageError("--filter needs tcpdump (apt-get install tcpdump); --host/--port need nothing")
    if capture != "-" and _taken_at_hosts(capture):
        raise click.UsageError(f"--filter: {capture} is taken at the hosts (its interfaces declare their addresses); "
                               "tcpdump would write it as classic pcap, losing which host saw each packet: "
                               "use --host/--port")
    fd, out = tempfile.mkstemp(prefix="tcpfsm-filter-", suffix=".pcap")
    os.close(fd)
    proc = subprocess.run([tcpdump, "-n", "-r", capture, "-w", out, expression], stdin=None if capture != "-" else
                          sys.stdin.buffer, capture_output=True, check=False)
    if proc.returncode != 0:
        os.unlink(out)
        words = proc.stderr.decode(errors="replace").strip().splitlines()
        raise click.UsageError(f"--filter {expression!r}: tcpdump: {words[-1] if words else 'failed'}")
    return out


def _run_jobs(capture: str, jobs: int, **kw: Any) -> Any:
    """Monitor a capture in ``jobs`` processes, connections sharded by their 4-tuple; the
    results merged in capture order (by first packet) and numbered as one run numbers them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tcpfsm.conformance import ConnectionSummary

    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
        parts = list(pool.map(_job, [(capture, i, jobs, kw) for i in range(jobs)]))
    report = parts[0]
    conns = sorted((c for r in parts for c in r.connections), key=lambda c: c.first_packet)
    merged = []
    for n, c in enumerate(conns, 1):
        data = dict(c.data, id=n)
        merged.append(ConnectionSummary(data))
    report.connections = merged
    report.memo = {k: sum(r.memo.get(k, 0) for r in parts) for k in ("hits", "misses")}
    return report


def _counts_line(capture: str, report: Any, count: int) -> str:
    k = report.packets
    skipped = ", ".join(f"{n} {r}" for r, n in sorted(k.skipped.items())) or "none"
    cut = f"; {k.cut:,} cut by the snaplen (lengths from the IP headers)" if k.cut else ""
    return (f"{capture} - profile {report.profile}: {count:,} connections; {k.read:,} packets read, {k.tcp:,} TCP, "
            f"{k.used:,} used, skipped: {skipped}; {k.bad_checksum:,} with a bad TCP checksum (offload; kept){cut}")


def _job(args: tuple[str, int, int, dict[str, Any]]) -> Any:
    from tcpfsm.conformance import monitor

    capture, index, count, kw = args
    return monitor(capture, shard=(index, count), **kw)


@click.command("monitor")
@click.argument("capture", type=click.Path(dir_okay=False, allow_dash=True))
@spec_options
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default=None,
              help="table (default); json (one document, schema tcpfsm/schema/monitor.schema.json); jsonl "
                   "(one connection per line as each ends, then the packet counts); csv; zeek (conn.log TSV); "
                   "zeek-json (conn.log as JSON lines).")
@click.option("--json", "as_json", is_flag=True,
              help="Same as --format json (schema: tcpfsm/schema/monitor.schema.json).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="Same as --format jsonl.")
@click.option("--csv", "as_csv", is_flag=True, help="Same as --format csv.")
@click.option("--stream", is_flag=True,
              help="Table: print each connection's row as it ends (memory follows the open connections); "
                   "jsonl, zeek and zeek-json always stream.")
@click.option("-f", "--filter", "bpf", metavar="EXPR",
              help="Only packets matching this BPF expression (tcpdump's syntax; run through tcpdump).")
@click.option("--host", "hosts", multiple=True, metavar="ADDR", help="Only packets to or from ADDR (repeatable).")
@click.option("--port", "ports", multiple=True, type=click.IntRange(0, 65535), metavar="N",
              help="Only packets to or from port N (repeatable).")
@click.option("--packets", "per_packet", is_flag=True,
              help="One row per packet: time, direction, flags, relative seq/ack, length, both ends' states after it.")
@click.option("--absolute", is_flag=True, help="Raw sequence numbers (default: relative to each side's first).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, metavar="N",
              help="Monitor in N processes, connections sharded by 4-tuple (a file, not a pipe); same output.")
@click.option("--no-memo", is_flag=True, help="Work every packet out with the shadow endpoints (no memo trie).")
@click.option("--memo-stats", is_flag=True, help="Print the memo trie's hits and misses to stderr.")
@click.option("--wide", is_flag=True, help="Table: one line per connection, however long (default: fit 100 columns).")
@click.option("--connection", "conn_id", type=click.IntRange(min=1), metavar="N",
              help="Only connection N (its id), with its packets.")
@click.option("--chart", type=click.Path(dir_okay=False), callback=chart_path,
              help="With --connection: a sequence chart (.svg/.png/.pdf/.dot).")
def monitor_cmd(capture: str, spec_file: str | None, profile: str | None, fmt: str | None, as_json: bool,
                as_jsonl: bool, as_csv: bool, stream: bool, bpf: str | None, hosts: tuple[str, ...],
                ports: tuple[int, ...], per_packet: bool, absolute: bool, jobs: int, no_memo: bool,
                memo_stats: bool, wide: bool, conn_id: int | None, chart: str | None) -> int:
    """Both endpoints' RFC states for every TCP connection of a pcap/pcapng capture.

    Every packet is accounted for: read, TCP, used, and skipped by reason. Each connection
    gets Zeek's conn_state and history and the findings that break the profile's rules, with
    the packet number, the rule and its RFC section. Exit 0: no finding; 1: findings; 2: the
    capture could not be read to its end (the results are partial); 3: interrupted (Ctrl-C or
    SIGTERM; the results so far are printed).

    CAPTURE is pcap or pcapng (several interfaces and link types, several sections), plain or
    gzip/bzip2/xz compressed, a file, a pipe or FIFO, or - for the standard input. Payload
    lengths come from the IP headers, so a capture cut by a snaplen is monitored as the full
    one (segments whose fixed TCP header was cut off are skipped, with that reason). With
    --filter, packets are numbered as in the filtered capture; with --host/--port, as in the
    whole one.

    \b
    Examples:
      tcpfsm monitor capture.pcap
      tcpfsm monitor capture.pcapng --profile linux --json
      tcpfsm monitor capture.pcap --format zeek > conn.log
      tcpfsm monitor capture.pcap --jsonl | jq -c 'select(.conn_state == "RSTO")'
      tcpfsm monitor capture.pcap -f 'tcp port 443' --packets
      tcpfsm monitor capture.pcap --jobs 2
      tcpfsm monitor capture.pcap --connection 3 --chart conn3.svg
      tcpfsm monitor --spec my-profile.yaml capture.pcap
      zcat capture.pcap.gz | tcpfsm monitor -
      tcpdump -i eth0 -w - 'tcp port 80' | tcpfsm monitor -
      tcpfsm monitor "$(tcpfsm samples normal_close_client_v4.pcap)" --profile linux
    """
    import os

    chosen = [f for f, on in (("json", as_json), ("jsonl", as_jsonl), ("csv", as_csv)) if on]
    if fmt is not None:
        chosen.append(fmt)
    if len(set(chosen)) > 1:
        raise click.UsageError(f"choose one output format, not {' and '.join(sorted(set(chosen)))}")
    fmt = chosen[0] if chosen else "table"
    if chart and conn_id is None:
        raise click.UsageError("--chart needs --connection N")
    if jobs > 1 and (capture == "-" or conn_id is not None or per_packet):
        raise click.UsageError("--jobs needs a capture file, and goes without --connection and --packets")
    spec = load(spec_file, profile)
    filtered = _bpf(capture, bpf) if bpf else None
    source = filtered or capture
    try:
        return _monitor(capture, source, spec, fmt, stream, hosts, ports, per_packet, absolute, jobs, no_memo,
                        memo_stats, wide, conn_id, chart)
    finally:
        if filtered:
            os.unlink(filtered)


def _monitor(capture: str, source: str, spec: Any, fmt: str, stream: bool, hosts: tuple[str, ...],
             ports: tuple[int, ...], per_packet: bool, absolute: bool, jobs: int, no_memo: bool, memo_stats: bool,
             wide: bool, conn_id: int | None, chart: str | None) -> int:
    import json

    from tcpfsm.conformance import monitor
    from tcpfsm.conformance._zeek import json_record, tsv_close, tsv_header, tsv_row, zeek_record

    keep = None
    if hosts or ports:
        host_set, port_set = frozenset(hosts), frozenset(ports)

        def keep(a: str, ap: int, b: str, bp: int) -> bool:
            return (not host_set or a in host_set or b in host_set) and (not port_set or ap in port_set
                                                                         or bp in port_set)

    width = 100
    echo = click.echo
    streaming = conn_id is None and jobs == 1 and (fmt in ("jsonl", "zeek", "zeek-json") or (fmt == "table" and stream))

    def table_lines(c: Any) -> list[str]:
        d = c.to_dict()
        a, b = d["endpoints"]
        head = (f"{c.id:>5}  {_endpoint(a['addr'], a['port'])} > {_endpoint(b['addr'], b['port'])}  "
                f"{d['conn_state']:6} {d['history'] or '-':10} findings {len(c.findings)}")
        if wide:
            return [f"{head}  {' > '.join(a['states'])}  |  {' > '.join(b['states'])}"]
        return [head, *_wrap("       orig: ", list(a["states"]), width), *_wrap("       resp: ", list(b["states"]),
                                                                                 width)]

    def emit(c: Any) -> None:
        if fmt == "jsonl":
            echo(json.dumps(c.to_dict(), separators=(",", ":")))
        elif fmt == "zeek":
            echo(tsv_row(zeek_record(c.to_dict())))
        elif fmt == "zeek-json":
            echo(json.dumps(json_record(zeek_record(c.to_dict())), separators=(",", ":"), ensure_ascii=False))
        else:
            for line in table_lines(c):
                echo(line)

    on_packet = None
    if per_packet:
        bases: dict[int, dict[str, int]] = {}
        echo(f"{'#':>7} {'time':>10}  {'conn':>5} {'dir':3} {'flags':12} {'seq':>10} {'ack':>10} {'len':>5}  "
             "orig state / resp state")
        first_ts: list[float] = []

        def on_packet(conn: Any, p: Any) -> None:
            who = "orig" if (p.src, p.sport) == (conn.orig.addr, conn.orig.port) else "resp"
            base = bases.setdefault(conn.id, {})
            base.setdefault(who, p.seq)
            if not first_ts:
                first_ts.append(p.ts)
            other = "resp" if who == "orig" else "orig"
            seq = p.seq if absolute else (p.seq - base[who]) % (1 << 32)
            if not p.flags & int(Flags.ACK):
                ack = "-"
            elif absolute or other not in base:
                ack = str(p.ack)
            else:
                ack = str((p.ack - base[other]) % (1 << 32))
            arrow = ">" if who == "orig" else "<"
            o = conn.orig.states[-1] if conn.orig.states else "?"
            r = conn.resp.states[-1] if conn.resp.states else "?"
            echo(f"{p.number:>7} {p.ts - first_ts[0]:>10.6f}  {conn.id:>5} {arrow:^3} {Flags(p.flags)!s:12} "
                 f"{seq:>10} {ack:>10} {p.length:>5}  {o} / {r}")

    if fmt == "zeek":
        echo(tsv_header())
    kw: dict[str, Any] = {"spec": spec, "trie": not no_memo, "keep": keep}
    if jobs > 1:
        report = _run_jobs(source, jobs, **kw)
    else:
        report = monitor(source, connection=conn_id, on_finished=emit if streaming else None, on_packet=on_packet,
                         **kw)
    report.file = capture
    conns = report.connections
    if conn_id is not None:
        conns = [c for c in conns if c.id == conn_id]
        if not conns:
            if report.error:
                echo(f"error: {report.error}", err=True)
            raise click.UsageError(f"no connection {conn_id}: the capture has {len(report.connections)}"
                                   + (" (read up to the error above)" if report.error else ""))
    if memo_stats:
        m = report.memo
        total = m.get("hits", 0) + m.get("misses", 0)
        rate = m.get("hits", 0) / total if total else 0.0
        echo(f"memo: {m.get('hits', 0):,} hits, {m.get('misses', 0):,} misses ({rate:.1%} of packets)", err=True)
    if fmt in ("jsonl", "zeek", "zeek-json"):
        for c in conns:
            emit(c)
        if fmt == "zeek":
            echo(tsv_close())
        elif fmt == "jsonl":
            echo(json.dumps({"file": report.file, "profile": report.profile, "packets": report.packets.to_dict(),
                             "error": report.error}, separators=(",", ":")))
    elif fmt == "json":
        data = report.to_dict()
        data["connections"] = [c.to_dict() for c in conns]
        # compact: a capture can hold many thousands of connections (pipe it to `jq .` to read)
        echo_json(data, compact=True)
    elif fmt == "csv":
        import csv

        out = csv.writer(sys.stdout)
        out.writerow(["id", "orig", "resp", "conn_state", "history", "orig_states", "resp_states", "findings"])
        for c in conns:
            d = c.to_dict()
            a, b = d["endpoints"]
            out.writerow([c.id, _endpoint(a["addr"], a["port"]), _endpoint(b["addr"], b["port"]), d["conn_state"],
                          d["history"], " > ".join(a["states"]), " > ".join(b["states"]), len(c.findings)])
    elif not per_packet or conn_id is not None:
        if not streaming:
            echo(_counts_line(capture, report, len(conns)))
            for c in conns:
                emit(c)
        for c in conns:
            for f in c.findings:
                rule = f" rule {f.transition}" if f.transition else ""
                sec = f" (RFC 9293 §{f.rfc})" if f.rfc and f.rfc[0].isdigit() else (f" ({f.rfc})" if f.rfc else "")
                echo(f"  connection {c.id}, packet {f.packet}, {f.endpoint}: {f.what}{rule}{sec}")
        if conn_id is not None:
            isn: dict[str, int] = {}
            for number, who, p in conns[0].packets:
                isn.setdefault(who, p.seq)
                other = "resp" if who == "orig" else "orig"
                seq = p.seq if absolute else (p.seq - isn[who]) % (1 << 32)
                ack = p.ack if absolute or other not in isn else (p.ack - isn[other]) % (1 << 32)
                echo(f"  #{number:<6} {who:4} {_endpoint(p.src, p.sport)} > {_endpoint(p.dst, p.dport)} "
                     f"{Flags(p.flags)} seq={seq} ack={ack} len={p.length}")
    if fmt == "table" and (streaming or per_packet):
        echo(_counts_line(capture, report, len(conns) + report.streamed))
    if chart:
        from tcpfsm.render import chart_dot, connection_chart

        assert conns[0].detail is not None
        write_chart(chart_dot(connection_chart(conns[0].detail, absolute=absolute)), chart)
    if report.interrupted:
        echo(f"{report.error} (results above are partial: inconclusive)", err=True)
    elif report.error:
        echo(f"error: {report.error} (results above are partial)", err=True)
    return int(report.exit_code)
