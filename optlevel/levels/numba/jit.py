"""Level 2: Numba ``njit`` in nopython mode, cached on disk.

The AST pre-check (:class:`~optlevel.analysis.FunctionFeatures`) declines what
Numba cannot compile before a compile is paid for, and the catalogue
(:mod:`.catalogue`, found by :mod:`.semantics`) declines what it would compile to
mean something else, per call signature; plain Python helpers the function calls
are compiled too, with checked ``int``/``math`` and guarded globals
(:mod:`.helpers`, :mod:`.guard`); compiled code goes to
``OPTLEVEL_CACHE_DIR/numba`` so a second process loads instead of compiling
(:mod:`.cache`). Functions without source are compiled from their bytecode; auto
decides by a measured trial and verifies their first call.

Nothing here imports Numba until a function is built.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from typing import Any

from ...analysis import ArgSignature, FunctionFeatures
from ...arrays import ArgKind
from ...contract import YES, BackendBase, Code, Decline, Estimate, Pays, Prepared, Verdict
from ...core import collector
from ...core.runtime import RUNTIME
from .arguments import arg_verdict, argument_types
from .catalogue import SemanticFinding, declines, guards, replayed
from .guard import (
    ArgumentBeyondInt64,
    RebuildDeclined,
    Rebuilt,
    Replay,
    Replayed,
    ReplayPlan,
    guarded,
)
from .messages import first_line, trim_numba_error
from .returns import result_type, starting_values, undecided_type
from .semantics import call_findings

__all__ = ["NumbaBackend", "replay_findings"]

#: (Numba dispatcher, argument types) → (why they failed to compile, its code);
#: never retried.
_failed = RUNTIME.cache("numba.failed_signatures", maxsize=4096)


class NumbaBackend(BackendBase):
    name = "numba"
    level = 2
    requires: tuple[str, ...] = ("numba",)
    compiles = True
    trusted_unchecked = True
    install_hint = "pip install numba  (or: pip install optlevel, which depends on it)"

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        # Numba reads bytecode, so no source is no refusal here (the shared
        # preconditions would refuse it): only what is not a Python function is.
        if not isinstance(features.function, types.FunctionType):
            return Verdict(False, features.source.reason,  # builtins, ufuncs, C functions
                           code=Code.UNSUPPORTED)
        # What compiled code would mean differently first: its reason names the entry.
        declined = declines(_call_findings(features, signature))
        if declined:
            return Verdict(False, str(declined[0]), code=declined[0].detail)  # its SEM id
        if features.numba_blockers:
            first = features.numba_blockers[0]
            return Verdict(False, f"Numba cannot compile {first}", code=Code.UNSUPPORTED)
        if features.is_generator or features.is_async:
            kind = "generator" if features.is_generator else "async"
            return Verdict(False, f"Numba cannot compile a {kind} function",
                           code=Code.UNSUPPORTED)
        for arg in signature.args:
            verdict = arg_verdict(arg)
            if not verdict:
                return verdict
        why = undecided_type(features.function, features, signature)
        if why:
            return Verdict(False, why, code="SEM027")
        return YES

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        """Level 2 pays where the time is in Python-level loops; already-vectorized
        NumPy stays lower, since ``njit`` of vectorized NumPy is often slower. Without
        source the loops cannot be seen: the first calls measure it."""
        if not features.has_source:
            return Estimate(Pays.TRIAL, f"no source ({features.source.reason}): the AST "
                                        "findings (loops, the catalogue's checks) are "
                                        "missing, so under auto the first calls measure "
                                        "level 2 against level 0 (an explicit level compiles "
                                        "at once), and the first compiled call is verified",
                            explicit_trial=False)
        hot = [loop for loop in features.loops if loop.hot]
        if not hot:
            return Estimate(Pays.NO, "no Python-level loops: vectorized NumPy already runs "
                                     "compiled code, and njit would not pay")
        lines = ", ".join(str(loop.line) for loop in hot[:4])
        loops_call_numpy = guards(_call_findings(features, signature), "SEM030")
        if features.scalar_hot_loops and loops_call_numpy:
            # each element pays a call of NumPy's own loop (about 20 ns), which NumPy
            # itself pays once per array: level 1's vectorized form may be faster
            return Estimate(Pays.TRIAL, f"the loops (line {lines}) compile, but line "
                                        f"{loops_call_numpy[0].line} calls NumPy's own "
                                        "loop once per element (SEM030), which "
                                        "vectorized NumPy may beat: the first calls measure "
                                        "level 2 against the next best")
        if features.scalar_hot_loops:
            return Estimate(Pays.YES, f"Python-level loops (line {lines}) compile to "
                                      "machine code")
        return Estimate(Pays.TRIAL, f"the loops (line {lines}) call NumPy on whole arrays, "
                                    "which compiled code may not speed up: the first calls "
                                    "measure level 2 against level 0")

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        from numba.core.errors import NumbaError

        from .helpers import jit_dispatcher

        start = time.perf_counter()
        found = _call_findings(features, signature)
        # Python's ZeroDivisionError where every division that may meet zero divides
        # Python numbers (SEM004); NumPy's inf/nan rules otherwise.
        error_model = "python" if guards(found, "SEM004") else "numpy"
        built = jit_dispatcher(func, features, settings, error_model)
        argtypes = argument_types(built.disp.py_func, args, kwargs or {})
        _compile(built.disp, argtypes)

        def rebuild() -> Rebuilt:
            """A global, cell or helper's global the code froze changed: the code for
            the new values, with the replay plan its own code needs (a global divisor
            now 0 can replay where the code built for 3 could not)."""
            new = _rebuild(func, features, settings, error_model)
            try:
                _compile(new.disp, argtypes)
            except Decline as exc:
                raise RebuildDeclined(f"a global it reads changed, and then: {exc.reason}") \
                    from None
            check, _, plan = _plan(new, signature, features, may_replay(new, argtypes),
                                   starts)
            return Rebuilt(new, check, plan)

        # a result whose type depends on the branches taken (``total = 0``, then
        # ``total += x[i]`` under an if): one equal to the start replays, any other is
        # the NumPy scalar type the other branches give
        found = starting_values(func, features, signature)
        starts, returns = found if found is not None else ((), None)
        check_ints, unfit, plan = _plan(built, signature, features,
                                        may_replay(built, argtypes), starts)
        fn = guarded(built.disp, built.guards, rebuild, check_ints, plan)
        return Prepared(fn, time.perf_counter() - start, (NumbaError, RebuildDeclined),
                        unfit_errors=unfit,
                        result_type=returns or result_type(func, features, signature))


def replay_findings(features: FunctionFeatures, signature: ArgSignature
                    ) -> list[SemanticFinding]:
    """The catalogue's findings for this call that level 2 guards by a replay."""
    return replayed(_call_findings(features, signature))


