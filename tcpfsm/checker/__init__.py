"""The model checker: every interleaving of two endpoints and a network, breadth first.

>>> from tcpfsm.checker import check
>>> report = check(model="reference", capacity=2, retransmissions=1)
>>> report.stats.states, report.stats.transitions
(2197, 5640)
>>> {v.name: v.verdict for v in report.verdicts}["I4"]
'violated'
"""

from __future__ import annotations

from tcpfsm.checker._api import HOLDS, INCONCLUSIVE, VIOLATED, LeftOut, Report, TraceStep, Verdict, check
from tcpfsm.checker._driver import Stats, progress_printer
from tcpfsm.checker._moves import Channel, Move, MoveTable

__all__ = ["HOLDS", "INCONCLUSIVE", "VIOLATED", "Channel", "LeftOut", "Move", "MoveTable", "Report", "Stats",
           "TraceStep", "Verdict", "check", "progress_printer"]
