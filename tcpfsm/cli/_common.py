"""What every command shares: exit codes, the spec options, tables, JSON, chart files."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from tcpfsm.spec import Spec

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

# The checker's numeric options: out-of-range values are usage errors (exit 2), named with the range.
# A channel of more than 1024 segments only costs memory (the state space is out of reach long
# before); retransmissions are the Endpoint's max_retries, which it takes up to 100; bounds count
# from 1 (0 states is no search).
CAPACITY = click.IntRange(1, 1024)
RETRANSMISSIONS = click.IntRange(0, 100)
STATE_BOUND = click.IntRange(min=1)
DEPTH_BOUND = click.IntRange(min=0)


def spec_options(func: F) -> F:
    """``--spec FILE`` and ``--profile NAME``: the one way every command chooses its spec."""
    from tcpfsm.spec import available_profiles  # the shipped files, never a list retyped here

    names = sorted(available_profiles(), key=lambda n: (n != "rfc9293", n))
    func = click.option("--profile", "-p", metavar="NAME",
                        help=f"A shipped profile: {', '.join(names)} (rfc9293 unless the command says "
                             f"otherwise).")(func)
    return click.option("--spec", "spec_file", metavar="FILE", type=click.Path(dir_okay=False),
                        help="A spec or profile file of your own (a profile names its `base:`).")(func)


def load(spec_file: str | None, profile: str | None, positional: str | None = None) -> Spec:
    """The spec the options choose (FILE positional and --spec are the same thing)."""
    if positional and spec_file and positional != spec_file:
        raise click.UsageError("give the spec file once: as FILE or as --spec")
    from tcpfsm.spec import resolve_spec  # here, under main's handler: loading a spec can be interrupted

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


def chart_suffix(path: str | Path, *, also: tuple[str, ...] = ()) -> str:
    """The chart format a file name asks for (no suffix: svg); UsageError naming the supported ones."""
    suffix = Path(path).suffix.lstrip(".").lower() or "svg"
    known = (*CHART_SUFFIXES, *also)
    if suffix not in known:
        raise click.UsageError(f"{path}: unknown chart format {suffix!r}; supported: .{', .'.join(known)}")
    return suffix


def chart_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: a chart file's suffix is checked when the command starts, not after its work."""
    if value is not None:
        try:
            chart_suffix(value, also=("json", "pcap", "pcapng") if param.name == "trace_out" else ())
        except click.UsageError as exc:
            raise click.BadParameter(exc.message, ctx=ctx, param=param) from None
    return value


if TYPE_CHECKING:  # generic from click 8.2 on; the package supports 8.1
    _ParamType = click.ParamType[float, Any]
else:
    _ParamType = click.ParamType


class Seconds(_ParamType):
    """A duration in seconds: a finite number above zero (``nan``, ``inf`` and ``-1`` are refused)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r}: give a finite number of seconds above 0", param, ctx)
        return seconds


def write_chart(dot_text: str, path: str | Path, *, err: bool = True, what: str = "sequence chart") -> Path:
    """Write DOT text as a chart file: ``.dot`` as text, ``.svg``/``.png``/``.pdf`` through Graphviz."""
    from tcpfsm.render import render

    out = Path(path)
    suffix = chart_suffix(out)
    if not out.suffix:
        out = out.with_suffix(".svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == "dot":
        out.write_text(dot_text, encoding="utf-8")
    else:
        out.write_bytes(render(dot_text, suffix))
    click.echo(f"{what}: {out}", err=err)
    return out


def model_options(func: F) -> F:
    """The composed model's options, shared by ``check`` and ``export promela``: ``--model``,
    ``--channel`` (repeatable), ``--lossy``, ``-k``, ``--when-full``, ``-r``."""
    for opt in reversed([
        click.option("--model", help="A model of specs/properties.yaml, e.g. `reference` (the benchmark model)."),
        click.option("--channel", "channels", multiple=True,
                     type=click.Choice(["reliable", "lossy", "dup", "reorder"]),
                     help="Channel model; repeat to combine (default reliable FIFO)."),
        click.option("--lossy", is_flag=True, help="Same as --channel lossy."),
        click.option("--capacity", "-k", type=CAPACITY, default=2, show_default=True,
                     help="Segments each channel holds."),
        click.option("--when-full", type=click.Choice(["block", "drop"]), default="block", show_default=True),
        click.option("--retransmissions", "-r", type=RETRANSMISSIONS, default=1, show_default=True,
                     help="Retransmissions per state visit (R)."),
    ]):
        func = opt(func)
    return func

