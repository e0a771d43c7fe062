"""Running an iteration split (:mod:`.split_iter`): the function as written, with its
proven loop handed to a :class:`LoopRunner` that runs pieces of the iterations on the
process pool and merges their effects.

Two functions are made from the AST once per function:

* the *driver*: the function itself, with the loop statement replaced by
  ``s, t = _ol_loop.run(kind, (iterable's arguments), _ol_locals())``. What comes
  before and after the loop runs in the caller's process as written.
* the *piece*: ``(env, items) -> reductions``: binds the names the loop reads from
  ``env`` and runs the loop's body over ``items``. In the caller's process it runs the
  whole loop, or its first iterations, on the real objects (the plain loop, exactly);
  in a worker it runs one piece on copies (:mod:`.iterworker`).

On the process pool with up to 4 workers the caller runs the first piece itself while
the pool's workers run the rest (:mod:`.iterhelp`, which also says what a raising
piece does there). Otherwise (more workers, threads, Dask, Ray) the caller waits, and
merges in piece order: the slots each piece wrote, the lists it appended, its partial
reductions folded onto the start value. A piece that raises means the whole loop runs
again here, serially, on the untouched objects: the same exception, with the same
partial writes, as the plain call (the proof leaves the loop no other effects). Calls
the runner cannot split safely (an argument of a kind it cannot cut, aliased
containers, slots that two iterations would write, a reduction of a type that does not
fold exactly) run the plain loop here; so do calls whose pieces' reductions do not fold
(:meth:`LoopRunner.unmergeable`), before any of their effects is merged.
"""

from __future__ import annotations

import ast
import builtins
import copy
import itertools
import marshal
import os
import time
import types
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NamedTuple

import numpy as np

from ...core import collector
from ...errors import FallbackWarning, warn_once
from . import pools, runtime, ship
from . import split_scan as scan
from .chunks import bounds, inexact
from .floatrows import packed_sends
from .itercheck import UNTRUSTED, first_piece_differs
from .itercut import (
    aliased,
    describe,
    fold,
    folds_exactly,
    iterable,
    key_problem,
    put,
    sequence,
    slot_problem,
    stand_ins,
    tree_params,
)
from .iterhelp import Share, helps, run_helped
from .iterworker import (
    CURRENT_GLOBALS,
    SHM_BYTES,
    UNSET,
    StoredGiven,
    run_pool_piece,
)
from .shm import Segments
from .split_iter import IterProof

__all__ = ["LoopRunner", "build_driver"]

#: Why a loop with a float + or * reduction runs as written (``last``, ``explain``).
FLOAT_SUM = ("{name!r} adds or multiplies floats: folded piece by piece it would be "
             "reassociated and its last bits could differ, so the loop ran here as written "
             "(@optimize(sum_order='pairwise') allows the split)")

#: Why a loop whose reduction met a type that does not fold exactly runs as written
#: (``last``, :func:`.itercut.folds_exactly`).
ODD_SUM = ("{name!r} reduced to a {kind}: folded piece by piece in another grouping it "
           "could differ from the plain loop's, so the loop ran here as written")

#: Why a loop whose piece stored an object it was given runs as written (``last``).
STORES_GIVEN = ("a piece stored an object the loop was given (appended it, wrote it into a "
                "slot or reduced to it): a worker process would hand back a copy, where the "
                "plain loop stores that very object, so the loop runs as written")

_CALLS = itertools.count()


def _piece_tree(tree: ast.FunctionDef, proof: IterProof) -> ast.Module:
    loop = copy.deepcopy(tree.body[proof.index])
    assert isinstance(loop, ast.For)
    loop.iter = ast.copy_location(ast.Name("_ol_items", ast.Load()), loop.iter)
    binds: list[ast.stmt] = []
    for name in proof.env:
        test = ast.Compare(ast.Constant(name), [ast.In()], [ast.Name("_ol_env", ast.Load())])
        value = ast.Subscript(ast.Name("_ol_env", ast.Load()), ast.Constant(name), ast.Load())
        binds.append(ast.If(test, [ast.Assign([ast.Name(name, ast.Store())], value)], []))
    result = ast.Tuple([ast.Name(n, ast.Load()) for n, _ in proof.reductions], ast.Load())
    args = ast.arguments([], [ast.arg("_ol_env"), ast.arg("_ol_items")], None, [], [], None, [])
    func = ast.FunctionDef("_ol_piece", args, [*binds, loop, ast.Return(result)], [], None, None)
    for stmt in binds + [func]:
        ast.copy_location(stmt, tree.body[proof.index])
    module = ast.Module([func], [])
    ast.fix_missing_locations(module)
    return module


