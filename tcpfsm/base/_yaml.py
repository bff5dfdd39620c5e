"""Safe YAML loading that remembers the line of every mapping, key and list item.

Hostile input is refused with a :class:`Problem` (file:line), never a traceback and never
unbounded work: a file is read up to :data:`MAX_INPUT_BYTES`; the tree is at most
:data:`MAX_DEPTH` levels deep; aliases may copy at most :data:`MAX_ALIAS_NODES` nodes in all
(a 342-byte "billion laughs" file would otherwise expand to 9**9 nodes); a list or mapping
holds at most :data:`MAX_ENTRIES` entries (so the schema and semantic checks stay quick: a
spec of 40,000 states is refused at once instead of taking minutes); an alias inside its
own anchor (``a: &a [*a]``) is refused; scalars are plain text, numbers, booleans and null
only (``!!binary``, ``!!python/...`` and local tags are refused; a timestamp stays text), and
a scalar its tag cannot read (``!!int abc``, ``!!bool maybe``, an integer of more than
:data:`MAX_INT_DIGITS` digits) is a problem at its line. Nothing is ever evaluated.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from tcpfsm.base._errors import Problem

MAX_INPUT_BYTES = 1024 * 1024  # a spec, profile, properties or scenarios file (tcp.yaml is 31 KB)
MAX_DEPTH = 64  # nesting of mappings and lists (a spec needs 6)
MAX_ALIAS_NODES = 100_000  # nodes copied by expanding aliases, in all (all of tcp.yaml is 2,455 nodes)
MAX_ENTRIES = 4096  # items of one list or mapping (tcp.yaml's longest, its transitions, has 74)
MAX_INT_DIGITS = 4300  # Python's own limit for integer text (sys.get_int_max_str_digits)
_MAX_INT_BITS = int(MAX_INT_DIGITS * 3.3219)  # log2(10): the same limit for 0x/0o/0b integers


class LDict(dict[str, Any]):
    """A mapping from YAML that knows its file, its line and the line of each key."""

    file: str = "<spec>"
    line: int = 0
    lines: dict[str, int]


class LList(list[Any]):
    """A sequence from YAML that knows its file, its line and the line of each item."""

    file: str = "<spec>"
    line: int = 0
    lines: list[int]


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_SCALAR_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null")}
_AS_TEXT = {"tag:yaml.org,2002:timestamp"}  # `rfc: 2024-01-01` is the text written, not a date


def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


class _Refused(Exception):
    """Stops the conversion: the input is over a limit (a problem at ``line``)."""

    def __init__(self, line: int, message: str, hint: str) -> None:
        super().__init__(message)
        self.line, self.message, self.hint = line, message, hint


class _Converter:
    """Composed YAML nodes into LDict/LList/scalars, within the limits of the module."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file, self.problems = file, problems
        self.loader = yaml.SafeLoader("")
        self.seen: set[int] = set()  # nodes converted once: meeting one again is an alias
        self.active: set[int] = set()  # nodes being converted (an alias to one of them is a cycle)
        self.copied = 0

    def convert(self, node: yaml.Node, depth: int) -> Any:
        line = node.start_mark.line + 1
        key = id(node)
        if key in self.seen:
            self.copied += 1
            if self.copied > MAX_ALIAS_NODES:
                raise _Refused(line, f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes",
                               "write the entries out, or use fewer aliases (is this an alias bomb?)")
        if depth > MAX_DEPTH:
            raise _Refused(line, f"nested more than {MAX_DEPTH} levels deep",
                           "a spec needs a few levels of mappings and lists")
        self.seen.add(key)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, line)
        if node.tag not in _PLAIN_TAGS:
            self.problems.append(Problem(self.file, line,
                                         f"not valid YAML: the tag {_short(node.tag)!r} is not allowed",
                                         "plain YAML mappings and lists only, no tags"))
            return None
        if key in self.active:
            raise _Refused(line, "an alias refers to the entry that contains it (a recursive alias)",
                           "an alias (*name) may only name an anchor (&name) defined before it, outside it")
        if len(node.value) > MAX_ENTRIES:
            raise _Refused(line, f"a {'mapping' if isinstance(node, yaml.MappingNode) else 'list'} of "
                           f"{len(node.value):,} entries (at most {MAX_ENTRIES:,})",
                           "a spec has a few dozen states and transitions; split the file or generate less")
        self.active.add(key)
        try:
            if isinstance(node, yaml.MappingNode):
                out = LDict()
                out.file, out.line, out.lines = self.file, line, {}
                for key_node, value_node in node.value:
                    k = self.convert(key_node, depth + 1)
                    name = k if isinstance(k, str) else str(k)
                    key_line = key_node.start_mark.line + 1
                    if name in out:
                        self.problems.append(Problem(self.file, key_line, f"duplicate key {name!r}",
                                                     "each key may appear once in a mapping"))
                    out[name] = self.convert(value_node, depth + 1)
                    out.lines[name] = key_line
                return out
            seq = LList()
            seq.file, seq.line, seq.lines = self.file, line, []
            for item in node.value:
                seq.append(self.convert(item, depth + 1))
                seq.lines.append(item.start_mark.line + 1)
            return seq
        finally:
            self.active.discard(key)

    def scalar(self, node: yaml.ScalarNode, line: int) -> Any:
        tag = node.tag
        if tag in _AS_TEXT:
            return str(node.value)
        if tag not in _SCALAR_TAGS:
            self.problems.append(Problem(self.file, line, f"not valid YAML: the tag {_short(tag)!r} is not allowed",
                                         "plain text, numbers, true/false and null only"))
            return str(node.value)
        if tag.endswith(":int") and len(node.value) > MAX_INT_DIGITS:
            self.problems.append(Problem(self.file, line, f"an integer of {len(node.value):,} characters",
                                         f"integers have at most {MAX_INT_DIGITS:,} digits"))
            return 0
        try:
            value = self.loader.construct_object(node)
        except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError):
            text = node.value if len(node.value) <= 40 else node.value[:40] + "..."
            self.problems.append(Problem(self.file, line, f"not valid YAML: {text!r} is not a valid {_short(tag)}",
                                         f"drop the {_short(tag)} tag, or write a value of that type"))
            return str(node.value)
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _MAX_INT_BITS:
            self.problems.append(Problem(self.file, line, "an integer too large to print",
                                         f"integers have at most {MAX_INT_DIGITS:,} digits"))
            return 0
        return value


