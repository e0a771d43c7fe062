"""``FunctionFeatures``: what a function's AST says, computed once per function.

Small visitors, one question each: where the loops are, which NumPy calls it
makes (grouped by class), which constructs Numba cannot compile, which
parameters it writes in place, and which names it calls but does not define.
Names are resolved against the function's globals only to tell NumPy apart
from everything else; nothing is imported here.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import inspect
import types
from typing import Any

from .source import SourceInfo, get_source, unwrap_callable

__all__ = ["FunctionFeatures", "Finding", "Loop", "analyze", "NUMPY_CLASSES"]

#: NumPy call classes by the function's name under ``numpy`` (or a method name).
NUMPY_CLASSES: dict[str, frozenset[str]] = {
    "elementwise": frozenset(
        "sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh exp exp2 expm1 log log2 "
        "log10 log1p sqrt cbrt square abs absolute fabs sign add subtract multiply divide "
        "true_divide floor_divide power mod remainder maximum minimum fmax fmin clip floor "
        "ceil trunc rint round around where isnan isinf isfinite hypot negative reciprocal "
        "logical_and logical_or logical_not greater less equal deg2rad rad2deg".split()),
    "reduction": frozenset(
        "sum mean std var min max amin amax prod argmin argmax any all cumsum cumprod "
        "median average nansum nanmean nanstd nanmin nanmax count_nonzero ptp".split()),
    "blas": frozenset("dot vdot matmul inner outer tensordot einsum kron".split()),
    "fft": frozenset("fft ifft fft2 ifft2 fftn ifftn rfft irfft rfftn irfftn".split()),
    "sort": frozenset("sort argsort partition argpartition unique searchsorted lexsort".split()),
    "creation": frozenset(
        "zeros ones empty full arange linspace logspace zeros_like ones_like empty_like "
        "full_like array asarray ascontiguousarray copy eye identity meshgrid".split()),
}

#: Builtins Numba cannot compile, or whose meaning (I/O) must stay in Python.
NUMBA_BAD_BUILTINS = frozenset(
    "open input print eval exec compile globals locals vars dir getattr setattr delattr "
    "hasattr id super format repr breakpoint help memoryview bytearray __import__ "
    "callable issubclass object property classmethod staticmethod".split())
_IO_BUILTINS = frozenset({"open", "input", "print", "breakpoint"})
_IO_MODULES = frozenset({"os", "sys", "io", "time", "logging", "pathlib", "shutil",
                         "socket", "subprocess", "pickle", "json", "csv"})
_RANDOM_MODULES = frozenset({"random", "secrets"})
_MUTATING_METHODS = frozenset({"fill", "sort", "resize", "put", "itemset", "partition",
                               "setfield", "setflags", "__setitem__", "__iadd__"})
_MUTATING_NUMPY = frozenset({"copyto", "put", "place", "putmask", "fill_diagonal"})


@dataclasses.dataclass(frozen=True)
class Finding:
    """One fact about one line: ``line``, a short ``what``, and ``detail``."""

    line: int
    what: str
    detail: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}" + (f" ({self.detail})" if self.detail else "")


@dataclasses.dataclass(frozen=True)
class Loop:
    """A Python-level loop: ``kind`` is range_len, range_shape, range, array_iter,
    iter, or while; ``hot`` when it likely runs over many elements; ``array_work``
    when its body calls NumPy on whole arrays (``x.mean()``, ``np.sum(x)``), whose
    time compiled code does not shrink and may even grow."""

    line: int
    kind: str
    depth: int
    hot: bool
    array_work: bool = False


@dataclasses.dataclass(frozen=True)
class FunctionFeatures:
    """Everything the planner and the backends need from the function's source."""

    name: str
    source: SourceInfo
    params: tuple[str, ...] = ()
    is_generator: bool = False
    is_async: bool = False
    has_varargs: bool = False
    loops: tuple[Loop, ...] = ()
    numpy_calls: dict[str, tuple[Finding, ...]] = dataclasses.field(default_factory=dict)
    numba_blockers: tuple[Finding, ...] = ()
    semantic_blockers: tuple[Finding, ...] = ()
    mutated_params: frozenset[str] = frozenset()
    global_writes: frozenset[str] = frozenset()
    called_globals: dict[str, int] = dataclasses.field(default_factory=dict)
    loaded_globals: frozenset[str] = frozenset()

    @property
    def has_source(self) -> bool:
        return self.source.ok

    @property
    def max_loop_depth(self) -> int:
        return max((loop.depth for loop in self.loops), default=0)

    @property
    def hot_loops(self) -> bool:
        """True when the function's time is likely spent in Python-level loops."""
        return any(loop.hot for loop in self.loops)

    @property
    def scalar_hot_loops(self) -> bool:
        """True when some hot loop works element by element: a sure win for a JIT."""
        return any(loop.hot and not loop.array_work for loop in self.loops)

    @property
    def uses_random(self) -> bool:
        return "random" in self.numpy_calls or any(
            f.what.startswith("random") for f in self.semantic_blockers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "has_source": self.has_source,
            "no_source_reason": self.source.reason,
            "params": list(self.params),
            "is_generator": self.is_generator,
            "is_async": self.is_async,
            "loops": [dataclasses.asdict(loop) for loop in self.loops],
            "hot_loops": self.hot_loops,
            "numpy_calls": {k: [str(f) for f in v] for k, v in self.numpy_calls.items()},
            "numba_blockers": [str(f) for f in self.numba_blockers],
            "semantic_blockers": [str(f) for f in self.semantic_blockers],
            "mutated_params": sorted(self.mutated_params),
            "global_writes": sorted(self.global_writes),
            "called_globals": dict(self.called_globals),
        }


