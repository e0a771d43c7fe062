"""Split proofs: along which axis a function's work is provably independent.

Level 3 runs one call on pieces of its arguments and joins the pieces' results.
That is only the same as the plain call when the function is independent along
the axis it is cut on, so this module proves it from the AST, conservatively:
whatever it does not understand is "no proof", with the line and the reason.

Two shapes of proof, each in its own module (loops for Numba's ``prange`` are in
:mod:`.split_loops`; the types all of them fill in :mod:`.split_proofs`):

* **row-wise NumPy**: a straight-line body (assignments, in-place updates, one
  ``return``) whose every operation keeps axis 0 of the split parameters apart:
  elementwise ufuncs and arithmetic, reductions over the *other* axes
  (``x.mean(axis=(1, 2), keepdims=True)`` as in ``process_images``), ``x[:, k]``
  slices. The result is joined along axis 0, or combined when the body ends in
  an associative reduction of such an expression (``np.sum``, ``min``, ``max``,
  ``any``, ``all``); see :mod:`.split_rows`.
* **row loop**: ``for i in range(len(a))`` whose iterations read only row ``i``
  of the split parameters and write only row ``i`` of one output created with
  ``len(a)`` rows (``rowwise_python_matmul``); see :mod:`.split_rowloop`.

Which parameters are split is found by elimination: every parameter starts as a
candidate, and one used in a way that mixes rows (``x.sum()``, ``x.shape[0]``,
``x[i]``) is demoted to *whole* (every piece gets all of it), until the proof
holds or no candidate is left. Array parameters kept whole that meet split data
by broadcasting are listed in :attr:`SplitInfo.broadcast`: per call their
``ndim`` must be small enough never to reach axis 0 (checked by level 3).
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from ...analysis.scope import Namespace
from .split_iter import prove_iterations
from .split_loops import prove_loops
from .split_proofs import NO_SPLIT, LoopProof, SplitInfo, SplitProof
from .split_rowloop import prove_row_loop
from .split_rows import prove_rowwise

__all__ = ["SplitProof", "LoopProof", "SplitInfo", "analyze_split", "NO_SPLIT",
           "function_findings"]


def analyze_split(tree: Any, params: tuple[str, ...], ns: Namespace,
                  has_varargs: bool = False, freevars: tuple[str, ...] = ()) -> SplitInfo:
    """Prove what can be split in ``tree``; never raises."""
    try:
        info = _analyze(tree, params, ns, has_varargs)
    except (RecursionError, ValueError, TypeError, AttributeError) as exc:
        # An AST shape this analysis did not foresee: no proof, never a crash.
        return SplitInfo(reason=f"split analysis failed: {type(exc).__name__}: {exc}")
    try:
        proof, why = prove_iterations(tree, params, ns, freevars)
    except (RecursionError, ValueError, TypeError, AttributeError, KeyError) as exc:
        proof, why = None, f"iteration analysis failed: {type(exc).__name__}: {exc}"
    if has_varargs:
        proof, why = None, "*args/**kwargs parameters"
    return dataclasses.replace(info, iterations=proof, iteration_reason=why)


def _analyze(tree: Any, params: tuple[str, ...], ns: Namespace,
             has_varargs: bool) -> SplitInfo:
    loops, loop_reasons = prove_loops(tree, params, ns)
    if has_varargs:
        return SplitInfo(reason="*args/**kwargs parameters", loops=loops,
                         loop_reasons=loop_reasons)
    info = prove_rowwise(tree, params, ns)
    if not info.ok:
        looped = prove_row_loop(tree, params, ns)
        if looped.ok:
            info = looped
        elif _has_loop(tree):
            info = dataclasses.replace(info, reason=looped.reason)
    return dataclasses.replace(info, loops=loops, loop_reasons=loop_reasons)


def _has_loop(tree: Any) -> bool:
    return any(isinstance(n, (ast.For, ast.While)) for n in tree.body)


def function_findings(ctx: Any) -> dict[str, Any]:
    """Level 3's part of :func:`optlevel.analysis.analyze`: the split proofs."""
    if ctx.tree is None:
        return {"split": NO_SPLIT}
    code = getattr(ctx.function, "__code__", None)
    freevars = tuple(code.co_freevars) if code is not None else ()
    return {"split": analyze_split(ctx.tree, ctx.params, ctx.namespace, ctx.has_varargs,
                                   freevars)}
