"""Profiles: overlay files over a base, found by name or path, stacked, merged into one raw spec.

Theory of operation: a file with ``profile: NAME`` is an overlay. Its ``base:`` is either a
*name* - ``tcp``, the base spec ``specs/tcp.yaml`` (its ``name: tcp``), or a profile's
name (``rfc9293``, ``rfc5961``, ...) - or a *path* (it contains ``/`` or ends in ``.yaml``),
relative to the profile's own folder, never to the working directory. A name is looked up
in the specs folder the profile belongs to when it sits in one laid out like the shipped
``specs/`` (``tcp.yaml`` beside the ``profiles/`` or ``mutants/`` folder holding it), so a
copy of that folder is self-contained; otherwise, and for names that folder lacks, among the
shipped specs. A base may itself be a profile, so overlays stack (``linux`` -> ``rfc5961``
-> ``rfc9293`` -> ``tcp``); a chain that comes back to a file it passed is a problem at the
``base:`` that closes it. Without ``base:`` the base is ``tcp``.

One overlay is applied to the merged raw data of its base, in this order:
``remove:`` ids, ``replace:`` whole transitions by id, ``add:`` new ids, ``patch:`` the
given fields of a transition by id; ``guards:``, ``timers:`` and ``events:`` replace the
entry of the same name in place or add a new one; ``sets:`` adds sets (redefining one of
the base's would silently change every transition that names it); ``checklist:`` rows are
merged. Every entry keeps its own file and line, so a problem inside an overlay is reported
at the overlay's line. What an overlay removed, replaced or patched is kept as a
:class:`Change` so that a coverage problem it caused can be reported where it was caused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tcpfsm.base._errors import Problem
from tcpfsm.base._resources import specs_dir
from tcpfsm.base._yaml import LDict, LList, line_of
from tcpfsm.spec._files import read_text, schema_problems

BASE_SPEC = "tcp"  # `base: tcp` names specs/tcp.yaml, the base spec (its `name: tcp`)

# Keys only a base spec has, and keys only an overlay has (the schema allows both in one file).
SPEC_ONLY = ("name", "title", "rfc", "states", "checks", "arrival", "transitions", "diagram")
OVERLAY_ONLY = ("base", "remove", "replace", "add", "patch")
MERGED_BY_NAME = ("guards", "timers", "events")


@dataclass(frozen=True)
class RawChange:
    """A base transition an overlay removed, replaced or patched (the raw entry before), and where."""

    tid: str
    verb: str
    file: str
    line: int
    before: LDict


@dataclass(frozen=True)
class RawSpec:
    """The merged raw data of a spec or a profile chain, with its files (base first) and changes."""

    data: LDict
    files: tuple[str, ...]
    changes: tuple[RawChange, ...]
    profile: str = ""  # the profile's name, "" for a base spec


def profile_path(profile: str) -> Path:
    return specs_dir() / "profiles" / f"{profile}.yaml"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in (specs_dir() / "profiles").glob("*.yaml"))


def _names_in(root: Path) -> dict[str, Path]:
    return {BASE_SPEC: root / "tcp.yaml", **{p.stem: p for p in sorted((root / "profiles").glob("*.yaml"))}}


def base_names(profile_file: Path | None = None) -> dict[str, Path]:
    """Every name a ``base:`` may give - ``tcp`` (the base spec) and the profiles - and its file:
    the shipped ones, overridden by those of the specs folder ``profile_file`` belongs to."""
    names = _names_in(specs_dir())
    folder = profile_file.parent if profile_file is not None else None
    if folder is not None and folder.name in ("profiles", "mutants") and (folder.parent / "tcp.yaml").is_file():
        names.update(_names_in(folder.parent))
    return names


def is_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml"))


def _resolve_base(data: LDict, owner: Path, problems: list[Problem]) -> Path | None:
    ref = data.get("base", BASE_SPEC)
    file, line = line_of(data, ["base"])
    names = base_names(owner)
    profiles = ", ".join(n for n in names if n != BASE_SPEC)
    known = f"`{BASE_SPEC}` (the base spec, specs/tcp.yaml) or a profile ({profiles})"
    if not isinstance(ref, str) or not ref.strip():
        problems.append(Problem(file, line, f"base: must be a name or a path, not {ref!r}", f"name {known}"))
        return None
    if is_path(ref):
        try:
            path = (owner.parent / ref).resolve()
            found = path.is_file()
        except (OSError, ValueError):
            path, found = owner.parent / ref, False
        if not found:
            problems.append(Problem(file, line, f"base: no file {ref!r} (looked for {path})",
                                    f"a path is relative to the profile's folder; or name {known}"))
            return None
        return path
    if ref in names:
        return names[ref].resolve()
    problems.append(Problem(file, line, f"base: unknown base {ref!r}",
                            f"name {known}, or give a path relative to this file (e.g. ./mine.yaml)"))
    return None


def raw_spec(path: Path, problems: list[Problem], chain: tuple[Path, ...] = ()) -> RawSpec | None:
    """Read ``path`` and, for a profile, its chain of bases; merge them. None when unreadable."""
    data, read_problems, text = read_text(path)
    problems += read_problems
    if data is None:
        return None
    problems += schema_problems(data, text)
    if "profile" not in data:
        for key in OVERLAY_ONLY:
            if key in data:
                f, ln = line_of(data, [key])
                problems.append(Problem(f, ln, f"`{key}:` belongs in a profile overlay, not in a base spec",
                                        f"add `profile: NAME` and `base: {BASE_SPEC}`, or edit `transitions:`"))
        return RawSpec(data, (str(path),), ())
    for key in SPEC_ONLY:
        if key in data:
            f, ln = line_of(data, [key])
            problems.append(Problem(f, ln, f"a profile cannot set `{key}:` (it comes from the base spec)",
                                    "a profile changes transitions (remove, replace, add, patch), guards, "
                                    "timers, events, sets and checklist rows"))
    base_path = _resolve_base(data, path, problems)
    if base_path is None:
        return None
    if base_path == path or base_path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path, base_path))
        f, ln = line_of(data, ["base"])
        problems.append(Problem(f, ln, f"base: the profiles form a cycle: {cycle}",
                                f"a chain of profiles ends at the base spec (`base: {BASE_SPEC}`)"))
        return None
    base = raw_spec(base_path, problems, (*chain, path))
    if base is None:
        return None
    merged, changes = overlay(base, data, problems)
    return RawSpec(merged, (*base.files, str(path)), (*base.changes, *changes), str(data.get("profile")))


def _ldict(src: Any, file: str) -> LDict:
    out = LDict(src if isinstance(src, dict) else {})
    out.file, out.line = getattr(src, "file", file), getattr(src, "line", 0)
    out.lines = dict(getattr(src, "lines", {}))
    return out


def _llist(src: Any, file: str) -> LList:
    out = LList(src if isinstance(src, list) else [])
    out.file, out.line = getattr(src, "file", file), getattr(src, "line", 0)
    out.lines = list(getattr(src, "lines", [getattr(x, "line", 0) for x in out]))
    return out


def overlay(base: RawSpec, over: LDict, problems: list[Problem]) -> tuple[LDict, list[RawChange]]:
    """Apply one overlay to its base's merged raw data (see the module's theory of operation)."""
    data = base.data
    label = f"its base ({base.profile or data.get('name', BASE_SPEC)})"
    merged = _ldict(data, data.file)
    merged["profile"] = over.get("profile")
    transitions = _llist(data.get("transitions"), data.file)
    ids: list[Any] = [t.get("id") if isinstance(t, dict) else object() for t in transitions]  # object(): no id
    changes: list[RawChange] = []

    def entries(key: str) -> list[tuple[int, Any, str, int]]:
        seq = over.get(key)
        if not isinstance(seq, list):
            return []
        out = []
        for i, x in enumerate(seq):
            f, ln = line_of(over, [key, i])
            out.append((i, x, getattr(x, "file", f), getattr(x, "line", 0) or ln))
        return out

    removed: dict[str, int] = {}
    for _i, tid, f, ln in entries("remove"):
        if isinstance(tid, str) and tid in removed:
            problems.append(Problem(f, ln, f"remove: {tid} is removed twice (first at line {removed[tid]})",
                                    "name each id once"))
            continue
        if not isinstance(tid, str):
            continue  # the schema reported it
        if tid not in ids:
            problems.append(Problem(f, ln, f"remove: no transition {tid!r} in {label}",
                                    "name an id of the base (`tcpfsm spec show --profile BASE`)"))
            continue
        removed[tid] = ln
        k = ids.index(tid)
        changes.append(RawChange(str(tid), "removed", f, ln, transitions[k]))
        del transitions[k], transitions.lines[k], ids[k]
    for _i, t, f, ln in entries("replace"):
        if not isinstance(t, dict):
            continue  # the schema reported it
        tid = t.get("id")
        if tid not in ids:
            problems.append(Problem(f, ln, f"replace: no transition {tid!r} in {label}",
                                    "use `add:` for a new id"))
            continue
        k = ids.index(tid)
        changes.append(RawChange(str(tid), "replaced", f, ln, transitions[k]))
        transitions[k], transitions.lines[k] = t, ln
    added: dict[str, int] = {}
    for _i, t, f, ln in entries("add"):
        if not isinstance(t, dict):
            continue  # the schema reported it
        tid = t.get("id")
        if not isinstance(tid, str):
            continue  # the schema reported it (an id is required text)
        if tid in added:
            problems.append(Problem(f, ln, f"add: {tid} is added twice (first at line {added[tid]})",
                                    "give each new transition an id of its own"))
            continue
        if tid in ids:
            problems.append(Problem(f, ln, f"add: transition {tid!r} exists already in {label}",
                                    "use `replace:` or `patch:` to change it, or pick a new id"))
            continue
        added[tid] = ln
        transitions.append(t)
        transitions.lines.append(ln)
        ids.append(tid)
    for _i, p, f, ln in entries("patch"):
        if not isinstance(p, LDict):
            continue  # the schema reported it
        tid = p.get("id")
        if tid not in ids:
            problems.append(Problem(f, ln, f"patch: no transition {tid!r} in {label}",
                                    "patch an id of the base (`tcpfsm spec show --profile BASE`); `add:` a new one"))
            continue
        fields = {key: value for key, value in p.items() if key != "id"}
        if not fields:
            problems.append(Problem(f, ln, f"patch: {tid} changes no field",
                                    "give the fields to change, e.g. {id: S26, actions: [accept_ack]}"))
            continue
        k = ids.index(tid)
        old = transitions[k]
        new = _ldict(old, f)
        new.update(fields)
        new.file, new.line = p.file, p.line  # the patched transition is the profile's now
        new.lines = {key: p.line for key in new} | p.lines
        changes.append(RawChange(str(tid), "patched", f, ln, old))
        transitions[k], transitions.lines[k] = new, ln
    merged["transitions"] = transitions

    for key in MERGED_BY_NAME:
        if not over.get(key) or not isinstance(over.get(key), list):
            continue
        items = _llist(data.get(key), data.file)
        names = [x.get("name") if isinstance(x, dict) else None for x in items]
        for _i, x, _f, ln in entries(key):
            name = x.get("name") if isinstance(x, dict) else None
            if name is not None and name in names:
                k = names.index(name)
                items[k], items.lines[k] = x, ln
            else:
                items.append(x)
                items.lines.append(ln)
                names.append(name)
        merged[key] = items
    for key in ("sets", "checklist"):
        if not isinstance(over.get(key), dict):
            continue
        table = _ldict(data.get(key), data.file)
        for name, value in over[key].items():
            f, ln = line_of(over, [key, name])
            if key == "sets" and name in table:
                # the base's transitions name it: redefining it would change them all, unseen
                problems.append(Problem(f, ln, f"sets: {name!r} is a set of {label}; a profile adds sets, it does "
                                        "not redefine them", "pick a new name, and `patch:` the sources to change"))
                continue
            table[name] = value
            table.lines[name] = over[key].lines.get(name, 0)
        merged[key] = table
    return merged, changes
