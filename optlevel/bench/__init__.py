"""The workloads of WORKLOADS.md and the runner behind ``optlevel demo`` and ``bench``.

Importing this package imports NumPy and optlevel only; Numba is imported when a
level-2 variant first compiles, matplotlib only by :mod:`.plot`.
"""

from .results import Results, load
from .runner import Options, Row, failures, run_case
from .workloads import WORKLOADS, Workload, parse_size

__all__ = ["WORKLOADS", "Workload", "parse_size", "Options", "Row", "run_case",
           "failures", "Results", "load"]
