"""Is an expression inside a loop *elementwise*: computed from the elements of the
current index only, so that the same expression on whole arrays gives every
iteration's value at once? One question, asked of one expression at a time.
"""

from __future__ import annotations

import ast
import dataclasses

from .names import (
    PURE_BUILTINS,
    REDUCTION_METHODS,
    Names,
    is_numpy_constant,
    is_ufunc,
    math_function,
    numpy_object,
)

__all__ = ["LoopContext", "Ref", "ExprInfo", "NotElementwise", "Classifier"]

_VALUE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
              ast.BitAnd, ast.BitOr, ast.BitXor, ast.LShift, ast.RShift)
_COMPARE_OPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
#: ufuncs that cannot warn or raise on any finite or non-finite number: evaluating
#: them on elements a branch does not take changes nothing.
QUIET_UFUNCS = frozenset(
    "absolute negative positive conjugate sign floor ceil trunc rint fabs isnan isinf "
    "isfinite signbit maximum minimum fmax fmin logical_and logical_or logical_not "
    "logical_xor greater greater_equal less less_equal equal not_equal".split())


class NotElementwise(Exception):
    """The expression (or loop) has no elementwise equivalent; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class LoopContext:
    """What the loop (nest) binds: its variables (outer first), and the names its
    body assigns: temporaries, accumulators, written arrays, and all of them."""

    vars: tuple[str, ...]
    names: Names
    temps: frozenset[str] = frozenset()
    accs: frozenset[str] = frozenset()
    written: frozenset[str] = frozenset()
    assigned: frozenset[str] = frozenset()
    #: written array → the index it is written at (``ast.unparse`` of the slice)
    write_slices: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Ref:
    """An element read or written: ``base[index]``. Each index entry is a loop
    variable's position in the nest (an int) or an invariant expression."""

    node: ast.Subscript
    base: str
    index: tuple[int | ast.expr, ...]

    @property
    def key(self) -> str:
        return self.base + "[" + ", ".join(
            f"#{p}" if isinstance(p, int) else ast.unparse(p) for p in self.index) + "]"

    @property
    def positions(self) -> dict[int, int]:
        """Loop-variable position → axis of ``base`` it indexes."""
        return {p: axis for axis, p in enumerate(self.index) if isinstance(p, int)}


@dataclasses.dataclass
class ExprInfo:
    """What classifying one expression found."""

    refs: list[Ref] = dataclasses.field(default_factory=list)
    hoisted: list[ast.expr] = dataclasses.field(default_factory=list)
    array_work: list[ast.expr] = dataclasses.field(default_factory=list)
    operands: set[str] = dataclasses.field(default_factory=set)
    index_names: set[str] = dataclasses.field(default_factory=set)
    pure_inputs: set[str] = dataclasses.field(default_factory=set)
    temps: set[str] = dataclasses.field(default_factory=set)
    scalar_calls: list[ast.Call] = dataclasses.field(default_factory=list)
    #: ``abs(...)`` of elements: lowered to :func:`.runtime.element_abs`, which computes
    #: a complex element's modulus the way ``abs()`` of one NumPy scalar does
    abs_calls: list[ast.Call] = dataclasses.field(default_factory=list)
    blocked: str = ""
    quiet: bool = True

    @property
    def depends(self) -> bool:
        """Does the value change from one iteration to the next?"""
        return bool(self.refs or self.temps)

    def block(self, reason: str) -> None:
        self.blocked = self.blocked or reason

    def merge(self, other: ExprInfo) -> None:
        self.refs += other.refs
        self.hoisted += other.hoisted
        self.array_work += other.array_work
        self.operands |= other.operands
        self.index_names |= other.index_names
        self.pure_inputs |= other.pure_inputs
        self.temps |= other.temps
        self.scalar_calls += other.scalar_calls
        self.abs_calls += other.abs_calls
        self.block(other.blocked)
        self.quiet = self.quiet and other.quiet


