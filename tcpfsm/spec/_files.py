"""Reading spec files: a safe YAML parse that keeps lines, and the JSON Schema check (cached).

The schema (``tcpfsm/schema/spec.schema.json``) checks a file's structure; names are checked
against the vocabulary afterwards by the loader. A (schema, text) pair that passed is
remembered by hash in ``~/.cache/tcpfsm`` so that loading a shipped spec need not import
jsonschema; changing the schema's text invalidates every entry.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from tcpfsm.base._errors import Problem
from tcpfsm.base._resources import schema_path
from tcpfsm.base._yaml import LDict, line_of, load_yaml


@cache
def _schema_text() -> str:
    return schema_path("spec.schema.json").read_text(encoding="utf-8")


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tcpfsm" / "schema-valid.json"


@cache
def _known_valid() -> set[str]:
    """Hashes of (schema, spec text) that passed the schema: a cache of a pure function's
    result (JSON, hashes only), so that loading a shipped spec need not import jsonschema."""
    try:
        return set(json.loads(_cache_file().read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return set()


def _remember_valid(digest: str) -> None:
    known = _known_valid()
    known.add(digest)
    try:
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sorted(known)[-256:]), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: validate every time


def read_text(path: Path) -> tuple[Any, list[Problem], str | None]:
    text: str | None = None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(str(path), 0, "no such file", "give the path of a spec or a profile")], None
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 0, f"cannot read: {exc}", "a spec is a UTF-8 YAML file")], None
    data, problems = load_yaml(text, str(path))
    if not problems and not isinstance(data, LDict):
        problems.append(Problem(str(path), 1, "the top level is not a mapping",
                                "a spec starts with keys like `name:`, `states:`, `transitions:`"))
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


