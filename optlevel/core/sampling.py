"""Checking a first call too large to check in full, on part of it.

Under ``OPTLEVEL_VERIFY=auto`` a plan's first call is compared with plain Python
when plain Python is cheap (:data:`~.verification.VERIFY_BUDGET_S`). A larger first
call used to go unchecked; it is now checked on a part that costs at most
:data:`SAMPLE_SHARE` of the call and at most the budget:

1. **rows** — where level 3's split proof says the function works row by row
   (row-wise NumPy or a row loop, results joined along axis 0, no argument written),
   the plan runs the whole call, then plain Python runs on some rows of the split
   arguments (the first and last eight, and random ones in between for at most
   :data:`ROW_SHARE` of the plan's own time) and its result is compared with the same
   rows of the plan's, *before* the result is returned;
2. **a smaller call** — otherwise, when every array argument has the same length
   along axis 0, the plan and plain Python both run on the first rows of every
   array (same dtypes and dimensions: the same signature class, another size)
   before the whole call runs (at most :data:`SAMPLE_SHARE` of plain Python's
   estimated time, and the budget); where plain Python raises on that cut (``a @ b``
   of two square matrices), on the first rows of one array with the others whole;
3. **the whole call** — where neither applies (no array to cut, the smaller call
   raises in plain Python too), the call is checked in full: it costs what plain
   Python costs, once; only a plan of a ``trusted_unchecked`` backend (level 2) of a
   function with nothing flagged to prove runs unchecked when no array can be cut.
   ``verify=False`` (or ``OPTLEVEL_VERIFY=never``) keeps the unchecked plan;
   ``verify=True`` checks the whole call.

A difference demotes the plan as a full check does (one
:class:`~optlevel.ResultMismatchWarning`) and the call returns plain Python's result.
The same rule as level 3's (``levels/parallel/chunks.py``) decides which arguments
are cut: split parameters of the largest dimension, whole arrays broadcasting over
trailing axes only.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..arrays import host_copy
from .estimates import plain_seconds
from .verify import compare, snapshot_args

__all__ = ["SAMPLE_SHARE", "Sample", "choose", "kept_on_device", "sampled_first_call"]

#: at most this share of a call's rows (or of its plain time, for a smaller call)
SAMPLE_SHARE = 0.02
#: random rows are checked for at most this share of the plan's own time
ROW_SHARE = 0.04
_EDGE_ROWS = 8  # the first and the last rows, always checked


@dataclasses.dataclass
class Sample:
    """How to check one call: ``kind`` ``"rows"`` (rows of the split ``params``, which
    have ``rows`` rows) or ``"smaller"`` (the first ``rows`` of every array), or
    ``"none"`` and why."""

    kind: str
    rows: int = 0
    params: tuple[str, ...] = ()
    why: str = ""


def choose(func: Callable[..., Any], features: Any, args: tuple, kwargs: dict,
           budget: float) -> tuple[Sample, inspect.BoundArguments | None]:
    """The part of this call to check, costing at most ``budget`` seconds of plain
    Python and :data:`SAMPLE_SHARE` of the call."""
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return Sample("none", why="its arguments do not bind to the signature"), None
    full = max(plain_seconds(features, args, kwargs), 1e-9)
    share = min(SAMPLE_SHARE, budget / full)
    split = _split_rows(features, bound.arguments)
    if split:
        params, n = split
        return Sample("rows", n, params), bound
    n = _common_length(bound.arguments)
    if n is None:
        return Sample("none", why="no array argument to take a smaller call from"), bound
    return Sample("smaller", max(1, min(n - 1, int(n * share))), why=""), bound


def _split_rows(features: Any, arguments: dict[str, Any]) -> tuple[tuple[str, ...], int] | None:
    """The split parameters and their length, where the proof holds for this call."""
    info = getattr(features, "split", None)
    if info is None or info.kind not in ("rows", "row loop") or info.output != "rows" or \
            features.mutated_params or info.returns_param:
        return None
    values = {p: arguments.get(p) for p in info.split_params}
    arrays = {p: a for p, a in values.items() if type(a) is np.ndarray and a.ndim >= 1}
    if not arrays or any(isinstance(a, (list, tuple, dict, set)) or
                         hasattr(a, "__array__") and not isinstance(a, np.generic)
                         for p, a in values.items() if p not in arrays):
        return None  # only NumPy arrays are cut (scalars pass whole)
    if any(info.params[p].axis != 0 for p in arrays):
        return None
    ndim = max(a.ndim for a in arrays.values())
    # a row loop indexes every split parameter by the row; row-wise NumPy cuts those
    # of the largest dimension and broadcasts the others
    cut = arrays if info.kind == "row loop" else \
        {p: a for p, a in arrays.items() if a.ndim == ndim}
    if len({a.shape[0] for a in cut.values()}) != 1:
        return None
    limit = ndim - info.max_offset - 1
    for name in set(info.broadcast) | set(info.split_params):
        value = arguments.get(name)
        if name not in cut and isinstance(value, np.ndarray) and value.ndim > limit:
            return None  # it would broadcast against the rows
    n = next(iter(cut.values())).shape[0]
    return (tuple(cut), n) if n > 2 * _EDGE_ROWS + 1 else None


def _common_length(arguments: dict[str, Any]) -> int | None:
    arrays = [a for a in arguments.values() if type(a) is np.ndarray]
    if not arrays or any(a.ndim == 0 for a in arrays):
        return None
    lengths = {a.shape[0] for a in arrays}
    return lengths.pop() if len(lengths) == 1 and min(a.shape[0] for a in arrays) > 1 else None


def _cut(bound: inspect.BoundArguments, params: tuple[str, ...] | None,
         rows: np.ndarray | slice) -> tuple[tuple, dict]:
    """The bound arguments with ``rows`` of ``params`` (None: of every array)."""
    cut = bound.signature.bind(*bound.args, **bound.kwargs)
    for name, value in cut.arguments.items():
        if type(value) is np.ndarray and (params is None and value.ndim or
                                           params is not None and name in params):
            cut.arguments[name] = np.ascontiguousarray(value[rows])
    return cut.args, cut.kwargs


def _rows_of(result: Any, rows: np.ndarray) -> Any:
    if isinstance(result, np.ndarray) and result.ndim >= 1:
        return result[rows]
    if type(result) is tuple:
        return tuple(_rows_of(r, rows) for r in result)
    return _NOT_ROWS


_NOT_ROWS = object()


def sampled_first_call(verifier: Any, plan: Any, trusted: bool = False) -> Callable[..., Any]:
    """The first call of a plan too large to check in full (see the module docstring)."""
    full_check = verifier.full_check(plan)

    def first_call(*args: Any, **kwargs: Any) -> Any:
        budget = verifier.budget()
        if plain_seconds(verifier.features, args, kwargs) <= budget:
            return full_check(*args, **kwargs)  # a later call small enough to check whole
        sample, bound = choose(verifier.func, verifier.features, args, kwargs, budget)
        if sample.kind == "rows":
            return _check_rows(verifier, plan, sample, bound, args, kwargs)
        if sample.kind == "smaller":
            return _check_smaller(verifier, plan, sample, bound, args, kwargs)
        return _decline(verifier, plan, sample.why, args, kwargs, trusted)

    return first_call


def _check_rows(verifier: Any, plan: Any, sample: Sample, bound: Any, args: tuple,
                kwargs: dict) -> Any:
    """The whole call on the plan, then plain Python on its first and last rows and on
    as many random rows as fit in :data:`ROW_SHARE` of the plan's own time."""
    start = time.perf_counter()
    try:
        result = plan.prepared.fn(*args, **kwargs)
    except plan.catch:
        raise
    except Exception as exc:  # no argument is written (the proof says so): plain decides
        return verifier.raised_alone(plan, exc, args, kwargs)
    spent = time.perf_counter() - start
    n = int(sample.rows)
    edges = np.r_[np.arange(_EDGE_ROWS), np.arange(n - _EDGE_ROWS, n)]
    start = time.perf_counter()
    diff = _rows_differ(verifier, plan, sample, bound, result, edges)
    if diff is None:
        per_row = (time.perf_counter() - start) / len(edges)
        more = int(min(n * SAMPLE_SHARE, (ROW_SHARE * spent) / max(per_row, 1e-9)))
        if more > 0:
            rng = np.random.default_rng(n)
            middle = np.unique(rng.integers(_EDGE_ROWS, n - _EDGE_ROWS, more))
            diff = _rows_differ(verifier, plan, sample, bound, result, middle)
    if diff is _NOT_ROWS:
        return _decline(verifier, plan, "its result has no rows to compare", args, kwargs)
    if diff is not None:
        verifier.mismatch(plan, f"{diff} (checked on part of its rows)")
        return verifier.func(*args, **kwargs)
    verifier.table.settle(plan)
    return result


