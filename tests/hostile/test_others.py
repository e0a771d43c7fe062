"""The hostile cases that are not one call in this process: whole scripts in a
subprocess (segfaults, hangs, worker processes), threads making a first call
together, and configuration nonsense."""

from __future__ import annotations

import pytest

from . import config_cases, process, threads
from .known import KNOWN


def _params(mod, mode):
    out = []
    for case in mod.CASES:
        why = KNOWN.get((case.name, mode, "-"))
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        out.append(pytest.param(case, marks=marks, id=case.name))
    return out


def assert_no_findings(found):
    assert not found, "\n".join(f"{f.category}: {f.line()}" for f in found)


@pytest.mark.parametrize("case", _params(process, "script"))
def test_script(case):
    assert_no_findings(process.run_case(case))


@pytest.mark.filterwarnings("ignore::optlevel.errors.OptlevelWarning")  # compared by the harness
@pytest.mark.parametrize("case", _params(threads, "threads"))
def test_threads(case):
    assert_no_findings(threads.run_case(case))


@pytest.mark.parametrize("case", _params(config_cases, "config"))
def test_config(case):
    assert_no_findings(config_cases.run_case(case))
