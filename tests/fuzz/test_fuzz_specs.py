"""The spec loader under fire: structure-aware mutations of the shipped specs and profiles.

Each example takes a shipped file (``specs/tcp.yaml`` or a profile), changes a few entries
(a value of another type, a name that does not exist, an entry gone or repeated) and, as text,
adds YAML a hostile file would hold (tags, aliases, huge integers). Properties:

- ``load_spec`` returns a Spec or raises ``SpecError`` - nothing else, ever;
- every problem names the file, and a line for anything inside it;
- ``tcpfsm spec validate`` exits 0 or 2 (never 1 or 4), and 2 comes with ``file:line``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpfsm.base import SpecError
from tcpfsm.cli import main
from tcpfsm.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [ROOT / "specs" / "tcp.yaml", *sorted((ROOT / "specs" / "profiles").glob("*.yaml"))]
DATA = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in SHIPPED}
FUZZ = settings(deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
# problems about the file as a whole have no line: it could not be read at all
FILE_LEVEL = ("no such file", "cannot read", "is larger than", "is a folder")


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*path, i))
    return out


PATHS = {name: _paths(data) for name, data in DATA.items()}
# names the specs use (a value of the right type in the wrong place), and ones they do not
NAMES = ["CLOSED", "ESTABLISHED", "S18", "S26", "rcv_ack", "close", "in_window", "retransmit", "synchronized",
         "same", "not in_window", "SYN", "SND.NXT", "x", "", "../mutants/skip_time_wait", "/dev/zero"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.integers(), st.floats(allow_nan=True),
    st.sampled_from(NAMES), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["name", "id", "x", "source", "event"]),
                                                  inner, max_size=3)), max_leaves=6)


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        data = data[p]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """(file name, mutated YAML text) from a shipped spec or profile."""
    name = draw(st.sampled_from(sorted(DATA)))
    data = copy.deepcopy(DATA[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get(data, path[:-1])
        how = draw(st.sampled_from(["value", "value", "drop", "repeat"]))
        try:
            if how == "value":
                parent[path[-1]] = draw(values)
            elif how == "drop":
                del parent[path[-1]]
            elif isinstance(parent, list):
                parent.append(copy.deepcopy(parent[path[-1]]))
        except (KeyError, IndexError, TypeError):
            pass
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    lines = text.splitlines()
    # text-level hostility: a tag, an alias or an anchor where a plain value was
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        m = re.match(r"^(\s*(?:- )?[A-Za-z_]+: )(\S.*)$", lines[i]) if lines else None
        if m is None:
            continue
        repl = draw(st.sampled_from([
            "!!bool maybe", "!!int abc", "!!float x", "!!binary aGVsbG8=", "!!python/name:os.system",
            "!local x", "!!timestamp 2024-01-01", "!!set {a: null}", "9" * 4400, "0x" + "f" * 4000,
            "&a [*a]", "2024-01-01", ".nan", "-.inf", "{<<: {a: 1}}", "*undefined"]))
        lines[i] = m.group(1) + repl
    return name, "\n".join(lines) + "\n"


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / ("tcp.yaml" if name == "tcp.yaml" else f"profiles/{name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _check_problems(exc: SpecError, path: Path) -> None:
    assert exc.problems, "a SpecError lists its problems"
    for p in exc.problems:
        assert p.file, p
        if p.file == str(path) and not any(s in p.message for s in FILE_LEVEL):
            assert p.line >= 1, f"a problem in the file without its line: {p}"


@pytest.mark.slow
@settings(FUZZ, max_examples=80)
@given(case=mutated())
def test_mutated_specs_load_or_raise_spec_error_with_lines(case: tuple[str, str], tmp_path_factory:
                                                           pytest.TempPathFactory) -> None:
    name, text = case
    path = _write(tmp_path_factory.mktemp("spec"), name, text)
    try:
        load_spec(path)
    except SpecError as exc:
        _check_problems(exc, path)


@pytest.mark.slow
@settings(FUZZ, max_examples=20)
@given(case=mutated())
def test_spec_validate_exits_0_or_2_with_file_and_line(case: tuple[str, str], tmp_path_factory:
                                                       pytest.TempPathFactory,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    name, text = case
    path = _write(tmp_path_factory.mktemp("cli"), name, text)
    code = main(["spec", "validate", str(path)])
    out = capsys.readouterr()
    assert code in (0, 2), out
    assert "Traceback" not in out.err + out.out
    if code == 2:
        assert re.search(re.escape(str(path)) + r":\d+", out.out + out.err), out


@settings(FUZZ, max_examples=30)
@given(data=values)
def test_any_yaml_document_as_a_spec(data: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Whatever YAML a file holds - a list, a number, a mapping of junk - it is a SpecError."""
    path = tmp_path_factory.mktemp("any") / "x.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        load_spec(path)
    except SpecError as exc:
        _check_problems(exc, path)
