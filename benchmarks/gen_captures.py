"""Large, varied TCP captures that do not repeat: the monitor benchmark's inputs.

Every connection is drawn afresh from a seeded random generator: its own addresses and
ports (IPv4 and, one in ten, IPv6), its own ISNs (anywhere in the 32-bit space, so some
wrap), payload sizes, windows, round trips and its own ending. What a connection does is
one of: a whole exchange closed by FINs (either end first), a half close with data still
flowing the other way, an RST by either end after data, a refused SYN, a retransmitted SYN,
and, inside the data phase, retransmitted segments, reordered segments and segments lost
before the capture point (a gap in sequence space); a share of the connections is seen from
their middle (no handshake). Connections overlap in time at a steady rate, so the number
open at once does not grow with the file (the bounded-memory test relies on it); only those
still under way when the capture ends are left open.

The sequence and acknowledgment numbers are those of RFC 9293's rules for a conforming
pair (SYN and FIN take one sequence number each, an ACK carries the peer's next expected
byte, §3.4 and §3.10.7): the generator tracks SND.NXT and RCV.NXT of both ends as the
spec's own Endpoints do, which ``--check N`` verifies by running the first N connections
through tcpfsm's Monitor (``profile linux``) and printing their conn_states and findings.

The frames are Ethernet + IPv4/IPv6 + TCP with zero payload bytes and correct checksums,
written straight to classic pcap with ``struct`` (tcpfsm.capture's writer is general; this
one does one thing, millions of frames fast).

    python benchmarks/gen_captures.py OUT.pcap [--packets 100000] [--seed 1] [--check 2000]
"""

from __future__ import annotations

import argparse
import heapq
import random
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MOD = 1 << 32
RATE = 500.0  # new connections a second (a busy server's); the capture's time grows with its size
_ETH4 = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
_ETH6 = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x86\xdd"
_TCP = struct.Struct("!HHIIBBHHH")
_IP4 = struct.Struct("!BBHHHBBH4s4s")
_REC = struct.Struct("<IIII")
_ZEROS = bytes(1500)


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _sum16(data: bytes) -> int:
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


class Frame:
    """Frames for one connection's 4-tuple: the addresses' checksum sums are worked out once."""

    def __init__(self, src: bytes, dst: bytes) -> None:
        self.src, self.dst = src, dst
        self.v6 = len(src) == 16
        self.pseudo = _sum16(src) + _sum16(dst) + 6

    def build(self, sport: int, dport: int, seq: int, ack: int, flags: int, window: int, length: int) -> bytes:
        tcp_len = 20 + length
        # the payload is zeros: it adds nothing to the checksum but its length (in the pseudo-header)
        words = (sport + dport + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF)
                 + ((5 << 12) | flags) + window + self.pseudo + tcp_len)
        ck = ~_fold(words) & 0xFFFF
        tcp = _TCP.pack(sport, dport, seq, ack, 5 << 4, flags, window, ck, 0)
        if self.v6:
            ip = struct.pack("!IHBB", 0x60000000, tcp_len, 6, 64) + self.src + self.dst
            return _ETH6 + ip + tcp + _ZEROS[:length]
        total = 20 + tcp_len
        head = _IP4.pack(0x45, 0, total, 0, 0x4000, 64, 6, 0, self.src, self.dst)
        ipck = ~_fold(_sum16(head)) & 0xFFFF
        return _ETH4 + head[:10] + struct.pack("!H", ipck) + head[12:] + tcp + _ZEROS[:length]


