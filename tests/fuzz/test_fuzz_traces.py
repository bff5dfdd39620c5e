"""Event traces under fire: structure-aware JSON mutations of the shipped trace, and raw bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpfsm.base._resources import schema_path
from tcpfsm.conformance import replay

from ..hostile_helpers import TRACES

RECORDS = [json.loads(line) for line in (TRACES / "client.jsonl").read_text().splitlines()]
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
REPORT = jsonschema.Draft202012Validator(json.loads(schema_path("replay.schema.json").read_text()))

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["SYN", "ACK", "FIN,ACK", "SYNN", "none", "send", "close",
                                                           "TIME-WAIT", "time_wait", "rfc793", "../x"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=8)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    return out


def _mutate(obj: Any, data: st.DataObject) -> Any:
    path = data.draw(st.sampled_from(_paths(obj)))
    if not path:
        return data.draw(values)
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    op = data.draw(st.sampled_from(["value", "delete", "add", "rename", "nest"]))
    if op == "value":
        parent[path[-1]] = data.draw(values)
    elif op == "delete":
        del parent[path[-1]]
    elif op == "add":
        parent[data.draw(st.sampled_from(["data", "len", "note", "flags", "config", "now", "x"]))] = data.draw(values)
    elif op == "rename":
        parent[data.draw(st.text(max_size=8))] = parent.pop(path[-1])
    else:
        parent[path[-1]] = f"__DEEP_{data.draw(st.sampled_from([3, 50, 5000]))}__"  # nested in the text
    return obj


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_json_mutations(tmp_path: Path, data: st.DataObject) -> None:
    records = json.loads(json.dumps(RECORDS))
    lines: list[bytes] = []
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(records) - 1))
        records[i] = _mutate(records[i], data)
    for rec in records:
        text = json.dumps(rec)
        for depth in (3, 50, 5000):
            text = text.replace(f'"__DEEP_{depth}__"', "[" * depth + "]" * depth)
        lines.append(text.encode())
    if data.draw(st.booleans()):  # and a few raw lines
        raw = data.draw(st.sampled_from([b"\xff\xfe", b"\0" * 10, "\u2028".encode(), b"{", b"9" * 5000, b"NaN",
                                         b'{"now": 1e999}', b"", b"# a comment", b"[]"]))
        lines.insert(data.draw(st.integers(0, len(lines))), raw)
    trace = tmp_path / "m.jsonl"
    trace.write_bytes(b"\n".join(lines) + b"\n")
    report = replay(trace)
    assert report.exit_code in (0, 1, 2)
    d = report.to_dict()
    assert not list(REPORT.iter_errors(d)), list(REPORT.iter_errors(d))[:3]
    numbers = [s.line for s in report.steps]
    assert numbers == sorted(numbers)
    if report.problems:
        assert report.exit_code == 2 and len(report.problems) >= 1
        p = report.problems[0]
        assert p.message
        assert p.line == 0 or all(n < p.line for n in numbers)  # the lines before it, none after
