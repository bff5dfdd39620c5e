"""packetdrill's script language, read into events (no code copied from packetdrill: written from
its documented syntax).

A script is a sequence of lines, each with a time and one statement:

- time: ``0.100`` (absolute), ``+0.1`` / ``+.1`` (after the previous event), ``*`` (any time),
  ``A~B`` (a range), ``A...B`` (a blocking call that starts at A and returns at B);
- a packet: ``<`` inbound (injected) or ``>`` outbound (expected), the flags (``S . F R P U``,
  ``E`` and ``W`` for ECE and CWR), relative sequence numbers ``start:end(len)``, then ``ack N``,
  ``win N``, ``urg N`` and options ``<mss 1460,sackOK,...>`` (or ``<...>``);
- a system call: ``name(args) = RESULT``, RESULT an integer or ``-1 ERRNO (text)``;
- a shell command in backticks and a ``%{ python }%`` block (both may span lines);
- ``--option=value`` lines before the first event (packetdrill's command-line options).

``//`` and ``/* */`` are comments. Every statement this reader cannot express is kept, with
its line, so that the runner can report it as not modelled: nothing is silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tcpfsm.base import TcpFsmError

# packetdrill's flag letters (tcpdump's): "." is ACK
FLAG_LETTERS = {"S": "SYN", "F": "FIN", "R": "RST", "P": "PSH", ".": "ACK", "U": "URG", "E": "ECE", "W": "CWR"}


class ScriptError(TcpFsmError):
    """A script that does not follow packetdrill's syntax: ``file:line: what``."""

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file, self.line, self.message = file, line, message
        super().__init__(f"{file}:{line}: {message}")

    def __reduce__(self) -> tuple[type[ScriptError], tuple[str, int, str]]:
        return type(self), (self.file, self.line, self.message)


@dataclass(frozen=True)
class Time:
    """When an event happens: ``start`` (seconds; relative when ``relative``), or any time
    (``any``); ``end`` for a range ``~`` or a blocking call ``...``."""

    start: float = 0.0
    relative: bool = False
    any: bool = False
    end: float | None = None
    end_relative: bool = False
    blocking: bool = False


@dataclass(frozen=True)
class Packet:
    """A packet line: direction ``<`` (in) or ``>`` (out), flags, relative sequence numbers."""

    direction: str
    flags: str                    # the letters as written, e.g. "S." or "P."
    start: int
    end: int
    length: int
    ack: int | None = None
    win: int | None = None
    urg: int | None = None
    options: str | None = None    # the text between < and >, e.g. "mss 1460,sackOK"
    ecn: str | None = None        # an IP ECN tag such as [ect0]
    protocol: str = "tcp"         # tcp, or udp / icmp (not modelled)


@dataclass(frozen=True)
class Syscall:
    """A system call line: ``name(args) = result`` with ``errno`` for ``-1 ERRNO (...)``."""

    name: str
    args: tuple[str, ...]
    result: int | str | None      # an int, or text the runner cannot compare ("...")
    errno: str | None = None


@dataclass(frozen=True)
class Other:
    """A statement the model does not run: an option, a shell command, a python block."""

    kind: str                     # "option", "shell", "python"
    text: str


@dataclass(frozen=True)
class Event:
    """One line of a script (``line`` is where it starts, counting from 1)."""

    line: int
    text: str
    time: Time | None
    body: Packet | Syscall | Other


@dataclass
class Script:
    """A parsed script: its events in order."""

    file: str
    events: list[Event] = field(default_factory=list)


_NUM = r"(?:\d+\.?\d*|\.\d+)"
_TIME = re.compile(rf"^(?P<t>\*|(?P<a>\+?)(?P<s>{_NUM})(?:(?P<sep>~|\.\.\.)(?P<b>\+?)(?P<e>{_NUM}))?)\s+")
_PACKET = re.compile(r"^(?P<dir>[<>])\s+(?:\[(?P<ecn>[a-z0-9]+)\]\s+)?(?P<rest>.*)$")
_TCP = re.compile(r"^(?P<flags>[SFRPUEW.]+)\s+(?P<start>\d+):(?P<end>\d+)\((?P<len>\d+)\)(?P<tail>.*)$")
_SYSCALL = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)\((?P<args>.*)\)\s*=\s*(?P<result>.*)$")
_RESULT = re.compile(r"^(?P<value>-?\d+|\.\.\.|[A-Z_|]+(?:\|[A-Z_]+)*)(?:\s+(?P<errno>E[A-Z0-9]+))?"
                     r"(?:\s*\((?P<text>[^)]*)\))?\s*$")


def _strip_comments(text: str, file: str = "<script>") -> str:
    """Blank out ``//`` and ``/* */`` comments, keeping the line count (outside quotes, backticks
    and python blocks); a ``/*`` never closed is an error at its line (it would hide the rest)."""
    out = []
    i, n = 0, len(text)
    mode = ""
    while i < n:
        c = text[i]
        if mode == "":
            if text.startswith("%{", i):
                mode = "py"
            elif c == "`":
                mode = "sh"
            elif c == '"':
                mode = "q"
            elif text.startswith("//", i):
                j = text.find("\n", i)
                i = n if j < 0 else j
                continue
            elif text.startswith("/*", i):
                j = text.find("*/", i + 2)
                if j < 0:
                    raise ScriptError(file, text.count("\n", 0, i) + 1,
                                      "a /* comment is not closed: it would hide every line after it")
                j += 2
                out.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
                i = j
                continue
        elif mode == "py" and text.startswith("}%", i):
            out.append("}%")
            i += 2
            mode = ""
            continue
        elif (mode == "sh" and c == "`") or (mode == "q" and c == '"'):
            mode = ""
        out.append(c)
        i += 1
    return "".join(out)


