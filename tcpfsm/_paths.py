"""Where the shipped specs live: beside the package in a checkout, or in the install prefix."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path


@cache
def specs_dir() -> Path:
    """The ``specs/`` folder: the checkout's (editable install) or ``<prefix>/share/tcpfsm/specs``."""
    here = Path(__file__).resolve().parent
    candidates = [here.parent / "specs", Path(sys.prefix) / "share" / "tcpfsm" / "specs"]
    for candidate in candidates:
        if (candidate / "tcp.yaml").is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"tcpfsm's specs folder was not found (tried {tried}); reinstall tcpfsm")


def schema_path(name: str) -> Path:
    """A JSON Schema shipped inside the package."""
    return Path(__file__).resolve().parent / "schema" / name
