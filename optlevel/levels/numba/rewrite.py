"""The checked rewrite: every arithmetic operation not proven safe calls a checked op.

``a + b`` becomes ``__ol_add(a, b)``, ``x += v`` becomes ``x = __ol_iadd(x, v)``
(in place for arrays, as in Python), ``-a`` ``__ol_neg(a)``, ``abs(a)``
``__ol_abs(a)``, ``np.sum(a)`` and ``a.sum()`` (``mean``, ``var``, ``std`` alike)
``__ol_np_sum(a)`` and ``__ol_method_sum(a)``; the ops (:mod:`.intops`, :mod:`.npreduce`) pick their
implementation from the operands' types when Numba compiles, so floats and arrays
pay nothing (but for NumPy's own sums, :mod:`.npreduce`) and
64-bit ints get overflow checks that replay the call in Python. Operations
:class:`~.proofs.Proofs` shows small (loop counters ± constants, array sizes)
stay as written, so the loops LLVM optimizes best are untouched.

The rewritten function keeps the original's file name and line numbers (its
tracebacks and Numba's cache point at the user's source), its globals (plus the
ops) and its closure cells.
"""

from __future__ import annotations

import ast
import builtins as _py_builtins
import copy
import types
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .placement import bound_before, defer_loops, hoist
from .proofs import Proofs
from .shims import NUMPY_SUMS, SUM_METHODS

__all__ = ["checked_function", "rewrite_tree", "OP_NAMES", "exact_sums", "sum_call", "numpy_names",
           "python_int_value"]

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "truediv",
           ast.FloorDiv: "floordiv", ast.Mod: "mod", ast.Pow: "pow", ast.LShift: "lshift",
           ast.RShift: "rshift"}
_DIVISIONS = (ast.Div, ast.FloorDiv, ast.Mod)
#: the names the rewritten code calls (``__ol_add``…), each bound to its op
OP_NAMES = tuple(f"__ol_{p}{n}" for n in _BINARY.values() for p in ("", "i")) + \
    ("__ol_neg", "__ol_abs", "__ol_settle") + \
    tuple(f"__ol_{m}{k}{i}{n}" for n in ("add", "sub", "mul") for k in ("", "k")
          for m, i in (("", "i"), ("h", ""), ("h", "i"), ("w", ""), ("w", "i"), ("c", ""),
                       ("f", ""))) + ("__ol_kadd", "__ol_ksub", "__ol_kmul") + \
    tuple(f"__ol_np_{k}" for k in NUMPY_SUMS) + tuple(f"__ol_method_{k}" for k in SUM_METHODS) + \
    ("__ol_divmod", "__ol_store", "__ol_kstore")


