"""The ``tcpfsm`` command: a thin shell over the library (nothing imports it)."""

from tcpfsm.cli._main import cli, main

__all__ = ["cli", "main"]
