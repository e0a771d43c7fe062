"""The work a function does, from its argument shapes propagated through its AST.

A call's cost is not its input's size: ``pos[None, :, :] - pos[:, None, :]`` on 2,048
bodies makes 12.6M elements out of 6,144, and ``np.tanh(A @ v)`` with an 8192²
matrix applies ``tanh`` to 8,192 elements, not 67M. :func:`propagate` walks a
straight-line body (assignments and one ``return``) with the shapes of the call's
arguments and adds up what each operation produces:

- elementwise operators and ufuncs: the broadcast shape of their operands;
- basic indexing: ``None`` axes, slices with constant bounds, integer indices, ``...``;
- reductions (``np.sum(x, axis=...)``, ``x.sum(axis=...)``, ``keepdims``), ``.T``;
- ``@``, ``np.dot``, ``np.matmul`` (their flops and the matrix bytes they read),
  ``np.outer``.

What it cannot follow (loops, unknown calls and methods, data-dependent shapes)
makes :attr:`Work.known` False: callers then fall back to the arguments' sizes.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from typing import Any

import numpy as np

from ..arrays import ArgKind
from .scope import Namespace, module_scope
from .tables import COSTLY_ELEMENTWISE, ELEMENTWISE, REDUCTIONS

__all__ = ["Work", "propagate", "broadcast", "call_work", "itemsize_of"]

Shape = tuple[int, ...]
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
           ast.BitAnd, ast.BitOr, ast.BitXor)
_ELEMENTWISE = ELEMENTWISE | {"where"}


class Unknown(Exception):
    """A shape this analysis cannot tell."""


@dataclasses.dataclass
class Work:
    """What one call computes. ``elements``: elements every array operation writes,
    of which ``costly`` through transcendental ufuncs; ``largest``: the largest array
    made; ``flops`` and ``blas_bytes``: of matrix products (``matvec`` when one side
    is a vector: bound by reading the matrix); ``result``: elements returned."""

    known: bool = True
    elements: int = 0
    costly: int = 0
    reduced: int = 0
    largest: int = 0
    flops: float = 0.0
    blas_bytes: float = 0.0
    matvec: bool = False
    result: int = 0
    ops: int = 0
    why: str = ""


def broadcast(a: Shape, b: Shape) -> Shape:
    """NumPy's broadcast of two shapes; raises :class:`Unknown` where they clash."""
    out = []
    for x, y in zip(reversed((1,) * (len(b) - len(a)) + a),
                    reversed((1,) * (len(a) - len(b)) + b)):
        if x != y and 1 not in (x, y):
            raise Unknown(f"shapes {a} and {b} do not broadcast")
        out.append(max(x, y) if 1 in (x, y) else x)
    return tuple(reversed(out))


def _size(shape: Shape) -> int:
    return math.prod(shape)


def propagate(tree: Any, ns: Namespace, shapes: dict[str, Shape | None],
              itemsize: int = 8) -> Work:
    """The :class:`Work` of ``tree`` (a FunctionDef) for arguments of these shapes
    (``()`` for a scalar, None for an argument whose shape is not known)."""
    walker = _Walker(ns, dict(shapes), itemsize)
    try:
        walker.body(tree)
    except Unknown as exc:
        walker.work.known, walker.work.why = False, str(exc)
    except RecursionError:
        walker.work.known, walker.work.why = False, "too deeply nested"
    return walker.work