def _split_args(text: str) -> tuple[str, ...]:
    """Split a call's arguments at top-level commas (brackets and braces nest)."""
    args: list[str] = []
    cur: list[str] = []
    depth = 0
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
    if "".join(cur).strip():
        args.append("".join(cur).strip())
    return tuple(args)


def parse_script(text: str, file: str = "<script>") -> Script:
    """Read a script; raise :class:`ScriptError` (``file:line``) at the first line it cannot read."""
    clean = _strip_comments(text, file)
    script = Script(file)
    lines = clean.split("\n")
    raw = text.split("\n")
    i = 0
    seen_event = False
    while i < len(lines):
        line = lines[i].strip()
        start = i
        i += 1
        if not line:
            continue
        if line.startswith("--") and not seen_event:
            script.events.append(Event(start + 1, line, None, Other("option", line)))
            continue
        time: Time | None = None
        m = _TIME.match(line + " ")
        if m and not line.startswith(("%{", "`")):
            time = _time_of(m)
            line = line[m.end():].strip() if m.end() <= len(line) else ""
        if line.startswith("%{"):
            while "}%" not in line and i < len(lines):
                line += "\n" + lines[i]
                i += 1
            if "}%" not in line:
                raise ScriptError(file, start + 1, "a %{ python block }% is not closed")
            script.events.append(Event(start + 1, raw[start].strip(), time, Other("python", line)))
            continue
        if line.startswith("`"):
            while line.count("`") < 2 and i < len(lines):
                line += "\n" + lines[i]
                i += 1
            if line.count("`") < 2:
                raise ScriptError(file, start + 1, "a `shell command` is not closed")
            script.events.append(Event(start + 1, raw[start].strip(), time, Other("shell", line)))
            continue
        if time is not None and not all(0 <= v < 1e9 for v in (time.start, time.end or 0.0)):
            raise ScriptError(file, start + 1, "a time is 0 to 10**9 seconds")
        if time is None:
            raise ScriptError(file, start + 1, f"a statement needs a time first (0, +0.1, *): {line[:60]!r}")
        seen_event = True
        body = _packet(line, file, start + 1) if line[:1] in "<>" else _syscall(line, file, start + 1)
        script.events.append(Event(start + 1, raw[start].strip(), time, body))
    return script


def _time_of(m: re.Match[str]) -> Time:
    if m["t"] == "*":
        return Time(any=True)
    start = float(m["s"])
    end = float(m["e"]) if m["e"] is not None else None
    return Time(start, relative=m["a"] == "+", end=end, end_relative=m["b"] == "+",
                blocking=m["sep"] == "...")


def _packet(line: str, file: str, lineno: int) -> Packet:
    m = _PACKET.match(line)
    if not m:
        raise ScriptError(file, lineno, f"a packet is '< FLAGS start:end(len) ...' or '> ...': {line[:60]!r}")
    rest = m["rest"].strip()
    for proto in ("udp", "icmp"):
        if rest.startswith(proto):
            return Packet(m["dir"], "", 0, 0, 0, protocol=proto, options=rest)
    t = _TCP.match(rest)
    if not t:
        raise ScriptError(file, lineno, f"bad TCP packet: expected FLAGS start:end(len), e.g. 'S 0:0(0)': "
                          f"{rest[:60]!r}")
    start, end, length = int(t["start"]), int(t["end"]), int(t["len"])
    if max(start, end) >= 1 << 32 or length >= 1 << 31:
        raise ScriptError(file, lineno, "sequence numbers are 0 to 2**32-1 and a length below 2**31")
    if (end - start) % (1 << 32) != length:
        raise ScriptError(file, lineno, f"sequence range {start}:{end} is {(end - start) % (1 << 32)} byte(s), "
                          f"not the ({length}) written after it")
    tail = t["tail"].strip()
    options = None
    if "<" in tail:
        j = tail.index("<")
        if not tail.endswith(">"):
            raise ScriptError(file, lineno, "TCP options are written <mss 1460,...> at the end of the line")
        options, tail = tail[j + 1:-1].strip(), tail[:j].strip()
    fields: dict[str, int] = {}
    words = tail.split()
    k = 0
    while k < len(words):
        word = words[k]
        if word in ("ack", "win", "urg") and k + 1 < len(words):
            try:
                fields[word] = int(words[k + 1])
            except ValueError:
                raise ScriptError(file, lineno, f"{word} takes a number, not {words[k + 1]!r}") from None
            if not 0 <= fields[word] < 1 << 32:
                raise ScriptError(file, lineno, f"{word} takes a number from 0 to 2**32-1")
            k += 2
            continue
        raise ScriptError(file, lineno, f"unknown packet field {word!r} (known: ack N, win N, urg N, <options>)")
    return Packet(m["dir"], t["flags"], start, end, length, fields.get("ack"), fields.get("win"),
                  fields.get("urg"), options, m["ecn"])


def _syscall(line: str, file: str, lineno: int) -> Syscall:
    m = _SYSCALL.match(line)
    if not m:
        raise ScriptError(file, lineno, f"not a packet, a system call 'name(args) = result', a shell "
                          f"command or a python block: {line[:60]!r}")
    r = _RESULT.match(m["result"].strip())
    if not r:
        raise ScriptError(file, lineno, f"bad result {m['result'].strip()[:40]!r}: an integer or -1 ERRNO (text)")
    value: int | str | None
    try:
        value = int(r["value"])
    except ValueError:
        value = r["value"]
    if r["errno"] and value != -1:
        raise ScriptError(file, lineno, "an errno follows the result -1 only")
    return Syscall(m["name"], _split_args(m["args"]), value, r["errno"])
