"""Building a Numba ``parallel=True`` version of a function whose loops are independent.

The loops :mod:`optlevel.levels.parallel.split_loops` proved independent are rewritten
from ``range`` to ``numba.prange``; a reduction written with both ``+=`` and
``-=`` becomes ``+=`` of the negated term (Numba's parfors take one operator per
reduction variable; ``s - e`` and ``s + (-e)`` are the same floating-point
operation). The rewritten source goes to a file under ``OPTLEVEL_CACHE_DIR/prange``
so Numba's disk cache works for it; it runs in the globals of level 2's
dispatcher (compiled helpers, checked replacements) with level 2's options.

Numba does not carry exceptions out of a ``prange`` body (numba#2811), so the
rewrite counts the iterations that finished and returns that beside the result
(:func:`rewrite`); the backend reruns an unfinished call in level 2's serial
code, which raises what Python raises. Reductions are allowed only over numbers
(:func:`compile_checked`): Numba's parallel reduction of a ``str`` crashes the
process.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import os
import re
import secrets
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...analysis import FunctionFeatures
from ...contract import Code, Decline
from ...core import collector
from ..numba import trim_numba_error

__all__ = ["build_parallel", "rewrite", "compile_checked", "check_reductions",
           "order_sensitive", "read_and_written", "REORDER_REASON", "SUM_ORDERS"]

#: The values of the ``sum_order`` option (level 1 reads the same option).
SUM_ORDERS = ("auto", "loop", "pairwise")

_PRANGE = "__optlevel_prange__"
_LEN, _RANGE = "__optlevel_len__", "__optlevel_range__"
_OK = "__optlevel_finished__"


def rewrite(features: FunctionFeatures) -> ast.FunctionDef:
    """The function's AST with its independent loops over ``prange``, counting the
    iterations that finished, and returning ``(result, finished)``.

    Numba does not carry an exception raised in a ``prange`` body back to the caller
    (numba#2811): raised on a pool thread it is lost and that thread's remaining
    iterations are skipped; raised on the calling thread it surfaces as
    ``SystemError``. Each parallel loop therefore adds ``1`` to a counter at the end
    of every iteration (and before each ``continue``), and the function returns,
    beside its result, whether every loop finished all of its iterations. When one
    did not, the caller runs the call again in level 2's serial code, which raises
    what Python raises (:func:`optlevel.levels.parallel.backend_prange`).
    """
    tree = copy.deepcopy(features.source.tree)
    assert isinstance(tree, ast.FunctionDef)
    proofs = {lp.line: lp for lp in features.split.loops}
    body: list[ast.stmt] = [_assign(_OK, ast.Constant(True))]
    for k, stmt in enumerate(tree.body):
        proof = proofs.get(stmt.lineno) if isinstance(stmt, ast.For) else None
        if proof is None:
            body.append(stmt)
            continue
        assert isinstance(stmt, ast.For) and isinstance(stmt.iter, ast.Call)
        done, trip = f"__optlevel_done{k}__", f"__optlevel_trip{k}__"
        # The range's arguments are evaluated twice: the proof allows only plain
        # expressions there (names, attributes, len()).
        body.append(_assign(trip, ast.Call(ast.Name(_LEN, ast.Load()), [
            ast.Call(ast.Name(_RANGE, ast.Load()), copy.deepcopy(stmt.iter.args), [])], [])))
        body.append(_assign(done, ast.Constant(0)))
        stmt.iter.func = ast.Name(_PRANGE, ast.Load())
        added = {name for name, op in proof.reductions if op == "+"}
        for node in ast.walk(stmt):
            if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Sub) \
                    and isinstance(node.target, ast.Name) and node.target.id in added:
                node.op = ast.Add()
                node.value = ast.UnaryOp(ast.USub(), node.value)
        _CountIterations(done).count(stmt)
        body.append(stmt)
        body.append(ast.If(ast.Compare(ast.Name(done, ast.Load()), [ast.NotEq()],
                                       [ast.Name(trip, ast.Load())]),
                           [_assign(_OK, ast.Constant(False))], []))
    tree.body = body
    _ReturnFinished().visit(tree)
    tree.body.append(ast.Return(ast.Tuple([ast.Constant(None), ast.Name(_OK, ast.Load())],
                                          ast.Load())))
    tree.decorator_list = []
    return ast.fix_missing_locations(tree)


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign([ast.Name(name, ast.Store())], value)


class _CountIterations(ast.NodeTransformer):
    """Add ``done += 1`` at the end of a loop's body and before each of its
    ``continue`` statements (not those of nested loops)."""

    def __init__(self, done: str):
        self.done = done

    def _count(self) -> ast.AugAssign:
        return ast.AugAssign(ast.Name(self.done, ast.Store()), ast.Add(), ast.Constant(1))

    def count(self, loop: ast.For) -> None:
        loop.body = [self.visit(stmt) for stmt in loop.body] + [self._count()]

    def visit_Continue(self, node: ast.Continue) -> Any:
        return [self._count(), node]

    def visit_For(self, node: ast.For) -> ast.For:
        return node  # a nested loop's `continue` is its own

    visit_While = visit_For  # type: ignore[assignment]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return node


class _ReturnFinished(ast.NodeTransformer):
    """``return x`` → ``return (x, finished)`` in the function itself."""

    depth = 0

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        self.depth += 1
        if self.depth == 1:
            self.generic_visit(node)
        self.depth -= 1
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        return node

    def visit_Return(self, node: ast.Return) -> ast.Return:
        value = node.value if node.value is not None else ast.Constant(None)
        return ast.Return(ast.Tuple([value, ast.Name(_OK, ast.Load())], ast.Load()))


def build_parallel(func: Callable[..., Any], features: FunctionFeatures,
                   serial: Callable[..., Any], cache_dir: Path) -> tuple[Any, dict[str, Any]]:
    """A Numba dispatcher compiled with ``parallel=True`` over the rewritten source,
    and the globals it froze (name → value; a call re-checks them).

    ``serial`` is level 2's prepared callable for the same function: its dispatcher's
    globals (compiled helpers, checked replacements) and options are reused, so the
    parallel version means what level 2's does.
    """
    import numba

    # Level 2 hands back its dispatcher, or a guard function with __wrapped__ = dispatcher.
    disp0 = serial if hasattr(serial, "targetoptions") else getattr(serial, "__wrapped__", None)
    py_func = getattr(disp0, "py_func", None)
    options = dict(getattr(disp0, "targetoptions", {}) or {})
    if py_func is None:
        raise Decline("level 2 built no Numba dispatcher to take the globals from")
    if func.__code__.co_freevars or py_func.__code__.co_freevars:
        raise Decline("a closure: prange rebuilds the function from its source, which would "
                      "lose the closure's variables", code=Code.UNSUPPORTED)
    frozen = {name: func.__globals__[name] for name in sorted(features.loaded_globals)
              if name in func.__globals__}
    from ..numba.helpers import CHECKED_VERSION
    from ..numba.npreduce import CACHE_TAG
    from ..numba.npreduce import CALLED_OPS as SUMS
    from ..numba.rewrite import exact_sums

    tree = exact_sums(rewrite(features), func)  # NumPy's own sums, as level 2's
    # The header keys Numba's disk cache, which ignores options and frozen globals.
    text = (f"# optlevel prange of {func.__module__}.{func.__qualname__}; {CHECKED_VERSION}-"
            f"{CACHE_TAG}; "
            f"options {sorted(options.items())!r}; globals {_values_key(frozen)}; "
            f"level 2 froze {_serial_key(serial)}\n"
            + ast.unparse(tree) + "\n")
    path = _source_file(Path(cache_dir) / "prange", func, text)
    namespace = dict(py_func.__globals__)
    namespace.update({f"__ol_{k}": v for k, v in SUMS.items()})
    namespace[_PRANGE] = numba.prange
    namespace[_LEN], namespace[_RANGE] = len, range
    exec(compile(text, str(path), "exec"), namespace)  # noqa: S102 - our own rewrite
    rebuilt = namespace[tree.name]
    rebuilt.__defaults__ = func.__defaults__
    rebuilt.__kwdefaults__ = func.__kwdefaults__
    options.pop("nopython", None)  # njit implies it (and warns when it is given)
    options.update(parallel=True, cache=True)
    return numba.njit(**options)(rebuilt), frozen


def _serial_key(serial: Any) -> str:
    """The values level 2's code froze, its helpers' globals included (a helper's
    ``K = 3.0`` compiles into this code through level 2's helpers, and Numba's disk
    cache would otherwise hand back the code built for another value)."""
    in_globals, in_cells = getattr(serial, "frozen", lambda: ((), ()))()
    parts = [f"{owner.get('__name__', '?')}.{name}" for owner, name, _ in in_globals]
    values = [value for _, _, value in in_globals] + [value for _, value in in_cells]
    return _values_key(dict(zip(parts + [f"cell{k}" for k in range(len(in_cells))],
                                values)))


def _values_key(frozen: dict[str, Any]) -> str:
    parts = []
    for name, value in frozen.items():
        code = getattr(getattr(value, "py_func", value), "__code__", None)
        if code is not None:
            parts.append(f"{name}:{hashlib.sha1(code.co_code).hexdigest()[:12]}")
        elif isinstance(value, (int, float, complex, bool, str, type(None))):
            parts.append(f"{name}={value!r}")
        else:
            parts.append(f"{name}:{type(value).__name__}")
    return hashlib.sha1(";".join(parts).encode()).hexdigest()[:16]


def _source_file(directory: Path, func: Callable[..., Any], text: str) -> Path:
    """Write ``text`` once (an unchanged file keeps Numba's cache valid).

    Several threads and processes may make the first call together: each writes its
    own temporary file (named by process, thread and a random token) and renames it
    into place atomically, so none can rename or read another's half-written file.
    """
    digest = hashlib.sha1(text.encode()).hexdigest()
    safe = re.sub(r"\W", "_", func.__qualname__)[:40]
    path = directory / f"{safe}_{digest[:12]}.py"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}."
                             f"{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)  # atomic: a reader sees the old file or the new one
        finally:
            tmp.unlink(missing_ok=True)
    return path


def compile_checked(disp: Any, argtypes: tuple) -> None:
    """Compile for ``argtypes``; decline if Numba would run the loop serially anyway."""
    from numba.core.errors import NumbaError, NumbaPerformanceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NumbaPerformanceWarning)
        try:
            with collector.paused():
                disp.compile(argtypes)
        except NumbaError as exc:
            raise Decline(f"Numba could not compile the parallel loop: "
                          f"{trim_numba_error(exc)}") from None
        except Exception as exc:  # a compiler bug (an AssertionError on a str reduction)
            raise Decline(f"Numba failed while compiling the parallel loop: "  # is no
                          f"{type(exc).__name__}: {exc}") from None  # user error
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, NumbaPerformanceWarning) and "parallel" in text:
            raise Decline(f"Numba would run the loop serially: {text.splitlines()[0]}")


def check_reductions(serial: Any, args: tuple, kwargs: dict, reductions: tuple[str, ...],
                     summed: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Decline unless every reduction variable is a number (or an array of numbers) in
    level 2's function ``serial`` for these arguments.

    Numba's parallel reductions are safe only over numbers: a ``str`` accumulator
    (``out += s``) either crashes its compiler or compiles to code that corrupts the
    heap and kills the process (SIGSEGV). The types come from level 2's typing of
    the same call, before anything is compiled in parallel.

    Returns those of ``summed`` (the ``+`` and ``*`` reductions) that are floats or
    complex numbers: their result depends on the order (:data:`REORDER_REASON`).
    """
    from numba.core import types

    if not reductions:
        return ()
    disp = serial if hasattr(serial, "overloads") else getattr(serial, "__wrapped__", None)
    typemap = _typemap(disp, args, kwargs) if disp is not None else None
    if typemap is None:  # cannot tell: refuse rather than risk a crash
        raise Decline(f"the types of the reductions ({', '.join(reductions)}) are unknown",
                      code=Code.DECLINED)
    inexact = set()
    for var, typ in typemap.items():
        name = var.split(".")[0]
        item = typ.dtype if isinstance(typ, types.Array) else typ
        if name in reductions and not isinstance(item, (types.Number, types.Boolean)):
            raise Decline(f"the loop reduces {name} of type {typ}: Numba's parallel "
                          "reductions are safe only over numbers and arrays of numbers",
                          code=Code.DECLINED)
        if name in summed and isinstance(item, (types.Float, types.Complex)):
            inexact.add(name)
    return tuple(sorted(inexact))


#: Why prange keeps a float sum or product in the loop's order unless asked not to.
REORDER_REASON = (
    "the loop adds or multiplies floats into {names}: in parallel each thread would "
    "start its own partial result, so the terms would be combined in another order "
    "than the loop's, and with cancellation the result can change in every digit "
    "(the terms np.tile([1e16, 1, -1e16, 1], n) add up to 1.0 in the loop's order, to "
    "2.0 on two threads); level 2 keeps the loop's order. "
    "@optimize(sum_order='pairwise') allows the reordering, and the first call of "
    "each signature is then checked against the plain function")


def read_and_written(features: FunctionFeatures) -> tuple[str, ...]:
    """Parameters a proven loop writes *and* reads (``out[i] += v``, ``v = out[i]``):
    a serial rerun after a failed parallel run would apply their updates twice, so
    their contents are saved before each parallel run. Parameters that are only
    written (``out[i] = v``) are recomputed identically by the rerun."""
    tree = features.source.tree
    lines = {lp.line: set(lp.written_params) for lp in features.split.loops}
    found: set[str] = set()
    for stmt in getattr(tree, "body", ()):
        written = lines.get(getattr(stmt, "lineno", -1)) if isinstance(stmt, ast.For) \
            else None
        if not written:
            continue
        stores = {id(t.value) for node in ast.walk(stmt)
                  if isinstance(node, ast.Assign) for t in node.targets
                  if isinstance(t, ast.Subscript)}
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id in written and \
                    id(node) not in stores:
                found.add(node.id)  # read (an AugAssign's target reads it too)
    return tuple(sorted(found))


def order_sensitive(features: FunctionFeatures) -> tuple[str, ...]:
    """``+``/``*`` reductions of the proven loops that start from a float or complex
    literal (``s = 0.0``): those the planner can tell are inexact before any typing.
    :func:`check_reductions` finds the others from their types."""
    tree = features.source.tree
    found: set[str] = set()
    for lp in features.split.loops:
        names = {name for name, op in lp.reductions if op in ("+", "*")}
        for stmt in getattr(tree, "body", ()):
            if getattr(stmt, "lineno", lp.line) >= lp.line:
                break
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                    and isinstance(stmt.targets[0], ast.Name) \
                    and stmt.targets[0].id in names:
                value = stmt.value
                if isinstance(value, ast.UnaryOp):
                    value = value.operand
                literal = isinstance(value, ast.Constant) and \
                    isinstance(value.value, (float, complex))
                (found.add if literal else found.discard)(stmt.targets[0].id)
    return tuple(sorted(found))


def _typemap(disp: Any, args: tuple, kwargs: dict) -> dict[str, Any] | None:
    """Variable → Numba type in ``disp``'s function for these arguments: from its
    compile in this process, else from Numba's type inference alone (a compile loaded
    from the disk cache keeps no types); None when neither works."""
    from ..numba import argument_types

    argtypes = argument_types(disp.py_func, args, kwargs)
    overload = disp.overloads.get(argtypes)
    typemap = getattr(getattr(overload, "type_annotation", None), "typemap", None)
    if typemap is not None:
        return dict(typemap)
    try:
        from numba.core import compiler, typed_passes

        disp.typingctx.refresh()
        disp.targetctx.refresh()
        interp = compiler.run_frontend(disp.py_func)
        return dict(typed_passes.type_inference_stage(disp.typingctx, disp.targetctx, interp,
                                                      argtypes, None).typemap)
    except Exception:  # Numba's internals moved, or typing failed: the types stay unknown
        return None
