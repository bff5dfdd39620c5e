"""packetdrill scripts read and run against the socket layer and the spec (``tcpfsm packetdrill``)."""

from tcpfsm.packetdrill._parse import Event, Packet, Script, ScriptError, Syscall, parse_script
from tcpfsm.packetdrill._run import LineResult, Runner, ScriptResult, run_script, run_text

__all__ = ["Event", "LineResult", "Packet", "Runner", "Script", "ScriptError", "ScriptResult", "Syscall",
           "parse_script", "run_script", "run_text"]
