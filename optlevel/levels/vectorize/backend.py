"""Level 1: loops run as NumPy expressions on whole arrays, and arrays handed over
in the memory order their loops walk.

What the rewrite does and why it is exact is in :mod:`optlevel.levels.vectorize.analysis`
(:mod:`~optlevel.levels.vectorize.codegen` for the generated code, which runs the
original loop whenever its run-time checks do not hold). This module decides when
it applies and pays, builds the function, and checks its first call per signature
against plain Python on copies of the arguments: a difference declines the
signature with a ``ResultMismatchWarning`` (level 0 then serves it).
"""

from __future__ import annotations

import ast
import builtins
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from ...analysis import ArgSignature, FunctionFeatures
from ...analysis.source import unwrap_callable
from .advice import advise
from .layout import copy_plan
from .names import PURE_BUILTINS
from .rewrite import SUM_ORDERS, Rewrite, compile_rewrite, rewrite_for
from ...errors import ConfigError, ResultMismatchWarning, warn_once
from ...core.verify import compare, snapshot_args
from ...contract import YES, BackendBase, Decline, Estimate, Prepared, Verdict

#: Until measured (``optlevel calibrate``): a Python loop step, a vectorized element,
#: the fixed cost of the vectorized block's checks, a strided pass and a transposing
#: copy, per element, on the 2-core development machine.
DEFAULTS = {"vectorize.loop_ns": 250.0, "vectorize.vector_ns": 8.0,
            "vectorize.overhead_s": 3e-5, "vectorize.strided_ns": 6.0,
            "vectorize.copy_ns": 7.6}
_BUILTINS_OK = PURE_BUILTINS | {"range", "enumerate", "zip", "isinstance", "reversed"}


class VectorizeBackend(BackendBase):
    name = "vectorize"
    level = 1
    options = {"sum_order": "level 1: how rewritten reductions add their terms: 'auto' "
                            "(default: the loop's order for float32 and narrower, pairwise "
                            "for float64), 'loop' (always the loop's order, bit for bit "
                            "its result) or 'pairwise' (like np.sum: faster, the last bits "
                            "may differ)"}

    def available(self, settings: Any) -> Verdict:
        if int(np.__version__.split(".")[0]) < 2:
            return Verdict(False, "NumPy < 2 promotes scalars by value (before NEP 50), so "
                                  "a loop over elements and its array form can differ in "
                                  "dtype")
        return YES

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        """Declines only a function it could vectorize but must not (I/O, helpers it
        would run twice, GPU arrays); with nothing to vectorize it "does not pay"
        (:meth:`estimate`), which is no reason to warn about a fallback."""
        if not features.has_source:
            return YES  # estimate: nothing to vectorize
        advise(features, signature)
        n = max((a.size for a in signature.args if a.kind == "numpy"), default=0)
        host_only = all(a.kind == "numpy" for a in signature.arrays)
        if host_only and n < TINY_ELEMENTS and not _hoists(features):
            # decided before the rewrite is built (tens of ms, once per function)
            return Verdict(False, f"{n} elements: too few for the vectorized form's fixed "
                                  "cost to pay", kind="pays")
        rewrite = rewrite_for(features, _order(features))
        if not rewrite.ok and not features.vectorize.walks:
            return YES
        why = _function_verdict(features) or _argument_verdict(signature)
        return Verdict(False, why) if why else YES

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        if not features.has_source:
            return Estimate("no", f"nothing to vectorize: {features.source.reason}")
        rewrite = rewrite_for(features, _order(features))
        if not rewrite.ok:
            plan = _layout_plan(features, signature, profile)
            if plan:
                return Estimate("yes", f"hands {_layout_text(plan)} to the function")
            return Estimate("no", f"nothing to vectorize ({rewrite.reason}) and no layout "
                                  "copy that pays for these arguments")
        n = max((a.size for a in signature.args if a.kind == "numpy"), default=0)
        loop, vector, overhead = (_measured(profile, key) for key in (
            "vectorize.loop_ns", "vectorize.vector_ns", "vectorize.overhead_s"))
        quadratic = _hoists(features)
        plain = n * loop * 1e-9 * (n if quadratic else 1)
        fast = overhead + n * vector * 1e-9
        lines = ", ".join(f"{line} ({rule})" for line, rule in rewrite.loops)
        if rewrite.nested:
            return Estimate("trial", f"the vectorized loop at line {lines} runs inside "
                                     "another loop, which pays its fixed cost once per "
                                     "outer iteration: the first calls measure level 1 "
                                     "against level 0")
        if fast >= plain:
            return Estimate("no", f"{n} elements: the vectorized form's fixed cost "
                                  f"(~{overhead * 1e6:.0f} µs) is more than the loop's "
                                  f"(~{plain * 1e6:.1f} µs)")
        why = (f"vectorizes the loop at line {lines}: predicted {plain / fast:.0f}x faster "
               "than plain Python")
        if quadratic:  # a compiler keeps recomputing x.mean() per element; this does not
            return Estimate("yes", why + " (work hoisted out of the loop)", fast)
        return Estimate("yes", why)

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        from ...core.calibrate import profile_for

        start = time.perf_counter()
        kwargs = kwargs or {}
        rewrite = rewrite_for(features, _order(features))
        plan = _layout_plan(features, signature, profile_for(settings))
        if not rewrite.ok and not plan:
            raise Decline(f"nothing to vectorize: {rewrite.reason}", warn=False)
        if unwrap_callable(func) is not func or not isinstance(func, types.FunctionType):
            raise Decline("it is wrapped by another decorator, which level 1 would skip")
        fn = compile_rewrite(rewrite, func) if rewrite.ok else func
        if plan:
            fn = _with_layout(fn, features.params, plan)
        _check_first_call(fn, func, features, signature, args, kwargs)
        return Prepared(fn, time.perf_counter() - start, note=_note(rewrite, plan))

    def calibrate(self, profile: Any, quick: bool = False) -> None:
        for key in _MEASURES:
            _measured(profile, key, refresh=True, quick=quick)


