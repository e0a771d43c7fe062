"""``FunctionFeatures``: what a function's AST says, computed once per function.

Small visitors, one question each: where the loops are and which NumPy calls it
makes (grouped by class) live here; which constructs Numba cannot compile and
which parameters it writes in place are in :mod:`.checks`.
Names are resolved against the function's globals only to tell NumPy apart
from everything else; nothing is imported here.

Each level's own analysis (level 1's loop rewrites, level 2's divergence
catalogue, level 3's split proofs) plugs in through :data:`LEVEL_ANALYSES`: a
``module:function`` string per analysis, imported when the first function is
analysed (this package imports no level). Each gets an :class:`AnalysisContext`
and returns a dict of named findings, read back as ``features.findings[name]``
or ``features.<name>``; a ``verify_reasons`` entry joins
:attr:`FunctionFeatures.verify_reasons`.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from .checks import MutationFinder, NumbaBlockers
from .scope import IO_BUILTINS, IO_MODULES, NUMPY_CLASSES, RANDOM_MODULES, Finding, Namespace, Scope
from .source import SourceInfo, get_source, unwrap_callable

__all__ = ["FunctionFeatures", "Finding", "Loop", "analyze", "NUMPY_CLASSES",
           "AnalysisContext", "LEVEL_ANALYSES"]

log = logging.getLogger("optlevel")

#: Each level's analysis of a function, run once at decoration (name → module:function).
LEVEL_ANALYSES: dict[str, str] = {
    "vectorize": "optlevel.levels.vectorize.analysis:function_findings",
    "numba": "optlevel.levels.numba.semantics:function_findings",
    "parallel": "optlevel.levels.parallel.split:function_findings",
}
_loaded: dict[str, Callable[[AnalysisContext], dict[str, Any]]] = {}


@dataclasses.dataclass(frozen=True)
class AnalysisContext:
    """What a level's analysis gets: the function and, when it has source, its AST
    with the names resolved (``tree`` is None without source)."""

    function: Any
    source: SourceInfo
    tree: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    params: tuple[str, ...] = ()
    has_varargs: bool = False
    namespace: Namespace | None = None
    scope: Scope | None = None
    #: what the generic pass keeps in Python (random numbers, I/O)
    kept_in_python: tuple[Finding, ...] = ()


@dataclasses.dataclass(frozen=True)
class Loop:
    """A Python-level loop: ``kind`` is range_len, range_shape, range, array_iter,
    iter, or while; ``hot`` when it likely runs over many elements; ``array_work``
    when its body calls NumPy on whole arrays (``x.mean()``, ``np.sum(x)``), whose
    time compiled code does not shrink and may even grow; ``ops``: the operations
    (subscripts, arithmetic, calls, compares, assignments) its body runs per
    iteration, nested loops' bodies not counted: what one plain iteration costs."""

    line: int
    kind: str
    depth: int
    hot: bool
    array_work: bool = False
    ops: int = 0


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
    #: the decorator's keyword options (``@optimize(split={"x": 0})``), for backends
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: why the first call of each compiled signature must be checked against the
    #: plain function (e.g. no source: the catalogue's checks could not run)
    verify_reasons: tuple[Finding, ...] = ()
    #: the analysed function itself (the per-call checks read its globals)
    function: Any = dataclasses.field(default=None, repr=False, compare=False)
    #: each level's findings by name (:data:`LEVEL_ANALYSES`): ``vectorize`` (level
    #: 1's loops with a vectorized form), ``semantic_findings`` (level 2's catalogue),
    #: ``split`` (level 3's split proofs); also readable as attributes
    findings: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __getattr__(self, name: str) -> Any:
        findings = self.__dict__.get("findings")
        if findings is not None and name in findings:
            return findings[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r} (no level "
                             "analysis gave it)")

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
            "verify_reasons": [str(f) for f in self.verify_reasons],
            **{name: _as_dict(found) for name, found in self.findings.items()},
        }


def _as_dict(found: Any) -> Any:
    if hasattr(found, "to_dict"):
        return found.to_dict()
    if isinstance(found, (tuple, list)):
        return [str(f) for f in found]
    return found


