"""The glossary (``specs/glossary.yaml``): the words of TCP a student meets, each with its RFC section."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tcpfsm.base._errors import Problem, SpecError
from tcpfsm.base._resources import specs_dir
from tcpfsm.base._yaml import LDict, line_of, load_yaml, read_input


@dataclass(frozen=True)
class GlossaryEntry:
    """One term: its other spellings, a plain definition, and its RFC section (``3.4.1``, or
    another RFC named in full, e.g. ``RFC 5961 §4``)."""

    term: str
    means: str
    rfc: str
    also: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return self.rfc if self.rfc.startswith("RFC") else f"RFC 9293 §{self.rfc}"

    def names(self) -> tuple[str, ...]:
        return (self.term, *self.also)


def glossary_file() -> Path:
    return specs_dir() / "glossary.yaml"


def load_glossary(path: Path | None = None) -> tuple[GlossaryEntry, ...]:
    """The glossary's entries in file order; SpecError (file:line) for a malformed entry."""
    path = path or glossary_file()
    text, problem = read_input(path)
    if text is None:
        raise SpecError([problem] if problem is not None else [])
    data, problems = load_yaml(text, str(path))
    if not isinstance(data, LDict) or not isinstance(data.get("terms"), list):
        hint = "terms: [{term: ..., means: ..., rfc: ...}]"
        raise SpecError(problems or [Problem(str(path), 1, "expected a `terms:` list", hint)])
    out: list[GlossaryEntry] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["terms"]):
        f, ln = line_of(data, ["terms", i])
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) and raw.get(k) for k in
                                                ("term", "means", "rfc")):
            problems.append(Problem(f, ln, f"glossary entry {i + 1}: needs `term:`, `means:` and `rfc:` (text)",
                                    "e.g. {term: MSL, rfc: \"3.4.2\", means: \"Maximum segment lifetime ...\"}"))
            continue
        also = raw.get("also") or []
        if not isinstance(also, list) or not all(isinstance(a, str) for a in also):
            problems.append(Problem(f, ln, f"glossary entry {raw['term']!r}: `also:` is a list of spellings", ""))
            continue
        entry = GlossaryEntry(raw["term"], raw["means"], str(raw["rfc"]), tuple(also))
        for name in entry.names():
            if name.lower() in seen:
                problems.append(Problem(f, ln, f"glossary: {name!r} is defined twice", "keep one entry per term"))
            seen.add(name.lower())
        out.append(entry)
    if problems:
        raise SpecError(problems)
    return tuple(out)


def lookup(term: str, entries: tuple[GlossaryEntry, ...] | None = None) -> list[GlossaryEntry]:
    """The entries named ``term`` (any spelling, any case), else those whose names contain it."""
    entries = entries if entries is not None else load_glossary()
    want = term.strip().lower()
    exact = [e for e in entries if want in (n.lower() for n in e.names())]
    return exact or [e for e in entries if any(want in n.lower() for n in e.names())]
