"""What a split proof says: the data types every part of level 3's analysis shares.

:func:`optlevel.levels.parallel.split.analyze_split` fills a :class:`SplitInfo`
(read as ``features.split``); the proofs themselves are in :mod:`.split_rows`
(row-wise NumPy), :mod:`.split_rowloop` (one row loop) and :mod:`.split_loops`
(independent loops for ``prange``). Whatever they do not understand raises
:class:`NoProof` with the line and the reason, and becomes "no proof".
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["SplitProof", "LoopProof", "SplitInfo", "NO_SPLIT", "NoProof"]


@dataclasses.dataclass(frozen=True)
class SplitProof:
    """One parameter: split along ``axis`` (``None``: every piece gets it whole), and why."""

    param: str
    axis: int | None
    reason: str

    def __str__(self) -> str:
        where = f"axis {self.axis}" if self.axis is not None else "whole"
        return f"{self.param} {where} ({self.reason})"


@dataclasses.dataclass(frozen=True)
class LoopProof:
    """A top-level ``for i in range(...)`` loop whose iterations are independent.

    ``writes``: arrays written only at ``[i, ...]``; ``written_params``: those that
    are parameters (level 3 checks per call that they share no memory with the
    other array arguments); ``reductions``: ``(name, op)`` with op ``+``, ``*``,
    ``min`` or ``max``; ``line``: the ``for`` statement's line.
    """

    line: int
    var: str
    writes: tuple[str, ...] = ()
    written_params: tuple[str, ...] = ()
    reductions: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        parts = [f"line {self.line}: iterations of {self.var!r} are independent"]
        if self.writes:
            parts.append(f"writes {', '.join(w + '[' + self.var + ']' for w in self.writes)}")
        if self.reductions:
            parts.append("reduces " + ", ".join(f"{n} ({op})" for n, op in self.reductions))
        return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class SplitInfo:
    """What :func:`analyze_split` proved about a function.

    Attributes
    ----------
    params : dict
        Parameter name → :class:`SplitProof` (empty when nothing was proved).
    kind : str
        ``"rows"`` (row-wise NumPy), ``"row loop"``, or ``""`` (no proof).
    output : str
        How the pieces' results join: ``"rows"`` (along axis 0), ``"none"`` (the
        function returns None and writes in place), or ``"sum"``, ``"min"``,
        ``"max"``, ``"any"``, ``"all"`` (combined); ``""`` without a proof.
    reason : str
        Why the proof holds, or why there is none.
    returns_param : str or None
        The function returns this split parameter itself (``x *= 2; return x``).
    broadcast : frozenset of str
        Whole parameters that meet split data in arithmetic (ndim checked per call).
    max_offset : int
        The most axes any split value lost to reductions (for that ndim check).
    ops : int
        Array operations in the body (the cost model's work per element).
    loops : tuple of LoopProof
        Independent top-level loops (for ``prange``).
    loop_reasons : tuple of str
        Why the other top-level loops are not independent.
    iterations : IterProof or None
        The top-level loop whose iterations may run in pieces on worker processes
        (:mod:`.split_iter`), whatever the arguments' kinds.
    iteration_reason : str
        That proof, or the first line that breaks it and why.
    """

    params: dict[str, SplitProof] = dataclasses.field(default_factory=dict)
    kind: str = ""
    output: str = ""
    reason: str = "no source"
    returns_param: str | None = None
    broadcast: frozenset[str] = frozenset()
    max_offset: int = 0
    ops: int = 0
    loops: tuple[LoopProof, ...] = ()
    loop_reasons: tuple[str, ...] = ()
    iterations: Any = None
    iteration_reason: str = "no source"

    @property
    def ok(self) -> bool:
        return bool(self.kind)

    @property
    def split_params(self) -> tuple[str, ...]:
        return tuple(p for p, proof in self.params.items() if proof.axis is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "output": self.output, "reason": self.reason,
                "params": {p: proof.axis for p, proof in self.params.items()},
                "loops": [str(lp) for lp in self.loops],
                "loop_reasons": list(self.loop_reasons),
                "iterations": self.iteration_reason if self.iterations is not None else None,
                "iterations_refused": None if self.iterations is not None
                else self.iteration_reason}


NO_SPLIT = SplitInfo()


class NoProof(Exception):
    """The body cannot be proved independent: ``line`` and ``why``."""

    def __init__(self, line: int, why: str):
        super().__init__(f"line {line}: {why}")
        self.line, self.why = line, why

