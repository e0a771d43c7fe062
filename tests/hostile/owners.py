"""Who fixes what: the reason text of each known failure's xfail mark.

``python -m tests.hostile.report --write-known`` writes :mod:`.known` from a run's
findings with these rules; the lead removes entries as fixes land (the marks are
strict, so a fixed case turns red until its entry goes).
"""

from __future__ import annotations

from .harness import Finding

_L2 = "integer/division/index guards and replay (issue 14) — fixed by l2"


def reason(f: Finding, kind: str) -> str:
    """The xfail reason for one finding of a case of ``kind``."""
    if f.category == "RACE":
        return "issue 12: first calls from several threads — fixed by plan"
    if kind == "config":
        return "issue 12: configuration accepted silently — fixed by lead"
    if kind in ("aliasing", "read-only"):
        return "issue 12: result check loses aliasing/read-only/identity — fixed by lead"
    if f.category == "SEGFAULT" or (f.mode == "S3" and f.category in ("CRASH", "WRONG")):
        return "issue 12: level 3 strict path errors/segfault — fixed by l3b"
    if f.category == "WRONG-TYPE":
        return "issue 12: result types — fixed by lead"
    if kind == "float-sum" or "cancel" in f.case:
        return "issue 12: reordered float reduction with cancellation — fixed by lead"
    if kind == "frozen":
        return "issue 12: values frozen at compile time — fixed by l2"
    if f.mode in ("S1", "L1"):
        return "issue 12: level 1 — fixed by hostile"
    return f"issue 12/14: {_L2}"
