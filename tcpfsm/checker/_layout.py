"""The bit layout of a global state: one description, read by both engines and the traces.

A global state is one non-negative int (a numpy ``uint64`` in the vector engine). Fields,
from the low bits up: the local ids of A and B (``la``, ``lb``), their retransmission
counters (``ra``, ``rb``), one field per history variable, then the channels AB and BA, each
``capacity`` slots of one segment id (head in the lowest slot; id 0 never occurs, so a
channel's length is implicit). Widths are computed once per run: tight when the local tables
are closed first (the vector engine: locals, segments, R and history values are known), or
generous (16-bit locals, 8-bit segments, 4-bit counters and histories) for the plain engine,
which meets local states as it goes. The field order is the same in both, so sorting states
by value orders them the same way under either layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def bits_for(largest: int) -> int:
    """Bits to hold 0..largest (at least one)."""
    return max(1, int(largest).bit_length())


@dataclass(frozen=True)
class Layout:
    local_bits: int
    retry_bits: int
    hist_bits: tuple[int, ...]
    seg_bits: int
    capacity: int
    # derived: offsets of every field (computed once, in __post_init__)
    off_lb: int = field(init=False)
    off_ra: int = field(init=False)
    off_rb: int = field(init=False)
    off_h: int = field(init=False)       # the history region; variable i at off_h + hist_shift[i]
    hist_shift: tuple[int, ...] = field(init=False)
    off_ab: int = field(init=False)
    off_ba: int = field(init=False)
    chan_bits: int = field(init=False)
    total_bits: int = field(init=False)

    def __post_init__(self) -> None:
        pos = 2 * self.local_bits
        shifts, h = [], 0
        for w in self.hist_bits:
            shifts.append(h)
            h += w
        chan = self.seg_bits * self.capacity
        for name, value in (("off_lb", self.local_bits), ("off_ra", pos), ("off_rb", pos + self.retry_bits),
                            ("off_h", pos + 2 * self.retry_bits), ("hist_shift", tuple(shifts)),
                            ("off_ab", pos + 2 * self.retry_bits + h), ("off_ba", pos + 2 * self.retry_bits + h + chan),
                            ("chan_bits", chan), ("total_bits", pos + 2 * self.retry_bits + h + 2 * chan)):
            object.__setattr__(self, name, value)

    @classmethod
    def generous(cls, capacity: int, n_histories: int, segment_bits: int = 8) -> Layout:
        """For the plain engine: room for 65,536 local states and 255 segments (more with
        ``segment_bits``: incarnations multiply the segments; Python ints have room)."""
        return cls(16, 4, (4,) * n_histories, segment_bits, capacity)

    @classmethod
    def tight(cls, n_locals: int, n_segments: int, retries: int, hist_sizes: tuple[int, ...],
              capacity: int) -> Layout:
        """The fewest bits for closed tables: ids 0..n-1, counters 0..retries, history values."""
        return cls(bits_for(n_locals - 1), bits_for(retries), tuple(bits_for(n - 1) for n in hist_sizes),
                   bits_for(n_segments - 1), capacity)

    # ------------------------------------------------------------ limits
    @property
    def max_local(self) -> int:
        return (1 << self.local_bits) - 1

    @property
    def max_segment(self) -> int:
        return (1 << self.seg_bits) - 1

    @property
    def max_retry(self) -> int:
        return (1 << self.retry_bits) - 1

    def hist_get(self, h: int, i: int) -> int:
        """Variable ``i`` of a history region value ``h``."""
        return (h >> self.hist_shift[i]) & ((1 << self.hist_bits[i]) - 1)

    def hist_set(self, h: int, i: int, value: int) -> int:
        shift = self.hist_shift[i]
        return (h & ~(((1 << self.hist_bits[i]) - 1) << shift)) | (value << shift)

    @property
    def hist_region_bits(self) -> int:
        return sum(self.hist_bits)

    # ------------------------------------------------------------ Python ints
    def pack(self, la: int, lb: int, ra: int, rb: int, h: int, ab: tuple[int, ...], ba: tuple[int, ...]) -> int:
        sb = self.seg_bits
        cab = 0
        for i, sid in enumerate(ab):
            cab |= sid << (sb * i)
        cba = 0
        for i, sid in enumerate(ba):
            cba |= sid << (sb * i)
        return (la | lb << self.off_lb | ra << self.off_ra | rb << self.off_rb | h << self.off_h
                | cab << self.off_ab | cba << self.off_ba)

    def unpack(self, s: int) -> tuple[int, int, int, int, int, tuple[int, ...], tuple[int, ...]]:
        lmask = (1 << self.local_bits) - 1
        rmask = (1 << self.retry_bits) - 1
        sb = self.seg_bits
        smask = (1 << sb) - 1
        cab = (s >> self.off_ab) & ((1 << self.chan_bits) - 1)
        cba = s >> self.off_ba
        ab = []
        while cab:
            ab.append(cab & smask)
            cab >>= sb
        ba = []
        while cba:
            ba.append(cba & smask)
            cba >>= sb
        return (s & lmask, (s >> self.off_lb) & lmask, (s >> self.off_ra) & rmask, (s >> self.off_rb) & rmask,
                (s >> self.off_h) & ((1 << self.hist_region_bits) - 1), tuple(ab), tuple(ba))


__all__ = ["Layout", "bits_for"]
