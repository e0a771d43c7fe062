"""optlevel: make hot numerical functions fast without rewriting them.

>>> from optlevel import optimize
>>> @optimize(level=2)
... def f(x): ...

Importing optlevel imports NumPy and nothing optional: Numba, CuPy, Torch, Dask
and Ray are imported only by the backend that uses them, on first use.
"""

from __future__ import annotations

from .api import Optimized, optimize
from .config import configure, level, reload_config, set_level, settings
from .core.runtime import reset, shutdown
from .device import on_device, to_device, to_host
from .errors import (
    ConfigError,
    FallbackWarning,
    LevelUnavailable,
    OptlevelError,
    OptlevelWarning,
    PerformanceWarning,
    ResultMismatchWarning,
    VectorizationAdvice,
)
from .explain import Report, explain
from .ladder import Level
from .precompile import write_manifest
from .stats import FunctionStats, report, stats

__version__ = "0.1.0"

__all__ = [
    "optimize", "Optimized", "Level",
    "configure", "set_level", "level", "reload_config", "settings",
    "explain", "Report", "stats", "report", "FunctionStats", "write_manifest",
    "to_device", "to_host", "on_device", "reset", "shutdown",
    "OptlevelWarning", "FallbackWarning", "PerformanceWarning", "VectorizationAdvice",
    "ResultMismatchWarning", "OptlevelError", "LevelUnavailable", "ConfigError",
    "__version__",
]
