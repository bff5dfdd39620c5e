"""RFC conformance suite: expected values written from the RFC text, never from tcpfsm's output."""
