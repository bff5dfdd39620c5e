"""The embedding API misused (issue 16 item 10): each reproduction gives TypeError or ValueError
with a message naming the argument, before anything changes; copies are independent; endpoints
and every exception pickle; an observer that raises loses no segment."""

from __future__ import annotations

import copy
import math
import pickle
from pathlib import Path

import pytest

from tcpfsm import Endpoint, Flags, Notice, Segment, load_spec
from tcpfsm.base import (
    ConnectionClosing,
    ConnectionDoesNotExist,
    ConnectionExists,
    ObserverError,
    Problem,
    SpecError,
    SpecGap,
    TimerNotArmed,
    UserCallError,
)

ROOT = Path(__file__).resolve().parent.parent


def established(engine: str = "table") -> tuple[Endpoint, Endpoint]:
    a, b = Endpoint(100, engine=engine), Endpoint(300, engine=engine)
    b.listen()
    [syn] = a.connect()
    [syn_ack] = b.receive(syn)
    [ack] = a.receive(syn_ack)
    assert b.receive(ack) == []
    return a, b


# ------------------------------------------------------------------ calls with wrong arguments
def test_receive_none_is_a_type_error() -> None:
    ep = Endpoint(1)
    with pytest.raises(TypeError, match="receive\\(\\) takes a Segment, not NoneType"):
        ep.receive(None)  # type: ignore[arg-type]


def test_flags_parse_none_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"Flags\.parse takes text"):
        Flags.parse(None)  # type: ignore[arg-type]