# -- applies ---------------------------------------------------------------------------

def _order(features: FunctionFeatures) -> str:
    order = features.options.get("sum_order", "auto")
    if order not in SUM_ORDERS:
        raise ConfigError(f"{features.name}: sum_order={order!r} is not valid: use one of "
                          f"{', '.join(repr(o) for o in SUM_ORDERS)}")
    return order


def _function_verdict(features: FunctionFeatures) -> str:
    """Why the function itself rules level 1 out ('' when it does not)."""
    if features.vectorize.error:
        return f"the level-1 analysis failed ({features.vectorize.error})"
    if features.is_generator or features.is_async:
        return "generators and async functions run as written"
    if features.semantic_blockers:
        return f"{features.semantic_blockers[0]}: runs in Python to keep its meaning"
    if features.global_writes:
        return f"it writes the global {sorted(features.global_writes)[0]}"
    outside = _writes_outside(features)
    if outside:
        return (f"it changes {outside}, which is not its own: the first call's check "
                "against plain Python would change it twice")
    for name in features.called_globals:
        if not _pure_callee(features, name):
            return (f"it calls {name}(), which the first call's check against plain "
                    "Python would run twice")
    return ""


def _writes_outside(features: FunctionFeatures) -> str:
    """The first name the function writes into (``G[i] = …``, ``G.fill(0)``,
    ``out=G``) that is neither a parameter nor its own local: module state."""
    tree = features.source.tree
    if tree is None:
        return ""
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
           and isinstance(n.ctx, ast.Store)} | set(features.params)
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(
                node.ctx, (ast.Store, ast.Del)):
            targets.append(node)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                targets.append(node.func.value)
            targets += [kw.value for kw in node.keywords if kw.arg == "out"]
        for target in targets:
            root = target
            while isinstance(root, (ast.Subscript, ast.Attribute)):
                root = root.value
            if isinstance(root, ast.Name) and root.id not in own:
                return root.id
    return ""


_MUTATORS = frozenset("fill sort resize put itemset partition setfield setflags append "
                      "extend insert pop remove clear update copyto".split())


def _pure_callee(features: FunctionFeatures, name: str) -> bool:
    func = getattr(features, "function", None)
    namespace = getattr(func, "__globals__", {}) or {}
    if name not in namespace:
        return name in _BUILTINS_OK and hasattr(builtins, name)
    value = namespace[name]
    module = getattr(value, "__module__", "") or ""
    return isinstance(value, np.ufunc) or module.split(".")[0] in ("numpy", "math")


def _argument_verdict(signature: ArgSignature) -> str:
    for arg in signature.args:
        if arg.kind in ("cupy", "torch"):
            return (f"argument {arg.name!r} is a {arg.kind} array; level 1 vectorizes loops "
                    "over NumPy arrays")
    if not any(a.kind == "numpy" for a in signature.args):
        return "no NumPy array argument: the rewrite runs on NumPy arrays"
    return ""


#: Below this many elements the rewrite's fixed cost (30-45 µs measured) is more than a
#: loop's (40-100 ns an element), unless it hoists whole-array work out of the loop.
TINY_ELEMENTS = 256


def _hoists(features: FunctionFeatures) -> bool:
    """Does the rewrite take whole-array work (x.mean()) out of a loop?"""
    return any(d.rule == "OL104" and d.rewrite for d in features.vectorize.diagnostics)


# -- costs -------------------------------------------------------------------------------

def _measured(profile: Any, key: str, refresh: bool = False, quick: bool = True) -> float:
    """A calibrated cost from the machine profile (measured on first need)."""
    if profile is None:
        return DEFAULTS[key]
    measure = _MEASURES[key]
    try:
        value = profile.measure(key, lambda: measure(quick), refresh=refresh)
        return float(value)
    except (TypeError, ValueError):  # an old or hand-edited profile: the defaults hold
        return DEFAULTS[key]


def _reference(x: Any, t: Any) -> Any:
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > t:
            s += x[i] * 2.0
    return s