class Conversation:
    """Two ends with their SND.NXT / RCV.NXT; each packet sent is (time, frame)."""

    def __init__(self, rng: random.Random, t0: float, index: int) -> None:
        self.rng = rng
        self.t = t0
        v6 = rng.random() < 0.1
        if v6:
            c_ip = b"\xfd\x00" + bytes(10) + index.to_bytes(4, "big")
            s_ip = b"\xfd\x01" + bytes(12) + rng.randrange(1, 400).to_bytes(2, "big")
        else:
            c_ip = bytes([10, 64 + (index >> 16) % 64, (index >> 8) & 0xFF, index & 0xFF])
            s_ip = bytes([172, 16, rng.randrange(0, 4), rng.randrange(1, 250)])
        self.cport = rng.randrange(1024, 65536)
        self.sport = rng.choice((80, 443, 443, 22, 25, 8080, rng.randrange(1024, 65536)))
        self.c_frame, self.s_frame = Frame(c_ip, s_ip), Frame(s_ip, c_ip)
        self.nxt = [rng.randrange(MOD), rng.randrange(MOD)]  # SND.NXT of client (0), server (1)
        self.rcv = [0, 0]  # RCV.NXT of each
        self.win = [rng.randrange(1024, 65536), rng.randrange(1024, 65536)]
        self.rtt = rng.uniform(20e-6, 0.004)
        self.mss = rng.choice((536, 1220, 1448, 1460))
        self.out: list[tuple[float, bytes]] = []

    def emit(self, who: int, flags: int, length: int = 0, *, seq: int | None = None, record: bool = True) -> None:
        """``who`` sends one segment (at its SND.NXT unless ``seq``); it advances SND.NXT."""
        rng = self.rng
        self.t += rng.expovariate(4.0 / self.rtt)
        s = self.nxt[who] if seq is None else seq
        ack = self.rcv[who] if flags & ACK else 0
        if rng.random() < 0.05:
            self.win[who] = max(0, min(65535, self.win[who] + rng.randrange(-4096, 4097)))
        if who == 0:
            frame, ports = self.c_frame, (self.cport, self.sport)
        else:
            frame, ports = self.s_frame, (self.sport, self.cport)
        if record:
            self.out.append((self.t, frame.build(ports[0], ports[1], s, ack, flags, self.win[who], length)))
        if seq is None:
            end = (s + length + (1 if flags & (SYN | FIN) else 0)) % MOD
            self.nxt[who] = end
            if not flags & RST:
                self.rcv[1 - who] = end  # it arrives (the receiver's ACKs will say so)

    def handshake(self, syn_retry: bool) -> None:
        if syn_retry:
            self.emit(0, SYN, seq=self.nxt[0])  # the first SYN got no answer
            self.t += 1.0
        self.emit(0, SYN)
        self.rcv[1] = self.nxt[0]
        self.emit(1, SYN | ACK)
        self.emit(0, ACK)

    def data(self, who: int, size: int) -> None:
        """``size`` bytes from ``who``, in MSS-sized segments, with ACKs (every other segment)
        and now and then a retransmission, a reordering or a segment the capture lost."""
        rng = self.rng
        segs = 0
        while size > 0:
            n = min(size, self.mss)
            size -= n
            r = rng.random()
            if r < 0.03:  # lost after the capture point: seen, then retransmitted
                start = self.nxt[who]
                self.emit(who, ACK | PSH, n)
                self.emit(who, ACK | PSH, n, seq=start)
            elif r < 0.05 and size > 0:  # reordered: the next segment overtakes this one
                first, m = self.nxt[who], min(size, self.mss)
                self.nxt[who] = (first + n) % MOD
                self.emit(who, ACK | PSH, m)
                self.emit(who, ACK | PSH, n, seq=first)
                size -= m
            elif r < 0.06:  # lost before the capture point: a gap, retransmitted later out of view
                self.emit(who, ACK | PSH, n, record=False)
            else:
                self.emit(who, ACK | PSH, n)
            segs += 1
            if segs % 2 == 0 or size <= 0:
                self.emit(1 - who, ACK)

    def size(self) -> int:
        r = self.rng.random()
        if r < 0.5:
            return self.rng.randrange(1, 400)
        if r < 0.85:
            return self.rng.randrange(400, 4000)
        return self.rng.randrange(4000, 40000)

    def exchange(self, rounds: int) -> None:
        for _ in range(rounds):
            self.data(0, self.size())
            self.data(1, self.size())