def analyze(func: Any) -> FunctionFeatures:
    """Compute :class:`FunctionFeatures` for ``func``; never raises."""
    raw = unwrap_callable(func)
    name = str(getattr(raw, "__qualname__", None) or getattr(raw, "__name__", repr(raw)))
    source = get_source(raw)
    is_gen = inspect.isgeneratorfunction(raw) or inspect.isasyncgenfunction(raw)
    is_async = inspect.iscoroutinefunction(raw) or inspect.isasyncgenfunction(raw)
    if source.tree is None:
        found, verify = _level_findings(AnalysisContext(raw, source))
        return FunctionFeatures(name=name, source=source, is_generator=is_gen,
                                is_async=is_async, function=raw, verify_reasons=verify,
                                findings=found)
    tree = source.tree
    params = _param_names(tree.args)
    has_varargs = tree.args.vararg is not None or tree.args.kwarg is not None
    namespace = Namespace(raw)
    scope = Scope(tree, params)
    loops = _LoopFinder(params).run(tree)
    calls = _CallFinder(namespace, scope)
    calls.run(tree)
    blockers = NumbaBlockers(namespace, scope).run(tree)
    if has_varargs:
        blockers.insert(0, Finding(tree.lineno, "*args/**kwargs parameters"))
    if is_gen:
        blockers.insert(0, Finding(tree.lineno, "generator function"))
    if is_async:
        blockers.insert(0, Finding(tree.lineno, "async function"))
    found, verify = _level_findings(AnalysisContext(
        raw, source, tree, params, has_varargs, namespace, scope, tuple(calls.semantic)))
    return FunctionFeatures(
        name=name, source=source, params=params, is_generator=is_gen, is_async=is_async,
        has_varargs=has_varargs, loops=tuple(loops),
        numpy_calls={k: tuple(v) for k, v in calls.numpy.items()},
        numba_blockers=tuple(blockers), semantic_blockers=tuple(calls.semantic),
        mutated_params=frozenset(MutationFinder(params, namespace).run(tree)),
        global_writes=frozenset(scope.global_writes),
        called_globals=dict(calls.called_globals),
        loaded_globals=frozenset(scope.free_loads),
        verify_reasons=verify, function=raw, findings=found)


def _level_findings(ctx: AnalysisContext) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    """Run every level's analysis on ``ctx``: (named findings, verify reasons)."""
    found: dict[str, Any] = {}
    verify: list[Finding] = []
    for name, spec in LEVEL_ANALYSES.items():
        run = _loaded.get(name)
        if run is None:
            module, _, attr = spec.partition(":")
            run = _loaded[name] = getattr(importlib.import_module(module), attr)
        got = dict(run(ctx))
        verify += got.pop("verify_reasons", ())
        found.update(got)
    return found, tuple(verify)


def _param_names(args: ast.arguments) -> tuple[str, ...]:
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return tuple(names)


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


_OPS = (ast.Subscript, ast.BinOp, ast.Call, ast.Compare, ast.UnaryOp, ast.AugAssign,
        ast.BoolOp, ast.Attribute, ast.Assign)


def _own_ops(loop: ast.For | ast.While) -> int:
    """The operations one iteration of ``loop`` runs outside its nested loops."""
    count = 0
    todo: list[ast.AST] = [*loop.body, *loop.orelse]
    if isinstance(loop, ast.While):
        todo.append(loop.test)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.For, ast.While, ast.FunctionDef, ast.Lambda)):
            continue
        count += isinstance(node, _OPS)
        todo.extend(ast.iter_child_nodes(node))
    return count


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
                               self._array_work(node), _own_ops(node)))
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

    def __init__(self, ns: Namespace, scope: Scope):
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
            if func.id in IO_BUILTINS:
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
        elif root in RANDOM_MODULES:
            self.semantic.append(Finding(line, f"random numbers: {dotted}()"))
        elif root in IO_MODULES:
            self.semantic.append(Finding(line, f"I/O or system call: {dotted}()"))

    def _classify_method(self, name: str, line: int) -> None:
        for cls in ("reduction", "blas", "sort"):
            if name in NUMPY_CLASSES[cls]:
                self._add(cls, line, f".{name}()")
                return

    def _add(self, cls: str, line: int, what: str) -> None:
        self.numpy.setdefault(cls, []).append(Finding(line, what))
