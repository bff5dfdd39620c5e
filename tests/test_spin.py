"""``tcpfsm check --engine spin``: SPIN's pan checks the exported model; its verdicts, state
counts and trails come back as tcpfsm's own Report, TraceSteps, step table and charts.

Expected values: the golden verdicts and shortest counterexample lengths of
REFERENCE_MODEL.md section 11 (five independent implementations, SPIN among them), the
half-open definition of I3 (RFC 9293 §3.5.1: one end ESTABLISHED, the other CLOSED or LISTEN,
nothing in flight), and, for the RFC spec, tcpfsm's own engines as the twin: pan (breadth
first, -DBFS) must give the same verdicts and counterexample lengths as tcpfsm's BFS.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tcpfsm.checker import check
from tcpfsm.cli import main
from tcpfsm.export import check_spin

from .test_schemas import problems

HAVE_SPIN = shutil.which("spin") is not None and shutil.which("gcc") is not None
needs_spin = pytest.mark.skipif(not HAVE_SPIN, reason="spin and gcc are not installed (make deps installs them)")


@needs_spin
def test_the_half_open_counterexample() -> None:
    report = check_spin(lossy=True, properties=["I3"])
    [v] = report.verdicts
    assert report.engine == "spin" and v.verdict == "violated" and v.counterexample
    last = v.counterexample[-1]
    assert not last.ab and not last.ba  # quiescent: nothing in flight
    assert (last.a == "ESTABLISHED" and last.b in ("CLOSED", "LISTEN")) or (last.b == "ESTABLISHED"
                                                                             and last.a == "CLOSED")
    assert report.stats.complete  # the second pan run, I3 switched off, explores the whole space
    own = check(lossy=True, properties=["I3"])
    assert report.stats.states == own.stats.states
    assert report.stats.transitions == own.stats.transitions
    assert len(v.counterexample) == len(own.verdicts[0].counterexample or [])  # both breadth first: shortest


@needs_spin
def test_the_reference_model_golden_verdicts() -> None:
    """REFERENCE_MODEL.md section 11: K2 R1 lossless: 2,197 states; I1-I3 hold, I4 violated in 8
    events, D violated in 5 (the bounded-buffer deadlock)."""
    report = check_spin(model="reference")
    got = {v.name: (v.verdict, len(v.counterexample) if v.counterexample else None) for v in report.verdicts}
    assert got == {"I1": ("holds", None), "I2": ("holds", None), "I3": ("holds", None), "I4": ("violated", 8),
                   "D": ("violated", 5)}
    assert report.stats.states == 2_197
    d = next(v for v in report.verdicts if v.name == "D")
    assert d.counterexample is not None
    end = d.counterexample[-1]
    assert (end.a, end.b, len(end.ab), len(end.ba)) == ("CLOSED", "CLOSED", 2, 2)  # AB = BA = [SYN, SYN]


TWINS: list[dict[str, Any]] = [
    {},
    {"lossy": True},
    {"reordering": True},
    {"duplicating": True, "when_full": "drop"},
    {"b_opens": "active", "properties": ["I4", "D", "simultaneous_close"]},
    {"profile": "rfc793", "lossy": True},
]


@needs_spin
@pytest.mark.parametrize("options", TWINS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_pan_agrees_with_tcpfsm(options: dict[str, Any]) -> None:
    spin = check_spin(**options)
    own = check(**options)
    assert spin.stats.states == own.stats.states
    for a, b in zip(spin.verdicts, own.verdicts, strict=True):
        assert (a.name, a.verdict) == (b.name, b.verdict)
        assert len(a.counterexample or []) == len(b.counterexample or []), a.name


@needs_spin
@pytest.mark.slow
def test_a_data_mutant_found_by_pan(tmp_path: Path) -> None:
    """The FIN taken before the byte it follows (the mutant of tests/test_checker_data.py): pan
    finds data_delivered_in_order violated, in 6 moves as tcpfsm does."""
    from .test_checker_data import _fin_taken_early

    report = check_spin(spec_file=_fin_taken_early(tmp_path), data=1, reordering=True,
                        properties=["data_delivered_in_order"])
    [v] = report.verdicts
    assert v.verdict == "violated" and v.counterexample is not None and len(v.counterexample) == 6
    assert any(step.event.startswith("DATA_") for step in v.counterexample)


@needs_spin
def test_the_cli_prints_tcpfsm_s_own_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    chart = tmp_path / "cex.dot"
    assert main(["check", "--engine", "spin", "--lossy", "--property", "I3", "--trace-out", str(chart)]) == 1
    out = capsys.readouterr().out
    assert "engine spin" in out and "I3        VIOLATED  5" in out
    assert "A->B in flight" in out and "LOSE_AB" in out
    assert "compile" in out  # the compile time, reported apart
    assert "digraph sequence" in (tmp_path / "cex-I3.dot").read_text()


@needs_spin
def test_the_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--engine", "spin", "--model", "reference", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert not problems(data, "check.schema.json")
    assert data["engine"] == "spin" and data["states"] == 2_197 and data["spin"]["runs"] == 3
    assert data["spin"]["compile_seconds"] > 0


@needs_spin
def test_bitstate_finding_nothing_is_inconclusive() -> None:
    report = check_spin(model="reference", lossy=True, properties=["I1"], bitstate=True)
    [v] = report.verdicts
    assert v.verdict == "inconclusive" and "bitstate" in v.note
    assert report.exit_code == 3


@needs_spin
def test_a_memory_bound_is_inconclusive_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--engine", "spin", "--model", "reference", "--property", "I1", "--memory", "1"])
    out = capsys.readouterr().out
    assert code == 3 and "memory bound 1 MiB" in out


@needs_spin
def test_two_cores() -> None:
    report = check_spin(model="reference", lossy=True, properties=["I1", "I2"], cores=2)
    assert report.stats.states == 6_629  # REFERENCE_MODEL.md section 11, K2 R1 lossy
    assert "-DNCORE=2" in report.extra["spin"]["flags"]


def test_spin_missing_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "spin" else real(name, *a, **k))
    assert main(["check", "--engine", "spin", "--model", "reference"]) == 2
    assert "apt-get install -y spin gcc" in capsys.readouterr().err


def test_spin_options_need_the_spin_engine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--cores", "2"]) == 2
    assert main(["check", "--engine", "spin", "--max-states", "10"]) == 2