def conversation(rng: random.Random, t0: float, index: int) -> list[tuple[float, bytes]]:
    """One connection's packets: its kind drawn at random (see the module's docstring)."""
    c = Conversation(rng, t0, index)
    kind = rng.random()
    rounds = rng.randrange(1, 6)
    if kind < 0.06:  # refused: RST,ACK to the SYN
        c.emit(0, SYN)
        c.rcv[1] = c.nxt[0]
        c.emit(1, RST | ACK, seq=0 if rng.random() < 0.5 else c.nxt[1])
        return c.out
    if kind < 0.10:  # seen from the middle: no handshake in the capture
        c.rcv = [c.nxt[1], c.nxt[0]]
        c.exchange(rounds)
    else:
        c.handshake(syn_retry=kind < 0.14)
        c.exchange(rounds)
    ending = rng.random()
    if ending < 0.55:  # the usual close: one end's FIN, then the other's
        first = 0 if rng.random() < 0.6 else 1
        c.emit(first, FIN | ACK)
        c.emit(1 - first, ACK)
        c.emit(1 - first, FIN | ACK)
        c.emit(first, ACK)
    elif ending < 0.70:  # half close: the client is done, the server goes on sending
        c.emit(0, FIN | ACK)
        c.emit(1, ACK)
        c.data(1, c.size())
        c.emit(1, FIN | ACK)
        c.emit(0, ACK)
    elif ending < 0.85:  # the client resets
        c.emit(0, RST | ACK)
    else:  # the server resets
        c.emit(1, RST | ACK)
    return c.out


def packets(total: int, seed: int) -> Iterator[tuple[float, bytes]]:
    """``total`` packets in time order, connections starting at a steady rate."""
    rng = random.Random(seed)
    heap: list[tuple[float, int, bytes]] = []
    t, index, made, order = 1_700_000_000.0, 0, 0, 0
    while made < total:
        t += rng.expovariate(RATE)
        index += 1
        for ts, frame in conversation(rng, t, index):
            order += 1
            heapq.heappush(heap, (ts, order, frame))
        while heap and heap[0][0] <= t and made < total:
            ts, _, frame = heapq.heappop(heap)
            made += 1
            yield ts, frame
    # the rest of what was started is not written: the capture ends mid-flight, as real ones do


def write(path: Path, total: int, seed: int) -> int:
    n = 0
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        buf: list[bytes] = []
        for ts, frame in packets(total, seed):
            sec = int(ts)
            usec = int((ts - sec) * 1e6)
            buf.append(_REC.pack(sec, usec, len(frame), len(frame)))
            buf.append(frame)
            n += 1
            if len(buf) >= 20000:
                fh.write(b"".join(buf))
                buf.clear()
        fh.write(b"".join(buf))
    return n


def check(path: Path, connections: int) -> None:
    """The first ``connections`` connections through tcpfsm's Monitor: conn_states and findings."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from collections import Counter

    from tcpfsm.conformance import monitor

    report = monitor(path, profile="linux")
    conns = report.connections[:connections]
    states = Counter(c.conn_state for c in conns)
    findings = Counter(f.what.split(":")[0] for c in conns for f in c.findings)
    print(f"{len(conns)} connections: {dict(states.most_common())}")
    print(f"with findings: {sum(1 for c in conns if c.findings)}; kinds: {dict(findings.most_common(8))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", type=int, default=0, metavar="N", help="monitor the result; summarize N connections")
    args = ap.parse_args()
    n = write(args.out, args.packets, args.seed)
    print(f"{args.out}: {n:,} packets, {args.out.stat().st_size / 2**20:,.1f} MiB")
    if args.check:
        check(args.out, args.check)


if __name__ == "__main__":
    main()