def analyze(func: Any) -> FunctionFeatures:
    """Compute :class:`FunctionFeatures` for ``func``; never raises."""
    raw = unwrap_callable(func)
    name = str(getattr(raw, "__qualname__", None) or getattr(raw, "__name__", repr(raw)))
    source = get_source(raw)
    is_gen = inspect.isgeneratorfunction(raw) or inspect.isasyncgenfunction(raw)
    is_async = inspect.iscoroutinefunction(raw) or inspect.isasyncgenfunction(raw)
    if source.tree is None:
        return FunctionFeatures(name=name, source=source, is_generator=is_gen,
                                is_async=is_async)
    tree = source.tree
    params = _param_names(tree.args)
    has_varargs = tree.args.vararg is not None or tree.args.kwarg is not None
    namespace = _Namespace(raw)
    scope = _Scope(tree, params)
    loops = _LoopFinder(params).run(tree)
    calls = _CallFinder(namespace, scope)
    calls.run(tree)
    blockers = _NumbaBlockers(namespace, scope).run(tree)
    if has_varargs:
        blockers.insert(0, Finding(tree.lineno, "*args/**kwargs parameters"))
    if is_gen:
        blockers.insert(0, Finding(tree.lineno, "generator function"))
    if is_async:
        blockers.insert(0, Finding(tree.lineno, "async function"))
    return FunctionFeatures(
        name=name, source=source, params=params, is_generator=is_gen, is_async=is_async,
        has_varargs=has_varargs, loops=tuple(loops),
        numpy_calls={k: tuple(v) for k, v in calls.numpy.items()},
        numba_blockers=tuple(blockers), semantic_blockers=tuple(calls.semantic),
        mutated_params=frozenset(_MutationFinder(params, namespace).run(tree)),
        global_writes=frozenset(scope.global_writes),
        called_globals=dict(calls.called_globals),
        loaded_globals=frozenset(scope.free_loads))


def _param_names(args: ast.arguments) -> tuple[str, ...]:
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return tuple(names)


