"""The in-process hostile cases: every case at every mode, compared with the plain
function (value, type, exception, user warnings, arguments afterwards).

Default tier: every case at its cheap size, plus the large inputs of a sample.
``OPTLEVEL_HOSTILE=full`` runs every case's large inputs as well.
"""

from __future__ import annotations

import os

import pytest

from .catalog import all_cases
from .harness import MODES, check
from .known import KNOWN

CASES = all_cases()
_FAILING = {key[0]: why for key, why in KNOWN.items()}
FULL = os.environ.get("OPTLEVEL_HOSTILE", "") == "full"
#: large inputs in the default tier: one case per kind that has them
LARGE_SAMPLE = {
    "double_into:forward", "zero_fill:readonly", "closure_weights:inplace_large",
    "sqrt_sum:mid", "int_sum:nan", "histogram:ok", "raise_midway:raises",
    "arr_sum:cancel", "kahan:cancel", "loop_sum:generator", "arr_max:big",
    "cond_acc:cancel",
}


def _params():
    out = []
    for case in CASES:
        sizes = case.sizes if FULL or case.name in LARGE_SAMPLE else case.sizes[:1]
        for size in sizes:
            for mode in MODES:
                marks = []
                why = KNOWN.get((case.name, mode, size))
                if mode == "auto" and size == "large" and case.name in _FAILING:
                    # under auto on large inputs the planner's choice follows measured
                    # times, so whether the faulty level serves the call varies by run
                    why = why or _FAILING[case.name]
                    marks.append(pytest.mark.xfail(strict=False, reason=why))
                elif why:
                    marks.append(pytest.mark.xfail(strict=True, reason=why))
                out.append(pytest.param(case, mode, size, marks=marks,
                                        id=f"{case.name}-{mode}-{size}"))
    return out


@pytest.mark.filterwarnings("ignore::optlevel.errors.OptlevelWarning")  # the harness
@pytest.mark.parametrize("case, mode, size", _params())  # compares them itself
def test_hostile_call(case, mode, size):
    found = check(case, mode, size)
    assert not found, "\n".join(f"{f.category}: {f.line()}" for f in found)
