"""Level 1: loops run as NumPy expressions on whole arrays, and arrays handed over
in the memory order their loops walk.

What the rewrite does and why it is exact is in :mod:`optlevel.levels.vectorize.analysis`
(:mod:`~optlevel.levels.vectorize.codegen` for the generated code, which runs the
original loop whenever its run-time checks do not hold). This module decides when
it applies and pays (:mod:`.verdicts`, :mod:`.costs`) and builds the function. Its
first call per signature is checked by the core's one verification path
(``checks_first_call``), which also runs plain Python on copies of the arguments:
a difference warns with a ``ResultMismatchWarning`` and level 0 serves the signature.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ...analysis import ArgSignature, FunctionFeatures
from ...analysis.source import unwrap_callable
from ...arrays import ArgKind
from ...contract import (
    YES,
    BackendBase,
    Code,
    Decline,
    Estimate,
    Pays,
    Prepared,
    Verdict,
    VerdictKind,
)
from ...core.calibrate import profile_for
from ...errors import ConfigError
from . import costs
from .advice import advise
from .layout import copy_plan
from .rewrite import SUM_ORDERS, Rewrite, compile_rewrite, rewrite_for
from .verdicts import TINY_ELEMENTS, argument_verdict, function_verdict, hoists, largest_array


class VectorizeBackend(BackendBase):
    name = "vectorize"
    level = 1
    #: a rewrite proves itself on real data: the core checks every plan's first call
    #: against plain Python on copies of the arguments, whatever OPTLEVEL_VERIFY says
    checks_first_call = True
    options = {"sum_order": "level 1: how rewritten reductions add their terms: 'auto' "
                            "(default) and 'loop' (the loop's order, bit for bit its "
                            "result) or 'pairwise' (like np.sum: faster, the last bits "
                            "may differ)"}

    def check_option(self, name: str, value: Any) -> str | None:
        if name == "sum_order" and (type(value) is not str or value not in SUM_ORDERS):
            return f"use one of {', '.join(repr(o) for o in SUM_ORDERS)}"
        return None

    def available(self, settings: Any) -> Verdict:
        if int(np.__version__.split(".")[0]) < 2:
            return Verdict(False, "NumPy < 2 promotes scalars by value (before NEP 50), so "
                                  "a loop over elements and its array form can differ in "
                                  "dtype", code=Code.UNAVAILABLE)
        return YES

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        """Declines only a function it could vectorize but must not (I/O, helpers it
        would run twice, GPU arrays); with nothing to vectorize it "does not pay"
        (:meth:`estimate`), which is no reason to warn about a fallback."""
        if not features.has_source:
            return YES  # estimate: nothing to vectorize
        advise(features, signature)
        n = largest_array(signature)
        host_only = all(a.kind is ArgKind.NUMPY for a in signature.arrays)
        if host_only and n < TINY_ELEMENTS and not hoists(features):
            # decided before the rewrite is built (tens of ms, once per function)
            return Verdict(False, f"{n} elements: too few for the vectorized form's fixed "
                                  "cost to pay", kind=VerdictKind.PAYS, code=Code.PAYS)
        rewrite = rewrite_for(features, _order(features))
        if not rewrite.ok and not features.vectorize.walks:
            return YES
        verdict = function_verdict(features)
        if not verdict:
            return verdict
        return argument_verdict(signature)

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        if not features.has_source:
            return Estimate(Pays.NO, f"nothing to vectorize: {features.source.reason}")
        rewrite = rewrite_for(features, _order(features))
        if not rewrite.ok:
            plan = _layout_plan(features, signature, profile)
            if plan:
                return Estimate(Pays.YES, f"hands {_layout_text(plan)} to the function")
            return Estimate(Pays.NO, f"nothing to vectorize ({rewrite.reason}) and no "
                                     "layout copy that pays for these arguments")
        return _rewrite_estimate(features, rewrite, largest_array(signature), profile)

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        """The rewrite (and the layout copies), built for ``func``; its first call's
        check against plain Python is the core's (``checks_first_call``)."""
        start = time.perf_counter()
        rewrite = rewrite_for(features, _order(features))
        plan = _layout_plan(features, signature, profile_for(settings))
        if not rewrite.ok and not plan:
            raise Decline(f"nothing to vectorize: {rewrite.reason}", warn=False,
                          code=Code.DECLINED)
        _refuse_one_shot(args, kwargs or {})
        if unwrap_callable(func) is not func or not isinstance(func, types.FunctionType):
            raise Decline("it is wrapped by another decorator, which level 1 would skip",
                          code=Code.DECLINED)
        fn = compile_rewrite(rewrite, func) if rewrite.ok else func
        if plan:
            fn = _with_layout(fn, features.params, plan)
        return Prepared(fn, time.perf_counter() - start, note=_note(rewrite, plan))

    def calibrate(self, profile: Any, quick: bool = False) -> None:
        costs.calibrate(profile, quick)


