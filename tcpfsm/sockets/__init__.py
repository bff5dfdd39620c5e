"""The socket layer: a BSD-sockets ``Host`` of ``Socket`` and ``Listener`` objects over Endpoints."""

from tcpfsm.sockets._host import ERRNO, Host, Listener, Record, Socket, SocketError

__all__ = ["ERRNO", "Host", "Listener", "Record", "Socket", "SocketError"]
