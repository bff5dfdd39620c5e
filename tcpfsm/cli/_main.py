"""The ``tcpfsm`` command group and ``main``: exit codes, and never a traceback.

Exit codes: 0 ok, 1 findings, 2 usage or input error, 3 inconclusive, 4 internal error
(an exception tcpfsm did not expect: one line, ``--debug`` for the traceback).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import click

from tcpfsm.base import SpecError, TcpFsmError
from tcpfsm.cli._check import check_cmd
from tcpfsm.cli._common import EXIT_CODES, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE
from tcpfsm.cli._conformance import monitor_cmd, replay_cmd, samples_cmd
from tcpfsm.cli._diagram import diagram
from tcpfsm.cli._simulate import simulate
from tcpfsm.cli._spec import spec

REPORT_TO = "the tcpfsm issue tracker"


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
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


for command in (spec, diagram, check_cmd, replay_cmd, monitor_cmd, samples_cmd, simulate):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 findings, 2 usage or input error, 3 inconclusive,
    4 internal error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
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
    except ModuleNotFoundError as exc:
        extra = _extra_for((exc.name or "").split(".")[0])
        if extra is None:
            raise_internal = exc
        else:
            click.echo(f"error: this command needs {exc.name}, an optional dependency: "
                       f"pip install 'tcpfsm[{extra}]'", err=True)
            return EXIT_USAGE
        return _internal(raise_internal, debug)
    except Exception as exc:  # a bug: one line (or the traceback with --debug), never exit 1
        return _internal(exc, debug)
    return int(result or 0)


def _internal(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    click.echo(f"internal error: {type(exc).__name__}: {exc}{at}; please report it to {REPORT_TO} "
               "(run again with --debug for the traceback)", err=True)
    return EXIT_INTERNAL


__all__ = ["cli", "main"]
