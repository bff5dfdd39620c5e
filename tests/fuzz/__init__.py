"""The fuzzing tier (issue 16): hostile captures, traces and command lines, bounded in time.

Properties: no traceback; the documented exit code; every packet read is used or skipped with a
reason; a capture cut by a snaplen has no finding the full capture does not have.
"""
