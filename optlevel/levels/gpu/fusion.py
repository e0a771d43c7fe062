"""Fused kernels that compute what NumPy computes.

Why this module exists (measured on an H100, confirmed from CuPy 14.2's source):
``cupy.fuse`` types an operation whose operands are all Python scalars by the
*smallest* loop they can be cast to. In a Black–Scholes pricer, ``r + 0.5 * v * v``
with Python-float ``r`` and ``v`` ran in float16 inside the kernel (and ``2 * n``
with Python ints in int8), where NumPy computes both in Python's double. The
same fuser also picks float16 for ``int8_array * 2.5`` and complex64 for
``bool_array * 1j``, where NumPy 2 (NEP 50) gives float64 and complex128.

The kernel built here is therefore not ``cupy.fuse(func)`` but ``cupy.fuse`` of a
function generated from ``func``'s body, per pattern of scalar arguments:

- every scalar-only subexpression (``r + 0.5 * v * v``, ``-r``, ``np.exp(r)``) runs
  on the host before the kernel, in Python and NumPy as in the plain function, and
  enters the kernel as an argument;
- every remaining operator and ufunc runs through :class:`TypedOp`, which at
  trace time asks NumPy which loop it would use (``ufunc.resolve_dtypes``, Python
  scalars weak) and casts the operands to exactly that loop's dtypes, so CuPy
  has no choice left to make; an operation whose CuPy result type still differs
  raises :class:`Unfaithful`, and that pattern of arguments runs unfused.

The body must have passed level 4's elementwise proof (:mod:`.checks`): plain
assignments and one return of ufuncs, operators, ``where``, names and constants.
Contraction of ``a * b + c`` into one FMA by the CUDA compiler remains; it moves a
result by at most an ulp per operation.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ...analysis.scope import Namespace
from ...analysis.source import unwrap_callable

__all__ = ["Unfaithful", "TypedOp", "FaithfulKernel", "faithful_kernel", "OPERATORS"]

#: Python's operators → the NumPy ufunc an array operand makes them call
OPERATORS: dict[type, str] = {
    ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "true_divide",
    ast.FloorDiv: "floor_divide", ast.Mod: "remainder", ast.Pow: "power",
    ast.USub: "negative", ast.UAdd: "positive", ast.Lt: "less", ast.LtE: "less_equal",
    ast.Gt: "greater", ast.GtE: "greater_equal", ast.Eq: "equal", ast.NotEq: "not_equal"}
_WEAK = (int, float, complex)  # Python scalars NumPy 2 types by the other operand
_PY_SCALARS = (bool, int, float, complex)
#: the dtype NumPy gives a Python scalar on its own (and the fuser gives its argument)
_DEFAULT = {int: np.dtype(np.int64), float: np.dtype(np.float64),
            complex: np.dtype(np.complex128)}


class Unfaithful(TypeError):
    """This operation would not compute in NumPy's types inside the fused kernel."""


