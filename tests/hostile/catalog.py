"""Every in-process case of the suite, by name."""

from __future__ import annotations

from . import cases_alias, cases_errors, cases_frozen, cases_inputs, cases_ints, cases_level1
from .harness import Case

MODULES = (cases_alias, cases_frozen, cases_errors, cases_ints, cases_inputs, cases_level1)


def all_cases() -> list[Case]:
    cases = [c for m in MODULES for c in m.CASES]
    names = [c.name for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate case names: {sorted(dupes)}")
    return cases
