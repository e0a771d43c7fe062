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

from .catalogue import SemanticFinding, finding
from .context import (
    NARROW_FLOATS,
    Context,
    const,
    dtype_kind,
    names_in,
    nonneg,
    updates,
)
from .kinds import ARG, UNKNOWN, dtype_of, is_numpy, numba_result, numpy_result

__all__ = ["big_ints", "neg_powers", "division", "narrow", "np_bool", "invert_bool",
           "float_pow", "shifts"]


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

    Not where level 2's rewrite computes NumPy 2's rule itself: ``+ - *`` of a narrow
    int and a value that is a Python int on every call (a constant, a ``range``
    counter, a size: :meth:`.proofs.Proofs.python_int`) become ``k`` ops
    (:func:`.intops._weak`), which replay where NumPy raises or wraps. A Python int
    *argument* still declines: Numba types it int64 like an ``np.int64`` argument
    and compiles one code for both, while NumPy 2 treats the two differently."""
    from .proofs import Proofs

    proofs = None  # built only where a Python number meets a NumPy one (0.25 ms)
    for node in _binops(ctx, *_ARITH):
        op: Any = type(node.op)
        mixes = list(_mixes(ctx.of(node.left), ctx.of(node.right)))
        if not mixes:
            continue
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)) and not _stored(node, ctx) and \
                not ({"int"} - ctx.of(node.left) - ctx.of(node.right)) and \
                not _narrow_float(ctx.of(node.left) | ctx.of(node.right)):
            proofs = proofs or Proofs(ctx.tree)
            if proofs.python_int(node.left) != proofs.python_int(node.right):
                continue  # compiled with NumPy 2's rule (the k ops), replays where it raises
        for py, np_kind in mixes:
            python = numpy_result(py, np_kind, op)
            compiled = numba_result(py, np_kind, op)
            if python == compiled or "?" in (python, compiled):
                continue
            dt = dtype_of(np_kind)
            if dt is None:
                continue
            if dt.kind in "fc":
                if not _accumulates(node, ctx) or dt.name not in NARROW_FLOATS:
                    continue
            elif isinstance(node.op, _NO_WRAP) or _stored_as(node, ctx, python):
                continue  # the result stays in the dtype's range, or wraps in both
            yield finding("SEM009", node.lineno, f"`{ast.unparse(node)}` mixes a Python "
                          f"{py} with {dt.name} values: NumPy 2 computes in "
                          f"{python[3:]} (NEP 50), compiled code in {compiled[3:]}")


def _stored(node: ast.BinOp, ctx: Context) -> bool:
    """Is ``node`` the value of ``array[...] = node`` (the rewrite keeps its op plain)?"""
    parent = ctx.parents.get(node)
    return isinstance(parent, ast.Assign) and parent.value is node and \
        len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Subscript)


def _narrow_float(kinds: set[str]) -> bool:
    """A NumPy float kind among ``kinds`` (the k ops cover ints only)."""
    return any(is_numpy(k) and (dtype_of(k) is None or dtype_of(k).kind in "fc")  # type: ignore
               for k in kinds)


_ARITH = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift,
          ast.RShift, ast.BitAnd, ast.BitOr, ast.BitXor)


#: integer operations whose result stays within the operand's range (no wrapping)
_NO_WRAP = (ast.Mod, ast.FloorDiv, ast.RShift, ast.BitAnd)


def _mixes(left: set[str], right: set[str]) -> Iterator[tuple[str, str]]:
    for a in left:
        for b in right:
            if a in ("int", "float", "complex", "bool") and is_numpy(b):
                yield a, b
            elif b in ("int", "float", "complex", "bool") and is_numpy(a):
                yield b, a


def _accumulates(node: ast.BinOp, ctx: Context) -> bool:
    """Is ``node`` the update of a loop-carried variable (``s += x[i]``)?"""
    reads = names_in(node)
    return any(name in reads and name in ctx.carried for name, value, _ in
               ((n, v, s) for loop in ctx.loops for n, v, s in updates(loop))
               if value is node or _same(value, node))


def _same(a: ast.AST, b: ast.AST) -> bool:
    return getattr(a, "lineno", -1) == getattr(b, "lineno", -2) and \
        ast.dump(a) == ast.dump(b)


def _stored_as(node: ast.BinOp, ctx: Context, computed: str) -> bool:
    """Is ``node`` stored straight into an array element of the dtype Python computes?"""
    parent = ctx.parents.get(node)
    if not isinstance(parent, ast.Assign) or parent.value is not node:
        return False
    targets = parent.targets
    if len(targets) != 1 or not isinstance(targets[0], ast.Subscript):
        return False
    return ctx.of(targets[0].value) == {"arr:" + computed[3:]}


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