class _Walker:
    def __init__(self, ns: Namespace, env: dict[str, Shape | None], itemsize: int):
        self.ns, self.env, self.itemsize = ns, env, itemsize
        self.work = Work()

    def body(self, tree: Any) -> None:
        for stmt in tree.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                    isinstance(stmt.targets[0], ast.Name):
                self.env[stmt.targets[0].id] = self.shape(stmt.value)
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                self.env[stmt.target.id] = self._made(broadcast(
                    self.shape(stmt.target), self.shape(stmt.value)))
            elif isinstance(stmt, ast.Return) and stmt.value is not None:
                values = stmt.value.elts if isinstance(stmt.value, ast.Tuple) else [stmt.value]
                self.work.result = sum(_size(self.shape(v)) for v in values)
                return
            else:
                raise Unknown(f"line {stmt.lineno}: a {type(stmt).__name__} statement")
        raise Unknown("no return at the end")

    def _made(self, shape: Shape, costly: bool = False) -> Shape:
        n = _size(shape)
        self.work.elements += n
        self.work.costly += n if costly else 0
        self.work.largest = max(self.work.largest, n)
        self.work.ops += 1
        return shape

    def shape(self, node: ast.expr) -> Shape:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (int, float, complex, bool)):
                return ()
            raise Unknown(f"a {type(node.value).__name__} constant")
        if isinstance(node, ast.Name):
            found = self.env.get(node.id, _MISSING)
            if found is _MISSING or found is None:
                raise Unknown(f"the shape of {node.id!r}")
            return found  # type: ignore[return-value]
        if isinstance(node, ast.BinOp):
            left, right = self.shape(node.left), self.shape(node.right)
            if isinstance(node.op, ast.MatMult):
                return self._matmul(left, right)
            if not isinstance(node.op, _BINOPS):
                raise Unknown(f"operator {type(node.op).__name__}")
            return self._made(broadcast(left, right), isinstance(node.op, ast.Pow))
        if isinstance(node, ast.UnaryOp):
            return self._made(self.shape(node.operand))
        if isinstance(node, ast.Compare):
            shape = self.shape(node.left)
            for other in node.comparators:
                shape = broadcast(shape, self.shape(other))
            return self._made(shape)
        if isinstance(node, ast.Subscript):
            return _index(self.shape(node.value), node.slice, self)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise Unknown(f"a {type(node).__name__} expression")

    def _attribute(self, node: ast.Attribute) -> Shape:
        dotted = self.ns.dotted(node)
        if dotted is not None and dotted.startswith("numpy."):
            return ()  # np.pi, np.e, ...
        if node.attr == "T":
            return tuple(reversed(self.shape(node.value)))
        raise Unknown(f"attribute .{node.attr}")

    def _call(self, node: ast.Call) -> Shape:
        func = node.func
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if dotted is not None and dotted.startswith("numpy.") and dotted.count(".") == 1:
            leaf = dotted.split(".", 1)[1]
            args = [self.shape(a) for a in node.args]
            return self._numpy(leaf, args, node)
        if dotted is None and isinstance(func, ast.Attribute) and func.attr in REDUCTIONS:
            return self._reduce(self.shape(func.value), node, 0)
        raise Unknown(f"line {node.lineno}: a call it does not follow")

    def _numpy(self, leaf: str, args: list[Shape], node: ast.Call) -> Shape:
        if leaf in _ELEMENTWISE and args and not node.keywords:
            shape = args[0]
            for other in args[1:]:
                shape = broadcast(shape, other)
            return self._made(shape, leaf in COSTLY_ELEMENTWISE)
        if leaf in REDUCTIONS and args:
            return self._reduce(args[0], node, 1)
        if leaf in ("dot", "matmul") and len(args) == 2:
            return self._matmul(*args)
        if leaf == "outer" and len(args) == 2:
            return self._made((_size(args[0]), _size(args[1])))
        raise Unknown(f"np.{leaf}")

    def _reduce(self, shape: Shape, node: ast.Call, axis_at: int) -> Shape:
        axis: Any = None
        keepdims = False
        if len(node.args) > axis_at:
            axis = _constant(node.args[axis_at])
        for kw in node.keywords:
            if kw.arg == "axis":
                axis = _constant(kw.value)
            elif kw.arg == "keepdims":
                keepdims = bool(_constant(kw.value))
            else:
                raise Unknown(f"a reduction with {kw.arg}=")
        self.work.reduced += _size(shape)
        self.work.ops += 1
        axes = range(len(shape)) if axis is None else \
            [a % max(len(shape), 1) for a in (axis if isinstance(axis, tuple) else (axis,))]
        return tuple(1 if i in axes else n for i, n in enumerate(shape)
                     if keepdims or i not in axes)

    def _matmul(self, a: Shape, b: Shape) -> Shape:
        if not a or not b:
            raise Unknown("@ with a scalar")
        m, k = (a[-2], a[-1]) if len(a) >= 2 else (1, a[0])
        k2, p = (b[-2], b[-1]) if len(b) >= 2 else (b[0], 1)
        if k != k2:
            raise Unknown(f"@ of {a} and {b}")
        batch = broadcast(a[:-2], b[:-2]) if len(a) > 2 or len(b) > 2 else ()
        out = batch + ((m,) if len(a) >= 2 else ()) + ((p,) if len(b) >= 2 else ())
        count = _size(batch) if batch else 1
        self.work.flops += 2.0 * m * k * p * count
        self.work.blas_bytes += (_size(a) + _size(b)) * self.itemsize
        self.work.matvec = self.work.matvec or len(a) == 1 or len(b) == 1
        self.work.ops += 1
        self.work.largest = max(self.work.largest, _size(out))
        return out


