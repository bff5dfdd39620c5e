"""The spec mutation tool works: a small sample runs, a known-bad mutant is killed, the report adds up.

Not the kill rate itself (``python -m tests.mutation`` judges that): only that the tool generates,
isolates, runs and counts. Marked ``slow``: it runs pytest in copies of the checkout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .generate import KINDS, generate
from .run import ROOT, main

SPEC = ROOT / "specs" / "tcp.yaml"
# SYN-SENT, an acceptable SYN,ACK: RFC 9293 §3.10.7.3 enters ESTABLISHED; staying in SYN-SENT is wrong
KNOWN_BAD = "S10.target:same"


def test_the_mutants_come_from_the_data_deterministically() -> None:
    first, second = generate(SPEC), generate(SPEC)
    assert [m.id for m in first] == [m.id for m in second]
    assert len({m.id for m in first}) == len(first)
    assert {m.kind for m in first} == set(KINDS)
    assert KNOWN_BAD in {m.id for m in first}
    text = SPEC.read_text()
    for m in first:  # one edit each, every later line where it was
        mutated = m.apply(text)
        assert mutated != text and mutated.count("\n") == text.count("\n"), m.id


@pytest.mark.slow
def test_a_sample_runs_and_the_report_adds_up(tmp_path: Path) -> None:
    before = SPEC.read_bytes()
    out = tmp_path / "report.json"
    code = main(["--sample", "11", "--seed", "3", "--also", KNOWN_BAD, "--jobs", "2", "--json", str(out),
                 "--tests", "tests/rfc", "tests/test_endpoint.py", "--min-kill-rate", "0", "--quiet"])
    assert code == 0
    assert SPEC.read_bytes() == before  # the real spec was never written
    report = json.loads(out.read_text())
    counts = report["counts"]
    assert report["run"] == len(report["mutants"]) == sum(counts.values()) >= 12
    assert counts["killed"] + counts["survived"] + counts["invalid"] + counts["timeout"] == report["run"]
    status = {m["id"]: m["status"] for m in report["mutants"]}
    assert status[KNOWN_BAD] == "killed"
    assert 0.0 <= report["kill_rate"] <= 1.0
    for m in report["mutants"]:
        if m["status"] == "survived":
            assert m["tests_ran"] == report["selection"]["baseline_passed"] and not m["tests_not_run"], m["id"]
