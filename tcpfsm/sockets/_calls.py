"""The one place the socket layer calls Endpoint user calls that other work is adding.

``Endpoint.shutdown(read=, write=)`` and ``Endpoint.full_close()`` (BSD close(): RFC 9293
§3.6.1 SHLD-3, unread or later data answered with RST) are being added to the runtime; until
an Endpoint has them, these functions fall back on RFC CLOSE (§3.10.4), which is what
``shutdown(SHUT_WR)`` and a close without unread data do on the wire. Nothing else in the
socket layer needs to know which Endpoint it runs on.
"""

from __future__ import annotations

from tcpfsm.base import Segment
from tcpfsm.runtime import Endpoint


def full_close(ep: Endpoint) -> list[Segment]:
    """close(2) on the last descriptor: ``full_close()`` where it exists, else RFC CLOSE (the
    linux profile's L1 already resets on CLOSE with unread data, RFC 1122 §4.2.2.13)."""
    call = getattr(ep, "full_close", None)
    if callable(call):
        out: list[Segment] = call()
        return out
    return ep.close()


def shutdown(ep: Endpoint, *, read: bool, write: bool) -> list[Segment]:
    """shutdown(2): ``Endpoint.shutdown`` where it exists; else SHUT_WR is RFC CLOSE (a half
    close, §3.10.4) and SHUT_RD sends nothing (Linux tcp_shutdown acts on SEND_SHUTDOWN only)."""
    call = getattr(ep, "shutdown", None)
    if callable(call):
        out: list[Segment] = call(read=read, write=write)
        return out
    return ep.close() if write else []
