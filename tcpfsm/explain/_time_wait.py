"""Why TIME-WAIT exists, asked of the model checker: each reason as a pair of checks.

For each of the seed's two reasons (``../shared/seed/``: an old duplicate taken as data of the
next connection; a lost last ACK leaving the peer in LAST-ACK) and for RFC 1337's TIME-WAIT
assassination, one check of a spec without the protection (a mutant, or plain RFC 9293 for the
assassination) finds the shortest counterexample, and one of a spec with it finds none, under the
same model: incarnations (``reopen``), a channel that can lose, duplicate or delay segments.
The checker decides; :class:`Lesson` reports what it found, expected or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tcpfsm.base._resources import specs_dir
from tcpfsm.checker import HOLDS, VIOLATED, Report, Verdict, check


@dataclass(frozen=True)
class Reason:
    """One reason for TIME-WAIT: the property, the spec without the protection and the spec with it,
    the model both are checked under, and the account a learner reads."""

    name: str            # file stem of its chart: time-wait-NAME.svg
    title: str
    prop: str            # a property of specs/properties.yaml
    broken: str          # a mutant file under specs/mutants/, or "profile:NAME"
    fixed: str
    account: str         # the seed's point, in plain words
    rfc: str
    model: dict[str, Any] = field(default_factory=dict)  # check() keywords: channels, data, reopen_iss

    def command(self, which: str) -> str:
        """The `tcpfsm check` command line of one side (``broken`` or ``fixed``)."""
        ref = self.broken if which == "broken" else self.fixed
        spec = f"--profile {ref.split(':', 1)[1]}" if ref.startswith("profile:") else f"--spec specs/mutants/{ref}"
        chans = "".join(f" --channel {c}" for c, on in (("lossy", self.model.get("lossy")),
                                                         ("dup", self.model.get("duplicating")),
                                                         ("reorder", self.model.get("reordering"))) if on)
        data = f" --data {self.model['data']}" if self.model.get("data") else ""
        iss = self.model.get("reopen_iss", ("clock", "wrap"))
        iss_opt = f" --reopen-iss {iss[0]}" if len(iss) == 1 else ""
        return f"tcpfsm check {spec} --reopen 1{iss_opt}{chans}{data} --property {self.prop}"


REASONS: tuple[Reason, ...] = (
    Reason(
        name="old-duplicate", title="Reason 1: an old duplicate must not become data of the next connection",
        prop="no_cross_incarnation_data", broken="short_time_wait.yaml", fixed="profile:rfc9293",
        account=("A segment of the old connection can linger in the network (here a retransmitted FIN, "
                 "delayed behind newer segments). If the same two ports are used again at once and the "
                 "new ISS lands on the old numbers (a wrapped or slow ISN clock), that late segment fits "
                 "the new window and is taken as the new connection's data or FIN. TIME-WAIT keeps the "
                 "4-tuple out of use for 2 MSL, longer than any segment lives, so nothing old is left "
                 "when the next connection starts. Here TIME-WAIT lasts 1 MSL (a mutant): the old FIN "
                 "closes the new connection."),
        rfc="RFC 9293 §3.4.2 (MSL, MUST-13), §3.4.1 (ISN clock), §3.6.1; RFC 1337 §1",
        model={"reordering": True, "reopen_iss": ("wrap",)}),
    Reason(
        name="lost-last-ack", title="Reason 2: the last ACK can be lost, and the peer is still in LAST-ACK",
        prop="reopen_not_refused", broken="skip_time_wait.yaml", fixed="profile:rfc9293",
        account=("The active closer's last ACK can be lost. The peer, still in LAST-ACK, will retransmit "
                 "its FIN; in TIME-WAIT the closer is still there to acknowledge it. Without TIME-WAIT "
                 "(a mutant that goes straight to CLOSED) the closer has forgotten the connection, opens "
                 "a new one on the same ports, and its SYN reaches a peer stuck in LAST-ACK, which can "
                 "only refuse it (a challenge ACK, then an RST)."),
        rfc="RFC 9293 §3.6.1 (MUST-13), §3.10.7.4 (TIME-WAIT: acknowledge the FIN, restart 2 MSL)",
        model={"lossy": True, "reopen_iss": ("clock",)}),
    Reason(
        name="assassination", title="TIME-WAIT assassination: an RST must not end TIME-WAIT early",
        prop="no_time_wait_assassination", broken="profile:rfc9293", fixed="profile:rfc1337",
        account=("Once the peer has closed (here it aborts in LAST-ACK), whatever reaches it - the last "
                 "ACK, or an old duplicate - is answered with an RST. RFC 9293 lets an acceptable RST end "
                 "TIME-WAIT (ambiguity A2 of specs/tcp.yaml): the RST 'assassinates' TIME-WAIT before its "
                 "2 MSL, and the hazards of reason 1 come back. RFC 1337 §3 fixes it by ignoring RST "
                 "segments in TIME-WAIT (profile rfc1337)."),
        rfc="RFC 1337 §2 (hazards H1-H3), §3 (fix F1); RFC 9293 §3.10.7.4",
        model={}),
)


@dataclass
class Lesson:
    """What the checker found for one reason: the broken spec's verdict (with its shortest
    counterexample) and the fixed spec's."""

    reason: Reason
    broken: Report
    fixed: Report

    @property
    def counterexample(self) -> Verdict:
        return self.broken.verdicts[0]

    @property
    def as_expected(self) -> bool:
        """The broken spec violates the property and the fixed one satisfies it."""
        return self.broken.verdicts[0].verdict == VIOLATED and self.fixed.verdicts[0].verdict == HOLDS

    def to_dict(self) -> dict[str, Any]:
        r = self.reason
        return {"reason": r.name, "title": r.title, "property": r.prop, "rfc": r.rfc, "account": r.account,
                "as_expected": self.as_expected,
                "broken": {"spec": r.broken, "command": r.command("broken"), "report": self.broken.to_dict()},
                "fixed": {"spec": r.fixed, "command": r.command("fixed"), "report": self.fixed.to_dict()}}


def _spec_kwargs(ref: str) -> dict[str, Any]:
    if ref.startswith("profile:"):
        return {"profile": ref.split(":", 1)[1]}
    return {"spec_file": str(specs_dir() / "mutants" / ref)}


def time_wait_lessons(reasons: tuple[Reason, ...] = REASONS, *, retransmissions: int = 1,
                      progress: Callable[[str], None] | None = None) -> list[Lesson]:
    """Run both checks of every reason (a few seconds to a minute each) and return what they found."""
    out = []
    for r in reasons:
        reports = {}
        for which in ("broken", "fixed"):
            if progress:
                progress(f"{r.name}: {r.command(which)}")
            reports[which] = check(reopen=1, properties=[r.prop], retransmissions=retransmissions,
                                   **_spec_kwargs(getattr(r, which)), **r.model)
        out.append(Lesson(r, reports["broken"], reports["fixed"]))
    return out


__all__ = ["REASONS", "Lesson", "Reason", "time_wait_lessons"]
