"""The seed note's walk: one HTTP GET through all four layers (ARP, DNS, TCP, HTTP), as a capture.

>>> from tcpfsm.walk import walk
>>> run = walk("http-get")
>>> run.states["client"]
['CLOSED', 'SYN-SENT', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']
"""

from tcpfsm.walk._walk import DEFAULT_HOST, WALKS, Moment, Network, WalkRun, walk

__all__ = ["DEFAULT_HOST", "WALKS", "Moment", "Network", "WalkRun", "walk"]
