"""Lessons the model checker teaches: ``time_wait_lessons`` runs, for each reason TIME-WAIT
exists, a check of a spec without the protection and one with it (``tcpfsm explain time-wait``)."""

from tcpfsm.explain._time_wait import REASONS, Lesson, Reason, time_wait_lessons

__all__ = ["REASONS", "Lesson", "Reason", "time_wait_lessons"]
