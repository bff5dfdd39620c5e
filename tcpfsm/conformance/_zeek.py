"""Zeek's conn.log, from the monitor's connection summaries: TSV (``--format zeek``) and JSON.

The fields and their meanings are Zeek's (``Conn::Info``, base/protocols/conn/main.zeek; see
docs/zeek.md for each one's definition and where tcpfsm's value comes from), followed by
tcpfsm's own: both ends' RFC 9293 state sequences and the findings with their rule and §.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

# (name, Zeek type): conn.log's columns in Zeek's order, then tcpfsm's
FIELDS: tuple[tuple[str, str], ...] = (
    ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"),
    ("id.resp_p", "port"), ("proto", "enum"), ("service", "string"), ("duration", "interval"),
    ("orig_bytes", "count"), ("resp_bytes", "count"), ("conn_state", "string"), ("local_orig", "bool"),
    ("local_resp", "bool"), ("missed_bytes", "count"), ("history", "string"), ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"), ("resp_pkts", "count"), ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"),
    ("tcpfsm_orig_states", "vector[string]"), ("tcpfsm_resp_states", "vector[string]"),
    ("tcpfsm_findings", "vector[string]"),
)
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SEPARATOR, SET_SEPARATOR, EMPTY, UNSET = "\t", ",", "(empty)", "-"


def zeek_uid(orig_h: str, orig_p: int, resp_h: str, resp_p: int, ts: float) -> str:
    """A connection's uid in Zeek's shape ("C" and base-62 characters), made from its 4-tuple
    and first timestamp: the same connection gets the same uid in every run."""
    digest = hashlib.blake2b(f"{orig_h}|{orig_p}|{resp_h}|{resp_p}|{ts:.6f}".encode(), digest_size=12).digest()
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(17):
        n, r = divmod(n, 62)
        chars.append(_B62[r])
    return "C" + "".join(chars)


def _finding(f: dict[str, Any]) -> str:
    rule = f" rule {f['transition']}" if f.get("transition") else ""
    rfc = f.get("rfc") or ""
    sec = (f" §{rfc}" if rfc[:1].isdigit() else f" {rfc}") if rfc else ""
    return f"packet {f['packet']} {f['endpoint']}: {f['finding']}{rule}{sec}"


def zeek_record(summary: dict[str, Any]) -> dict[str, Any]:
    """One connection summary (the JSON contract's object) as a conn.log record: field name to
    value, None for an unset field (Zeek's ``-``)."""
    a, b = summary["endpoints"]
    c = summary.get("counters") or {}
    ts = float(c.get("ts", 0.0))
    duration = float(c.get("last_ts", ts)) - ts
    return {
        "ts": ts, "uid": zeek_uid(a["addr"], a["port"], b["addr"], b["port"], ts),
        "id.orig_h": a["addr"], "id.orig_p": a["port"], "id.resp_h": b["addr"], "id.resp_p": b["port"],
        "proto": "tcp", "service": None,
        # Zeek leaves the duration unset for a connection of one packet (no interval to measure)
        "duration": duration if c.get("orig_pkts", 0) + c.get("resp_pkts", 0) > 1 else None,
        "orig_bytes": c.get("orig_bytes"), "resp_bytes": c.get("resp_bytes"),
        "conn_state": summary["conn_state"],
        "local_orig": None, "local_resp": None,  # no Site::local_nets: unset, as Zeek leaves them
        "missed_bytes": c.get("missed_bytes"), "history": summary["history"] or None,
        "orig_pkts": c.get("orig_pkts"), "orig_ip_bytes": c.get("orig_ip_bytes"),
        "resp_pkts": c.get("resp_pkts"), "resp_ip_bytes": c.get("resp_ip_bytes"),
        "tunnel_parents": [],
        "tcpfsm_orig_states": list(a["states"]), "tcpfsm_resp_states": list(b["states"]),
        "tcpfsm_findings": [_finding(f) for f in summary["findings"]],
    }


def _escape(text: str, in_set: bool) -> str:
    out = []
    for ch in text:
        if ch == "\\" or ch == "\t" or (in_set and ch == SET_SEPARATOR) or not ch.isprintable():
            out.append("".join(f"\\x{byte:02x}" for byte in ch.encode()))
        else:
            out.append(ch)
    return "".join(out)


def _tsv(value: Any, kind: str) -> str:
    if value is None:
        return UNSET
    if kind in ("time", "interval"):
        return f"{value:.6f}"
    if kind == "bool":
        return "T" if value else "F"
    if kind.startswith(("set[", "vector[")):
        return SET_SEPARATOR.join(_escape(str(v), True) for v in value) if value else EMPTY
    text = _escape(str(value), False)
    return text if text not in ("", UNSET) else (EMPTY if text == "" else "\\x2d")


def tsv_header(opened: float | None = None) -> str:
    """The header lines of a conn.log in Zeek's ASCII format (tab-separated)."""
    when = time.strftime("%Y-%m-%d-%H-%M-%S", time.localtime(time.time() if opened is None else opened))
    return "\n".join([
        "#separator \\x09", f"#set_separator{SEPARATOR}{SET_SEPARATOR}", f"#empty_field{SEPARATOR}{EMPTY}",
        f"#unset_field{SEPARATOR}{UNSET}", f"#path{SEPARATOR}conn", f"#open{SEPARATOR}{when}",
        "#fields" + "".join(SEPARATOR + n for n, _ in FIELDS), "#types" + "".join(SEPARATOR + t for _, t in FIELDS),
    ])


def tsv_row(record: dict[str, Any]) -> str:
    return SEPARATOR.join(_tsv(record[name], kind) for name, kind in FIELDS)


def tsv_close(closed: float | None = None) -> str:
    when = time.strftime("%Y-%m-%d-%H-%M-%S", time.localtime(time.time() if closed is None else closed))
    return f"#close{SEPARATOR}{when}"


def json_record(record: dict[str, Any]) -> dict[str, Any]:
    """Zeek's JSON form of a record: unset fields left out, sets and vectors as arrays."""
    return {k: v for k, v in record.items() if v is not None}


def tsv_lines(records: Iterable[dict[str, Any]]) -> Iterable[str]:
    yield tsv_header()
    for r in records:
        yield tsv_row(r)
    yield tsv_close()