def _iter_call(loop: ast.For, proof: IterProof,
               zips: bool) -> tuple[str, list[ast.expr]]:
    it = loop.iter
    if proof.iter_kind in ("range", "zip"):
        assert isinstance(it, ast.Call)
        return proof.iter_kind, list(it.args)
    if proof.iter_kind == "enumerate":
        assert isinstance(it, ast.Call)
        start = next((k.value for k in it.keywords if k.arg == "start"), ast.Constant(0))
        inner = it.args[0]
        if zips and isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) \
                and inner.func.id == "zip" and inner.args and not inner.keywords \
                and not any(isinstance(a, ast.Starred) for a in inner.args):
            return "enumzip", [start, *inner.args]  # cut like zip, counted like enumerate
        return "enumerate", [inner, start]
    return "iter", [it]


def build_driver(func: Callable[..., Any], tree: ast.FunctionDef, proof: IterProof,
                 runner: LoopRunner) -> Callable[..., Any]:
    """``func`` with its proven loop handed to ``runner``: same globals, defaults and
    closure (cells live), compiled from a copy of its AST with the original lines."""
    new = copy.deepcopy(tree)
    new.decorator_list = []
    loop = new.body[proof.index]
    assert isinstance(loop, ast.For)
    zips = "zip" not in scan.assigned(tree.body) and "zip" not in tree_params(tree) \
        and func.__globals__.get("zip", zip) is zip
    kind, args = _iter_call(loop, proof, zips)
    call = ast.Call(ast.Attribute(ast.Name("_ol_loop", ast.Load()), "run", ast.Load()),
                    [ast.Constant(kind), ast.Tuple(args, ast.Load()),
                     ast.Call(ast.Name("_ol_locals", ast.Load()), [], [])], [])
    if proof.reductions:
        names: list[ast.expr] = [ast.Name(n, ast.Store()) for n, _ in proof.reductions]
        stmt: ast.stmt = ast.Assign([ast.Tuple(names, ast.Store())], call)
    else:
        stmt = ast.Expr(call)
    new.body[proof.index] = ast.copy_location(stmt, loop)
    code = func.__code__
    freevars = list(code.co_freevars) + ["_ol_loop", "_ol_locals"]
    factory = ast.FunctionDef(
        name="_ol_factory", args=ast.arguments([], [], None, [], [], None, []),
        body=[*(ast.Assign([ast.Name(v, ast.Store())], ast.Constant(None)) for v in freevars),
              new, ast.Return(ast.Name(new.name, ast.Load()))],
        decorator_list=[], returns=None, type_comment=None)
    module = ast.Module([factory], [])
    ast.fix_missing_locations(module)
    compiled = compile(module, code.co_filename, "exec")
    outer = next(c for c in compiled.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in outer.co_consts
                 if isinstance(c, types.CodeType) and c.co_name == new.name)
    cells = dict(zip(code.co_freevars, func.__closure__ or ()))
    cells["_ol_loop"] = types.CellType(runner)
    cells["_ol_locals"] = types.CellType(builtins.locals)
    closure = tuple(cells[name] for name in inner.co_freevars)
    driver = types.FunctionType(inner, func.__globals__, func.__name__, func.__defaults__,
                                closure or None)
    driver.__kwdefaults__ = copy.copy(func.__kwdefaults__)
    driver.__qualname__, driver.__module__ = func.__qualname__, func.__module__
    driver.__doc__ = func.__doc__
    return driver


#: The least work a piece of a split on the process pool should hold (see _retune).
MIN_PIECE_S = 0.01


class _Cut(NamedTuple):
    """One helped call's pieces (:mod:`.iterhelp`): their descriptions, stand-ins and
    sizes; whether its timings teach the caller's share (not a first split call, whose
    checked piece is cut in two); its shared-memory segments."""

    descs: list[tuple]
    own: list[dict]
    sizes: list[int]
    learn: bool
    segments: Segments


