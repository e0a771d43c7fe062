"""What the bytecode of a function without source shows to the catalogue.

Without source the AST detectors cannot run; the bytecode still shows text
conversions (SEM001), random numbers (SEM024), I/O (SEM025), ``math.hypot`` (SEM029)
and NumPy's inexact math functions (SEM030). The rest of the catalogue needs the AST:
such functions are verified on a first call instead (SEM026).
"""

from __future__ import annotations

import dis
import math
from typing import Any

import numpy as np

from ...analysis.scope import Namespace
from ...analysis.tables import IO_MODULES, RANDOM_MODULES
from .catalogue import SemanticFinding, finding
from .shims import INEXACT_UFUNCS, NUMPY_SUMS

__all__ = ["bytecode_findings"]


def bytecode_findings(func: Any) -> list[SemanticFinding]:
    """The catalogue's findings a function's bytecode shows without its source: text
    conversions (SEM001), random numbers (SEM024), I/O (SEM025), ``math.hypot``
    (SEM029), NumPy's inexact math functions (SEM030) and sums (SEM031, any ``sum``,
    ``mean``, ``var`` or ``std`` attribute: declined, as no rewrite can reach them).
    The rest of the catalogue needs the AST; such functions are verified instead
    (SEM026)."""
    code = getattr(func, "__code__", None)
    if code is None:
        return []
    ns = Namespace(func)
    found: list[SemanticFinding] = []
    line, previous = code.co_firstlineno, None
    for ins in dis.get_instructions(code):
        positions = getattr(ins, "positions", None)
        line = positions.lineno if positions is not None and positions.lineno else line
        if ins.opname == "FORMAT_VALUE":
            found.append(finding("SEM001", line, "an f-string: compiled code formats "
                                 "floats as '<object type:float64>'"))
        elif ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str):
            ok, value = ns.lookup(ins.argval)
            module = getattr(value, "__name__", "") if isinstance(value, type(np)) else ""
            if value in (str, repr, format):
                found.append(finding("SEM001", line, f"{ins.argval}(): compiled code "
                                     "formats floats as '<object type:float64>'"))
            elif value in (print, open, input):
                found.append(finding("SEM025", line, f"I/O: {ins.argval}()"))
            elif module.split(".")[0] in RANDOM_MODULES:
                found.append(finding("SEM024", line, f"random numbers: {module}"))
            elif module.split(".")[0] in IO_MODULES:
                found.append(finding("SEM025", line, f"I/O or system call: {module}"))
            else:
                found.extend(_own_math(line, value))
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and ins.argval == "random" and \
                previous is not None and getattr(previous, "__name__", "") == "numpy":
            found.append(finding("SEM024", line, "random numbers: numpy.random"))
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and ins.argval in NUMPY_SUMS:
            found.append(finding("SEM031", line, f"{ins.argval}(): NumPy adds floats "
                                 "pairwise, compiled code one after the other (a function "
                                 "without source gets no call of NumPy's own sum)",
                                 "decline"))
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and isinstance(ins.argval, str) \
                and isinstance(previous, type(np)):
            found.extend(_own_math(line, getattr(previous, ins.argval, None)))
        previous = ns.lookup(ins.argval)[1] if ins.opname == "LOAD_GLOBAL" and \
            isinstance(ins.argval, str) else None
    return found


def _own_math(line: int, value: object) -> list[SemanticFinding]:
    """``math.hypot`` (SEM029) or one of NumPy's inexact ufuncs (SEM030), loaded."""
    if value is math.hypot:
        return [finding("SEM029", line, "math.hypot(): CPython's own algorithm, not the C "
                        "library's hypot that compiled code calls")]
    if isinstance(value, np.ufunc) and value.__name__ in INEXACT_UFUNCS:
        return [finding("SEM030", line, f"numpy.{value.__name__}(): NumPy's own vectorized "
                        "loops, not the C library's function that compiled code calls (a "
                        "function without source gets no replacement calling them)",
                        "decline")]
    return []