def _compile(disp: Any, argtypes: tuple) -> None:
    """Compile ``disp`` for ``argtypes``, or decline; a failure is remembered, so the
    same types (say, in another size class) decline at once."""
    key = (disp, argtypes)
    failure = _failed.get(key)
    if failure is None:
        try:
            with collector.paused():
                disp.compile(argtypes)
        except Exception as exc:  # a compiler bug must not break the user's call either
            failure = (_compile_error(exc), Code.BUILD_FAILED)
        else:
            changed = _changed_container(disp.overloads[argtypes].signature.return_type)
            if not changed:
                return
            failure = (f"it returns {changed}, which Numba would hand back as a "
                       "numba.typed container instead [SEM020]", "SEM020")
        _failed[key] = failure
    reason, code = failure
    raise Decline(reason, code=code)


def _compile_error(exc: Exception) -> str:
    from numba.core.errors import NumbaError

    if isinstance(exc, NumbaError):
        return f"Numba could not compile it: {trim_numba_error(exc)}"
    return f"Numba failed while compiling: {type(exc).__name__}: {first_line(str(exc))}"


def _call_findings(features: FunctionFeatures, signature: ArgSignature) -> tuple:
    """The catalogue's findings for this call (at decoration's, without source)."""
    if not features.has_source or features.function is None:
        return tuple(features.semantic_findings)
    return call_findings(features.function, features, signature)


def _rebuild(func: Callable[..., Any], features: FunctionFeatures, settings: Any,
             error_model: str) -> Any:
    """A global or cell the compiled code froze changed: build for its new value."""
    from .helpers import jit_dispatcher

    try:
        return jit_dispatcher(func, features, settings, error_model)
    except Decline as exc:
        raise RebuildDeclined(f"a global it reads changed, and then: {exc.reason}") from None