class _Namespace:
    """Resolves a dotted name (``np.linalg.norm``) against the function's globals."""

    def __init__(self, func: Any):
        self.globals: dict[str, Any] = getattr(func, "__globals__", {}) or {}
        closure = getattr(func, "__closure__", None) or ()
        freevars = getattr(getattr(func, "__code__", None), "co_freevars", ())
        self.closure: dict[str, Any] = {}
        for var, cell in zip(freevars, closure):
            try:
                self.closure[var] = cell.cell_contents
            except ValueError:  # an empty cell
                pass

    def lookup(self, name: str) -> tuple[bool, Any]:
        if name in self.closure:
            return True, self.closure[name]
        if name in self.globals:
            return True, self.globals[name]
        if hasattr(builtins, name):
            return True, getattr(builtins, name)
        return False, None

    def dotted(self, node: ast.expr) -> str | None:
        """``np.fft.fft`` → ``'numpy.fft.fft'`` when its root resolves to a module."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        found, value = self.lookup(node.id)
        if not found:
            return None
        if isinstance(value, types.ModuleType):
            root = value.__name__
        else:
            module = getattr(value, "__module__", None) or ""
            if not module:
                return None
            root = f"{module}.{getattr(value, '__name__', node.id)}"
        return ".".join([root] + parts[::-1])


class _Scope(ast.NodeVisitor):
    """Local names, names declared global, and free names the function loads."""

    def __init__(self, tree: ast.AST, params: tuple[str, ...]):
        self.locals: set[str] = set(params)
        self.global_decls: set[str] = set()
        self.global_writes: set[str] = set()
        loads: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                self.global_decls.update(node.names)
            elif isinstance(node, ast.Name):
                if isinstance(node.ctx, (ast.Store, ast.Del)):
                    self.locals.add(node.id)
                else:
                    loads.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node is not tree:
                self.locals.add(node.name)
            elif isinstance(node, ast.arg):
                self.locals.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.locals.update((a.asname or a.name).split(".")[0] for a in node.names)
        self.global_writes = self.global_decls & self.locals
        self.locals -= self.global_decls
        self.free_loads = frozenset(loads - self.locals)

    def is_local(self, name: str) -> bool:
        return name in self.locals


def _range_kind(call: ast.Call, params: tuple[str, ...]) -> tuple[str, bool]:
    """Classify ``range(...)``: over ``len(x)``, ``x.shape[i]``, a constant, or a name."""
    args = call.args
    stop = args[1] if len(args) >= 2 else (args[0] if args else None)
    if isinstance(stop, ast.Call) and isinstance(stop.func, ast.Name) and stop.func.id == "len":
        return "range_len", True
    if isinstance(stop, ast.Subscript) and isinstance(stop.value, ast.Attribute) \
            and stop.value.attr == "shape":
        return "range_shape", True
    if isinstance(stop, ast.Attribute) and stop.attr in ("size", "shape"):
        return "range_shape", True
    if isinstance(stop, ast.Constant) and isinstance(stop.value, int):
        return "range", stop.value >= 1000
    return "range", True


class _LoopFinder(ast.NodeVisitor):
    """Python-level loops with their depth, and whether each is likely hot."""

    def __init__(self, params: tuple[str, ...]):
        self.params = params
        self.loops: list[Loop] = []
        self.depth = 0
        self.root: ast.AST | None = None

    def run(self, tree: ast.AST) -> list[Loop]:
        self.root = tree
        self.generic_visit(tree)
        return self.loops

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node is self.root:
            self.generic_visit(node)  # nested functions are not this function's loops

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_For(self, node: ast.For) -> None:
        kind, hot = self._classify(node.iter)
        self._enter(node, kind, hot)

    def visit_While(self, node: ast.While) -> None:
        self._enter(node, "while", True)

    def _enter(self, node: ast.For | ast.While, kind: str, hot: bool) -> None:
        self.depth += 1
        self.loops.append(Loop(node.lineno, kind, self.depth, hot or self.depth > 1,
                               self._array_work(node)))
        self.generic_visit(node)
        self.depth -= 1

    def _array_work(self, loop: ast.For | ast.While) -> bool:
        """Does the body call NumPy on a whole array parameter (not on ``x[i]``)?"""
        for node in ast.walk(loop):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            if not any(name in names for names in NUMPY_CLASSES.values()):
                continue
            receiver = node.func.value
            if isinstance(receiver, ast.Name) and receiver.id in self.params:
                return True  # x.mean()
            if any(isinstance(a, ast.Name) and a.id in self.params for a in node.args):
                return True  # np.sum(x)
        return False

    def _classify(self, it: ast.expr) -> tuple[str, bool]:
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name):
            if it.func.id == "range":
                return _range_kind(it, self.params)
            if it.func.id in ("enumerate", "zip", "reversed") and it.args:
                inner = [self._classify(a) for a in it.args]
                return inner[0][0], any(h for _, h in inner)
        if isinstance(it, ast.Name) and it.id in self.params:
            return "array_iter", True
        if isinstance(it, (ast.List, ast.Tuple, ast.Set)):
            return "iter", len(it.elts) >= 1000
        return "iter", True


class _CallFinder(ast.NodeVisitor):
    """NumPy calls by class, free names called, random and I/O use."""

    def __init__(self, ns: _Namespace, scope: _Scope):
        self.ns, self.scope = ns, scope
        self.numpy: dict[str, list[Finding]] = {}
        self.semantic: list[Finding] = []
        self.called_globals: dict[str, int] = {}

    def run(self, tree: ast.AST) -> None:
        self.visit(tree)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.MatMult):
            self.numpy.setdefault("blas", []).append(Finding(node.lineno, "@", "matmul"))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and not self.scope.is_local(func.id):
            self.called_globals.setdefault(func.id, node.lineno)
            if func.id in _IO_BUILTINS:
                self.semantic.append(Finding(node.lineno, f"I/O: {func.id}()"))
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if dotted:
            self._classify_dotted(dotted, node.lineno)
        elif isinstance(func, ast.Attribute):
            self._classify_method(func.attr, node.lineno)
        self.generic_visit(node)

    def _classify_dotted(self, dotted: str, line: int) -> None:
        root, _, rest = dotted.partition(".")
        if root == "numpy":
            if rest.startswith("random"):
                self._add("random", line, dotted)
                self.semantic.append(Finding(line, f"random numbers: {dotted}()"))
                return
            leaf = rest.rsplit(".", 1)[-1]
            if rest.startswith("fft"):
                self._add("fft", line, dotted)
            elif rest.startswith("linalg"):
                self._add("blas", line, dotted)
            else:
                for cls, names in NUMPY_CLASSES.items():
                    if leaf in names:
                        self._add(cls, line, dotted)
                        break
                else:
                    self._add("other", line, dotted)
        elif root in _RANDOM_MODULES:
            self.semantic.append(Finding(line, f"random numbers: {dotted}()"))
        elif root in _IO_MODULES:
            self.semantic.append(Finding(line, f"I/O or system call: {dotted}()"))

    def _classify_method(self, name: str, line: int) -> None:
        for cls in ("reduction", "blas", "sort"):
            if name in NUMPY_CLASSES[cls]:
                self._add(cls, line, f".{name}()")
                return

    def _add(self, cls: str, line: int, what: str) -> None:
        self.numpy.setdefault(cls, []).append(Finding(line, what))


class _NumbaBlockers(ast.NodeVisitor):
    """Constructs Numba's nopython mode cannot compile, with their lines."""

    def __init__(self, ns: _Namespace, scope: _Scope):
        self.ns, self.scope = ns, scope
        self.found: list[Finding] = []
        self.root: ast.AST | None = None

    def run(self, tree: ast.AST) -> list[Finding]:
        self.root = tree
        self.generic_visit(tree)
        return self.found

    def _add(self, node: ast.AST, what: str, detail: str = "") -> None:
        self.found.append(Finding(getattr(node, "lineno", 0), what, detail))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._add(node, "class definition")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node is not self.root and node.decorator_list:
            self._add(node, "decorated inner function")
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._add(node, "async function")

    def visit_Yield(self, node: ast.Yield) -> None:
        self._add(node, "yield")

    visit_YieldFrom = visit_Yield  # type: ignore[assignment]

    def visit_Await(self, node: ast.Await) -> None:
        self._add(node, "await")

    def visit_With(self, node: ast.With) -> None:
        self._add(node, "with statement")
        self.generic_visit(node)

    visit_AsyncWith = visit_With  # type: ignore[assignment]

    def visit_Try(self, node: ast.Try) -> None:
        if node.finalbody:
            self._add(node, "try/finally")
        for handler in node.handlers:
            if handler.type is not None and not (
                    isinstance(handler.type, ast.Name) and handler.type.id == "Exception"):
                self._add(handler, "except with a specific exception type")
            if handler.name:
                self._add(handler, "except ... as name")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self._add(node, "global statement", ", ".join(node.names))

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self._add(node, "nonlocal statement", ", ".join(node.names))

    def visit_Import(self, node: ast.Import) -> None:
        self._add(node, "import inside the function")

    visit_ImportFrom = visit_Import  # type: ignore[assignment]

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._add(node, "f-string")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                self._add(node, "attribute assignment", ast.unparse(target))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in NUMBA_BAD_BUILTINS \
                and not self.scope.is_local(func.id):
            self._add(node, f"{func.id}()", "I/O" if func.id in _IO_BUILTINS else "builtin")
        if any(kw.arg is None for kw in node.keywords):
            self._add(node, "call with **kwargs")
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if dotted:
            root = dotted.split(".", 1)[0]
            if root in _IO_MODULES or root in _RANDOM_MODULES \
                    or dotted.startswith("numpy.random"):
                self._add(node, f"{dotted}()", "random numbers" if "random" in dotted else "I/O")
        self.generic_visit(node)


