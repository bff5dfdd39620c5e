"""Narrated runs (``tcpfsm simulate NAME --explain``) and the glossary (``tcpfsm glossary``).

Expected words come from RFC 9293: §3.10.7.4 FIN-WAIT-2, eighth step ("Enter the TIME-WAIT
state. Start the time-wait timer, turn off the other timers"); §3.10.7.4 TIME-WAIT ("The only
thing that can arrive in this state is a retransmission of the remote FIN. Acknowledge it, and
restart the 2 MSL timeout"); Figure 6 (B answers A's SYN with a SYN,ACK); §3.4.2 (MSL) and
§3.3.1 (the TCB's variables SND.UNA, SND.NXT, RCV.NXT).
"""

from __future__ import annotations

import json
import re

import pytest

from tcpfsm.cli import main
from tcpfsm.render import narrate
from tcpfsm.runtime import run_scenario, step_rows
from tcpfsm.spec import load_glossary, load_scenarios, lookup

ROW = re.compile(r"^(\d+)\s+([AB])\s")


def _explained(capsys: pytest.CaptureFixture[str], name: str) -> list[tuple[str, str]]:
    assert main(["simulate", name, "--explain"]) == 0
    lines = capsys.readouterr().out.splitlines()
    out = []
    for i, line in enumerate(lines):
        if ROW.match(line):
            out.append((line, lines[i + 1]))
    return out


def test_close_narrates_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    pairs = _explained(capsys, "close")
    run = run_scenario(load_scenarios()["close"])
    assert len(pairs) == len(step_rows(run.pair.trace)) == 14
    for row, why in pairs:
        who = ROW.match(row).group(2)  # type: ignore[union-attr]
        assert why.startswith("      ") and why.strip().startswith(who), (row, why)
        assert re.search(r"\[\w+, RFC 9293 §[\d.]+\]$", why), why  # the rule and its section
    text = "\n".join(why for _, why in pairs)
    assert "FIN-WAIT-2 -> TIME-WAIT" in text and "starts the 2MSL timer" in text
    assert "B receives SYN seq=100 (rcv SYN): sends SYN,ACK seq=300 ack=101" in text


def test_time_wait_restarts_its_timer_in_words() -> None:
    run = run_scenario(load_scenarios()["time-wait-retransmitted-fin"])
    lines = narrate(run.pair.trace, run.pair.a.spec)
    tw = [x for x in lines if "stays in TIME-WAIT" in x]
    assert tw and "sends ACK" in tw[0] and "restarts the 2MSL timer" in tw[0]
    assert any(x.startswith("the network loses A's segment") for x in lines)


def test_every_shipped_scenario_narrates_each_row() -> None:
    for name, sc in load_scenarios().items():
        run = run_scenario(sc)
        assert len(narrate(run.pair.trace, run.pair.a.spec)) == len(step_rows(run.pair.trace)), name


def test_glossary_has_the_terms_with_their_sections(capsys: pytest.CaptureFixture[str]) -> None:
    entries = load_glossary()
    names = {n.lower() for e in entries for n in e.names()}
    for term in ("ISN", "ISS", "IRS", "RCV.NXT", "SND.UNA", "SND.NXT", "MSL", "2MSL", "RTO", "RST", "FIN", "SYN",
                 "ACK", "half-open", "half-close", "challenge ACK", "TIME-WAIT"):
        assert term.lower() in names, term
    assert all(e.rfc for e in entries)
    assert lookup("msl")[0].where == "RFC 9293 §3.4.2"
    assert lookup("SND.UNA")[0].where == "RFC 9293 §3.3.1"
    assert main(["glossary", "ISS"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ISN") and "ISN+1" in out
    assert main(["glossary", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["terms"]) == len(entries)
    assert main(["glossary", "no-such-word"]) == 1


def test_a_broken_glossary_names_file_and_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tcpfsm.base import SpecError

    bad = tmp_path / "g.yaml"
    bad.write_text("terms:\n  - {term: MSL, rfc: \"3.4.2\"}\n")
    with pytest.raises(SpecError, match=r"g\.yaml:2"):
        load_glossary(bad)
