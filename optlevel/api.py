"""``optimize`` and the ``Optimized`` callable it returns.

The per-call fast path is ``Optimized.__call__``: resolve the ceiling from the
precedence chain, compute the argument key, look the plan up, run it, and count.
It runs in C where the optional extension was built (``_fastcall.c``, the base
class chosen by :mod:`optlevel._fastpath`) and as :meth:`Optimized._python_call`
otherwise; the two mean the same. Everything slower lives in
:mod:`optlevel.core.dispatch`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

import numpy as np

from . import stats as _stats
from ._fastpath import COMPILED, CallBase
from .analysis import ArgSignature, FunctionFeatures, signature_key
from .analysis.signature import SIZE_CLASS, other_key
from .arrays import FLAG_MASK, SCALAR_TYPES
from .config import CONTEXT_LEVEL, STATE, check_decorator_flags, settings
from .contract import RowKind
from .core.dispatch import Dispatcher
from .core.plan import Plan, PlanKey, PlanTable, covered
from .core.planner import MODE_AUTO, MODE_EXPLICIT, MODE_STRICT, Row
from .core.registry import known_options, option_problems
from .errors import ConfigError
from .ladder import MAX_LEVEL, Level, LevelLike

__all__ = ["optimize", "Optimized", "CallPlan"]

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
_ndarray = np.ndarray


@dataclasses.dataclass(frozen=True)
class CallPlan:
    """How a call would be planned, without running it (:meth:`Optimized.plan_call`):
    what :func:`optlevel.explain` reports."""

    function: str
    features: FunctionFeatures
    signature: ArgSignature
    ceiling: int
    mode: int
    #: one row per backend (failures recorded on earlier calls included)
    rows: tuple[Row, ...]
    #: the plan earlier calls of this signature realized, if any
    plan: Plan | None
    #: measured seconds per call by backend, over every plan earlier calls of this
    #: key ran (trial entrants and retired plans included)
    measured: dict[str, float] = dataclasses.field(default_factory=dict)


class Optimized(CallBase, Generic[P, R_co]):
    """A function run through the fastest level that applies; see :func:`optimize`.

    Typed as ``Optimized[P, R]``: calling it takes the decorated function's
    parameters and returns its return type. ``optlevel=`` in a call is outside that
    signature; ``f.with_level(n)(...)`` is the spelling a type checker accepts.

    Attributes
    ----------
    py_func : callable
        The original function, untouched.
    """

    def __init__(self, func: Callable[P, R_co], *, level: LevelLike = None,
                 strict: bool = False, verify: bool | None = None,
                 options: dict[str, Any] | None = None,
                 _dispatcher: Dispatcher | None = None, _bound: int | None = None,
                 _kind: str = "function"):
        functools.update_wrapper(self, func)
        self.py_func = func
        self.__optlevel_py_func__ = func
        self._level: int | None = Level.parse(level).value
        self._strict = bool(strict)
        self._bound = _bound
        self._kind = _kind
        self._options = dict(options or {})
        self._dispatcher = _dispatcher or Dispatcher(func, verify, self._options)
        self._table = self._dispatcher.table
        self._bind(self._table.plans, self._table.tally)  # the fast path reads them
        self._intercept = "optlevel" not in _parameters(func)
        self._head: tuple = (-1, None, 0, 0)  # see __call__
        if _dispatcher is None:
            _stats.register(self._dispatcher)

    def __copy__(self) -> Optimized[P, R_co]:
        """A shallow copy shares the plans (the compiled base's bound fields are not
        in ``__dict__``, so they are bound again here)."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._bind(self._table.plans, self._table.tally)
        return new

    def _python_call(self, *args: P.args, **kwargs: P.kwargs) -> R_co:
        # The fast path, in Python (``_fastcall.c`` does the same in C where it was
        # built, and hands calls with keyword arguments to this method). The argument
        # key is built inline for positional calls (the same items
        # :func:`~optlevel.analysis.signature_key` builds: dtype, rank, layout flags and
        # size class per array, the type per scalar), so dtypes, layouts and size
        # classes always reach the key. ``_head`` caches (settings generation, context
        # level, ceiling, mode): it is recomputed when either of the first two changes
        # (configure(), an env reload, ``with optlevel.level()``).
        if kwargs:
            if self._intercept and "optlevel" in kwargs:
                return self._call_at(args, kwargs)
            sig = signature_key(args, kwargs)
        else:
            items = []
            for a in args:
                t = type(a)
                if t is _ndarray:
                    items.append((a.dtype, a.ndim, a.flags.num & FLAG_MASK,
                                  SIZE_CLASS[a.size.bit_length()]))
                elif t in SCALAR_TYPES:
                    items.append(t)
                else:
                    items.append(other_key(a, t))
            sig = tuple(items)
        head = self._head
        context = CONTEXT_LEVEL.get()
        if head[0] != STATE.generation or head[1] != context:
            head = self._refresh(context)
        key = (head[2], head[3], sig)  # equal to its PlanKey
        plan = self._plans.get(key)
        if plan is None:
            plan = self._dispatcher.plan_for(key, args, kwargs, STATE.current or settings())
        # The first TIMED_CALLS (8) calls of a plan are timed; after them one call in 8
        # is, standing for the calls around it (two clock reads are a fifth of this
        # path). Literals, not plan.TIMED_CALLS: a global lookup costs here
        # (test_fastcall holds the two equal).
        n = plan.calls
        if n > 7 and n & 7:
            try:
                result = plan.fn(*args, **kwargs)
            except plan.catch as exc:
                return self._dispatcher.recover(plan, key, exc, args, kwargs,
                                                STATE.current or settings())
            plan.calls += 1  # read again: other threads count too
            return result
        start = perf_counter()
        try:
            result = plan.fn(*args, **kwargs)
        except plan.catch as exc:
            return self._dispatcher.recover(plan, key, exc, args, kwargs,
                                            STATE.current or settings())
        plan.time += (perf_counter() - start) * (8 if n > 7 else 1)
        plan.calls += 1  # read again: other threads count too
        if plan.watch is not None:
            plan.watch()
        return result

    if TYPE_CHECKING or not COMPILED:
        __call__ = _python_call

    def _plan_miss(self, key: tuple, args: tuple) -> Plan:
        """No plan for ``key`` yet (the compiled path's way into the dispatcher)."""
        return self._dispatcher.plan_for(key, args, {}, STATE.current or settings())

    def _recover(self, plan: Plan, key: tuple, exc: BaseException, args: tuple) -> Any:
        """``plan`` raised an error its backend declared (the compiled path's way)."""
        return self._dispatcher.recover(plan, key, exc, args, {},
                                        STATE.current or settings())

    def _refresh(self, context: int | None) -> tuple:
        """The settings or the context level changed: the ceiling again, and plans made
        under other settings dropped."""
        s = STATE.current or settings()
        if self._table.generation != STATE.generation:
            self._table.reset(STATE.generation)
        bound = self._bound if self._bound is not None else context
        head = (STATE.generation, context, *self._ceiling(bound, s))
        self._head = head
        return head

    def _call_at(self, args: tuple, kwargs: dict) -> Any:
        """A call with ``optlevel=`` (the slow path: the ceiling is computed here)."""
        bound = Level.parse(kwargs.pop("optlevel"),  # type: ignore[arg-type]
                            source="optlevel= value").value
        s = STATE.current or settings()
        ceiling, mode = self._ceiling(bound, s)
        table = self._table
        if table.generation != STATE.generation:
            table.reset(STATE.generation)
        key = (ceiling, mode, signature_key(args, kwargs))
        plan = table.plans.get(key) or self._dispatcher.plan_for(key, args, kwargs, s)
        start = perf_counter()
        try:
            result = plan.fn(*args, **kwargs)
        except plan.catch as exc:
            return self._dispatcher.recover(plan, key, exc, args, kwargs, s)
        plan.count(perf_counter() - start)  # sampled as the fast path samples
        return result

    def _ceiling(self, bound: int | None, s: Any) -> tuple[int, int]:
        """The ceiling and mode for a call. Precedence: ``optlevel=`` / ``with_level``,
        then ``with level():``, the decorator, the global level, and finally auto."""
        req = bound if bound is not None else CONTEXT_LEVEL.get()
        if req is None:
            req = self._level if self._level is not None else s.level.value
        if req is None:
            return (MAX_LEVEL if MAX_LEVEL <= s.cap else s.cap), MODE_AUTO
        mode = MODE_STRICT if (self._strict or s.strict) else MODE_EXPLICIT
        if req > s.cap:  # the global cap wins, and makes strictness moot
            return s.cap, MODE_EXPLICIT
        return req, mode

    def with_level(self, level: LevelLike) -> Optimized[P, R_co]:
        """A variant bound to ``level`` (above context managers and the decorator)."""
        lvl = Level.parse(level)
        return Optimized(self.py_func, level=self._level, strict=self._strict,
                         options=self._options, _dispatcher=self._dispatcher,
                         _bound=lvl.value, _kind=self._kind)

    def map(self, *iterables: Any, chunksize: int | None = None,
            progress: bool = False) -> list[R_co]:
        """Call the function on each item of ``iterables`` (like ``map``), in parallel
        (level 3's pools, or Dask/Ray per ``OPTLEVEL_EXECUTOR``); results in order.

        ``chunksize`` items go to a worker at a time (default: a few chunks per
        worker); ``progress=True`` shows a bar (needs tqdm or rich).
        """
        from .levels.parallel import run_map

        return run_map(self, iterables, chunksize=chunksize, progress=progress)

    def plan_call(self, *args: Any, **kwargs: Any) -> CallPlan:
        """How ``self(*args, **kwargs)`` would be planned now, without running it:
        the ceiling and mode the precedence chain gives (``optlevel=`` included), the
        planner's rows with the failures earlier calls recorded, and the plan earlier
        calls realized."""
        bound = self._bound
        if kwargs and self._intercept and "optlevel" in kwargs:
            kwargs = dict(kwargs)
            bound = Level.parse(kwargs.pop("optlevel"), source="optlevel= value").value
        s = settings()
        ceiling, mode = self._ceiling(bound, s)
        d = self._dispatcher
        key = PlanKey(ceiling, mode, signature_key(args, kwargs))
        signature, ranking = d.ranking(key, args, kwargs, s)
        rows = tuple(_with_failure(r, d.table, key.sig) for r in ranking.rows)
        return CallPlan(d.qualname, d.features, signature, ceiling, mode, rows,
                        d.plans.get(key), _measured(d.all_plans(), key))

    def precompile(self, *args: P.args, **kwargs: P.kwargs) -> list[Any]:
        """Compile now, for arguments like these, what a call would compile (the
        function does not run): every compiling backend the planner would try under
        this function's ceiling. Numba's disk cache is written, so a fresh process
        loads the code instead of compiling it. Returns one
        :class:`~optlevel.precompile.Compiled` per backend (built, or declined and why).

        Examples
        --------
        >>> import numpy as np
        >>> @optimize(level=2)
        ... def total(x):
        ...     s = 0.0
        ...     for i in range(x.shape[0]):
        ...         s += x[i]
        ...     return s
        >>> [c.backend for c in total.precompile(np.ones(10))]
        ['numba']
        """
        from .precompile import precompile

        return precompile(self, *args, **kwargs)

    def stats(self) -> _stats.FunctionStats:
        """Calls, time, realized level and fallbacks per argument signature."""
        return _stats.function_stats(self._dispatcher)

    @property
    def features(self) -> Any:
        """What the AST analysis found (:class:`~optlevel.analysis.FunctionFeatures`)."""
        return self._dispatcher.features

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Optimized[P, R_co]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> Callable[..., R_co]: ...

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if self._kind == "staticmethod":
            return self
        if self._kind == "classmethod":
            return types.MethodType(self, objtype if objtype is not None else type(obj))
        if obj is None:
            return self
        return types.MethodType(self, obj)

    def __repr__(self) -> str:
        lvl = "auto" if self._level is None else self._level
        return f"<optlevel.Optimized {self._dispatcher.qualname} level={lvl}>"


