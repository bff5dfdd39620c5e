"""Coverage of the spec's rows, the progress display, the memory bound and a killed run.

Coverage is checked two ways: against a brute-force pass that asks the composed system for
every successor of every reachable state (the plain twin of the grouped lookup), and against
facts that follow from the model's definition (_moves.py, _local.py): the checker's users make
only the calls the RFC accepts, so no row with an ``error:`` action ("connection does not
exist", RFC 9293 §3.10.2) can fire; without ``--data`` no segment carries text, so no row
taken only on ``rcv_data`` fires; the opening calls (§3.10.1) always fire.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tcpfsm.checker import check
from tcpfsm.checker._coverage import coverage
from tcpfsm.checker._driver import _eta, progress_printer
from tcpfsm.cli import main

from .test_schemas import problems


def _brute_force(report: Any) -> set[str]:
    search = report.search
    fired: set[str] = set()
    for s in search.expander.visited:
        for _, _, detail in search.system.successors(int(s)):
            if detail is not None:
                fired.update(t[3] for t in detail[2].info.transitions)
    for who in ("A", "B"):
        fired.update(t[3] for t in search.system.lm.open(who, search.system.cfg.open[who]).info.transitions)
    return fired


@pytest.mark.parametrize("options", [{}, {"lossy": True}, {"model": "reference"}, {"reordering": True},
                                     {"duplicating": True, "when_full": "drop"}, {"b_opens": "active"},
                                     {"reopen": 1, "reopen_iss": ("wrap",), "reordering": True}],
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_coverage_is_what_every_successor_fired(options: dict[str, Any]) -> None:
    report = check(**options)
    cov = coverage(report.search)
    assert set(cov.fired) == _brute_force(report)
    assert set(cov.fired) | set(cov.never) == {t.id for t in report.spec.transitions}
    assert cov.rows == len(report.spec.transitions)


def test_rows_that_cannot_fire_and_rows_that_must() -> None:
    report = check(lossy=True)
    cov = coverage(report.search)
    spec = report.spec
    for t in spec.transitions:
        if t.error:  # a refused user call: the checker's users never make one
            assert t.id in cov.never, t.id
        if set(t.events) == {"rcv_data"}:  # text arrives only with --data
            assert t.id in cov.never, t.id
    opening = [t.id for t in spec.transitions if set(t.events) & {"open_active", "open_passive"}
               and "CLOSED" in t.sources and not t.error]
    assert opening and all(i in cov.fired for i in opening)


def test_the_summary_and_json_report_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--model", "reference", "--property", "I1"]) == 0
    out = capsys.readouterr().out
    assert "spec rows fired:" in out and "never fired" in out
    assert main(["check", "--model", "reference", "--property", "I1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert not problems(data, "check.schema.json")
    assert data["coverage"]["rows"] == data["coverage"]["fired"] + len(data["coverage"]["never_fired"])


def test_the_eta_needs_shrinking_levels() -> None:
    assert _eta([1, 4, 16], 0, 100.0) is None  # growing: no estimate
    # levels 100, 50: ratio 1/2, the rest a geometric series 50/2 + 50/4 + ... = 50 states; 10 states/s
    assert _eta([1, 100, 50], 0, 10.0) == pytest.approx(5.0)
    assert _eta([1, 100, 50], 20, 10.0) == pytest.approx(3.0)  # 20 of them found already


def test_the_progress_line_and_a_violation_announced(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[dict[str, Any]] = []
    show = progress_printer(sys.stderr)
    check(lossy=True, properties=["I3"], progress=lambda info: (seen.append(info), show(info)))
    found = [i for i in seen if "found" in i]
    assert found == [{"found": "I3", "kind": "invariant", "depth": 5}]  # the 5-step half-open connection
    assert "I3 VIOLATED at depth 5" in capsys.readouterr().err
    show({"states": 10, "frontier": 2, "depth": 3, "rate": 5.0, "elapsed": 2.0, "eta": 1.5})
    line = capsys.readouterr().err
    assert "2.0 s" in line and "10 states" in line and "frontier" in line and "ETA 2 s" in line


def test_a_memory_bound_is_inconclusive(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--model", "reference", "-k", "4", "-r", "3", "--lossy", "--property", "I1",
                 "--memory", "1"])
    out = capsys.readouterr().out
    assert code == 3
    assert "memory bound 1 MiB" in out and "INCOMPLETE" in out


@pytest.mark.slow
def test_sigint_prints_partial_statistics_and_exits_3() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tcpfsm", "check", "--lossy", "-k", "4", "-r", "2",
                             "--engine", "plain", "--property", "I1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(8)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert "INCOMPLETE (interrupted (Ctrl-C))" in out and " states, " in out