def may_replay(built: Any, argtypes: tuple) -> bool:
    """Can the code compiled for ``argtypes`` ask for a replay? Its checked ops chose
    their implementations from the types: where every one of them computes plainly
    (floats, arrays), no ``raise Replay`` is left in Numba's typed IR, and a function
    that writes into its arguments need not copy them first (a float division's
    zero test and a loop's deferred flag are lowered with no IR:
    :data:`.lowered.LOWERED_REPLAYS` names the functions that hold one). Code loaded
    from the disk cache has no IR to read: its object code is searched for the raised
    class (:func:`.cache._raises_replay`), and where that cannot be read it is taken
    to replay."""
    if built.replays:
        return True
    if not built.checked:
        return False
    from numba.core import ir

    from .guard import Replay

    cres = built.disp.overloads.get(argtypes)
    cached = getattr(getattr(cres, "library", None), "ol_replays", None)
    if cached is not None:  # loaded from the disk cache: read from its object code
        return bool(cached)
    blocks = getattr(getattr(cres, "type_annotation", None), "blocks", None)
    if not blocks:
        return True
    from .lowered import LOWERED_REPLAYS

    raising = (ir.StaticRaise, ir.Raise, ir.StaticTryRaise, ir.TryRaise)
    lowered = getattr(getattr(cres, "fndesc", None), "mangled_name", None) in LOWERED_REPLAYS
    if not lowered and not any(
            isinstance(stmt, raising) and getattr(stmt, "exc_class", Replay) is Replay
            for block in blocks.values() for stmt in block.body):
        return False
    return _replay_in_llvm(cres)


def _replay_in_llvm(cres: Any) -> bool:
    """Does the optimized machine code still raise :class:`~.guard.Replay`? A loop's
    deferred flag (:func:`.placement.defer_loops`) is a raise in the typed IR even
    where every op computes plainly (floats): LLVM folds it away, and then nothing
    needs copying. The raised class is pickled into a constant that names it."""
    try:
        text = cres.library.get_llvm_str()
    except Exception:  # no module kept: assume it can
        return True
    return any(line.startswith("@.const.pickledata.") and "Replay" in line
               for line in text.splitlines())


def _plan(built: Any, signature: ArgSignature, features: FunctionFeatures, replays: bool,
          starts: tuple[Any, ...] = ()
          ) -> tuple[bool, tuple[type[BaseException], ...], ReplayPlan | None]:
    """Whether the callable checks int arguments, the errors that mean "this call runs
    in plain Python" (a replay, or arguments that do not fit: that call runs at level 0;
    SEM017), and the replay plan. Numba raises OverflowError when a Python int argument
    does not fit int64; where compiled code can raise OverflowError itself, the callable
    checks int arguments first and raises its own error instead."""
    int_args = any(a.kind in (ArgKind.SCALAR, ArgKind.TUPLE) and a.type_name in ("int", "tuple")
                   for a in signature.args)
    overflow_is_ours = not built.raises_overflow and features.has_source
    check_ints = int_args and not overflow_is_ours
    unfit: tuple[type[BaseException], ...] = (Replayed,)
    if int_args:
        unfit += (ArgumentBeyondInt64,) if check_ints else (OverflowError,)
    catches: tuple[type[BaseException], ...] = ()
    replays = replays or bool(starts)  # an ambiguous result replays: copy what is written
    if replays:
        catches = (Replay,)
        if not built.proven_bounds:
            catches += (IndexError,)  # Numba's bounds check, or Python's own
    written = tuple(i for i, p in enumerate(features.params)
                    if p in features.mutated_params) if replays else ()
    names = tuple(sorted(features.mutated_params)) if replays else ()
    shapes = tuple((_position(features.params, a), k, _position(features.params, b), m, a, b)
                   for a, k, b, m in built.shape_checks)
    replay = ReplayPlan(catches, written, names, features.name, str(signature), shapes,
                        starts) if catches or shapes else None
    return check_ints, unfit, replay


def _position(params: tuple[str, ...], name: str) -> int:
    return params.index(name) if name in params else 1 << 30


def _changed_container(rtype: Any) -> str | None:
    """The part of a return type that would not come back as the plain function's
    container (typed dicts and typed lists), or None when the result is faithful."""
    from numba.core import types

    if isinstance(rtype, types.DictType):
        return "a dict"
    if isinstance(rtype, types.ListType):
        return "a typed list"
    if isinstance(rtype, types.BaseTuple):
        for item in getattr(rtype, "types", ()):
            found = _changed_container(item)
            if found:
                return found
    return None
