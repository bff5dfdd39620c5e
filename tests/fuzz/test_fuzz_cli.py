"""The CLI's numeric options under fire: every value is either taken or a usage error (exit 2)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpfsm.cli import main

from ..hostile_helpers import TRACES

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# option: (lowest, highest) of the documented range
RANGES = {"-k": (1, 1024), "-r": (0, 100), "--max-states": (1, math.inf), "--max-depth": (0, math.inf)}

numbers = st.one_of(st.integers(-(2**70), 2**70), st.integers(-3, 3000))
texts = st.one_of(st.sampled_from(["nan", "inf", "-inf", "1e400", "-0", "0x10", "", " ", "1.5", "١٢"]),
                  st.text(max_size=5))


def _in_range(option: str, text: str) -> bool:
    """Whether the documented range takes the value, read as click reads it (Python's int())."""
    try:
        value = int(text)
    except ValueError:
        return False
    low, high = RANGES[option]
    return low <= value <= high


@settings(FUZZ, max_examples=60)
@given(option=st.sampled_from(sorted(RANGES)), value=st.one_of(numbers.map(str), texts))
def test_checker_integers(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    bounds = [] if option == "--max-states" else ["--max-states", "30"]
    code = main(["check", option, value, *bounds, "--timeout", "20", "-q", "--json"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    assert code in ((0, 1, 3) if _in_range(option, value) else (2,)), (option, value, err)


@settings(FUZZ, max_examples=40)
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), texts,
                       numbers.map(str)))
def test_timeout(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--timeout", value, "--max-states", "30", "-q", "--json"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    try:
        ok = math.isfinite(float(value)) and float(value) > 0
    except ValueError:
        ok = False
    assert code in ((0, 1, 3) if ok else (2,)), (value, err)


@settings(FUZZ, max_examples=30)
@given(value=st.one_of(numbers.map(str), texts))
def test_connection_number(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["monitor", str(TRACES / "normal_close_client_v4.pcap"), "--connection", value, "--json"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    try:
        wanted = 0 if int(value) == 1 else 2
    except ValueError:
        wanted = 2
    assert code == wanted, (value, err)
