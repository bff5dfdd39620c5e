"""`tcpfsm monitor --jobs N`, the memo trie and streaming give the answers of one plain run,
on captures where the trie hits (bulk_mixed) and where it misses (a varied generated one)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tcpfsm.cli import main
from tcpfsm.conformance import ConnectionSummary, monitor, shard_of

from .conformance_helpers import TRACES

ROOT = Path(__file__).resolve().parent.parent


def _gen() -> object:
    spec = importlib.util.spec_from_file_location("gen_captures", ROOT / "benchmarks" / "gen_captures.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("varied") / "varied.pcap"
    assert _gen().write(path, 6000, 3) == 6000  # type: ignore[attr-defined]
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    main(["monitor", *args, "--json"])
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("which", ["bulk", "varied"])
def test_jobs_give_the_same_output(which: str, varied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(TRACES / "bulk_mixed.pcap" if which == "bulk" else varied)
    one = _json(capsys, path, "--profile", "linux")
    two = _json(capsys, path, "--profile", "linux", "--jobs", "2")
    three = _json(capsys, path, "--profile", "linux", "--jobs", "3")
    assert one == two == three
    assert len(one["connections"]) > 100


def test_shards_are_symmetric_and_spread() -> None:
    a, b = ("10.0.0.1", 40000), ("10.0.0.2", 80)
    assert all(shard_of(*a, *b, n) == shard_of(*b, *a, n) for n in (2, 3, 8))
    spread = {shard_of("10.0.0.1", p, "10.0.0.2", 80, 4) for p in range(40000, 40100)}
    assert spread == {0, 1, 2, 3}


def test_memo_plain_and_streaming_agree(varied: Path) -> None:
    """The trie on, off, the plain engine, and streaming: the same connections, field for field;
    the varied capture has packets the trie misses and (on a second pass of equal shapes) none
    it could hit, bulk_mixed nearly only hits."""
    for path in (varied, TRACES / "bulk_mixed.pcap"):
        memo = monitor(path, profile="linux")
        off = monitor(path, profile="linux", trie=False)
        plain = monitor(path, profile="linux", fast=False)
        got: list[ConnectionSummary] = []
        streamed = monitor(path, profile="linux", on_finished=got.append)
        want = [c.data for c in plain.connections]
        assert [c.data for c in memo.connections] == want
        assert [c.data for c in off.connections] == want
        assert sorted((c.data for c in got), key=lambda d: d["id"]) == want
        assert streamed.connections == [] and streamed.streamed == len(want)
        assert off.memo["hits"] == 0
        if path != varied:
            assert memo.memo["hits"] > 0.9 * 17600


def test_pcapng_and_pcap_agree(varied: Path, tmp_path: Path) -> None:
    """The same packets as pcapng (tcpdump/editcap's conversion when present) read packet by packet."""
    editcap = subprocess.run(["which", "editcap"], capture_output=True, text=True).stdout.strip()
    if not editcap:
        pytest.skip("editcap (wireshark) is not installed")
    ng = tmp_path / "varied.pcapng"
    subprocess.run([editcap, "-F", "pcapng", str(varied), str(ng)], check=True)
    a = monitor(varied, profile="linux")
    b = monitor(ng, profile="linux")
    assert [c.data for c in a.connections] == [c.data for c in b.connections]


@pytest.mark.slow
def test_peak_rss_follows_open_connections(tmp_path: Path) -> None:
    """Peak RSS of `tcpfsm monitor --jsonl` on a 2M-packet varied capture within 1.5x of that
    on a 200k one: finished connections are streamed, not kept."""
    gen = _gen()
    peaks = []
    for n in (200_000, 2_000_000):
        path = tmp_path / f"v{n}.pcap"
        gen.write(path, n, 7)  # type: ignore[attr-defined]
        proc = subprocess.Popen([sys.executable, "-m", "tcpfsm", "monitor", str(path), "--profile", "linux",
                                 "--jsonl"], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak RSS
        proc.returncode = os.waitstatus_to_exitcode(status)
        assert proc.returncode in (0, 1)
        peaks.append(usage.ru_maxrss)
        path.unlink()
    assert peaks[1] <= 1.5 * peaks[0], peaks


def test_a_full_trie_starts_afresh_with_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trie is bounded (MAX_NODES): when it is full it starts again; connections still on
    the old one finish there. Forced here with a tiny bound on bulk_mixed, where it hits."""
    from tcpfsm.conformance import _memo

    monkeypatch.setattr(_memo, "MAX_NODES", 50)
    path = TRACES / "bulk_mixed.pcap"
    small = monitor(path, profile="linux")
    plain = monitor(path, profile="linux", fast=False)
    assert [c.data for c in small.connections] == [c.data for c in plain.connections]
    assert small.memo["hits"] > 0


def test_the_trie_given_up_on_traffic_that_does_not_repeat(varied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below 5 % hits the trie is dropped for new connections (forced here after 4,096 packets,
    the first check): the answers stay those of the plain engine."""
    from tcpfsm.conformance import _memo

    monkeypatch.setattr(_memo, "GIVE_UP_AFTER", 4096)
    memo = monitor(varied, profile="linux")
    plain = monitor(varied, profile="linux", fast=False)
    assert [c.data for c in memo.connections] == [c.data for c in plain.connections]
    assert memo.memo["hits"] < 0.05 * 6000
