"""Fresh captures of the local Linux stack: real sockets on loopback, tcpdump, then the monitor.

Skipped only where capturing is impossible (not root, no tcpdump), with the reason; in CI
(which runs as root and can capture on `lo`) a missing capability fails instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tcpfsm.conformance import monitor

from .conformance_helpers import states_by_endpoint

HOST = "127.0.0.1"
# servers on BASE+n, clients bound to BASE+50+n; a fresh block per run, since the last run's
# TIME-WAIT sockets would refuse the same 4-tuples for a minute
BASE = 40000 + 100 * (os.getpid() % 200)
CLIENT_FIRST = (["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"],
                ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"])


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "capturing on lo needs root"
    if shutil.which("tcpdump") is None:
        return "tcpdump is not installed (make test installs it)"
    return None


def _pair(n: int) -> tuple[socket.socket, socket.socket, socket.socket]:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, BASE + n))
    srv.listen(1)
    cli = socket.socket()
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    cli.bind((HOST, BASE + 50 + n))
    cli.connect((HOST, BASE + n))
    conn, _ = srv.accept()
    return srv, cli, conn


def _scenarios() -> dict[str, object]:
    out: dict[str, object] = {}
    # 1. normal close, client first
    srv, cli, conn = _pair(1)
    cli.sendall(b"GET / HTTP/1.0\r\n\r\n")
    conn.recv(100)
    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
    cli.recv(100)
    cli.close()
    assert conn.recv(100) == b""
    conn.close()
    srv.close()
    # 2. abort: SO_LINGER 0 then close sends RST
    srv, cli, conn = _pair(2)
    cli.sendall(b"ping")
    conn.recv(100)
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    cli.close()
    time.sleep(0.05)
    with contextlib.suppress(ConnectionResetError):
        conn.recv(100)
    conn.close()
    srv.close()
    # 3. refused: nobody listens on BASE+3
    cli = socket.socket()
    cli.bind((HOST, BASE + 53))
    with contextlib.suppress(ConnectionRefusedError):
        cli.connect((HOST, BASE + 3))
    cli.close()
    # 4. half close: the client shuts down writing, the server keeps sending
    srv, cli, conn = _pair(4)
    cli.sendall(b"request")
    cli.shutdown(socket.SHUT_WR)
    conn.recv(100)
    assert conn.recv(100) == b""
    for _ in range(3):
        conn.sendall(b"more")
        time.sleep(0.01)
    conn.close()
    while cli.recv(100):
        pass
    cli.close()
    srv.close()
    # 5. simultaneous close: both ends shut down at once (the FINs may or may not cross)
    srv, cli, conn = _pair(5)
    barrier = threading.Barrier(2)

    def shut(s: socket.socket) -> None:
        barrier.wait()
        s.shutdown(socket.SHUT_WR)

    threads = [threading.Thread(target=shut, args=(s,)) for s in (cli, conn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.1)
    out["simultaneous_time_wait"] = _time_wait_ports()
    cli.close()
    conn.close()
    srv.close()
    return out


def _time_wait_ports() -> set[int]:
    """Local ports of sockets the kernel holds in TIME_WAIT or CLOSING/FIN_WAIT_2 right now."""
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        port = int(fields[1].split(":")[1], 16)
        if fields[3] in ("06", "0B") and BASE <= port < BASE + 100:  # TIME_WAIT, CLOSING
            ports.add(port)
    return ports


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    reason = _unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must capture on lo: {reason}")
        print(f"\nSKIPPING live capture: {reason}")
        pytest.skip(reason)
    path = tmp_path_factory.mktemp("live") / "lo.pcap"
    proc = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-n", "-Z", "root", "-w", str(path),
                             f"tcp portrange {BASE}-{BASE + 99}"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.time() + 15
    while time.time() < deadline:
        line = proc.stderr.readline()
        if "listening on" in line or not line:
            break
    if proc.poll() is not None:
        if os.environ.get("CI"):
            pytest.fail("tcpdump could not capture on lo")
        pytest.skip("tcpdump could not capture on lo")
    # "listening" comes before the filter is in place: probe until a packet reaches the file
    for _ in range(100):
        probe = socket.socket()
        try:
            probe.connect((HOST, BASE + 99))
        except OSError:
            pass
        finally:
            probe.close()
        time.sleep(0.05)
        if path.exists() and path.stat().st_size > 24:
            break
    try:
        info = _scenarios()
    finally:
        time.sleep(0.5)
        proc.terminate()
        proc.wait(timeout=10)
    return path, info


def test_live_loopback_connections(live: tuple[Path, dict[str, object]]) -> None:
    path, info = live
    report = monitor(path, profile="linux")
    assert report.error is None
    k = report.packets
    assert k.read == k.used + sum(k.skipped.values()) and k.read > 20
    got = states_by_endpoint(report)
    cli, srv = lambda n: (HOST, BASE + 50 + n), lambda n: (HOST, BASE + n)
    assert (got[cli(1)], got[srv(1)]) == CLIENT_FIRST
    assert got[cli(2)] == ["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSED"]
    assert got[srv(2)] == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSED"]
    assert got[cli(3)] == ["CLOSED", "SYN-SENT", "CLOSED"] and got[srv(3)] == ["CLOSED"]
    assert (got[cli(4)], got[srv(4)]) == CLIENT_FIRST
    crossed = {BASE + 55, BASE + 5} <= info["simultaneous_time_wait"]  # type: ignore[operator]
    if crossed:  # the kernel says both ends passed TIME-WAIT: the FINs crossed
        for end in (cli(5), srv(5)):
            assert got[end][-3:] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT"], got[end]
    else:
        ends = sorted([got[cli(5)][-1], got[srv(5)][-1]])
        assert ends == ["CLOSED", "TIME-WAIT"], (got[cli(5)], got[srv(5)])
    conn_states = {c.conn_state for c in report.connections}
    assert {"SF", "RSTO", "REJ"} <= conn_states
    assert not [f for c in report.connections for f in c.findings]