def _with_failure(row: Row, table: PlanTable, sig_key: tuple) -> Row:
    """``row`` as earlier calls left it: a backend that failed is not tried again."""
    failed = table.failures.get((row.backend, sig_key)) if row.backend else None
    if failed is None:
        return row
    return dataclasses.replace(row, tried=False, reason=f"not used: {failed.reason}",
                               kind=RowKind.DECLINED, code=str(failed.code) or row.code)


def _measured(plans: list[Plan], key: PlanKey) -> dict[str, float]:
    """Seconds per call by backend, over the plans of ``key`` that ran."""
    totals: dict[str, list[float]] = {}
    for plan in plans:
        if plan.key == key and plan.calls:
            found = totals.setdefault(plan.backend, [0.0, 0])
            found[0] += plan.time
            found[1] += covered(plan.calls)
    return {name: t / n for name, (t, n) in totals.items()}


def _parameters(func: Any) -> set[str]:
    try:
        return set(inspect.signature(func).parameters)
    except (TypeError, ValueError):  # builtins without a signature
        return set()


@overload
def optimize(func: Callable[P, R], *, level: LevelLike = ..., strict: bool = ...,
             verify: bool | None = ..., **options: Any) -> Optimized[P, R]: ...


@overload
def optimize(func: None = ..., *, level: LevelLike = ..., strict: bool = ...,
             verify: bool | None = ...,
             **options: Any) -> Callable[[Callable[P, R]], Optimized[P, R]]: ...


