"""Where the shipped specs live: beside the package in a checkout, or in the install prefix."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def specs_dir() -> Path:
    """The ``specs/`` folder: ``$TCPFSM_SPECS_DIR`` if set, else the checkout's (editable
    install), else ``<prefix>/share/tcpfsm/specs``."""
    here = Path(__file__).resolve().parent
    override = os.environ.get("TCPFSM_SPECS_DIR")
    candidates = [Path(override)] if override else []
    candidates += [here.parent / "specs", Path(sys.prefix) / "share" / "tcpfsm" / "specs"]
    for candidate in candidates:
        if (candidate / "tcp.yaml").is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"tcpfsm's specs folder was not found (tried {tried}); reinstall tcpfsm")


def schema_path(name: str) -> Path:
    """A JSON Schema shipped inside the package."""
    return Path(__file__).resolve().parent / "schema" / name