class TypedOp:
    """A ufunc called in a fused kernel with the operand types NumPy would use.

    Parameters
    ----------
    name : str
        The NumPy name (``"add"``, ``"where"``).
    device : callable
        The library's version (``cupy.add``; ``numpy.add`` on the host stand-in).
    kinds : tuple
        ``(array_types, scalar_var_types)``: the library's traced array and scalar
        variables (CuPy's fusion variables), besides NumPy's own.
    add : callable
        The library's ``add``, which makes a weak scalar argument strong.
    not_equal : callable
        The library's ``not_equal``: a complex value becomes a bool by ``!= 0``, as
        NumPy casts it (CUDA's compiler has no cast from a complex to a bool).
    failures : list
        Where an :class:`Unfaithful` is also recorded: CuPy's fuser catches every
        exception of a trace and tries its other fuser, so the caller looks here.
    """

    def __init__(self, name: str, device: Callable[..., Any], kinds: tuple,
                 failures: list | None = None, add: Callable[..., Any] | None = None,
                 not_equal: Callable[..., Any] | None = None):
        self.name = name
        self.device = device
        self.add = add if add is not None else device
        self.not_equal = not_equal
        self.ufunc = getattr(np, name) if name != "where" else None
        self.arrays, self.scalars = kinds
        self.failures = failures if failures is not None else []

    def __call__(self, *operands: Any) -> Any:
        try:
            return self._call(operands)
        except Unfaithful as exc:
            self.failures.append(str(exc))
            raise

    def _call(self, operands: tuple) -> Any:
        described = [self._describe(o) for o in operands]
        if self.ufunc is None:
            return self._where(operands, described)
        nout = self.ufunc.nout
        try:
            loop = self.ufunc.resolve_dtypes(tuple(described) + (None,) * nout)
        except (TypeError, ValueError) as exc:  # NumPy has no loop: plain raises
            raise Unfaithful(f"np.{self.name}: {exc}") from None
        ins = [self._cast(o, d, t) for o, d, t in zip(operands, described, loop)]
        out = self._run(*ins)
        outs = out if isinstance(out, tuple) else (out,)
        for value, want in zip(outs, loop[len(operands):]):
            self._expect(value, want)
        return out

    def _where(self, operands: tuple, described: list) -> Any:
        if len(operands) != 3:
            raise Unfaithful("np.where with one argument is not elementwise")
        cond, x, y = operands
        target = np.result_type(*(_representative(d) for d in described[1:]))
        ins = (self._cast(cond, described[0], np.dtype(bool)),
               self._cast(x, described[1], target), self._cast(y, described[2], target))
        out = self._run(*ins)
        self._expect(out, target)
        return out

    def _run(self, *ins: Any) -> Any:
        try:
            return self.device(*ins)
        except (TypeError, ValueError) as exc:  # no loop for NumPy's types in the fuser
            raise Unfaithful(f"np.{self.name}: {exc}") from None

    def _describe(self, o: Any) -> Any:
        """NumPy's view of an operand: a dtype, or a Python type for a weak scalar."""
        t = type(o)
        if t is bool:
            return np.dtype(bool)
        if t in _WEAK:
            return t
        if isinstance(o, (np.generic, np.ndarray)) or isinstance(o, self.arrays):
            return o.dtype
        if self.scalars and isinstance(o, self.scalars):
            weak = getattr(o, "is_weak", False)
            if weak is bool:
                return np.dtype(bool)
            return weak if weak in _WEAK else o.dtype
        raise Unfaithful(f"np.{self.name} got a {t.__name__} operand")

    def _cast(self, o: Any, described: Any, dtype: np.dtype) -> Any:
        """``o`` as a value of exactly ``dtype`` that the library types strongly."""
        if type(o) in _PY_SCALARS:
            return dtype.type(o)  # a constant: a NumPy scalar, as NumPy casts it
        if isinstance(described, type):
            # a Python scalar argument the fuser would type by the smallest loop it
            # fits, casts included: first made strong at its own precision, by adding
            # -0.0 (or 0), which leaves every value as it is, -0.0, inf and nan too
            o = self.add(o, _DEFAULT[described].type(-0.0 if described is not int else 0))
            described = _DEFAULT[described]
        if described == dtype:
            return o
        if dtype == np.dtype(bool) and np.dtype(described).kind == "c":
            if self.not_equal is None:
                raise Unfaithful(f"np.{self.name} casts a complex operand to bool")
            return self.not_equal(o, np.dtype(described).type(0))
        return o.astype(dtype)

    def _expect(self, value: Any, want: np.dtype) -> None:
        got = getattr(value, "dtype", None)
        if got != want:
            raise Unfaithful(f"np.{self.name} gives {got} in the fused kernel where NumPy "
                             f"gives {want}")


def _representative(described: Any) -> Any:
    return described(0) if isinstance(described, type) else described


