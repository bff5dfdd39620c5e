"""``tcpfsm export promela`` against SPIN itself: pan must store exactly tcpfsm's states.

The expected figures come from a real external tool, SPIN 6.5's pan, run on the exported text
(compiled as RESULTS.md compiles the peers' model: ``gcc -O2 -DSAFETY``, a depth-first search),
and for the reference model also from the golden numbers of REFERENCE_MODEL.md section 11, on
which five independent implementations agree. Counting convention (the export's docstring):
pan's "states, stored" = tcpfsm's states; pan's transitions = tcpfsm's + 1 (pan counts the
initial state, REFERENCE_MODEL.md section 7). The models cover every channel kind, dropping
when full, the users' data with the numeric properties, and both ways B opens.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tcpfsm.cli import main
from tcpfsm.export import promela

pytestmark = pytest.mark.skipif(shutil.which("spin") is None or shutil.which("gcc") is None,
                                reason="spin and gcc are not installed (make deps installs them)")


def pan(text: str, folder: Path, *, end_states: bool = False) -> dict[str, int]:
    """Build and run pan on a Promela text; pan's figures."""
    (folder / "m.pml").write_text(text)
    subprocess.run(["spin", "-a", "m.pml"], cwd=folder, check=True, capture_output=True)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-o", "pan", "pan.c"], cwd=folder, check=True, capture_output=True)
    out = subprocess.run(["./pan", "-m10000000", "-w22"] + ([] if end_states else ["-E"]), cwd=folder,
                         capture_output=True, text=True, env={"TCPFSM_SKIP": "", "PATH": "/usr/bin:/bin"}).stdout
    got = {k: int(re.search(rf"(\d+) {pat}", out).group(1))  # type: ignore[union-attr]
           for k, pat in (("stored", r"states, stored"), ("transitions", r"transitions \(= stored\+matched\)"))}
    got["errors"] = int(re.search(r"errors: (\d+)", out).group(1))  # type: ignore[union-attr]
    return got


# name -> (options, golden states, golden transitions from REFERENCE_MODEL.md section 11, or None)
MODELS: dict[str, tuple[dict[str, Any], int | None, int | None]] = {
    "rfc9293 reliable k2": ({"properties": ["I1", "I2"]}, None, None),
    "rfc9293 lossy k2": ({"lossy": True, "properties": ["I1", "I2"]}, None, None),
    "rfc9293 lossy k3 r2": ({"lossy": True, "capacity": 3, "retransmissions": 2, "properties": ["I1", "I2"]},
                            None, None),
    "rfc9293 reorder": ({"reordering": True, "properties": ["I1", "I2"]}, None, None),
    "rfc9293 dup": ({"duplicating": True, "properties": ["I1", "I2"]}, None, None),
    "rfc9293 lossy reorder": ({"lossy": True, "reordering": True, "properties": ["I1", "I2"]}, None, None),
    "rfc9293 lossy drop when full": ({"lossy": True, "when_full": "drop", "properties": ["I1", "I2"]}, None, None),
    "rfc793 lossy": ({"profile": "rfc793", "lossy": True, "properties": ["I1", "I2"]}, None, None),
    "reference P1": ({"model": "reference", "properties": ["I1", "I2"]}, 2_197, 5_640),
    "reference P2": ({"model": "reference", "lossy": True, "properties": ["I1", "I2"]}, 6_629, 28_835),
    "reference P3": ({"model": "reference", "lossy": True, "capacity": 3, "retransmissions": 2,
                      "properties": ["I1", "I2"]}, 54_857, 269_751),
}


SLOW = {"rfc9293 lossy k3 r2", "rfc9293 lossy reorder", "rfc9293 lossy drop when full", "rfc793 lossy",
        "reference P1", "reference P2"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in MODELS])
def test_pan_stores_the_same_states(name: str, tmp_path: Path) -> None:
    options, golden_states, golden_transitions = MODELS[name]
    m = promela(**options)
    got = pan(m.text, tmp_path)
    assert got["errors"] == 0  # I1 and I2 hold on all of these (tcpfsm: holds; pan: no assertion fails)
    assert got["stored"] == m.report.stats.states
    assert got["transitions"] == m.report.stats.transitions + 1
    if golden_states is not None:
        assert got["stored"] == golden_states
        assert got["transitions"] == golden_transitions + 1


@pytest.mark.slow
def test_pan_stores_the_reference_p5_states(tmp_path: Path) -> None:
    """P5 (K5 R3 lossy): 1,278,828 states, 6,565,862 transitions (REFERENCE_MODEL.md section 11)."""
    m = promela(model="reference", lossy=True, capacity=5, retransmissions=3, properties=["I1", "I2"])
    got = pan(m.text, tmp_path)
    assert (got["stored"], got["transitions"]) == (1_278_828, 6_565_862 + 1)
    assert m.report.stats.states == 1_278_828


def test_the_deadlock_check_and_a_simultaneous_open(tmp_path: Path) -> None:
    """Both ends open actively, deadlock D exported: pan (without -E) finds an invalid end state,
    as tcpfsm finds D violated; with D switched off (and pan's end-state check, -E) the states agree."""
    m = promela(b_opens="active", properties=["D"])
    assert {v.name: v.verdict for v in m.report.verdicts} == {"D": "violated"}
    got = pan(m.text, tmp_path, end_states=True)
    assert got["errors"] == 1
    out = subprocess.run(["./pan", "-m100000", "-w20", "-E"], cwd=tmp_path, capture_output=True, text=True,
                         env={"TCPFSM_SKIP": "D", "PATH": "/usr/bin:/bin"}).stdout
    assert f"{m.report.stats.states} states, stored" in out
    assert "errors: 0" in out


def test_data_and_the_numeric_properties(tmp_path: Path) -> None:
    """The users send a byte each over a reordering network; the sequence-number properties
    (RFC 9293 §3.4, §3.10.7.4) hold in tcpfsm's search and no assertion fails in pan."""
    m = promela(data=1, reordering=True, properties=["data_delivered_in_order", "no_phantom_ack"])
    assert {v.verdict for v in m.report.verdicts} == {"holds"}
    got = pan(m.text, tmp_path)
    assert got["errors"] == 0
    assert got["stored"] == m.report.stats.states


def test_an_invariant_that_fails_fails_in_pan(tmp_path: Path) -> None:
    """I3 over a lossy network: the half-open connection (REFERENCE_MODEL.md section 11: violated
    with loss); pan's assertion names the property."""
    m = promela(lossy=True, properties=["I3"])
    (tmp_path / "m.pml").write_text(m.text)
    subprocess.run(["spin", "-a", "m.pml"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-o", "pan", "pan.c"], cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(["./pan", "-E"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "assertion violated tcpfsm property I3" in out


def test_the_cli_pipes_into_spin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`tcpfsm export promela --lossy -k 2 | spin -a` builds (spin reads a file name: /dev/stdin)."""
    assert main(["export", "promela", "--lossy", "-k", "2"]) == 0
    text = capsys.readouterr().out
    proc = subprocess.run(["spin", "-a", "/dev/stdin"], cwd=tmp_path, input=text, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "pan.c").is_file()


def test_the_cli_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "tcp.pml"
    assert main(["export", "promela", "--model", "reference", "-o", str(out)]) == 0
    assert "active proctype tcp()" in out.read_text()


def test_incarnations_are_refused_with_a_message() -> None:
    from tcpfsm.base import SpecError

    with pytest.raises(SpecError, match="incarnations"):
        promela(reopen=1)
