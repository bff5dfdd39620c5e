"""Safe YAML loading that remembers the line of every mapping, key and list item."""

from __future__ import annotations

from typing import Any

import yaml

from tcpfsm.base._errors import Problem


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


def _convert(node: yaml.Node, loader: yaml.SafeLoader, file: str, problems: list[Problem]) -> Any:
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
        raise yaml.constructor.ConstructorError(None, None, f"the tag {node.tag!r} is not allowed",
                                                node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out = LDict()
        out.file, out.line, out.lines = file, node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = _convert(key_node, loader, file, problems)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                problems.append(Problem(file, key_node.start_mark.line + 1, f"duplicate key {key!r}",
                                        "each key may appear once in a mapping"))
            out[key] = _convert(value_node, loader, file, problems)
            out.lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LList()
        seq.file, seq.line, seq.lines = file, node.start_mark.line + 1, []
        for item in node.value:
            seq.append(_convert(item, loader, file, problems))
            seq.lines.append(item.start_mark.line + 1)
        return seq
    return loader.construct_object(node, deep=True)


# libyaml's safe loader when PyYAML was built with it (about 10x faster); the same nodes and marks
_COMPOSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse YAML safely (no tags that build objects); return the data and the problems."""
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [Problem(file, line, f"not valid YAML: {reason}", "check indentation and quoting")]
    if node is None:
        return None, [Problem(file, 1, "the file is empty", "a spec is a YAML mapping")]
    loader = yaml.SafeLoader("")
    try:
        data = _convert(node, loader, file, problems)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return None, [Problem(file, line, f"not valid YAML: {exc}", "plain YAML only, no tags")]
    return data, problems


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
