"""The catalogue's detectors of arithmetic that compiled code means differently.

Python numbers are unbounded ints and floats that raise; NumPy scalars are fixed
width, with NumPy's error rules and NEP 50 promotion; Numba computes both alike,
in 64-bit machine types. Each detector is a function ``(ctx) -> findings`` over a
:class:`~.context.Context`: SEM002 (ints beyond 64 bits), SEM003 (negative
integer powers), SEM004/SEM005 (division by zero), SEM009 (NEP 50), SEM010 and
SEM011 (bools), SEM022 (fractional powers of negative floats), SEM023 (shifts).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import numpy as np

from .catalogue import STORE_TEXT, SemanticFinding, finding
from .context import (
    Context,
    const,
    dtype_kind,
    names_in,
    nonneg,
    updates,
)
from .kinds import ARG, UNKNOWN, combine, dtype_of, is_numpy, numba_result, numpy_result

__all__ = ["big_ints", "neg_powers", "division", "narrow", "stores", "np_bool",
           "invert_bool", "float_pow", "shifts"]


def _python_int(kinds: set[str]) -> bool:
    """Only Python ints (or bools): unbounded in Python, int64 in Numba."""
    return bool(kinds) and kinds <= {"int", "bool"}


def _int_like(kinds: set[str]) -> bool:
    """Some of ``kinds`` is an int or bool, Python's or NumPy's."""
    return any(k in ("int", "bool") or (is_numpy(k) and dtype_kind(k) in tuple("biu"))
               for k in kinds)


def _settled(kinds: set[str]) -> bool:
    """Known for this call: no parameter-dependent or unknown part."""
    return bool(kinds) and ARG not in kinds and UNKNOWN not in kinds


def big_ints(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM002: Python ints that can outgrow 64 bits. A variable the loop's own
    ``while`` test compares (``while i < n: i = 2 * i + 1``) is bounded by it."""
    for loop in ctx.loops:
        bounded = {n.id for c in ast.walk(loop.test) if isinstance(c, ast.Compare)
                   for n in ast.walk(c) if isinstance(n, ast.Name)} \
            if isinstance(loop, ast.While) else set()
        for name, value, stmt in updates(loop):
            if name not in ctx.carried or name in bounded or \
                    not _python_int(ctx.var(name)):
                continue
            why = _growth(name, value, ctx)
            if why:
                yield finding("SEM002", stmt.lineno, f"`{name}` is a Python int that {why}: "
                              "Python keeps every digit, compiled code wraps at 64 bits")
    for node in ctx.nodes:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and \
                const(node.right) is None and _python_int(ctx.of(node.left)) and \
                _python_int(ctx.of(node.right)):
            yield finding("SEM002", node.lineno, f"`{ast.unparse(node)}` raises a Python "
                          "int to a varying power: Python keeps every digit, compiled code "
                          "wraps at 64 bits")


def _growth(name: str, value: ast.expr, ctx: Context) -> str | None:
    """Why the update ``name = value`` can outgrow 64 bits, or None."""
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Mod, ast.BitAnd)) and \
            name not in names_in(value.right):
        return None  # reduced modulo a fixed value each time: bounded
    for node in ast.walk(value):
        if not isinstance(node, ast.BinOp):
            continue
        reads = names_in(node)
        if isinstance(node.op, (ast.Mult, ast.Pow, ast.LShift)):
            factors = [const(node.left), const(node.right)]
            if name in reads and not (isinstance(node.op, ast.Mult)
                                      and any(f in (0, 1, -1) for f in factors)):
                return "is multiplied, raised to a power or shifted in a loop"
            if all(f is None for f in factors) and \
                    _python_int(ctx.of(node.left)) and _python_int(ctx.of(node.right)):
                return f"accumulates products of varying ints (`{ast.unparse(node)}`)"
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Sub)):
        others = (names_in(value) - {name}) & set(ctx.carried) - ctx.loop_targets
        others = {o for o in others if _python_int(ctx.var(o))}
        if others:
            return (f"grows by another loop-carried int ({', '.join(sorted(others))}), "
                    "a recurrence that can grow exponentially")
    return None