class _Rewriter(ast.NodeTransformer):
    def __init__(self, proofs: Proofs, abs_is_builtin: bool,
                 bound: dict[int, frozenset[str]] | None = None,
                 numpy_names: frozenset[str] = frozenset(),
                 builtins: frozenset[str] = frozenset({"divmod", "int", "round"})):
        self.proofs = proofs
        self.abs_is_builtin = abs_is_builtin
        self.builtins = builtins  # of divmod, int, round: those not shadowed
        self.stored: ast.AST | None = None  # the value of ``array[...] = value``
        self.containers: frozenset[str] = frozenset()  # dicts, lists, sets made here
        self.numpy_names = numpy_names  # global names bound to the numpy module
        self.count = 0
        #: id of an ``if`` inside a loop → the names surely bound when it starts
        self.bound = bound or {}
        self.hoisted = 0

    def _call(self, name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
        self.count += 1
        call = ast.Call(ast.Name(f"__ol_{name}", ast.Load()), args, [])
        return ast.copy_location(call, like)

    def _safe(self, node: ast.BinOp) -> bool:
        if _text(node.left) or _text(node.right):
            return True  # string formatting or concatenation: not arithmetic
        if isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant):
            return False if isinstance(node.op, _DIVISIONS + (ast.Pow, ast.LShift)) \
                else True
        if isinstance(node.op, _DIVISIONS):
            divisor = _number(node.right)
            if divisor is None or divisor == 0:
                return False
            if isinstance(node.op, ast.Div):
                return True
            return divisor != -1
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            return self.proofs.small(node)
        return False

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.body = [self.visit(s) for s in node.body]
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return node

    def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt]:
        bound = self.bound.get(id(node))
        self.generic_visit(node)
        if bound is None:
            return node
        checks = hoist(node, bound)
        if not checks:
            return node
        self.hoisted += 1
        return [*checks, node]

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        weak = python_int_value(node.value, self.proofs, self.builtins)  # as written
        element = len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript)
        if element:
            self.stored = node.value
        self.generic_visit(node)
        if element:
            node.value = self._store(node.targets[0], node.value, weak)  # type: ignore
        return node

    def _store(self, target: ast.Subscript, value: ast.expr, weak: bool = False) -> ast.expr:
        """``value`` of ``target = value`` checked for the array it is stored into
        (:func:`.lowered.store_stub`): a float into an integer array, or a Python int
        (``weak``: ``kstore``) into a narrow one, replays where NumPy raises. A store
        into anything but a name's subscript, or into a dict, list or set made here
        (Numba types those from their stores), stays as written."""
        if not isinstance(target.value, ast.Name) or target.value.id in self.containers:
            return value
        return self._call("kstore" if weak else "store",
                          [ast.Name(target.value.id, ast.Load()), value], value)

    def _weak(self, left: ast.expr, right: ast.expr, op: ast.operator,
              node: ast.AST | None = None) -> str:
        """"k" where exactly one operand of ``+ - *`` is a Python int on every call
        (NumPy 2: weak against a narrow int, :func:`.intops._weak`), else "". Not for
        a value stored straight into an array element with an int constant
        (``out[i] = img[i] + 100``): it computes in int64 and wraps on the store, as
        NumPy's narrow result does where the array has its dtype (the catalogue
        declines the others, SEM009); a range counter or a size there is a ``k`` op,
        since NumPy raises where it leaves the narrow type."""
        if not isinstance(op, (ast.Add, ast.Sub, ast.Mult)):
            return ""
        left_int, right_int = self.proofs.python_int(left), self.proofs.python_int(right)
        if left_int == right_int:
            return ""
        if node is not None and node is self.stored and \
                _number(left if left_int else right) is not None:
            return ""
        return "k"

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        name = _BINARY.get(type(node.op))
        if name is None or self._safe(node):
            return node
        return self._call(self._weak(node.left, node.right, node.op, node) + name,
                          [node.left, node.right], node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant) \
                and not self.proofs.small(node.operand):
            return self._call("neg", [node.operand], node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if self.abs_is_builtin and isinstance(node.func, ast.Name) and \
                node.func.id == "abs" and len(node.args) == 1 and not node.keywords and \
                not self.proofs.small(node.args[0]):
            return self._call("abs", [node.args[0]], node)
        if "divmod" in self.builtins and isinstance(node.func, ast.Name) and \
                node.func.id == "divmod" and len(node.args) == 2 and not node.keywords and \
                not any(isinstance(a, ast.Starred) for a in node.args):
            return self._call("divmod", list(node.args), node)
        summed = sum_call(node, self.numpy_names)
        if summed is not None:
            self.count += 1
            return summed
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        name = _BINARY.get(type(node.op))
        if name is None:
            return node
        target = node.target
        as_binop = ast.copy_location(ast.BinOp(_load(target), node.op, node.value), node)
        if self._safe(as_binop):
            divisor = _number(node.value)
            if isinstance(divisor, float) and abs(divisor) < 1 and \
                    isinstance(target, ast.Subscript) and _pure(target):
                # an int element divided by less than 1 may leave the int's range: the
                # store is checked (a division by a larger constant stays in place)
                return ast.copy_location(ast.Assign([target], self._store(target, as_binop)),
                                         node)
            return node
        weak = self._weak(target, node.value, node.op)
        if isinstance(target, ast.Name):
            value = self._call(weak + "i" + name, [_load(target), node.value], node)
            return ast.copy_location(ast.Assign([target], value), node)
        if isinstance(target, ast.Subscript) and _pure(target):
            value = self._call(weak + name, [_load(target), node.value], node)
            return ast.copy_location(ast.Assign([target], self._store(target, value)), node)
        return node


def python_int_value(node: ast.expr, proofs: Proofs,
                     builtins: frozenset[str] = frozenset({"int", "round"})) -> bool:
    """Is ``node`` a Python int on every call: :meth:`.proofs.Proofs.python_int`, or a
    call of the builtin ``int()`` or of ``round()`` with one argument (``builtins``:
    those of the two not shadowed)? NumPy 2 refuses such an int outside a narrow
    array's dtype (``OverflowError``) where it would wrap an ``np.int64``."""
    if proofs.python_int(node):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
        node.func.id in ("int", "round") and node.func.id in builtins and \
        len(node.args) == 1 and not node.keywords and \
        not isinstance(node.args[0], ast.Starred)


def sum_call(node: ast.Call, numpy_names: frozenset[str]) -> ast.Call | None:
    """``np.sum(a)`` or ``a.sum()`` (``mean``, ``var``, ``std`` alike) as a call of
    NumPy's own sum (:mod:`.npreduce`), ``numpy_names`` being the names of the numpy
    module; None for any other call (keywords, more arguments: Numba's own)."""
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr not in NUMPY_SUMS or node.keywords:
        return None
    owner = func.value
    if isinstance(owner, ast.Name) and owner.id in numpy_names:
        if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            return None
        op, args = f"__ol_np_{func.attr}", [node.args[0]]
    elif node.args or func.attr not in SUM_METHODS:
        return None
    else:
        op, args = f"__ol_method_{func.attr}", [owner]
    return ast.copy_location(ast.Call(ast.Name(op, ast.Load()), args, []), node)


class _Sums(ast.NodeTransformer):
    def __init__(self, numpy_names: frozenset[str]):
        self.numpy_names = numpy_names

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        return sum_call(node, self.numpy_names) or node


def exact_sums(tree: ast.AST, func: Callable[..., Any]) -> ast.AST:
    """``tree`` (changed in place) with its NumPy sums NumPy's (:func:`sum_call`), for
    code built without the checked rewrite (prange's)."""
    return ast.fix_missing_locations(_Sums(numpy_names(func)).visit(tree))


def numpy_names(func: Callable[..., Any]) -> frozenset[str]:
    """The global names of ``func`` bound to the numpy module, or to the copy of it
    whose inexact ufuncs call NumPy's own loops (:func:`.npcalls.numpy_module`)."""
    return frozenset(k for k, v in func.__globals__.items()
                     if (v is np or (isinstance(v, types.ModuleType) and v.__name__ == "numpy"))
                     and k not in func.__code__.co_freevars)


def _load(target: ast.expr) -> ast.expr:
    """``target`` read (a copy with Load context)."""
    node = copy.deepcopy(target)
    for sub in ast.walk(node):
        if hasattr(sub, "ctx"):
            sub.ctx = ast.Load()  # type: ignore[attr-defined]
    return node


def _pure(target: ast.Subscript) -> bool:
    """Can ``target`` be evaluated twice without a difference (names, constants,
    arithmetic and attributes; no calls)?"""
    return not any(isinstance(n, (ast.Call, ast.Await, ast.NamedExpr, ast.Yield))
                   for n in ast.walk(target))


_CONTAINER_CALLS = frozenset({"dict", "list", "set", "Dict", "List", "empty", "empty_list",
                              "defaultdict", "OrderedDict", "Counter"})


def _containers(tree: ast.AST) -> frozenset[str]:
    """Names assigned a dict, list or set (a display, a comprehension, ``dict()``,
    ``typed.Dict.empty()``…): their stores are left as written."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            value = node.value
            func = value.func if isinstance(value, ast.Call) else None
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else ""
            if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp,
                                  ast.SetComp)) or name in _CONTAINER_CALLS:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                out |= {t.id for t in targets if isinstance(t, ast.Name)}
    return frozenset(out)


def _builtin(func: Callable[..., Any], name: str) -> bool:
    """Is the global ``name`` of ``func`` Python's builtin, or its checked replacement
    (:mod:`.checked`: ``int`` and ``round`` of the copy level 2 compiles)?"""
    if name not in func.__globals__:
        return True
    value = func.__globals__[name]
    return value is getattr(_py_builtins, name) or \
        getattr(value, "__name__", "") == f"checked_{name}"


def _assigned(tree: ast.AST) -> frozenset[str]:
    """The names ``tree`` binds (parameters too): a local ``divmod`` is not the builtin."""
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, (ast.Store, ast.Del))}
    names |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    return frozenset(names)


def _text(node: ast.expr) -> bool:
    return isinstance(node, (ast.JoinedStr, ast.List, ast.Tuple)) or \
        (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def _number(node: ast.expr) -> float | int | complex | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, complex)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    return None


def rewrite_tree(tree: ast.FunctionDef, abs_is_builtin: bool = True,
                 numpy_names: frozenset[str] = frozenset(),
                 builtins: frozenset[str] = frozenset({"divmod", "int", "round"})
                 ) -> tuple[ast.FunctionDef, int]:
    """A copy of ``tree`` with its unproven arithmetic checked, its array stores
    checked and its NumPy sums NumPy's (``numpy_names``: the global names of the numpy
    module; ``builtins``: which of ``divmod``, ``int`` and ``round`` are Python's own
    there), and how many operations were rewritten."""
    tree = copy.deepcopy(tree)
    tree.decorator_list = []
    builtins = builtins - _assigned(tree)
    rewriter = _Rewriter(Proofs(tree), abs_is_builtin, bound_before(tree), numpy_names,
                         builtins)
    rewriter.containers = _containers(tree)
    rewriter.visit(tree)
    defer_loops(tree)
    return ast.fix_missing_locations(tree), rewriter.count


def checked_function(func: Callable[..., Any], tree: ast.FunctionDef,
                     ops: Mapping[str, Any], extra: dict[str, Any]) -> Callable[..., Any] | None:
    """``func`` compiled from its checked rewrite, in its globals plus the ``ops`` it
    calls (op name → compiled op: only those are looked up, and so built) and
    ``extra`` (names replaced for compiled code), its closure cells kept; None when
    no operation needed a check."""
    abs_builtin = "abs" not in func.__globals__ and "abs" not in func.__code__.co_freevars
    builtins = frozenset(n for n in ("divmod", "int", "round")
                         if n not in func.__code__.co_freevars and _builtin(func, n))
    new_tree, count = rewrite_tree(tree, abs_builtin, numpy_names(func), builtins)
    if count == 0:
        return None
    code = _compile(new_tree, func)
    namespace = dict(func.__globals__)
    namespace.update({k: v for k, v in extra.items() if k not in func.__code__.co_freevars})
    namespace.update({name: ops[name[len(_OP):]] for name in _names(code)
                      if name.startswith(_OP) and name[len(_OP):] in ops})
    closure = None
    if code.co_freevars:
        cells = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
        closure = tuple(types.CellType(extra[v]) if v in extra else cells[v]
                        for v in code.co_freevars)
    clone = types.FunctionType(code, namespace, func.__name__, func.__defaults__, closure)
    clone.__qualname__ = func.__qualname__
    clone.__kwdefaults__ = func.__kwdefaults__
    clone.__module__ = func.__module__
    return clone


_OP = "__ol_"


def _names(code: types.CodeType) -> set[str]:
    """The global names ``code`` and the code nested in it read."""
    out = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _names(const)
    return out


def _compile(tree: ast.FunctionDef, func: Callable[..., Any]) -> types.CodeType:
    """The code object of ``tree``, with ``func``'s free variables as free variables."""
    freevars = func.__code__.co_freevars
    filename = func.__code__.co_filename
    if not freevars:
        module = ast.Module([tree], [])
        code = compile(module, filename, "exec")
        return next(c for c in code.co_consts if isinstance(c, types.CodeType)
                    and c.co_name == tree.name)
    # Free variables need an enclosing function that defines them.
    outer = ast.FunctionDef(
        name="__ol_outer__",
        args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                           kw_defaults=[], kwarg=None, defaults=[]),
        body=[ast.Assign([ast.Name(v, ast.Store()) for v in freevars], ast.Constant(None)),
              tree, ast.Return(ast.Name(tree.name, ast.Load()))],
        decorator_list=[], returns=None)
    ast.copy_location(outer, tree)
    for node in (outer.body[0], outer.body[2]):
        ast.copy_location(node, tree)
    module = ast.fix_missing_locations(ast.Module([outer], []))
    code = compile(module, filename, "exec")
    outer_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    return next(c for c in outer_code.co_consts if isinstance(c, types.CodeType)
                and c.co_name == tree.name)
