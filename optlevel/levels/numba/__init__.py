"""Level 2: Numba ``njit``, its divergence catalogue, guards and disk cache.

What other levels may use (level 3's prange backend builds on level 2), all of it
importable without importing Numba:

- :class:`NumbaBackend`: level 2's backend (``applies`` and ``prepare`` decide
  for level 3 too);
- :func:`argument_types`: the Numba types of one call, as Numba's dispatcher looks
  them up;
- :func:`trim_numba_error`: a Numba error cut to the line and the first complaint;
- :func:`result_type`: the NumPy scalar type every ``return`` of a function is
  proven to give for a call's arguments (or None);
- :func:`replay_findings`: the catalogue findings level 2 guards by replaying the
  call in Python, which a build without its checked operations must decline.

The rest of the folder: :mod:`.catalogue` (the table of differences),
:mod:`.semantics` (its findings, at decoration and per call) with the detectors
:mod:`.detect_arith`, :mod:`.detect_calls` and :mod:`.bytecode` over
:mod:`.context` and :mod:`.kinds`; :mod:`.shims` (the names given checked
replacements), :mod:`.arguments`, :mod:`.guard` (the per-call checks); and,
imported only when a function is built (they import Numba), :mod:`.helpers`,
:mod:`.checked` and :mod:`.cache`.
"""

from .arguments import argument_types
from .jit import NumbaBackend, replay_findings
from .messages import trim_numba_error
from .returns import result_type

__all__ = ["NumbaBackend", "argument_types", "trim_numba_error", "result_type",
           "replay_findings"]
