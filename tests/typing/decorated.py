# ruff: noqa: F821  (reveal_type is mypy's; this file is checked, never run)
"""Checked by mypy in tests/test_typing.py: what a type checker sees of @optimize.

A line whose comment starts "E:" must be reported with the error code that follows;
every other line must type-check. A ``reveal_type`` line's comment "R:" gives the
type mypy must reveal.
"""

from optlevel import Optimized, optimize
from optlevel.stats import FunctionStats


@optimize
def bare(x: float, n: int) -> float:
    return x * n


@optimize(level=2, strict=True)
def called(values: list[float], scale: float = 1.0) -> list[float]:
    return [v * scale for v in values]


class Model:
    @optimize(level=1)
    def predict(self, x: float) -> str:
        return str(x)


reveal_type(bare(1.0, 2))  # R: float
reveal_type(called([1.0], scale=2.0))  # R: list[float]
reveal_type(called.with_level(0)([1.0]))  # R: list[float]
reveal_type(Model().predict(1.0))  # R: str
reveal_type(bare.stats())  # R: optlevel.stats.FunctionStats
reveal_type(bare.map([1.0], [2]))  # R: list[float]
stats: FunctionStats = called.stats()
plain: Optimized[[float, int], float] = bare

bare("wrong", "args", 3)  # E: call-arg
bare("wrong", 2)  # E: arg-type
called([1.0], scal=2.0)  # E: call-arg
text: str = bare(1.0, 2)  # E: assignment