class Classifier:
    """Classifies expressions of one loop body against its :class:`LoopContext`."""

    def __init__(self, ctx: LoopContext):
        self.ctx = ctx
        #: written arrays the iteration has already written (in statement order): from
        #: then on, reading their element would see this iteration's new value
        self.done: set[str] = set()

    # -- entry points ----------------------------------------------------------------

    def value(self, expr: ast.expr, own_target: str | None = None) -> ExprInfo:
        """Classify a value; ``own_target`` is the key of the element the statement
        writes, which it may read (``out[i] = out[i] + x[i]``)."""
        info = ExprInfo()
        self._value(expr, info, own_target)
        return info

    def condition(self, expr: ast.expr) -> ExprInfo:
        """Classify the test of an ``if``: comparisons joined by and/or/not, or a value
        whose truth is taken."""
        info = ExprInfo()
        self._condition(expr, info)
        return info

    # -- conditions ------------------------------------------------------------------

    def _condition(self, expr: ast.expr, info: ExprInfo) -> None:
        if isinstance(expr, ast.BoolOp):
            for value in expr.values:
                self._condition(value, info)
        elif isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
            self._condition(expr.operand, info)
        elif isinstance(expr, ast.Compare):
            self._compare(expr, info, None, allow_chain=True)
        else:
            self._value(expr, info, None)

    def _compare(self, expr: ast.Compare, info: ExprInfo, own: str | None,
                 allow_chain: bool) -> None:
        if not all(isinstance(op, _COMPARE_OPS) for op in expr.ops):
            raise NotElementwise(f"compares with {_op_name(expr.ops)}, which has no "
                                 "elementwise form")
        if len(expr.ops) > 1 and not allow_chain:
            raise NotElementwise("a chained comparison used as a value")
        for operand in [expr.left, *expr.comparators]:
            self._value(operand, info, own)

    # -- values ----------------------------------------------------------------------

    def _value(self, expr: ast.expr, info: ExprInfo, own: str | None) -> None:
        if isinstance(expr, ast.Constant):
            if isinstance(expr.value, (bool, int, float, complex)):
                return
            raise NotElementwise(f"uses the constant {expr.value!r}")
        if isinstance(expr, ast.Name):
            return self._name(expr, info)
        if isinstance(expr, ast.Subscript):
            return self._subscript(expr, info, own)
        if isinstance(expr, ast.BinOp):
            if not isinstance(expr.op, _VALUE_OPS):
                raise NotElementwise(f"uses the operator {type(expr.op).__name__}")
            if isinstance(expr.op, (ast.Div, ast.FloorDiv, ast.Mod)) or (
                    isinstance(expr.op, ast.Pow) and not _small_power(expr.right)):
                info.quiet = False  # may warn (divide by zero, invalid) on other elements
            self._value(expr.left, info, own)
            return self._value(expr.right, info, own)
        if isinstance(expr, ast.UnaryOp):
            if isinstance(expr.op, ast.Not):
                raise NotElementwise("uses `not` on a value")
            return self._value(expr.operand, info, own)
        if isinstance(expr, ast.Compare):
            return self._compare(expr, info, own, allow_chain=False)
        if isinstance(expr, ast.Call):
            return self._call(expr, info, own)
        if isinstance(expr, ast.Attribute):
            return self._attribute(expr, info)
        raise NotElementwise(f"uses {type(expr).__name__.lower()} `{_short(expr)}`")

    def _name(self, node: ast.Name, info: ExprInfo) -> None:
        ctx, name = self.ctx, node.id
        if name in ctx.vars:
            info.block(f"uses the loop index {name} as a number (np.arange would change "
                       "its dtype)")
            info.temps.add(name)  # varies per iteration
            return
        if name in ctx.temps:
            info.temps.add(name)
            return
        if name in ctx.accs:
            raise NotElementwise(f"reads {name}, which the loop accumulates into (a "
                                 "running value, e.g. a prefix sum)")
        if name in ctx.written:
            raise NotElementwise(f"uses the array {name}, which the loop writes")
        if name in ctx.assigned:
            raise NotElementwise(f"reads {name}, which the loop assigns")
        if is_numpy_constant(self.ctx.names.dotted(node)):
            return
        info.operands.add(name)

    def _attribute(self, node: ast.Attribute, info: ExprInfo) -> None:
        dotted = self.ctx.names.dotted(node)
        if is_numpy_constant(dotted):
            return
        root = node.value
        if isinstance(root, ast.Name) and not self._varies(root.id):
            info.hoisted.append(node)
            if node.attr in ("size", "ndim"):
                info.pure_inputs.add(root.id)
            else:
                info.block(f"reads the attribute {_short(node)} on every iteration")
            return
        raise NotElementwise(f"reads the attribute {_short(node)} of a per-element value")

    def _varies(self, name: str) -> bool:
        ctx = self.ctx
        return name in ctx.vars or name in ctx.assigned or name in ctx.written

    def _subscript(self, node: ast.Subscript, info: ExprInfo, own: str | None) -> None:
        if not isinstance(node.value, ast.Name):
            raise NotElementwise(f"indexes the expression {_short(node.value)}")
        base = node.value.id
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        index: list[int | ast.expr] = []
        for part in parts:
            index.append(self._index_part(part, node, info))
        seen = [p for p in index if isinstance(p, int)]
        if len(seen) != len(set(seen)):
            raise NotElementwise(f"{_short(node)} uses one loop index twice (a diagonal)")
        if base in self.ctx.temps or base in self.ctx.accs or base in self.ctx.vars:
            raise NotElementwise(f"indexes {base}, which the loop assigns")
        ref = Ref(node, base, tuple(index))
        if not seen:  # x[0], x[k]: one element, the same on every iteration
            if base in self.ctx.written or base in self.ctx.assigned:
                raise NotElementwise(f"reads {_short(node)}, which the loop may write")
            info.hoisted.append(node)
            info.pure_inputs.add(base)
            return
        if base in self.ctx.written and ref.key != own and (
                base in self.done
                or ast.unparse(node.slice) != self.ctx.write_slices.get(base)):
            raise NotElementwise(f"reads {_short(node)} of {base}, which the loop writes "
                                 "(a dependency between iterations)")
        if base in self.ctx.assigned and base not in self.ctx.written:
            raise NotElementwise(f"indexes {base}, which the loop assigns")
        info.refs.append(ref)

    def _index_part(self, part: ast.expr, node: ast.Subscript,
                    info: ExprInfo) -> int | ast.expr:
        if isinstance(part, ast.Name) and part.id in self.ctx.vars:
            return self.ctx.vars.index(part.id)
        if isinstance(part, ast.Slice):
            raise NotElementwise(f"takes the slice {_short(node)} on every iteration")
        used = {n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
        if used & set(self.ctx.vars):
            raise NotElementwise(f"reads {_short(node)}: a neighbouring element, not the "
                                 "current one")
        if used & (self.ctx.assigned | self.ctx.temps | self.ctx.accs):
            raise NotElementwise(f"{_short(node)} is indexed by a value the loop computes")
        if isinstance(part, ast.Name):
            info.index_names.add(part.id)
            return part
        if isinstance(part, ast.Constant) and isinstance(part.value, int) \
                and not isinstance(part.value, bool):
            return part
        if isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.USub) and \
                isinstance(part.operand, ast.Constant) and isinstance(part.operand.value, int):
            return part
        raise NotElementwise(f"indexes with {_short(part)}")

    def _call(self, node: ast.Call, info: ExprInfo, own: str | None) -> None:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
                kw.arg is None for kw in node.keywords):
            raise NotElementwise(f"calls {_short(node.func)} with *args or **kwargs")
        dotted = self.ctx.names.dotted(node.func)
        if not self._mentions_loop(node):
            return self._invariant_call(node, dotted, info)
        if node.keywords:
            raise NotElementwise(f"calls {_short(node.func)}() with keywords on elements")
        inner = ExprInfo()
        for arg in node.args:
            self._value(arg, inner, own)
        if is_ufunc(dotted):
            info.scalar_calls.append(node)
            obj = numpy_object(dotted)
            if getattr(obj, "__name__", "") not in QUIET_UFUNCS:
                info.quiet = False
            return info.merge(inner)
        if dotted == "builtins.abs" and len(node.args) == 1:
            info.abs_calls.append(node)
            return info.merge(inner)
        if math_function(dotted):
            info.merge(inner)
            info.quiet = False
            return info.block(f"{dotted}() raises ValueError outside its domain where "
                              "NumPy's version returns nan")
        if dotted in ("builtins.min", "builtins.max") and len(node.args) == 2:
            info.merge(inner)
            return info.block(f"{dotted[9:]}() keeps its first argument when the other "
                              f"is NaN, unlike np.{dotted[9:]}imum")
        raise NotElementwise(f"calls {_short(node.func)}() on elements, which has no "
                             "known elementwise form")

    def _mentions_loop(self, node: ast.AST) -> bool:
        ctx = self.ctx
        varying = set(ctx.vars) | ctx.assigned | ctx.temps | ctx.accs | ctx.written
        return any(isinstance(n, ast.Name) and n.id in varying for n in ast.walk(node))

    def _invariant_call(self, node: ast.Call, dotted: str | None, info: ExprInfo) -> None:
        """A call whose inputs the loop never changes: the same value on every iteration
        if it is pure (NumPy outside numpy.random, a reduction method, a pure builtin)."""
        func = node.func
        method = isinstance(func, ast.Attribute) and dotted is None
        if method and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.attr in REDUCTION_METHODS:
            info.array_work.append(node)
        elif dotted and dotted.startswith("numpy.") and not dotted.startswith("numpy.random"):
            if not is_ufunc(dotted):
                info.array_work.append(node)
        elif not (dotted and dotted.startswith("builtins.") and dotted[9:] in PURE_BUILTINS):
            raise NotElementwise(f"calls {_short(func)}(), whose result may change "
                                 "between iterations")
        info.hoisted.append(node)
        for name in ast.walk(node):
            if isinstance(name, ast.Name) and self.ctx.names.dotted(name) is None:
                info.pure_inputs.add(name.id)


def _small_power(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int) \
        and 0 <= node.value <= 4


def _op_name(ops: list[ast.cmpop]) -> str:
    return ", ".join(type(op).__name__ for op in ops)


def _short(node: ast.AST, limit: int = 40) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[:limit - 1] + "…"


