"""The ``tcpfsm`` command group and ``main``: exit codes, and never a traceback.

Exit codes: 0 ok, 1 findings, 2 usage or input error, 3 inconclusive (a bound was reached, or
the run was interrupted: Ctrl-C or SIGTERM), 4 internal error (an exception tcpfsm did not
expect: one line, ``--debug`` for the traceback).

The commands' modules (and with them the specs, jsonschema, numpy, ...) are imported when the
group first needs them, which is inside ``main``'s handler: an interrupt while they load is an
interrupt like any other (exit 3), not a traceback. SIGTERM is turned into the same interrupt
for the length of ``main``, so that a search or a capture stopped by ``kill`` or a CI timeout
prints what it has so far, as Ctrl-C does.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from types import FrameType
from typing import Any

import click

from tcpfsm.cli._common import EXIT_CODES, EXIT_INCONCLUSIVE, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE

REPORT_TO = "the tcpfsm issue tracker"

# name -> (module, attribute): imported on first use (see the module docstring)
_COMMANDS = {
    "spec": ("tcpfsm.cli._spec", "spec"),
    "diagram": ("tcpfsm.cli._diagram", "diagram"),
    "check": ("tcpfsm.cli._check", "check_cmd"),
    "replay": ("tcpfsm.cli._conformance", "replay_cmd"),
    "monitor": ("tcpfsm.cli._conformance", "monitor_cmd"),
    "samples": ("tcpfsm.cli._conformance", "samples_cmd"),
    "simulate": ("tcpfsm.cli._simulate", "simulate"),
    "explain": ("tcpfsm.cli._explain", "explain_cmd"),
    "export": ("tcpfsm.cli._export", "export_cmd"),
    "walk": ("tcpfsm.cli._walk", "walk_cmd"),
    "packetdrill": ("tcpfsm.cli._packetdrill", "packetdrill_cmd"),
    "glossary": ("tcpfsm.cli._learn", "glossary_cmd"),
    "explore": ("tcpfsm.cli._learn", "explore_cmd"),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be: whoever stops cleanly on an
    interrupt (the checker, the monitor) stops cleanly on this too."""


def _extra_for(module: str) -> str | None:
    """The extra that brings an optional dependency, read from the installed package's metadata
    (pyproject.toml's optional-dependencies: the one place they are listed)."""
    from importlib import metadata

    try:
        requires = metadata.requires("tcpfsm") or []
    except metadata.PackageNotFoundError:
        return None
    for req in requires:
        name, _, marker = req.partition(";")
        dist = name.strip().split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        if dist == module.lower() and "extra ==" in marker:
            extra = marker.split("extra ==", 1)[1].strip().strip("'\"")
            if extra not in ("all", "dev"):
                return extra
    return None


class _Group(click.Group):
    """The command group; its commands are imported the first time the group is asked for them."""

    _loaded = False

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        if not self._loaded:
            self._loaded = True
            for name, (module, attr) in _COMMANDS.items():
                self._commands.setdefault(name, getattr(importlib.import_module(module), attr))
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
@click.version_option(package_name="tcpfsm")
@click.option("--debug", is_flag=True, help="On an internal error, print the whole traceback.")
def cli(debug: bool) -> None:
    """TCP's connection lifecycle (RFC 9293) as an executable, checkable, drawable spec.

    \b
    Examples:
      tcpfsm spec validate --all          check every shipped profile
      tcpfsm spec show --profile rfc793   the transition table of one profile
      tcpfsm simulate handshake           step through the 3-way handshake
      tcpfsm check --lossy                check every interleaving over a lossy network
      tcpfsm monitor "$(tcpfsm samples normal_close_client_v4.pcap)"
      tcpfsm simulate --list              the named scenarios
    """


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 findings, 2 usage or input error, 3 inconclusive
    or interrupted, 4 internal error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    previous = _on_sigterm()
    try:
        return _run(args, debug)
    except KeyboardInterrupt as exc:  # between click's handler and ours (or a second Ctrl-C)
        return _interrupted(exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args: list[str], debug: bool) -> int:
    try:
        from tcpfsm.base import SpecError, TcpFsmError

        result = cli.main(args=args, prog_name="tcpfsm", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort as exc:  # click's name for a KeyboardInterrupt (or EOF at a prompt)
        return _interrupted(exc.__cause__ or exc.__context__ or exc)
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
        _quiet_stdout()
        return EXIT_OK
    except OSError as exc:
        click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), err=True)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        extra = _extra_for((exc.name or "").split(".")[0])
        if extra is None:
            return _internal(exc, debug)
        click.echo(f"error: this command needs {exc.name}, an optional dependency: "
                   f"pip install 'tcpfsm[{extra}]'", err=True)
        return EXIT_USAGE
    except RecursionError as exc:  # input nested beyond what the parsers take
        click.echo(f"error: input nested too deeply to read ({exc})", err=True)
        return EXIT_USAGE
    except MemoryError:
        click.echo("error: out of memory (use smaller bounds or a smaller input)", err=True)
        return EXIT_USAGE
    except Exception as exc:  # a bug: one line (or the traceback with --debug), never exit 1
        return _internal(exc, debug)
    return int(result or 0)


def _interrupted(exc: BaseException) -> int:
    what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted (Ctrl-C)"
    click.echo(f"{what}: stopped before a result (inconclusive)", err=True)
    return EXIT_INCONCLUSIVE


def _on_sigterm() -> Any:
    """SIGTERM raises Terminated (a KeyboardInterrupt) while main runs; the previous handler, or
    None when signals cannot be set here (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, terminate)
    except (ValueError, OSError):  # pragma: no cover - an embedded interpreter without signals
        return None


def _quiet_stdout() -> None:
    """After a closed pipe (``tcpfsm ... | head``): nothing more to flush at exit."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _internal(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    click.echo(f"internal error: {type(exc).__name__}: {exc}{at}; please report it to {REPORT_TO} "
               "(run again with --debug for the traceback)", err=True)
    return EXIT_INTERNAL


__all__ = ["cli", "main"]