def _median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def _reference_rewrite() -> Callable[..., Any]:
    from ...analysis import analyze

    return compile_rewrite(rewrite_for(analyze(_reference)), _reference)


def _loop_ns(quick: bool) -> float:
    x = np.random.default_rng(0).random(2000 if quick else 20000)
    return _median_seconds(lambda: _reference(x, 0.5), 3) / x.size * 1e9


def _vector_ns(quick: bool) -> float:
    fast = _reference_rewrite()
    x = np.random.default_rng(0).random(200_000 if quick else 2_000_000)
    return _median_seconds(lambda: fast(x, 0.5), 3) / x.size * 1e9


def _overhead_s(quick: bool) -> float:
    fast = _reference_rewrite()
    x = np.random.default_rng(0).random(8)
    return _median_seconds(lambda: fast(x, 0.5), 21 if quick else 201)


def _strided_ns(quick: bool) -> float:
    side = 512 if quick else 2048
    c = np.random.default_rng(0).random((side, side))
    f = np.asfortranarray(c)

    def columns(x: np.ndarray) -> None:
        for j in range(x.shape[1]):
            x[:, j].sum()

    slow = _median_seconds(lambda: columns(c), 3)
    fast = _median_seconds(lambda: columns(f), 3)
    return max(slow - fast, 0.0) / c.size * 1e9


def _copy_ns(quick: bool) -> float:
    side = 512 if quick else 2048
    c = np.random.default_rng(0).random((side, side))
    return _median_seconds(lambda: np.asfortranarray(c), 3) / c.size * 1e9


_MEASURES: dict[str, Callable[[bool], float]] = {
    "vectorize.loop_ns": _loop_ns, "vectorize.vector_ns": _vector_ns,
    "vectorize.overhead_s": _overhead_s, "vectorize.strided_ns": _strided_ns,
    "vectorize.copy_ns": _copy_ns}


# -- layout ------------------------------------------------------------------------------

def _layout_plan(features: FunctionFeatures, signature: ArgSignature,
                 profile: Any) -> dict[str, str]:
    walks = list(features.vectorize.walks)
    if not walks or features.source.tree is None:
        return {}
    if not any(a.kind == "numpy" and a.layout in ("C", "F") and len(a.shape or ()) >= 2
               for a in signature.args):
        return {}
    return copy_plan(walks, signature, features.source.tree, features.mutated_params,
                     _measured(profile, "vectorize.strided_ns"),
                     _measured(profile, "vectorize.copy_ns"))


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


# -- the first call's check ----------------------------------------------------------------

def _check_first_call(fast: Callable[..., Any], func: Callable[..., Any],
                      features: FunctionFeatures, signature: ArgSignature, args: tuple,
                      kwargs: dict) -> None:
    """Run ``fast`` and ``func`` on copies of the first call's arguments; a different
    result, a different in-place write or a different exception declines."""
    plain_args, plain_kwargs = snapshot_args(args, kwargs)
    fast_args, fast_kwargs = snapshot_args(args, kwargs)
    expected, plain_exc = _run(func, plain_args, plain_kwargs)
    result, fast_exc = _run(fast, fast_args, fast_kwargs)
    if plain_exc is not None or fast_exc is not None:
        if type(plain_exc) is type(fast_exc):
            return  # both raise alike: the real call will raise the same
        what = (f"it raised {type(fast_exc).__name__}" if fast_exc is not None
                else "it returned") + (f" where plain Python raised {type(plain_exc).__name__}"
                                       if plain_exc is not None else " where plain Python "
                                                                     "returned")
        _mismatch(features, signature, what)
    diff = compare(result, expected)
    pairs = list(zip(fast_args, plain_args)) + [(fast_kwargs[k], plain_kwargs[k])
                                                 for k in plain_kwargs]
    for i, (a, b) in enumerate(pairs):
        if type(a).__eq__ is object.__eq__:  # compared by identity: a copy never equals
            continue
        diff = diff or compare(a, b, f"argument {i} after the call")
    if diff is not None:
        _mismatch(features, signature, diff.text)


def _run(fn: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[Any, Exception | None]:
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # a probe on copies: the user's real call decides later
        return None, exc


def _mismatch(features: FunctionFeatures, signature: ArgSignature, what: str) -> None:
    reason = f"its first call differed from plain Python's: {what}"
    warn_once((features.name, "vectorize-verify", str(signature)),
              f"{features.name}: level 1 (vectorize) gave a different result than plain "
              f"Python for ({signature}): {what}. This signature runs below level 1 now. "
              "Please report it with optlevel.explain(f, *args).", ResultMismatchWarning)
    raise Decline(reason, warn=False)


def _note(rewrite: Rewrite, plan: dict[str, str]) -> str:
    parts = []
    if rewrite.ok:
        loops = ", ".join(f"{line} ({rule})" for line, rule in rewrite.loops)
        parts.append(f"vectorized the loop at line {loops}")
    if plan:
        parts.append(f"copies {_layout_text(plan)}")
    return "; ".join(parts) + "; first call checked against plain Python"