def test_a_spec_path_is_taken_and_anything_else_refused() -> None:
    assert Endpoint(spec=str(ROOT / "specs" / "profiles" / "linux.yaml")).spec.profile == "linux"
    assert Endpoint(spec=ROOT / "specs" / "tcp.yaml").spec.name == "tcp"
    with pytest.raises(TypeError, match="spec must be a Spec"):
        Endpoint(spec=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("now", [None, "1", math.nan, math.inf, -1.0, True])
def test_tick_with_a_bad_clock_is_refused_and_the_endpoint_goes_on(now: object) -> None:
    ep = Endpoint(1)
    ep.connect()
    before = ep.snapshot()
    with pytest.raises((TypeError, ValueError), match="tick\\(\\) now"):
        ep.tick(now)  # type: ignore[arg-type]
    assert ep.snapshot() == before
    assert [s.flags for s in ep.tick(1.0)] == [Flags.SYN]  # the retransmission, on time


def test_copy_does_not_share_the_tcb() -> None:
    a, _b = established()
    for twin in (copy.copy(a), copy.deepcopy(a)):
        twin.send(b"xyz")
        assert twin.tcb is not a.tcb
    [fin] = a.close()
    assert fin.seq == 101 and fin.flags == Flags.FIN | Flags.ACK  # not moved on by the copies' data


def test_read_and_send_refuse_negative_counts() -> None:
    a, b = established()
    b.receive(a.send(b"hello")[0])
    with pytest.raises(ValueError, match="read\\(\\) max_bytes must be 0"):
        b.read(-1)
    assert b.read(2) == b"he" and b.read() == b"llo"
    with pytest.raises(ValueError, match="send\\(\\) length must be 0"):
        a.send(-5)
    with pytest.raises(TypeError, match="not str"):
        a.send("text")  # type: ignore[arg-type]
    assert a.tcb.queued == 0


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"seq": 1.5}, TypeError, "seq must be an int, not float"),
    ({"ack": math.nan}, TypeError, "ack must be an int"),
    ({"payload": "abc"}, TypeError, "payload must be bytes, not str"),
    ({"flags": 0x40}, ValueError, "bits beyond the six control bits"),
    ({"flags": 0x1FF}, ValueError, "bits beyond"),
    ({"window": -1}, ValueError, "window must be 0 to 2\\*\\*32-1"),
    ({"length": 2**40}, ValueError, "length must be 0 to 2\\*\\*31-1"),
    ({"src_port": 70000}, ValueError, "src_port must be 0 to 65535"),
    ({"length": True}, TypeError, "length must be an int, not bool"),
])
def test_segment_checks_its_fields(kwargs: dict[str, object], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        Segment(**kwargs)  # type: ignore[arg-type]


def test_segment_still_takes_what_it_took() -> None:
    seg = Segment(seq=-1, ack=2**32 + 5, flags=18, payload=bytearray(b"ab"))
    assert (seg.seq, seg.ack, seg.flags, seg.payload, seg.length) == (2**32 - 1, 5, Flags.SYN | Flags.ACK, b"ab", 2)
    assert Segment(flags="FIN,ACK").flags == Flags.FIN | Flags.ACK


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"iss": -1}, "iss must be 0 to 4,294,967,295"),
    ({"iss": 1.5}, "iss must be an int"),
    ({"rto": 0}, "rto must be a finite number of seconds above 0"),
    ({"rto": math.nan}, "rto must be a finite"),
    ({"msl": -120}, "msl must be a finite"),
    ({"user_timeout": math.inf}, "user_timeout must be a finite"),
    ({"rcv_wnd": -1}, "rcv_wnd must be 0 to 1,073,741,824"),
    ({"max_retries": 1024}, "max_retries must be 0 to 100"),
    ({"max_syn_retries": -1}, "max_syn_retries must be 0 to 100"),
    ({"challenge_ack_limit": (10,)}, "challenge_ack_limit must be \\(count, seconds\\)"),
    ({"challenge_ack_limit": (10, -5)}, "challenge_ack_limit seconds"),
    ({"iss_secret": 10**10}, "iss_secret must be bytes"),
    ({"local_port": 65536}, "local_port must be 0 to 65,535"),
    ({"now": math.nan}, "now must be a finite"),
    ({"name": 5}, "name must be a str"),
    ({"engine": "fast"}, "engine must be 'transitions' or 'table'"),
])
def test_the_constructor_checks_its_arguments(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises((TypeError, ValueError), match=words):
        Endpoint(**kwargs)  # type: ignore[arg-type]


def test_many_retries_no_longer_overflow() -> None:
    ep = Endpoint(1, max_syn_retries=100)
    ep.connect()
    for _ in range(12):
        ep.tick(ep.next_deadline() or ep.now)  # backoff doubles: no OverflowError on the way


def test_restore_and_observe_refuse_other_types() -> None:
    ep = Endpoint(1)
    with pytest.raises(TypeError, match="restore\\(\\) takes an EndpointState"):
        ep.restore({"state": "CLOSED"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="observe\\(\\) takes a callable"):
        ep.observe(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timeout\\(\\) takes a timer's name"):
        ep.timeout(["retransmit"])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- pickling
@pytest.mark.parametrize("engine", ["transitions", "table"])
def test_an_endpoint_pickles(engine: str) -> None:
    a, _b = established(engine)
    a.send(b"data")
    a.notices.append(Notice("hi", "S1", a.state))
    back = pickle.loads(pickle.dumps(a))
    assert back.snapshot() == a.snapshot() and back.engine == engine
    assert [str(n) for n in back.notices] == [str(n) for n in a.notices]
    assert back.close() == a.close()


def test_an_endpoint_of_a_spec_with_its_own_states_pickles(tmp_path: Path) -> None:
    path = tmp_path / "renamed.yaml"
    path.write_text((ROOT / "specs" / "tcp.yaml").read_text(encoding="utf-8").replace("ESTABLISHED", "OPEN"),
                    encoding="utf-8")
    ep = Endpoint(1, spec=load_spec(path))
    ep.connect()
    back = pickle.loads(pickle.dumps(ep))
    assert back.state_name == "SYN-SENT" and back.spec.state_names == ep.spec.state_names


@pytest.mark.parametrize("exc", [
    SpecError([Problem("a.yaml", 3, "bad", "fix it"), Problem("b.yaml", 0, "worse")]),
    ConnectionExists("ESTABLISHED", "open_active", "U4"),
    ConnectionClosing("FIN-WAIT-1", "send", "U8", "connection closing"),
    ConnectionDoesNotExist("CLOSED", "close", "U12"),
    UserCallError("LISTEN", "send", "U6", "insufficient resources"),
    TimerNotArmed("CLOSED", "retransmit", []),
    SpecGap("LISTEN", "rcv_fin"),
    ObserverError([Segment(seq=5)], (), RuntimeError("boom")),
])
def test_every_exception_pickles_with_its_fields(exc: Exception) -> None:
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and str(back) == str(exc)
    for field in ("problems", "state", "call", "transition", "words", "timer", "armed", "event", "segments"):
        if hasattr(exc, field):
            assert getattr(back, field) == getattr(exc, field), field


def test_a_spec_error_round_trips_its_problems() -> None:
    problems = [Problem("a.yaml", 3, "bad", "fix it")]
    back = pickle.loads(pickle.dumps(SpecError(problems)))
    assert back.problems == problems  # not one problem per character of the message


def test_a_real_state_pickles_as_its_name() -> None:
    ep = Endpoint(1)
    ep.connect()
    with pytest.raises(ConnectionExists) as info:
        ep.connect()
    back = pickle.loads(pickle.dumps(info.value))
    assert back.state == "SYN-SENT" and back.call == "open_active"


# ------------------------------------------------------------------------------- observers
def test_an_observer_that_raises_loses_no_segment_and_leaves_no_half_step() -> None:
    calls: list[str] = []

    def bad(step: object) -> None:
        calls.append("bad")
        raise RuntimeError("observer failed")

    ep = Endpoint(1)
    ep.observe(bad)
    ep.observe(lambda step: calls.append("good"))
    with pytest.raises(ObserverError, match="RuntimeError: observer failed") as info:
        ep.connect()
    [syn] = info.value.segments
    assert syn.flags == Flags.SYN and syn.seq == 1
    assert ep.state_name == "SYN-SENT" and ep.tcb.snd_nxt == 2 and ep.last_steps
    assert calls == ["bad", "good"]  # the other observers were told all the same
    assert isinstance(info.value.__cause__, RuntimeError)


def test_tick_goes_on_when_an_observer_raises() -> None:
    ep, twin = Endpoint(1), Endpoint(1)
    ep.connect()
    twin.connect()
    ep.observe(lambda step: (_ for _ in ()).throw(RuntimeError("x")))
    want = twin.tick(7.0)
    with pytest.raises(ObserverError) as info:
        ep.tick(7.0)
    assert info.value.segments == want and ep.snapshot() == twin.snapshot()