def neg_powers(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM003: int ** int with an exponent that may be negative."""
    for node in _binops(ctx, ast.Pow):
        base, exp = node.left, node.right
        kb, ke = ctx.of(base), ctx.of(exp)
        if not (_settled(kb) and _settled(ke)) or not (_int_like(kb) and _int_like(ke)):
            continue
        if any(k in ("float", "complex") or (is_numpy(k) and dtype_kind(k) in ("f", "c"))
               for k in kb | ke):
            continue
        if not nonneg(exp, ctx, ctx.nonneg):
            yield finding("SEM003", node.lineno, f"`{ast.unparse(node)}` raises an int to "
                          "a power that may be negative: Python gives a float (NumPy ints "
                          "raise ValueError), compiled code an int (0 or 1)")


def _binops(ctx: Context, *ops: type) -> Iterator[ast.BinOp]:
    """BinOps of ``ops``, with ``x op= v`` seen as ``x op v`` (line numbers kept)."""
    for node in ctx.nodes:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ops):
            yield node
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ops):
            yield ast.copy_location(ast.BinOp(node.target, node.op, node.value), node)


def division(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM004/SEM005: division by a value that may be zero."""
    python: list[ast.expr] = []
    numpy: list[ast.expr] = []
    divisions: list[tuple[ast.expr, ast.expr, ast.expr]] = [
        (n, n.left, n.right) for n in _binops(ctx, ast.Div, ast.FloorDiv, ast.Mod)]
    divisions += [(n, n.args[0], n.args[1]) for n in ctx.nodes
                  if isinstance(n, ast.Call) and ctx.builtin(n.func, "divmod")
                  and len(n.args) == 2]
    for node, left, right in divisions:
        divisor = const(right)
        if divisor is not None and divisor != 0:
            continue
        kl, kr = ctx.of(left), ctx.of(right)
        if "str" in kl or not (_settled(kl) and _settled(kr)):
            continue
        if any(is_numpy(k) for k in kr) or not kl & {"int", "float", "complex", "bool"}:
            numpy.append(node)
        else:
            python.append(node)
    if python and numpy:
        p, n = python[0], numpy[0]
        yield finding("SEM005", p.lineno, f"divides Python numbers here (Python raises "
                      f"ZeroDivisionError) and NumPy scalars on line {n.lineno} (NumPy "
                      "gives inf or nan): compiled code follows one rule for both")
        return
    for node in python:
        yield finding("SEM004", node.lineno, f"`{ast.unparse(node)}` divides Python "
                      "numbers: compiled with Python's ZeroDivisionError checks")


def narrow(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM009: a Python number mixed with a narrower NumPy scalar (NEP 50).

    NumPy 2 computes ``x[i] * c`` in x's dtype (uint8, int16, float32, complex64…)
    for a Python number ``c``, and raises ``OverflowError`` for a Python int outside
    it; compiled code computes in int64, float64 or complex128. Declined wherever
    such an element meets a Python number in arithmetic (accumulators, values stored
    back in place, temporaries), except where level 2's rewrite computes NumPy 2's
    rule itself:

    - ``+ - *`` of a narrow int (below 64 bits) and a value that is a Python int on
      every call (a ``range`` counter, a size: :meth:`.proofs.Proofs.python_int`)
      become ``k`` ops (:func:`.intarith._weak`), which replay where NumPy raises or
      wraps; ``+ - * // % **`` with an int constant inside the dtype compute in the
      narrow type as well (Numba types the constant as a literal:
      :func:`.intarith._narrow_type`), and ``>>``, ``&`` cannot leave it;
    - a float32 element ``+ - * /`` a constant float32 holds exactly, stored straight
      into a float32 element: compiled code computes the one operation in float64
      and rounds it to float32 on the store, which is NumPy's float32 result (53 >=
      2 * 24 + 2: rounding twice is innocuous for + - * /).

    A Python int *argument* still declines: Numba types it int64 like an ``np.int64``
    argument and compiles one code for both, while NumPy 2 treats the two differently."""
    from .proofs import Proofs

    proofs = None  # built only where a Python number meets a NumPy one (0.25 ms)
    for node in _narrow_ops(ctx):
        op: Any = type(node.op)
        for py, np_kind, py_node, np_node in _mixes(node, ctx):
            python = numpy_result(py, np_kind, op)
            compiled = numba_result(py, np_kind, op)
            if python == compiled or "?" in (python, compiled):
                continue
            dt = dtype_of(np_kind)
            if dt is None:
                continue
            if dt.kind in "fc":
                if not _exact_store(node, ctx, dt, py_node, np_node, np_kind):
                    yield _nep50(node, py, dt, python, compiled)
                continue
            c = const(py_node)
            if isinstance(c, bool) or not isinstance(c, int):
                c = None
            if c is not None and dt.kind in "iu" and \
                    not np.iinfo(dt).min <= c <= np.iinfo(dt).max:
                yield finding("SEM009", node.lineno, f"`{ast.unparse(node)}` mixes the "
                              f"Python int {c} with {dt.name} values: NumPy 2 raises "
                              f"OverflowError (out of bounds for {dt.name}, NEP 50), "
                              f"compiled code computes in {compiled[3:]}")
                continue
            if c is not None and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)) and \
                    _element_value(node, ctx):
                # compiled in int64 and wrapped by the store (the rewrite's plain op):
                # NumPy's narrow result where the array has NumPy's result dtype
                if not _stored_as(node, ctx, python):
                    yield _nep50(node, py, dt, python, compiled)
                continue
            if c is not None and dt.itemsize < 8 and \
                    (isinstance(node.op, _NARROW_WITH_LITERAL + _NO_WRAP) or
                     _stored_as(node, ctx, python)):
                continue  # NumPy 2's narrow type compiled, or no wrap, or both wrap
            if c is not None and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
                continue  # uint64 with an int literal: Numba's uint64 arithmetic (wraps)
            if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)) and dt.itemsize < 8:
                proofs = proofs or Proofs(ctx.tree)
                if proofs.python_int(py_node) and not proofs.python_int(np_node):
                    continue  # compiled with NumPy 2's rule (the k ops), replays
            yield _nep50(node, py, dt, python, compiled)


def _nep50(node: ast.BinOp, py: str, dt: np.dtype, python: str,
           compiled: str) -> SemanticFinding:
    return finding("SEM009", node.lineno, f"`{ast.unparse(node)}` mixes a Python {py} "
                   f"with {dt.name} values: NumPy 2 computes in {python[3:]} (NEP 50), "
                   f"compiled code in {compiled[3:]}")


_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift,
          ast.RShift, ast.BitAnd, ast.BitOr, ast.BitXor)


#: integer operations whose result stays within the operand's range (no wrapping)
_NO_WRAP = (ast.Mod, ast.FloorDiv, ast.RShift, ast.BitAnd)

#: with an int constant inside a narrow int's dtype, level 2 computes these in the
#: narrow type (Numba types the constant as a literal: :func:`.intarith._narrow_type`)
#: and replays where NumPy wraps
_NARROW_WITH_LITERAL = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.Pow)


def _narrow_ops(ctx: Context) -> Iterator[ast.BinOp]:
    """The arithmetic of :func:`_binops`, and ``divmod(a, b)`` as ``a // b``."""
    yield from _binops(ctx, *_ARITH)
    for node in ctx.nodes:
        if isinstance(node, ast.Call) and ctx.builtin(node.func, "divmod") and \
                len(node.args) == 2 and not node.keywords:
            yield ast.copy_location(ast.BinOp(node.args[0], ast.FloorDiv(), node.args[1]),
                                    node)


def _mixes(node: ast.BinOp, ctx: Context) -> Iterator[tuple[str, str, ast.expr, ast.expr]]:
    """(Python kind, NumPy kind, the Python operand, the NumPy operand) of ``node``."""
    left, right = ctx.of(node.left), ctx.of(node.right)
    for a in left:
        for b in right:
            if a in ("int", "float", "complex", "bool") and is_numpy(b):
                yield a, b, node.left, node.right
            elif b in ("int", "float", "complex", "bool") and is_numpy(a):
                yield b, a, node.right, node.left


def _exact_store(node: ast.BinOp, ctx: Context, dt: np.dtype, py_node: ast.expr,
                 np_node: ast.expr, np_kind: str) -> bool:
    """``out[i] = x[i] * c`` with x and out float32 and ``c`` a constant float32 holds
    exactly (see :func:`narrow`)."""
    if dt.kind != "f" or dt.itemsize > 4 or \
            not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        return False
    c = const(py_node)
    if isinstance(c, bool) or not isinstance(c, (int, float)):
        return False
    with np.errstate(all="ignore"):
        if not np.isfinite(c) or float(dt.type(c)) != c:
            return False
    return ctx.of(np_node) == {np_kind} and _stored_as(node, ctx, f"np:{dt.name}")


def _stored_as(node: ast.BinOp, ctx: Context, computed: str) -> bool:
    """Is ``node`` stored straight into an array element of the dtype Python computes
    (``out[i] = node``, or ``out[i] op= v`` seen as ``out[i] op v``)?"""
    target = _store_target(node, ctx)
    return target is not None and ctx.of(target.value) == {"arr:" + computed[3:]}


def _element_value(node: ast.expr, ctx: Context) -> bool:
    """Is ``node`` the value of ``array[...] = node`` (not of ``array[...] op= v``)?"""
    parent = ctx.parents.get(node)
    return isinstance(parent, ast.Assign) and parent.value is node and \
        len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Subscript)