def _head_first(ranges: list[tuple[int, int]], at: int) -> list[tuple[int, int]]:
    """Piece ``at`` (the first a worker runs) cut in two: a head of an eighth of it,
    which the first split call checks here (:mod:`.itercheck`) at a small cost, and the
    rest."""
    lo, hi = ranges[at]
    head = max(1, (hi - lo) // 8)
    if hi - lo <= head:
        return ranges
    return list(ranges[:at]) + [(lo, lo + head), (lo + head, hi)] + list(ranges[at + 1:])


class LoopRunner:
    """Runs one proven loop: in pieces on the process pool, the thread pool, a Dask
    or Ray cluster, or here as written."""

    def __init__(self, func: Callable[..., Any], tree: ast.FunctionDef, proof: IterProof,
                 workers: int, pieces_per_worker: int,
                 client: Callable[[], Any] | None = None, threads: bool = False,
                 ray: bool = False, reorder: bool = False):
        self.func, self.proof = func, proof
        # sum_order="pairwise": a float sum may be added piece by piece (reassociated);
        # else a loop whose + or * reduction meets floats runs as written
        self.reorder, self.float_sum = reorder, False
        self.odd_sum = ""  # a reduction met a type that does not fold exactly: why
        self.client = client  # a Dask client's getter: the pieces run on that cluster
        self.ray = ray  # the pieces run as Ray tasks (Ray initialized by the backend)
        self.threads = threads  # the pieces run on the thread pool, on the real objects
        self.checked = False  # the first split call's first piece was checked here
        self.untrusted = False  # ... and differed: the loop runs as written
        self.stores_given = False  # a piece stored an object it was given: runs as written
        self.private: frozenset[str] = frozenset()
        if threads:
            from .iterthreads import private_slots

            self.private = private_slots(tree, proof)
        self.workers, self.pieces = workers, workers * pieces_per_worker
        self.most_pieces = self.pieces  # see _retune
        # on a few cores the caller runs a share of the loop itself (:mod:`.iterhelp`)
        self.share = Share(workers) if helps(workers) and client is None and not threads \
            and not ray else None
        module = _piece_tree(tree, proof)
        compiled = compile(module, func.__code__.co_filename, "exec")
        code = next(c for c in compiled.co_consts if isinstance(c, types.CodeType))
        self.code_blob = marshal.dumps(code)
        self.piece = types.FunctionType(code, func.__globals__)
        self.spec = (proof.slots, proof.appends)
        self.name = getattr(func, "__qualname__", "function")
        self.last = "not called yet"  # how the latest call ran (explain, tests)

    def serial(self, kind: str, args: tuple, env: dict) -> tuple:
        """The plain loop, here, on the real objects."""
        return self.piece(env, iterable(kind, args))

    def run(self, kind: str, args: tuple, env: dict) -> tuple:
        code, cells = self.func.__code__, self.func.__closure__ or ()
        for name, cell in zip(code.co_freevars, cells):  # the driver sees only its own
            if name in self.proof.env and name not in env:
                try:
                    env[name] = cell.cell_contents
                except ValueError:  # an empty cell: unbound, as in the plain loop
                    pass
        why = self._unsplit(env)
        seq = None if why else sequence(kind, args)
        if not why and seq is not None and len(seq) >= 2:
            why = aliased(self.proof, env, kind, args) \
                or key_problem(self.proof, kind, args, seq, env)
        if why or seq is None or len(seq) < 2:
            self.last = why or ("the loop has fewer than 2 iterations" if seq is not None
                                else "its iterable is not a sequence optlevel can cut")
            return self.serial(kind, args, env)
        try:
            return self._parallel(kind, args, seq, env)
        except ship.ShipError as exc:
            warn_once((self.name, "iterations", str(exc)),
                      f"{self.name}: level 3 (processes) could not split its loop because "
                      f"{exc}; the loop ran at level 0 in this process instead.",
                      FallbackWarning)
            self.last = str(exc)
            return self.serial(kind, args, env)

    # -- can this call be split? -------------------------------------------------------
    def _unsplit(self, env: dict) -> str:
        proof = self.proof
        if runtime.inside_worker():
            return runtime.INSIDE_WORKER
        if self.untrusted:
            return UNTRUSTED
        if self.stores_given:
            return STORES_GIVEN
        missing = [n for n in proof.env if n not in env]
        if missing:
            return f"{missing[0]!r} is not bound"
        if self.odd_sum:
            return self.odd_sum
        for name, op in proof.reductions:
            start = env[name]
            summed = op in ("+", "*")
            if summed and not self.reorder and (self.float_sum or inexact(start)):
                return FLOAT_SUM.format(name=name)
            if not (summed and inexact(start)) and not folds_exactly(op, start):
                return ODD_SUM.format(name=name, kind=type(start).__name__)
        for name in proof.appends:
            if type(env[name]) is not list:
                return f"{name!r} is a {type(env[name]).__name__}, not a list"
        for name, deep, _ in proof.slots:
            why = slot_problem(name, env[name], deep)
            if why:
                return why
        return ""

    # -- running the pieces ----------------------------------------------------------------
    def _parallel(self, kind: str, args: tuple, seq: Any, env: dict) -> tuple:
        proof = self.proof
        n = len(seq)
        here = self.share.iterations(n) if self.share is not None else 0
        # a helping caller runs the first iterations itself, the workers one piece each
        ranges = [(0, here)] + [(lo + here, hi + here)
                                for lo, hi in bounds(n - here, self.workers - 1)] \
            if here else bounds(n, self.pieces)
        first = not self.checked and not self.threads
        if first:
            ranges = _head_first(ranges, 1 if here else 0)
        descs = [describe(kind, args, seq, lo, hi) for lo, hi in ranges]
        if self.threads:
            from .iterthreads import run_threads

            return run_threads(self, kind, args, descs, env)
        # the caller's own piece reads its own objects: no stand-ins for it
        own = [{}] + stand_ins(proof, env, descs[1:]) if here else stand_ins(proof, env, descs)
        moving = {n for n, _ in proof.reductions} | set(proof.appends) | set(own[-1])
        shared = {n: env[n] for n in proof.env if n not in moving}
        # the caller's current values of the data globals the function reads: workers
        # loaded the function once, with the globals of that moment
        shared[CURRENT_GLOBALS] = ship.current_globals(self.func)
        func_blob = ship.dumps_function(self.func)
        env_blob = ship.dumps_values(shared, "a value the loop reads")
        token = f"{os.getpid()}:{next(_CALLS)}"
        if not here:  # an item that cannot travel says so here (a helped call pickles
            ship.dumps_values(descs[-1], "an item of the loop")  # its pieces itself)
        if self.client is not None or self.ray:
            from .itercluster import on_dask, on_ray

            on = on_dask if self.client is not None else on_ray
            return on(self, kind, args, env, descs, own, (func_blob, token, env_blob))
        with Segments() as segments:
            try:  # every piece through the pipe would carry its own copy of the bytes
                sent: Any = segments.put(np.frombuffer(env_blob, np.uint8)) \
                    if len(env_blob) * (len(descs) - bool(here)) >= SHM_BYTES else env_blob
            except OSError:  # /dev/shm too small: through the pipe with each piece
                sent = env_blob
            if here:
                cut = _Cut(descs, own, [hi - lo for lo, hi in ranges], not first, segments)
                return run_helped(self, env, cut, (func_blob, token, sent))
            return self._pieces(kind, args, env, descs, own, (func_blob, token, sent))

    def _pieces(self, kind: str, args: tuple, env: dict, descs: list[tuple],
                own: list[dict], sent: tuple) -> tuple:
        func_blob, token, env_sent = sent
        sends = [{**self.starts(env, k), **own[k]} for k in range(len(descs))]
        began, checked = time.perf_counter(), self.checked
        for attempt in (1, 2):
            executor = pools.PROCESSES.get(self.workers)
            with collector.paused():  # the packed rows' stand-ins: see iterhelp
                futures = [executor.submit(run_pool_piece, func_blob, self.code_blob, token,
                                           env_sent, packed_sends(sends[k], desc), desc,
                                           self.spec)
                           for k, desc in enumerate(descs)]
            try:
                results = pools.wait_all(futures)
            except KeyboardInterrupt:
                pools.PROCESSES.kill()
                raise
            except BrokenProcessPool as exc:
                pools.rebuild_after_death(self.name, exc, attempt == 1, "the call run")
                continue
            except Exception as exc:  # the user's error: the plain loop raises it
                self.last = self.raised(exc, "the loop ran again here, serially")
                return self.serial(kind, args, env)
            if attempt == 1 and checked:  # the first call also checked a piece here
                self._retune(time.perf_counter() - began)
            return self.finish(kind, args, env, (env_sent, sends[0], descs[0]), results,
                               f"{len(descs)} pieces on {self.workers} processes")
        self.last = "worker processes died twice: the loop ran here"
        return self.serial(kind, args, env)

    def _retune(self, seconds: float) -> None:
        """The next call's pieces, from this call's ``seconds`` on the pool: about as
        many as keep each piece :data:`MIN_PIECE_S` of work, between one and
        :func:`.iterplan.pieces_per_worker` per worker, in whole rounds of the workers
        (rowwise N=128 on 16 cores was cut in 23-29 pieces: some workers ran two of
        them and the others one, 16.4-20.7 ms calls against 9.4 ms of work a worker;
        in whole rounds, 13.3-15.1 ms on a later host whose loop cut by hand took
        15.1-17.9 ms). Each piece costs this process its pickling and its result."""
        rounds = round(seconds / MIN_PIECE_S)  # a worker's seconds: its pieces' work
        self.pieces = self.workers * max(1, min(self.most_pieces // self.workers, rounds))

    def finish(self, kind: str, args: tuple, env: dict, first: tuple, results: list[tuple],
               done: str) -> tuple:
        """The pieces' ``results`` merged (``done``: what ran, for ``last``), unless
        they do not fold or the checked first piece (``first``: what its worker was
        sent) differs: then the loop runs here, as written."""
        if self.unmergeable(env, results) or self.differs(*first, results[0]):
            return self.serial(kind, args, env)
        self.last = done
        return self.merge(env, results)

    def raised(self, exc: BaseException, then: str) -> str:
        """What a piece's exception means (``last``'s text). The user's error: the
        loop runs again here and raises it as written. :class:`.iterworker.StoredGiven`
        (also as Ray wraps it): this call's loop runs here all the same, and every later
        call runs it whole."""
        if isinstance(exc, StoredGiven) or isinstance(getattr(exc, "cause", None),
                                                      StoredGiven):
            self.stores_given = True
            return f"{STORES_GIVEN}; {then}"
        return f"a piece raised: {then}"

    def differs(self, env_sent: Any, sent: dict, desc: tuple, got: tuple) -> bool:
        """The first split call: its first piece again here (:mod:`.itercheck`)."""
        if self.checked:
            return False
        self.checked = True
        if first_piece_differs(self, env_sent, sent, desc, got):
            self.untrusted = True
            self.last = UNTRUSTED
            return True
        return False

    def _lost(self, kind: str, args: tuple, env: dict, exc: BaseException,
              cluster: str = "dask") -> tuple:
        warn_once((self.name, cluster, "lost"), f"{self.name}: the {cluster} cluster failed "
                  f"during the call ({type(exc).__name__}: {exc}); its loop ran at level 0 "
                  "here instead.", FallbackWarning)
        self.last = f"the {cluster} cluster failed: {exc}"
        return self.serial(kind, args, env)

    def starts(self, env: dict, piece: int) -> dict[str, Any]:
        """A piece's start values: a min or max starts from the loop's own in every
        piece, a + or * from :data:`UNSET`, the first piece's too (:meth:`merge` folds
        every piece onto the start value: a first piece that started from it counted
        it twice, ``s = 5`` gave 5 too much where the caller waits)."""
        return {name: UNSET if op in ("+", "*") else env[name]
                for name, op in self.proof.reductions}

    def unmergeable(self, env: dict, results: list[tuple]) -> bool:
        """Must the call run as written rather than merge ``results`` onto ``env``'s
        reductions? When a + or * reduction came back a float (a loop of ints that adds
        floats: folded piece by piece it would be reassociated, :data:`FLOAT_SUM`) or a
        value of a type that does not fold exactly (:data:`ODD_SUM`): then every later
        call runs as written too. And when folding them raises (an int64 partial
        meeting a Python int beyond 64 bits): the plain loop gives its own answer, or
        raises its own error with its own partial writes. Nothing is merged before."""
        proof = self.proof
        values = [(env[name], [reduced[k] for reduced, *_ in results])
                  for k, (name, _) in enumerate(proof.reductions)]
        for (name, op), (start, partials) in zip(proof.reductions, values):
            summed = op in ("+", "*")
            for value in [start, *partials]:
                if value is UNSET:
                    continue
                if summed and inexact(value):
                    if self.reorder:
                        continue
                    self.float_sum = True
                    self.last = FLOAT_SUM.format(name=name)
                    return True
                if not folds_exactly(op, value):
                    self.odd_sum = self.last = ODD_SUM.format(name=name,
                                                              kind=type(value).__name__)
                    return True
        try:
            for (_, op), (start, partials) in zip(proof.reductions, values):
                for value in partials:
                    if value is not UNSET:
                        start = fold(op, start, value)
        except Exception as exc:  # the plain loop's answer, or its own error, as written
            self.last = (f"its pieces' reductions did not fold ({type(exc).__name__}: "
                         f"{exc}): the loop ran here as written")
            return True
        return False

    def merge(self, env: dict, results: list[tuple]) -> tuple:
        proof = self.proof
        folded = [env[name] for name, _ in proof.reductions]
        for reduced, changes, appended in results:
            for k, ((_, op), value) in enumerate(zip(proof.reductions, reduced)):
                if value is not UNSET:
                    folded[k] = fold(op, folded[k], value)
            for name, deep, _ in proof.slots:
                container = env[name]
                for key, value in changes[name]:
                    put(container, key, value, deep)
            for name, values in appended.items():
                env[name].extend(values)
        return tuple(folded)