_MISSING = object()


def _constant(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise Unknown("an axis that is not a constant") from None


def _index(shape: Shape, index: ast.expr, walker: _Walker) -> Shape:
    """The shape of ``x[index]`` for basic indexing (views: no elements made)."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    if any(isinstance(i, ast.Constant) and i.value is Ellipsis for i in items):
        at = next(j for j, i in enumerate(items)
                  if isinstance(i, ast.Constant) and i.value is Ellipsis)
        used = sum(1 for i in items if not (isinstance(i, ast.Constant)
                                            and i.value in (None, Ellipsis)))
        items = items[:at] + [ast.Slice()] * (len(shape) - used) + items[at + 1:]
    out: list[int] = []
    axis = 0
    for item in items:
        if isinstance(item, ast.Constant) and item.value is None:
            out.append(1)
            continue
        if axis >= len(shape):
            raise Unknown("more indices than axes")
        n = shape[axis]
        axis += 1
        if isinstance(item, ast.Slice):
            bounds = [None if part is None else _int(part, walker)
                      for part in (item.lower, item.upper, item.step)]
            out.append(len(range(*slice(*bounds).indices(n))))
        elif walker.shape(item) == ():  # an integer index drops the axis
            continue
        else:
            raise Unknown("fancy indexing")
    return tuple(out) + shape[axis:]


def _int(node: ast.expr, walker: _Walker) -> int:
    value = ast.literal_eval(node) if isinstance(node, (ast.Constant, ast.UnaryOp)) else None
    if not isinstance(value, int):
        raise Unknown("a slice bound that is not a constant integer")
    return value


def call_work(features: Any, signature: Any) -> Work:
    """The work of one call: its argument shapes propagated through the body (levels 3
    and 4 size a call by this, not by its inputs)."""
    tree = features.source.tree
    if tree is None or getattr(features, "loops", ()):
        return Work(known=False, why="no straight-line body to follow")
    shapes = {a.name: (() if a.kind is ArgKind.SCALAR else a.shape)
              for a in signature.args}
    itemsize = max((itemsize_of(a.dtype) for a in signature.arrays), default=8)
    return propagate(tree, Namespace(module_scope(features)), shapes, itemsize)


def itemsize_of(dtype: str | None) -> int:
    """Bytes per element of a signature's dtype name (8 when unknown)."""
    if not dtype:
        return 8
    try:
        return np.dtype(dtype).itemsize
    except TypeError:  # a Torch dtype name NumPy does not know (bfloat16)
        return 2