# libyaml's safe loader when PyYAML was built with it (about 10x faster); the same nodes and marks
_COMPOSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse YAML safely (no tags that build objects; the limits of the module); return the data
    and the problems, each with ``file`` and its line."""
    problems: list[Problem] = []
    if len(text) > MAX_INPUT_BYTES:
        return None, [too_large(file, len(text))]
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [Problem(file, line, f"not valid YAML: {reason}", "check indentation and quoting")]
    except RecursionError:  # the pure-Python composer (PyYAML without libyaml) on deep nesting
        return None, [Problem(file, 0, f"nested more than {MAX_DEPTH} levels deep",
                              "a spec needs a few levels of mappings and lists")]
    if node is None:
        return None, [Problem(file, 1, "the file is empty", "a spec is a YAML mapping")]
    try:
        data = _Converter(file, problems).convert(node, 0)
    except _Refused as exc:
        return None, [*problems, Problem(file, exc.line, exc.message, exc.hint)]
    return data, problems


def too_large(file: str, size: int, limit: int = MAX_INPUT_BYTES) -> Problem:
    return Problem(file, 0, f"the file is larger than {limit // (1024 * 1024)} MiB"
                   + (f" ({size:,} bytes)" if size > 0 else ""),
                   "a spec, profile, properties or scenarios file is small text")


def read_input(path: Path, limit: int = MAX_INPUT_BYTES) -> tuple[str | None, Problem | None]:
    """A UTF-8 text file, a pipe (``<(cat x.yaml)``) or a device, read up to ``limit`` bytes:
    (text, None), or (None, the problem) - never an unbounded read (``/dev/zero``)."""
    file = str(path)
    try:
        if path.is_dir():
            return None, Problem(file, 0, "is a folder", "give the path of a file")
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size if stat.S_ISREG(os.fstat(f.fileno()).st_mode) else -1
            if size > limit:
                return None, too_large(file, size, limit)
            raw = f.read(limit + 1)
    except FileNotFoundError:
        return None, Problem(file, 0, "no such file", "give the path of a spec or a profile")
    except (OSError, ValueError) as exc:
        return None, Problem(file, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}",
                             "give the path of a readable file")
    if len(raw) > limit:
        return None, too_large(file, -1, limit)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return None, Problem(file, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                             "save the file as UTF-8")


def line_of(data: Any, path: list[Any] | tuple[Any, ...]) -> tuple[str, int]:
    """The file and line of the value at ``path`` (as deep as the path resolves)."""
    file = getattr(data, "file", "<spec>")
    line = getattr(data, "line", 0)
    node = data
    for part in path:
        if isinstance(node, LDict) and isinstance(part, str) and part in node:
            line = node.lines.get(part, line)
            node = node[part]
        elif isinstance(node, LList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lines[part]
            node = node[part]
        else:
            break
        file = getattr(node, "file", file)
        line = getattr(node, "line", line) or line
    return file, line