def _store_target(node: ast.expr, ctx: Context) -> ast.Subscript | None:
    """The element ``node`` is stored into, if it is."""
    if isinstance(node, ast.BinOp) and isinstance(node.left, ast.Subscript) and \
            isinstance(node.left.ctx, ast.Store):
        return node.left  # ``out[i] op= v`` (:func:`_binops`)
    parent = ctx.parents.get(node)
    if not isinstance(parent, ast.Assign) or parent.value is not node:
        return None
    targets = parent.targets
    if len(targets) != 1 or not isinstance(targets[0], ast.Subscript):
        return None
    return targets[0]


def stores(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM007 and SEM009 for ``array[...] = value``: NumPy stores a float into an
    integer array through ``int()`` and a bounds check (NaN raises ValueError, inf and
    values outside the dtype OverflowError), and NumPy 2 refuses a Python int outside
    a narrow integer dtype (OverflowError), where compiled code converts or wraps with
    no check. Level 2's rewrite checks both where the array is a name
    (:func:`.lowered.store_stub`: a replay, and plain Python raises) and, for the
    int, where it is one on every call; a Python int otherwise (an argument: compiled
    code cannot tell it from an ``np.int64``, which NumPy wraps) declines."""
    from .proofs import Proofs
    from .rewrite import python_int_value

    proofs = None
    for node in ctx.nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Subscript):
            target, value, kinds = node.targets[0], node.value, ctx.of(node.value)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            target, value = node.target, node.value
            kinds = {combine(a, b, type(node.op)) for a in ctx.of(node.target)
                     for b in ctx.of(node.value)}
        else:
            continue
        arrays = ctx.of(target.value)
        kind = next(iter(arrays)) if len(arrays) == 1 else ""
        dt = dtype_of(kind) if kind.startswith("arr:") else None
        if dt is None or dt.kind not in "iu":
            continue
        checked = isinstance(target.value, ast.Name)
        text = ast.unparse(node).strip()
        if any(k == "float" or (is_numpy(k) and dtype_kind(k) == "f") for k in kinds):
            if checked:
                yield finding("SEM007", node.lineno, f"`{text}` {STORE_TEXT}"
                              f"{dt.name} array: compiled with NumPy's checks for NaN, inf "
                              f"and values outside {dt.name}", "guard")
            else:
                yield finding("SEM007", node.lineno, f"`{text}` {STORE_TEXT}"
                              f"{dt.name} array that is not a plain name: NaN, inf or a "
                              "value outside it would give garbage compiled, an error "
                              "in Python", "decline")
            continue
        if "int" not in kinds or isinstance(node, ast.AugAssign) or \
                (dt.itemsize == 8 and dt.kind == "i"):
            continue
        proofs = proofs or Proofs(ctx.tree)
        if checked and python_int_value(value, proofs, _unshadowed(ctx)):
            continue  # kstore: replays outside the dtype
        yield finding("SEM009", node.lineno, f"`{text}` stores a Python int into a "
                      f"{dt.name} array: NumPy 2 raises OverflowError outside {dt.name}'s "
                      "range, compiled code wraps")


def _unshadowed(ctx: Context) -> frozenset[str]:
    return frozenset(n for n in ("int", "round") if not ctx.kinds.shadowed(n))


def np_bool(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM010: +, -, * of NumPy bools."""
    for node in _binops(ctx, ast.Add, ast.Sub, ast.Mult):
        kl, kr = ctx.of(node.left), ctx.of(node.right)
        if ("np:bool" in kl and kr & {"np:bool", "bool"}) or \
                ("np:bool" in kr and kl & {"np:bool", "bool"}):
            yield finding("SEM010", node.lineno, f"`{ast.unparse(node)}` does arithmetic on "
                          "NumPy bools: NumPy gives a bool (or TypeError for -), compiled "
                          "code an int")


def invert_bool(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM011: ~ of a Python bool."""
    for node in ctx.nodes:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert) and \
                "bool" in ctx.of(node.operand):
            yield finding("SEM011", node.lineno, f"`{ast.unparse(node)}` inverts a Python "
                          "bool: Python gives -2 or -1, compiled code False or True")


def float_pow(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM022: a Python float that may be negative, to a non-integer power."""
    for node in _binops(ctx, ast.Pow):
        kb, ke = ctx.of(node.left), ctx.of(node.right)
        if "float" not in kb or not _settled(kb) or not _settled(ke):
            continue
        exp = const(node.right)
        integral = exp is not None and not isinstance(exp, complex) and float(exp).is_integer()
        if integral or (exp is None and ke <= {"int", "bool"}):
            continue
        if not nonneg(node.left, ctx, ctx.nonneg):
            yield finding("SEM022", node.lineno, f"`{ast.unparse(node)}` raises a Python "
                          "float that may be negative to a non-integer power: Python gives "
                          "a complex number, compiled code nan")


def shifts(ctx: Context) -> Iterator[SemanticFinding]:
    """SEM023: shifts of Python ints by a varying count."""
    for node in _binops(ctx, ast.LShift, ast.RShift):
        count = const(node.right)
        if count is not None and 0 <= count < 63:
            continue
        if _python_int(ctx.of(node.left)) and _settled(ctx.of(node.right)):
            yield finding("SEM023", node.lineno, f"`{ast.unparse(node)}` shifts a Python int "
                          "by a count that may be negative or ≥ 64: Python raises or keeps "
                          "every bit, compiled code does neither")

