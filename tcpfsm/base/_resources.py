"""Files shipped inside the package: the specs, JSON Schemas and sample captures.

Everything is read through :mod:`importlib.resources`, so it is found wherever the package
is installed (a venv, ``--user``, ``--target``, an editable checkout), never through
``sys.prefix``. In a checkout, ``tcpfsm/specs`` is a link to the top-level ``specs/``
folder, which stays the source files.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_dir() -> Path:
    """The installed ``tcpfsm`` package folder."""
    return Path(str(resources.files("tcpfsm")))


def specs_dir() -> Path:
    """The shipped ``specs/`` folder (machine specs, profiles, mutants, properties, scenarios)."""
    path = package_dir() / "specs"
    if not (path / "tcp.yaml").is_file():
        raise FileNotFoundError(f"tcpfsm's specs were not found in {path}: the installation is incomplete; "
                                "reinstall tcpfsm")
    return path


def schema_path(name: str) -> Path:
    """A JSON Schema shipped inside the package."""
    return package_dir() / "schema" / name


def samples_dir() -> Path:
    """The sample captures and traces shipped for the README's examples."""
    return package_dir() / "samples"


def samples_path(name: str) -> Path:
    """The path of one shipped sample (``tcpfsm samples`` lists them), e.g. ``"client.jsonl"``."""
    folder = samples_dir()
    path = folder / name
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in folder.iterdir() if p.suffix != ".md"))
        raise FileNotFoundError(f"no sample {name!r} in {folder} (samples: {known})")
    return path


def checkout_dir() -> Path | None:
    """The source checkout this package runs from (an editable install), or None."""
    root = package_dir().parent
    return root if (root / "pyproject.toml").is_file() and (root / "specs" / "tcp.yaml").is_file() else None
