"""Hostile spec files (issue 16): each reproduction gives a clear problem with file:line and exit 2.

Items 5-9, 14, 15, 17, 19 and 20 (the loader's part) of issue 16, one test (or a few) each,
built from the reproduction in the issue. The limits are those of ``tcpfsm.base._yaml``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tcpfsm import Endpoint, SpecError, load_spec
from tcpfsm.base import _yaml
from tcpfsm.cli import main
from tcpfsm.spec import _files

ROOT = Path(__file__).resolve().parent.parent
TCP = (ROOT / "specs" / "tcp.yaml").read_text(encoding="utf-8")

# issue 16 item 5: 342 bytes that expand to 9**9 strings
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return [str(p) for p in info.value.problems]


def validate(path: str | Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["spec", "validate", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def profile_file(tmp_path: Path, body: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"profile: mine\nbase: rfc9293\n{body}", encoding="utf-8")
    return path


# ----------------------------------------------------------------- item 5: alias bombs
def test_an_alias_bomb_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(BOMB) == 342
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    start = time.perf_counter()
    code, out = validate(path, capsys)
    assert time.perf_counter() - start < 5
    assert code == 2
    assert f"{path}:1: aliases expand to more than 100,000 nodes" in out


def test_an_alias_bomb_as_a_profile_base_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text("profile: p\nbase: ./bomb.yaml\n", encoding="utf-8")
    [msg] = problems(path)
    assert f"{tmp_path / 'bomb.yaml'}:1: aliases expand" in msg


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    text = TCP.replace("\nstates:\n", "\nx-shared: &rfc \"3.3.2\"\nstates:\n", 1)
    data, found = _yaml.load_yaml(text, "t.yaml")
    assert not found and data["x-shared"] == "3.3.2"


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path) -> None:
    data, found = _yaml.load_yaml("a:\n  " + "[" * 100 + "]" * 100 + "\n", "deep.yaml")
    assert data is None and "nested more than 64 levels" in str(found[0]) and found[0].line == 2


def test_a_huge_list_is_refused_with_its_line() -> None:
    data, found = _yaml.load_yaml("states:\n" + "  - x\n" * 5000, "long.yaml")
    assert data is None and found[0].line == 2 and "a list of 5,000 entries (at most 4,096)" in found[0].message


# ------------------------------------------------------- item 6: tracebacks -> file:line
@pytest.mark.parametrize(("body", "line", "words"), [
    ("remove: 5\n", 3, "remove: 5 is not of type 'array'"),
    ("checklist: [a]\n", 3, "is not of type 'object'"),
    ("patch:\n  - {id: S18, actions: 5}\n", 4, "is not of type 'array'"),
    ("remove: [!!int abc]\n", 3, "'abc' is not a valid !!int"),
    ("description: !!bool maybe\n", 3, "'maybe' is not a valid !!bool"),
    ("description: " + "9" * 5000 + "\n", 3, "an integer of 5,000 characters"),
    ("description: 0x" + "f" * 4000 + "\n", 3, "an integer too large"),
    ("description: &a [*a]\n", 3, "a recursive alias"),
    ("description: !!python/object/apply:os.system [echo]\n", 3, "the tag '!!python/object/apply:os.system'"),
    ("description: !!binary aGVsbG8=\n", 3, "the tag '!!binary' is not allowed"),
    ("description: !mine x\n", 3, "the tag '!mine' is not allowed"),
])
def test_bad_values_are_problems_at_their_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str,
                                               line: int, words: str) -> None:
    path = profile_file(tmp_path, body)
    found = problems(path)
    assert any(p.startswith(f"{path}:{line}: ") and words in p for p in found), found
    code, out = validate(path, capsys)
    assert code == 2 and "Traceback" not in out and f"{path}:{line}:" in out


def test_wrong_types_in_a_base_spec_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "tcp.yaml"
    path.write_text(TCP.replace("actions: [choose_iss, {send: {ctl: SYN, seq: SND.NXT}}, queue_data]",
                                "actions: 5", 1).replace("\ndiagram:\n", "\ndiagram:\n  figure: [{a: 1}]\n", 1),
                    encoding="utf-8")
    found = problems(path)
    assert all(p.startswith(f"{path}:") and ": " in p for p in found)
    assert any("is not of type 'array'" in p for p in found)


def test_a_timestamp_stays_text(tmp_path: Path) -> None:
    data, found = _yaml.load_yaml("rfc: 2024-01-01\n", "t.yaml")
    assert not found and data["rfc"] == "2024-01-01"


# ---------------------------------------------------------- item 7: the schema cache
@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _files._known_valid.cache_clear()
    yield tmp_path / "tcpfsm"
    _files._known_valid.cache_clear()


@pytest.mark.parametrize("content", [b"[1,2,3]", b"[" * 100_000 + b"]" * 100_000, b'{"a": 1}', b"\xff\xfe junk",
                                     b'"' + b"a" * 70_000 + b'"', b'["' + b"0" * 64 + b'", 5]'])
def test_a_corrupt_cache_breaks_nothing(cache_home: Path, content: bytes) -> None:
    cache_home.mkdir()
    (cache_home / "schema-valid.json").write_bytes(content)
    assert set(_files._read_cache(cache_home / "schema-valid.json")) <= {"0" * 64}
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home.parent)}
    run = subprocess.run([sys.executable, "-c", "import tcpfsm; print(tcpfsm.Endpoint().state)"],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 0 and run.stdout.strip() == "CLOSED", run.stderr
    # the import validated the default spec and put a good cache file in place of the bad one
    assert _files._read_cache(cache_home / "schema-valid.json")


def test_the_cache_leaves_no_temporary_files_and_loses_no_entry(cache_home: Path) -> None:
    digests = [f"{i:064x}" for i in range(80)]

    def add(part: list[str]) -> None:
        for d in part:
            _files._remember_valid(d)

    threads = [threading.Thread(target=add, args=(digests[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kept = json.loads((cache_home / "schema-valid.json").read_text(encoding="utf-8"))
    assert sorted(kept) == digests
    assert sorted(p.name for p in cache_home.iterdir()) == ["schema-valid.json", "schema-valid.json.lock"]


def test_a_read_only_cache_folder_only_costs_a_validation(cache_home: Path) -> None:
    cache_home.parent.joinpath("tcpfsm").write_text("a file where the folder should be", encoding="utf-8")
    _files._remember_valid("1" * 64)  # no exception
    assert load_spec(ROOT / "specs" / "profiles" / "rfc793.yaml").profile == "rfc793"


# ------------------------------------------------------------------ item 8: ctl: SYNN
def test_an_unknown_control_bit_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "tcp.yaml"
    path.write_text(TCP.replace("{send: {ctl: SYN, seq: SND.NXT}}", "{send: {ctl: SYNN, seq: SND.NXT}}", 1),
                    encoding="utf-8")
    found = problems(path)
    assert found and all("unknown TCP flag 'SYNN'" in p for p in found)
    assert found[0].startswith(f"{path}:") and found[0].split(":")[1].isdigit()


# -------------------------------------------------------- item 9: a spec's own state names
def test_a_spec_with_its_own_state_names_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "renamed.yaml"
    path.write_text(TCP.replace("ESTABLISHED", "OPEN-STATE").replace("CLOSED", "IDLE"), encoding="utf-8")
    spec = load_spec(path)
    a, b = Endpoint(1, spec=spec), Endpoint(2, spec=spec)
    b.listen()
    [syn] = a.connect()
    [syn_ack] = b.receive(syn)
    [ack] = a.receive(syn_ack)
    b.receive(ack)
    assert a.state_name == b.state_name == "OPEN-STATE"
    [fin] = a.close()
    assert a.state_name == "FIN-WAIT-1" and fin.seq == 2
    scenarios = tmp_path / "sc.yaml"
    scenarios.write_text("scenarios:\n  hs:\n    title: own states\n    steps:\n      - {at: B, call: listen}\n"
                         "      - {at: A, call: connect}\n      - {deliver: A}\n      - {deliver: B}\n"
                         "      - {deliver: A}\n      - {expect: {A: OPEN-STATE, B: OPEN-STATE}}\n", encoding="utf-8")
    code = main(["simulate", "--scenarios", str(scenarios), "hs", "--spec", str(path)])
    assert code == 0 and "final: A OPEN-STATE, B OPEN-STATE" in capsys.readouterr().out


# ------------------------------------------------------------- item 14: /dev/zero, huge files
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_as_a_spec_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = validate("/dev/zero", capsys)
    assert code == 2 and "/dev/zero: the file is larger than 1 MiB" in out


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_as_a_base_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("profile: p\nbase: /dev/zero\n", encoding="utf-8")
    [msg] = problems(path)
    assert f"{path}:2: base: no file '/dev/zero'" in msg


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(2 * 1024 * 1024 * 1024)  # sparse: 2 GiB on paper
    start = time.perf_counter()
    [msg] = problems(path)
    assert time.perf_counter() - start < 2
    assert "the file is larger than 1 MiB (2,147,483,648 bytes)" in msg


def test_a_huge_base_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text("#" * (2 * 1024 * 1024), encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text("profile: p\nbase: ./big.yaml\n", encoding="utf-8")
    assert "the file is larger than 1 MiB" in problems(path)[0]


def test_the_properties_and_scenarios_files_have_the_limit_too(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("#" * (2 * 1024 * 1024), encoding="utf-8")
    from tcpfsm.spec import load_scenarios

    with pytest.raises(SpecError, match="larger than 1 MiB"):
        load_scenarios(big)


# ------------------------------------------------------- item 15: 40,000 states are not minutes
def _many_states(n: int) -> str:
    i = TCP.index("\nstates:\n") + len("\nstates:\n")
    return TCP[:i] + "".join(f"  - {{name: X{k}, group: closed, rfc: '3.3.2'}}\n" for k in range(n)) + TCP[i:]


def test_forty_thousand_states_are_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(_many_states(40_000), encoding="utf-8")
    start = time.perf_counter()
    [msg] = problems(path)
    assert time.perf_counter() - start < 5
    assert "the file is larger than 1 MiB" in msg


@pytest.mark.parametrize("kind", ["distinct", "duplicate"])
def test_the_checks_are_linear_in_the_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    # 2,000 states: the quadratic checks took 93 s here; the schema (linear, jsonschema's own pace) is left out
    monkeypatch.setattr("tcpfsm.spec._profiles.schema_problems", lambda data, text=None: [])
    text = _many_states(2000)
    if kind == "duplicate":
        text = text.replace("{name: X", "{name: CLOSED, x: X")
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    found = problems(path)
    assert time.perf_counter() - start < 20
    assert len(found) >= 2000
    assert all(p.startswith(f"{path}:") and p.split(":")[1].isdigit() for p in found)


# ------------------------------------------------------------ item 17: profile names are names
@pytest.mark.parametrize("name", ["../mutants/skip_time_wait", "/etc/passwd", "rfc9293.yaml", "..", "", "a/b"])
def test_a_profile_name_is_never_a_path(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SpecError, match="unknown profile"):
        load_spec(profile=name)
    with pytest.raises(SpecError, match="unknown profile"):
        Endpoint(profile=name)
    code = main(["spec", "validate", "--profile", name]) if name else 2
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_profile_that_is_not_text_is_refused() -> None:
    with pytest.raises(SpecError, match="a profile is a name"):
        Endpoint(profile=["rfc9293"])  # type: ignore[arg-type]


def test_a_trace_cannot_name_a_path_as_its_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"config": {"profile": "../mutants/skip_time_wait"}}\n{"call": "connect"}\n', encoding="utf-8")
    code = main(["replay", str(trace)])
    out = capsys.readouterr()
    assert code == 2 and "unknown profile" in out.out + out.err and "Traceback" not in out.err


# ------------------------------------------------------------------ item 19: a pipe as a spec
def test_a_pipe_as_a_spec_file(capsys: pytest.CaptureFixture[str]) -> None:
    r, w = os.pipe()
    try:
        os.write(w, TCP.encode())  # 31 KB: within a pipe's buffer
        os.close(w)
        code, out = validate(f"/dev/fd/{r}", capsys)
    finally:
        os.close(r)
    assert code == 0 and f"ok: tcp (/dev/fd/{r})" in out


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="no bash")
def test_process_substitution_as_a_spec_file() -> None:
    tcpfsm = Path(sys.executable).parent / "tcpfsm"
    run = subprocess.run(["/bin/bash", "-c", f"'{tcpfsm}' spec validate <(cat '{ROOT}/specs/tcp.yaml')"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0 and "ok: tcp" in run.stdout, run.stderr


# ------------------------------------------------------------ item 20: the loader's minor items
def test_removing_an_id_twice_says_so(tmp_path: Path) -> None:
    path = profile_file(tmp_path, "remove: [S18, S18]\n")
    assert problems(path)[0] == f"{path}:3: remove: S18 is removed twice (first at line 3) (hint: name each id once)"


def test_adding_a_non_mapping_is_not_a_transition_none(tmp_path: Path) -> None:
    path = profile_file(tmp_path, "add: [5]\n")
    found = problems(path)
    assert not any("None" in p for p in found)
    assert found == [f"{path}:3: add/0: 5 is not of type 'object' (hint: see tcpfsm/schema/spec.schema.json)"]


def test_adding_an_id_twice_says_so(tmp_path: Path) -> None:
    row = "{id: N1, source: CLOSED, event: rcv_fin, target: same, rfc: '3.10.7.1', actions: [{drop: x}]}"
    path = profile_file(tmp_path, f"add:\n  - {row}\n  - {row}\n")
    assert any(p.startswith(f"{path}:5: add: N1 is added twice (first at line 4)") for p in problems(path))


def test_contradictory_implications_are_a_problem(tmp_path: Path) -> None:
    path = profile_file(tmp_path, "guards:\n  - {name: in_window, predicate: seq_in_window, rfc: '3.10.7.4', "
                                  "doc: x, implies: ['not in_window']}\n")
    found = problems(path)
    assert any(p.startswith(f"{path}:4: guard 'in_window': its `implies:` contradict each other") for p in found)


def test_duration_seconds_must_be_finite(tmp_path: Path) -> None:
    path = profile_file(tmp_path, "timers:\n  - {name: fin_wait_2, duration: {seconds: .nan}}\n")
    assert any(f"{path}:" in p and ("nan" in p or "number" in p) for p in problems(path))


def test_temporary_files_an_interrupted_writer_left_are_swept(cache_home: Path) -> None:
    cache_home.mkdir()
    for name in ("schema-valid.123.tmp", "schema-valid.json.abc.tmp"):
        stale = cache_home / name
        stale.write_text("half written", encoding="utf-8")
        os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = cache_home / "schema-valid.json.now.tmp"  # another process may be writing this one
    fresh.write_text("", encoding="utf-8")
    _files._remember_valid("2" * 64)
    assert sorted(p.name for p in cache_home.iterdir()) == ["schema-valid.json", "schema-valid.json.lock",
                                                            "schema-valid.json.now.tmp"]
