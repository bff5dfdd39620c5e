"""Reading spec files: a safe YAML parse that keeps lines, and the JSON Schema check (cached).

The schema (``tcpfsm/schema/spec.schema.json``) checks a file's structure; names are checked
against the vocabulary afterwards by the loader. A (schema, text) pair that passed is
remembered by hash in ``~/.cache/tcpfsm`` so that loading a shipped spec need not import
jsonschema; changing the schema's text invalidates every entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from tcpfsm.base._errors import Problem
from tcpfsm.base._resources import schema_path
from tcpfsm.base._yaml import LDict, line_of, load_yaml, read_input


@cache
def _schema_text() -> str:
    return schema_path("spec.schema.json").read_text(encoding="utf-8")


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tcpfsm" / "schema-valid.json"


_CACHE_ENTRIES = 256  # the most recent (schema, spec text) hashes kept
_CACHE_MAX_BYTES = 64 * 1024  # 256 hashes take 17 KB; anything larger is not our file
_DIGEST = re.compile(r"[0-9a-f]{64}")


def _read_cache(path: Path) -> list[str]:
    """The hashes in the cache file, oldest first; [] for a missing, unreadable, oversized or
    corrupt file (``[1,2,3]``, deeply nested JSON, binary junk): a cache never breaks a command."""
    try:
        with open(path, "rb") as f:
            raw = f.read(_CACHE_MAX_BYTES + 1)
    except (OSError, ValueError):
        return []
    if len(raw) > _CACHE_MAX_BYTES:
        return []
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return []
    if not isinstance(data, list):
        return []
    return [d for d in data if isinstance(d, str) and _DIGEST.fullmatch(d)]


@cache
def _known_valid() -> set[str]:
    """Hashes of (schema, spec text) that passed the schema: a cache of a pure function's
    result (JSON, hashes only), so that loading a shipped spec need not import jsonschema."""
    return set(_read_cache(_cache_file()))


def _remember_valid(digest: str) -> None:
    """Add ``digest`` to the cache file: read, merge and replace under a lock, so that two
    processes adding at once lose neither entry; the temporary file never outlives the call."""
    _known_valid().add(digest)
    try:
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_name(path.name + ".lock")):
            entries = [d for d in _read_cache(path) if d != digest] + [digest]
            fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(entries[-_CACHE_ENTRIES:], f)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            _sweep(path)
    except OSError:
        pass  # a read-only or full home: validate every time


def _sweep(path: Path) -> None:
    """Remove temporary files an interrupted writer left (older than an hour: none is being written)."""
    cutoff = time.time() - 3600
    for stale in path.parent.glob(path.name + ".*.tmp"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < cutoff:
                stale.unlink()
    for stale in path.parent.glob(path.stem + ".*.tmp"):  # the names of tcpfsm before issue 16
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < cutoff:
                stale.unlink()


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock (POSIX ``flock``; elsewhere none: a lost entry costs one validation)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_text(path: Path) -> tuple[Any, list[Problem], str | None]:
    """A spec file's data (LDict), its problems and its text (None when it could not be read)."""
    text, problem = read_input(path)
    if text is None:
        return None, [problem] if problem is not None else [], None
    data, problems = load_yaml(text, str(path))
    if not problems and not isinstance(data, LDict):
        problems.append(Problem(str(path), 1, "the top level is not a mapping",
                                "a spec starts with keys like `name:`, `states:`, `transitions:`"))
        data = None
    if not isinstance(data, LDict):
        data = None
    return data, problems, text


def schema_problems(data: LDict, text: str | None = None) -> list[Problem]:
    digest = hashlib.sha256((_schema_text() + "\0" + text).encode()).hexdigest() if text is not None else None
    if digest is not None and digest in _known_valid():
        return []
    import jsonschema  # only when a text is new (a 40 ms import)

    validator = jsonschema.Draft202012Validator(json.loads(_schema_text()))
    out = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        while err.validator == "oneOf" and err.context:
            # the branch whose type fits the value says what is wrong, not "not valid under any of"
            fitting = [e for e in err.context if e.validator != "type"] or list(err.context)
            err = jsonschema.exceptions.best_match(fitting)
        path = list(err.absolute_path)
        file, line = line_of(data, path)
        where = "/".join(str(p) for p in path) or "top level"
        msg = err.message
        if err.validator == "required":
            hint = "add the missing key"
        elif err.validator in ("additionalProperties", "unevaluatedProperties"):
            hint = "remove or rename the key; see tcpfsm/schema/spec.schema.json"
        elif err.validator in ("enum", "pattern"):
            hint = "use one of the allowed spellings"
        else:
            hint = "see tcpfsm/schema/spec.schema.json"
        out.append(Problem(file, line, f"{where}: {msg}", hint))
    if not out and digest is not None:
        _remember_valid(digest)
    return out


