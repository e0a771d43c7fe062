"""The level-1 rules: one id, name, title and summary each, in one registry.

Ids follow linters' habit: ``OL1xx`` are loops with a vectorized equivalent,
``OL2xx`` memory layout, ``OL3xx`` independent loops written so that level 3 cannot
prove it (found by level 3's analysis, ``optlevel check`` only). ``docs/rules.md``
documents every rule with a before/after example (a test checks that each id here
has its section there).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

__all__ = ["Rule", "Diagnostic", "RULES", "rule", "selected"]


@dataclasses.dataclass(frozen=True)
class Rule:
    """One rule: ``id`` (``OL101``), ``name`` (``map``), a one-line ``title`` and a
    ``summary`` saying what it finds and why it matters."""

    id: str
    name: str
    title: str
    summary: str


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """One finding of one rule at one place.

    ``line`` and ``col`` are the file's (1-based line, 0-based column as in ``ast``);
    ``suggestion`` is the vectorized code as text (statements joined by newlines);
    ``rewrite`` says whether level 1 can run the suggestion itself, and if not,
    ``why_not`` says why.
    """

    rule: str
    line: int
    col: int
    message: str
    suggestion: str
    rewrite: bool = False
    why_not: str = ""

    @property
    def pattern(self) -> str:
        return RULES[self.rule].name

    def one_line(self) -> str:
        """``OL101 message → suggestion`` with the suggestion's statements on one line."""
        text = f"{self.rule} {self.message}"
        if self.suggestion:
            text += " → " + "; ".join(s.strip() for s in self.suggestion.splitlines() if s.strip())
        return text

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["pattern"] = self.pattern
        return out

    def __str__(self) -> str:
        return f"line {self.line}: {self.one_line()}"


RULES: dict[str, Rule] = {}


def rule(id: str, name: str, title: str, summary: str) -> Rule:
    """Register a rule (or replace one with the same id)."""
    found = RULES[id] = Rule(id, name, title, summary)
    return found


rule("OL101", "map", "loop writing out[i] = f(x[i], ...): a vectorized expression",
     "A loop over the elements that writes one element per iteration from elements of "
     "the same index is one NumPy expression on whole arrays.")
rule("OL102", "masked-map", "loop choosing between expressions with an if: np.where",
     "A loop whose if/else on x[i] picks which expression to write is np.where (or a "
     "boolean mask) on whole arrays.")
rule("OL103", "reduction", "loop accumulating s += f(x[i]): np.sum / np.prod",
     "A loop that adds (or multiplies) one term per element into a scalar, perhaps "
     "under a condition, is np.sum (np.prod, np.count_nonzero) of a vectorized expression.")
rule("OL104", "loop-invariant", "whole-array work recomputed on every iteration",
     "A call such as x.mean() inside a loop that does not change x gives the same value "
     "every time; computing it once before the loop turns O(n^2) into O(n).")
rule("OL105", "scalar-numpy-call", "NumPy function called on one element per iteration",
     "np.sin(x[i]) pays NumPy's per-call overhead (about a microsecond) for one number; "
     "np.sin(x) before the loop computes all of them at once.")
rule("OL106", "nested-broadcast", "nested loops over two axes that are a broadcast",
     "Two nested loops writing out[i, j] from x[i], y[j] or z[i, j] are one broadcast "
     "expression: x[:, None] * y[None, :].")
rule("OL201", "strided-walk", "loop over slices along the axis that is not contiguous",
     "Each x[:, j] of a C-ordered array (x[i, :] of a Fortran-ordered one) is a strided "
     "walk through memory, several times slower than a contiguous one.")
rule("OL202", "strided-inner-loop", "innermost loop walks an array across its memory order",
     "When the innermost of nested loops indexes the first axis of a C-ordered array "
     "(the last axis of a Fortran-ordered one), every step jumps a whole row in memory.")
rule("OL203", "non-contiguous-input", "loops over a non-contiguous array argument",
     "A strided view (x[::2], x.T[1:]) walked by loops is slower than a contiguous copy, "
     "and Numba compiles a separate, slower version for it.")

# Level 3's (its analysis: levels/parallel/split_iter_advice.py, run by `optlevel check`)
rule("OL301", "counter-index", "a counter carried across iterations as an index: enumerate",
     "`k = 0` before a loop and `k += 1` at the end of each iteration make every iteration "
     "depend on the one before, so level 3 cannot split the loop; enumerate counts for it.")
rule("OL302", "while-counter", "a while loop counting an index: a for loop over range()",
     "`while i < n: ...; i += 1` is a loop level 3 does not split (only `for` loops are "
     "proved); as `for i in range(n)` its independent iterations can run in pieces.")
rule("OL303", "shifted-write", "a loop writing out[i + c]: loop over the written index",
     "When every write lands at `out[i + 1]`, the proof cannot tell that no two "
     "iterations write the same slot; looping over the written index (and reading "
     "`x[i - 1]`) makes each iteration write its own slot.")


def selected(rule_id: str, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> bool:
    """Whether ``rule_id`` passes ``--select``/``--ignore`` (ids or prefixes such as OL1)."""
    select, ignore = tuple(select), tuple(ignore)
    if select and not any(rule_id.startswith(s) for s in select):
        return False
    return not any(rule_id.startswith(s) for s in ignore)