def _refuse_one_shot(args: tuple, kwargs: dict) -> None:
    """Decline a call given a one-shot iterator (a generator, ``map``, ``iter(...)``):
    the first call's check runs the function twice, and the second run would find the
    iterator consumed (it cannot be copied either). Without the check a rewrite of a
    loop over an array the function builds from the iterator would go unproven."""
    if any(isinstance(v, Iterator) for v in (*args, *kwargs.values())):
        raise Decline("an argument is a one-shot iterator (a generator, map, iter()): "
                      "the first call's check against plain Python would consume it twice",
                      code=Code.DECLINED)


# -- applies ---------------------------------------------------------------------------

def _order(features: FunctionFeatures) -> str:
    order = features.options.get("sum_order", "auto")
    if order not in SUM_ORDERS:
        raise ConfigError(f"{features.name}: sum_order={order!r} is not valid: use one of "
                          f"{', '.join(repr(o) for o in SUM_ORDERS)}")
    return order


def _rewrite_estimate(features: FunctionFeatures, rewrite: Rewrite, n: int,
                      profile: Any) -> Estimate:
    """Does the rewrite pay for ``n`` elements: the loop's calibrated cost per element
    against the vectorized form's fixed checks plus its cost per element."""
    loop, vector, overhead = (costs.measured(profile, key) for key in (
        "vectorize.loop_ns", "vectorize.vector_ns", "vectorize.overhead_s"))
    quadratic = hoists(features)
    plain = n * loop * 1e-9 * (n if quadratic else 1)
    fast = overhead + n * vector * 1e-9
    lines = ", ".join(f"{line} ({rule})" for line, rule in rewrite.loops)
    if rewrite.nested:
        return Estimate(Pays.TRIAL, f"the vectorized loop at line {lines} runs inside "
                                    "another loop, which pays its fixed cost once per "
                                    "outer iteration: the first calls measure level 1 "
                                    "against level 0")
    if fast >= plain:
        return Estimate(Pays.NO, f"{n} elements: the vectorized form's fixed cost "
                                 f"(~{overhead * 1e6:.0f} µs) is more than the loop's "
                                 f"(~{plain * 1e6:.1f} µs)")
    why = (f"vectorizes the loop at line {lines}: predicted {plain / fast:.0f}x faster "
           "than plain Python")
    if quadratic:  # a compiler keeps recomputing x.mean() per element; this does not
        return Estimate(Pays.YES, why + " (work hoisted out of the loop)", fast)
    return Estimate(Pays.YES, why)


# -- layout ------------------------------------------------------------------------------

def _layout_plan(features: FunctionFeatures, signature: ArgSignature,
                 profile: Any) -> dict[str, str]:
    walks = list(features.vectorize.walks)
    if not walks or features.source.tree is None:
        return {}
    if not any(a.kind is ArgKind.NUMPY and a.layout in ("C", "F") and len(a.shape or ()) >= 2
               for a in signature.args):
        return {}
    return copy_plan(walks, signature, features.source.tree, features.mutated_params,
                     lambda: (costs.measured(profile, "vectorize.strided_ns"),
                              costs.measured(profile, "vectorize.copy_ns")))


def _layout_text(plan: dict[str, str]) -> str:
    return ", ".join(f"{name} in {'Fortran' if order == 'F' else 'C'} order"
                     for name, order in plan.items())


def _with_layout(fn: Callable[..., Any], params: tuple[str, ...],
                 plan: dict[str, str]) -> Callable[..., Any]:
    """``fn``, called with the planned arguments copied into their better order."""
    items = [(params.index(name), name, order) for name, order in plan.items()
             if name in params]

    def convert(value: Any, order: str) -> Any:
        if type(value) is not np.ndarray:
            return value
        return np.asfortranarray(value) if order == "F" else np.ascontiguousarray(value)

    def with_layout(*args: Any, **kwargs: Any) -> Any:
        args_list = list(args)
        for position, name, order in items:
            if position < len(args_list):
                args_list[position] = convert(args_list[position], order)
            elif name in kwargs:
                kwargs[name] = convert(kwargs[name], order)
        return fn(*args_list, **kwargs)

    return with_layout


def _note(rewrite: Rewrite, plan: dict[str, str]) -> str:
    parts = []
    if rewrite.ok:
        loops = ", ".join(f"{line} ({rule})" for line, rule in rewrite.loops)
        parts.append(f"vectorized the loop at line {loops}")
    if plan:
        parts.append(f"copies {_layout_text(plan)}")
    return "; ".join(parts) + "; first call checked against plain Python"