class _Split:
    """One pattern of scalar arguments: the host prologue and the kernel's body."""

    def __init__(self, prologue: Any, kernel_params: list[str], hoisted: list[str],
                 kernel_fn: Any, failures: list):
        self.prologue = prologue  # (*scalar args) → values of ``hoisted``
        self.kernel_params = kernel_params  # array parameters, in order
        self.hoisted = hoisted
        self.kernel_fn = kernel_fn
        self.failures = failures  # what TypedOp found unfaithful while tracing
        #: whether the kernel has run once. CuPy traces and compiles a fused kernel on
        #: its first launch (the split's key holds the arrays' dtypes); an exception
        #: there (a CUDA compile error on code the tracer accepted) is the fuser's,
        #: and that launch runs unfused instead
        self.launched = False


class _Builder:
    """Generates the prologue and the kernel for one set of scalar parameters."""

    def __init__(self, tree: ast.FunctionDef, ns: Namespace, params: list[str],
                 scalars: set[str]):
        self.tree, self.ns, self.params = tree, ns, params
        self.scalar_names = set(scalars)
        # the names that hold the body's values: parameters and assigned locals
        self.values = set(params) | {t.id for s in tree.body if isinstance(s, ast.Assign)
                                     for t in s.targets if isinstance(t, ast.Name)}
        self.scalar_params = [p for p in params if p in scalars]
        self.prologue: list[ast.stmt] = []
        self.kernel: list[ast.stmt] = []
        self.hoisted: list[str] = []
        self.kernel_locals: set[str] = set()
        self.calls: set[str] = set()
        self.counter = itertools.count()

    def build(self) -> tuple[str, str, list[str]] | None:
        body = [s for s in self.tree.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        for stmt in body[:-1]:
            target = stmt.targets[0].id  # type: ignore[attr-defined]
            value = stmt.value  # type: ignore[attr-defined]
            if target in self.params or target in self.scalar_names or \
                    target in self.kernel_locals:
                # a name that changes from scalar to array (or back) part-way: the
                # split by names would read the wrong one; such bodies run unfused
                raise Unfaithful(f"line {stmt.lineno}: {target!r} is assigned again")
            if self._scalar_only(value):
                self.prologue.append(ast.Assign([ast.Name(target, ast.Store())],
                                                self._host(value)))
                self.scalar_names.add(target)
            else:
                self.kernel.append(ast.Assign([ast.Name(target, ast.Store())],
                                              self._device(value)))
                self.kernel_locals.add(target)
        result = body[-1].value  # type: ignore[attr-defined]
        parts = result.elts if isinstance(result, ast.Tuple) else [result]
        if any(self._scalar_only(p) for p in parts):
            return None  # a scalar result: nothing for a kernel to make
        self.kernel.append(ast.Return(self._device(result)))
        return self._source()

    def _source(self) -> tuple[str, str, list[str]]:
        used = {n.id for s in self.kernel for n in ast.walk(s) if isinstance(n, ast.Name)}
        inputs = [n for n in self._known_scalars() if n in used]
        arrays = [p for p in self.params if p not in self.scalar_names]
        ret = ast.Return(ast.Tuple([ast.Name(n, ast.Load()) for n in inputs], ast.Load()))
        pro = _function("_optlevel_prologue", self.scalar_params, self.prologue + [ret])
        ker = _function("_optlevel_kernel", arrays + inputs, self.kernel)
        self.hoisted = inputs
        return pro, ker, arrays

    def _known_scalars(self) -> list[str]:
        ordered = list(self.scalar_params)
        for stmt in self.prologue:
            for t in stmt.targets:  # type: ignore[attr-defined]
                if t.id not in ordered:
                    ordered.append(t.id)
        return ordered

    def _scalar_only(self, node: ast.expr) -> bool:
        """No array flows into ``node``: every name it reads is a scalar (NumPy's
        module and functions are not the body's values)."""
        return not any(isinstance(n, ast.Name) and n.id in self.values
                       and n.id not in self.scalar_names for n in ast.walk(node))

    def _leaf(self, node: ast.expr) -> str:
        dotted = self.ns.dotted(node)
        if dotted is None or not dotted.startswith("numpy."):
            raise Unfaithful("not a NumPy name")
        return dotted.rsplit(".", 1)[-1]

    def _host(self, node: ast.expr) -> ast.expr:
        """A scalar-only expression as the host runs it: NumPy's names by reference."""
        return _Rename(self).visit(_copy(node))

    def _device(self, node: ast.expr) -> ast.expr:
        """An array expression: scalar-only parts hoisted, every operation typed."""
        if self._scalar_only(node) and not isinstance(node, (ast.Name, ast.Constant)):
            name = f"_optlevel_h{next(self.counter)}"
            self.prologue.append(ast.Assign([ast.Name(name, ast.Store())], self._host(node)))
            self.scalar_names.add(name)
            return ast.Name(name, ast.Load())
        if isinstance(node, ast.BinOp):
            return self._op(OPERATORS[type(node.op)], [node.left, node.right])
        if isinstance(node, ast.UnaryOp):
            return self._op(OPERATORS[type(node.op)], [node.operand])
        if isinstance(node, ast.Compare):
            return self._op(OPERATORS[type(node.ops[0])], [node.left, node.comparators[0]])
        if isinstance(node, ast.Call):
            leaf = self._leaf(node.func)
            return self._op(_canonical(leaf), list(node.args))
        if isinstance(node, ast.Attribute):
            return ast.Constant(getattr(np, self._leaf(node)))
        if isinstance(node, ast.Tuple):
            return ast.Tuple([self._device(e) for e in node.elts], ast.Load())
        return _copy(node)  # a name or a constant

    def _op(self, name: str, args: list[ast.expr]) -> ast.expr:
        self.calls.add(name)
        return ast.Call(ast.Name(f"_optlevel_op_{name}", ast.Load()),
                        [self._device(a) for a in args], [])


class _Rename(ast.NodeTransformer):
    """NumPy calls and constants in host code → names bound to NumPy's objects."""

    def __init__(self, builder: _Builder):
        self.builder = builder

    def visit_Call(self, node: ast.Call) -> ast.expr:
        leaf = self.builder._leaf(node.func)
        node.func = ast.Name(f"_optlevel_np_{leaf}", ast.Load())
        node.args = [self.visit(a) for a in node.args]
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        return ast.Constant(getattr(np, self.builder._leaf(node)))


def _canonical(leaf: str) -> str:
    """``abs`` → ``absolute``, ``mod`` → ``remainder``: the ufunc's own name."""
    found = getattr(np, leaf, None)
    return found.__name__ if isinstance(found, np.ufunc) else leaf


def _copy(node: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(node), mode="eval").body


def _function(name: str, params: list[str], body: list[ast.stmt]) -> str:
    """The source of ``def name(params): body``."""
    lines = [ast.unparse(ast.fix_missing_locations(s)) for s in body] or ["pass"]
    text = "\n".join("    " + line for stmt in lines for line in stmt.splitlines())
    return f"def {name}({', '.join(params)}):\n{text}\n"


class FaithfulKernel:
    """The fused callable a level-4 plan runs in place of ``lib.fuse(func)``.

    Called with the function's arguments (device arrays or host chunks, and
    scalars), it picks the split for this pattern of scalar types (made on first
    use), runs the host prologue, then the fused kernel; a pattern the fuser cannot
    type as NumPy does runs ``unfused`` (the function rebound to the library).
    """

    def __init__(self, lib: Any, func: Callable[..., Any], tree: ast.FunctionDef,
                 unfused: Callable[..., Any], name: str):
        raw = unwrap_callable(func)
        self.lib, self.tree, self.unfused, self.name = lib, tree, unfused, name
        self.ns = Namespace(raw)
        self.signature = inspect.signature(raw)
        self.params = list(self.signature.parameters)
        self.filename = raw.__code__.co_filename
        self._splits: dict[tuple, Any] = {}
        self._lock = threading.Lock()
        self.codes: set[Any] = set()  # the generated prologues' code objects

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != len(self.params):
            bound = self.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            args = tuple(bound.arguments[p] for p in self.params)
        key = tuple(type(a) if _is_scalar(a) else getattr(a, "dtype", None) for a in args)
        split = self._splits.get(key)
        if split is None:
            split = self._make(key)
        if split is False:
            return self.unfused(*args)
        scalars = [a for a, p in zip(args, self.params) if p not in split.kernel_params]
        values = split.prologue(*scalars)
        arrays = [a for a, p in zip(args, self.params) if p in split.kernel_params]
        try:
            out = split.kernel_fn(*arrays, *values)
        except Exception:
            if split.launched and not split.failures:
                raise  # this kernel ran before: the error is the call's (the user's)
            with self._lock:
                self._splits[key] = False
            return self.unfused(*args)  # the user's own error, if any, is raised here
        split.launched = True
        return out

    def _make(self, key: tuple) -> Any:
        with self._lock:
            found = self._splits.get(key)
            if found is None:
                scalars = {p for p, k in zip(self.params, key) if isinstance(k, type)}
                try:
                    found = False if any(k is None for k in key) else self._build(scalars)
                except Unfaithful:
                    found = False
                self._splits[key] = found
            return found

    def _build(self, scalars: set[str]) -> Any:
        builder = _Builder(self.tree, self.ns, self.params, scalars)
        built = builder.build()
        if built is None:
            raise Unfaithful("a result computed from scalars only")
        pro_src, ker_src, arrays = built
        host_names = {f"_optlevel_np_{n}": getattr(np, n) for n in dir(np)
                      if f"_optlevel_np_{n}" in pro_src}
        prologue = _compile(pro_src, "_optlevel_prologue", host_names,
                            f"<optlevel prologue of {self.name}>")
        self.codes.add(prologue.__code__)
        kinds = self.lib.fusion_kinds()
        failures: list[str] = []
        add = self._device_ufunc("add")
        ne = self._device_ufunc("not_equal")
        ops = {f"_optlevel_op_{n}": TypedOp(n, self._device_ufunc(n), kinds, failures, add, ne)
               for n in builder.calls}
        kernel = _compile(ker_src, "_optlevel_kernel", ops, f"<optlevel kernel of {self.name}>")
        return _Split(prologue, arrays, builder.hoisted, self.lib.fuse(kernel, self.name),
                      failures)

    def _device_ufunc(self, name: str) -> Callable[..., Any]:
        try:
            return getattr(self.lib.namespace(False), name)
        except AttributeError:  # MissingOnDevice
            raise Unfaithful(f"np.{name} has no {self.lib.name} version") from None


def _compile(source: str, name: str, names: dict[str, Any], filename: str) -> Any:
    scope: dict[str, Any] = dict(names)
    exec(compile(source, filename, "exec"), scope)  # noqa: S102 - our own generated code
    return scope[name]


def _is_scalar(a: Any) -> bool:
    return type(a) in _PY_SCALARS or isinstance(a, np.generic)


def faithful_kernel(lib: Any, func: Callable[..., Any], features: Any,
                    unfused: Callable[..., Any]) -> FaithfulKernel | None:
    """The NumPy-faithful fused kernel for a function proven elementwise, or None when
    its signature has ``*args``, keyword-only parameters or no source."""
    tree = features.source.tree
    raw = unwrap_callable(func)
    if tree is None or not isinstance(tree, ast.FunctionDef):
        return None
    kinds = {p.kind for p in inspect.signature(raw).parameters.values()}
    if kinds - {inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.POSITIONAL_ONLY}:
        return None
    return FaithfulKernel(lib, func, tree, unfused, features.name)