class _MutationFinder(ast.NodeVisitor):
    """Parameters the function writes in place (``x[i] = …``, ``x += …``, ``out=x``)."""

    def __init__(self, params: tuple[str, ...], ns: _Namespace):
        self.params = set(params)
        self.ns = ns
        self.written: set[str] = set()

    def run(self, tree: ast.AST) -> set[str]:
        self.visit(tree)
        return self.written

    def _root(self, node: ast.expr) -> str | None:
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        return node.id if isinstance(node, ast.Name) and node.id in self.params else None

    def _store(self, target: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._store(elt)
        elif isinstance(target, (ast.Subscript, ast.Attribute)):
            root = self._root(target)
            if root:
                self.written.add(root)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._store(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and node.target.id in self.params:
            self.written.add(node.target.id)  # in place when the argument is an array
        self._store(node.target)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _MUTATING_METHODS:
            root = self._root(func.value)
            if root:
                self.written.add(root)
        for kw in node.keywords:
            if kw.arg == "out":
                root = self._root(kw.value)
                if root:
                    self.written.add(root)
        dotted = self.ns.dotted(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if dotted and dotted.startswith("numpy.") and dotted.rsplit(".", 1)[-1] in _MUTATING_NUMPY:
            root = self._root(node.args[0]) if node.args else None
            if root:
                self.written.add(root)
        self.generic_visit(node)