def kept_on_device(plan: Any) -> bool:
    """Whether ``plan`` keeps its device results on the device on purpose (level 4
    inside ``optlevel.on_device()``): they are compared as host copies."""
    on_host = getattr(plan.prepared, "compare_on_host", None)
    return on_host is not None and bool(on_host())


def _rows_differ(verifier: Any, plan: Any, sample: Sample, bound: Any, result: Any,
                 rows: np.ndarray) -> Any:
    """How ``rows`` of ``result`` differ from plain Python's on those rows, or None."""
    part = _rows_of(host_copy(result) if kept_on_device(plan) else result, rows)
    if part is _NOT_ROWS:
        return _NOT_ROWS
    cut_args, cut_kwargs = _cut(bound, sample.params, rows)
    diff = compare(part, verifier.func(*cut_args, **cut_kwargs))
    return None if diff is None or diff.repairable else diff.text


def _check_smaller(verifier: Any, plan: Any, sample: Sample, bound: Any, args: tuple,
                   kwargs: dict) -> Any:
    """The plan and plain Python on a smaller call: the first rows of every array, or,
    where plain Python raises on that (``a @ b`` cut on both sides), the first rows of
    one array with the others whole."""
    arrays = [name for name, value in bound.arguments.items()
              if type(value) is np.ndarray and value.ndim]
    # every array cut, then (with two or more) each one alone
    cuts: list[tuple[str, ...] | None] = [None]
    if len(arrays) > 1:
        cuts += [(name,) for name in arrays]
    expected: Any = None
    for params in cuts:
        small_args, small_kwargs = _cut(bound, params, slice(0, int(sample.rows)))
        # both sides on copies: the rows are views of the caller's arrays, which the
        # whole call (or plain Python) must still find untouched
        plain_args, plain_kwargs = snapshot_args(small_args, small_kwargs)
        expected = _outcome(verifier.func, plain_args, plain_kwargs, ())
        if not isinstance(expected, BaseException):
            break
    if isinstance(expected, BaseException):
        why = f"a smaller call raises {type(expected).__name__} in plain Python"
        return _decline(verifier, plan, why, args, kwargs)
    small_args, small_kwargs = snapshot_args(small_args, small_kwargs)
    outcome = _outcome(plan.prepared.fn, small_args, small_kwargs, plan.catch)
    if isinstance(outcome, BaseException):
        verifier.mismatch(plan, f"a smaller call raised {type(outcome).__name__} where "
                                "plain Python returned")
        return verifier.func(*args, **kwargs)
    diff = compare(host_copy(outcome) if kept_on_device(plan) else outcome, expected)
    for i, (a, b) in enumerate(zip(small_args, plain_args)):
        if diff is None and type(a) is np.ndarray:
            diff = compare(a, b, f"argument {i} after the call")
    if diff is not None and not diff.repairable:
        verifier.mismatch(plan, f"{diff.text} (checked on a call of its first "
                                f"{int(sample.rows)} rows)")
        return verifier.func(*args, **kwargs)
    verifier._learned(plan, diff.converter if diff else None, outcome)
    verifier.table.settle(plan)
    return plan.run_settled(*args, **kwargs)


def _outcome(fn: Callable[..., Any], args: tuple, kwargs: dict, catch: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except catch:
        raise
    except Exception as exc:  # compared with the other side's outcome by the caller
        return exc


def _decline(verifier: Any, plan: Any, why: str, args: tuple, kwargs: dict,
             trusted: bool = False) -> Any:
    """No part of this call can be checked. A plan of a ``trusted_unchecked`` backend
    (level 2) of a function whose analysis flagged nothing to prove runs, as before
    checks existed; any other plan is checked on the whole call: plain Python runs on
    the caller's arguments and the plan on copies, so this call costs what plain
    Python costs (waiting for a smaller call instead let plain Python answer every
    call of this size: level 3's list splits ran at 1.09x where they run at 1.83x)."""
    if trusted and not verifier.features.verify_reasons:
        verifier.table.settle(plan, f"first call not checked: too large to verify in full "
                                    f"and no part of it can be checked ({why})")
        return plan.prepared.fn(*args, **kwargs) if plan.converter is None \
            else plan.run_settled(*args, **kwargs)
    plan.note = (f"first call checked in full, at plain Python's cost: no part of it "
                 f"can be checked ({why})")
    return verifier.full_check(plan)(*args, **kwargs)
