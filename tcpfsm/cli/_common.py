"""What every command shares: exit codes, the spec options, tables, JSON, chart files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tcpfsm.spec import Spec, resolve_spec

# Exit codes, the same for every command (listed in `tcpfsm --help`).
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCONCLUSIVE, EXIT_INTERNAL = 0, 1, 2, 3, 4
EXIT_CODES = """\b
Exit codes (every command):
  0  ok
  1  findings: a violated property, a divergence, a finding in a capture, a stale diagram
  2  usage or input error: a bad argument, spec, trace or capture (with file:line)
  3  inconclusive: a bound was reached or the run was interrupted (never a pass)
  4  internal error: a bug in tcpfsm (one line; --debug prints the traceback)"""

F = TypeVar("F", bound=Callable[..., Any])


def spec_options(func: F) -> F:
    """``--spec FILE`` and ``--profile NAME``: the one way every command chooses its spec."""
    func = click.option("--profile", "-p", metavar="NAME",
                        help="A shipped profile: rfc9293 (default), rfc793, rfc5961, rfc1337, linux.")(func)
    return click.option("--spec", "spec_file", metavar="FILE", type=click.Path(dir_okay=False),
                        help="A spec or profile file of your own (a profile names its `base:`).")(func)


def load(spec_file: str | None, profile: str | None, positional: str | None = None) -> Spec:
    """The spec the options choose (FILE positional and --spec are the same thing)."""
    if positional and spec_file and positional != spec_file:
        raise click.UsageError("give the spec file once: as FILE or as --spec")
    return resolve_spec(file=positional or spec_file, profile=profile)


def echo_json(data: Any, *, compact: bool = False) -> None:
    if compact:
        click.echo(json.dumps(data, separators=(",", ":")))
    else:
        click.echo(json.dumps(data, indent=2, sort_keys=False))


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)




CHART_SUFFIXES = ("svg", "png", "pdf", "dot")


def write_chart(dot_text: str, path: str | Path, *, err: bool = True, what: str = "sequence chart") -> Path:
    """Write DOT text as a chart file: ``.dot`` as text, ``.svg``/``.png``/``.pdf`` through Graphviz."""
    from tcpfsm.render import render

    out = Path(path)
    suffix = out.suffix.lstrip(".").lower() or "svg"
    if suffix not in CHART_SUFFIXES:
        raise click.UsageError(f"{out}: unknown chart format {suffix!r}; use one of .{', .'.join(CHART_SUFFIXES)}")
    if not out.suffix:
        out = out.with_suffix(".svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == "dot":
        out.write_text(dot_text, encoding="utf-8")
    else:
        out.write_bytes(render(dot_text, suffix))
    click.echo(f"{what}: {out}", err=err)
    return out