def optimize(func: Callable[..., Any] | None = None, *, level: LevelLike = None,
             strict: bool = False, verify: bool | None = None,
             **options: Any) -> Any:
    """Run ``func`` through the fastest optimisation level that applies.

    Parameters
    ----------
    func : callable, optional
        The function; omit it to use ``@optimize(...)`` with arguments.
    level : int or str, optional
        The ceiling: 0 (python), 1 (vectorize), 2 (jit), 3 (parallel), 4 (gpu), or
        ``"auto"`` (the configured ceiling). optlevel may pick any level up to it.
    strict : bool
        Run exactly ``level`` or raise :class:`~optlevel.LevelUnavailable`.
    verify : bool, optional
        Compare each new plan's first result with the plain function's
        (default: ``OPTLEVEL_VERIFY``).

    Returns
    -------
    Optimized
        A callable with the function's name, docstring and signature, plus
        ``.py_func``, ``.with_level(n)`` and ``.stats()``.

    Examples
    --------
    >>> import numpy as np
    >>> @optimize(level=2)
    ... def total(x):
    ...     s = 0.0
    ...     for i in range(x.shape[0]):
    ...         s += x[i]
    ...     return s
    >>> total(np.ones(10))
    10.0
    """
    Level.parse(level)  # validate now, at decoration
    check_decorator_flags(strict, verify)
    if options:
        known = known_options()
        unknown = set(options) - set(known)
        if unknown:
            valid = ", ".join(["level", "strict", "verify", *sorted(known)])
            raise ConfigError(f"unknown option(s) {', '.join(sorted(unknown))} for "
                              f"optimize(); valid keywords are {valid}")
        problems = option_problems(options)
        if problems:
            raise ConfigError(f"optimize(): {'; '.join(problems)}")

    def decorate(f: Callable[..., Any]) -> Any:
        common: dict[str, Any] = {"level": level, "strict": strict, "verify": verify,
                                  "options": options}
        if isinstance(f, Optimized):
            return Optimized(f.py_func, _kind=f._kind, **common)
        if isinstance(f, staticmethod):
            return Optimized(f.__func__, _kind="staticmethod", **common)
        if isinstance(f, classmethod):
            return Optimized(f.__func__, _kind="classmethod", **common)
        if not callable(f):
            raise TypeError(f"optimize() needs a function, got {type(f).__name__}")
        return Optimized(f, **common)

    return decorate if func is None else decorate(func)
