"""NumPy's own sums in compiled code: ``np.sum`` and ``np.mean`` of float arrays (SEM031).

NumPy adds a float array pairwise (blocks of eight running sums, halves of halves
above 128 elements) and starts from 0.0; ``numba.njit`` adds it one element after
the other. The two differ in the last bits: 1,579 of 2,000 random float64 vectors of
1 to 300 elements here, and a level-2 loop filling ``out[i] = np.sum(x[i])``
differed from plain Python in most rows. The checked rewrite (:mod:`.rewrite`) turns
``np.sum(a)``, ``a.sum()``, ``np.mean(a)`` and ``a.mean()`` into the ops made here,
which for a float64 or float32 array call NumPy's own ``add`` loop the way
``np.add.reduce`` does (``np.nansum`` and ``np.nanmean`` over a copy whose nans are
0, as NumPy's): the running sum in a stack slot given as both the first
input and the output, with steps of 0 (NumPy's sign of a reduction), the array's
elements as the second input in the order NumPy's iterator hands them over (a 1-D
array in its own order, a contiguous one in memory order), their count as the
length. The loop
then runs the very pairwise summation NumPy runs, so the compiled sum is NumPy's, bit
for bit. ``mean`` divides that sum by the count as NumPy does (float32 stays float32).

The loop is found as :mod:`.npcalls` finds its loops (:mod:`.ufunc_loops`), and is
trusted only after :func:`reduce_loop` checked it against ``np.add.reduce`` on arrays
of many lengths and strides; where that check fails (or the loop cannot be read),
every float sum replays instead (plain Python computes the call), never Numba's own
order. They replay too where the sum is not a number or
infinite (NumPy may warn there), for an array that is neither contiguous nor
one-dimensional (NumPy's iterator would cut it otherwise), and for a mean of no
elements. Every other argument (integers, complex numbers, lists) gets Numba's own
``np.sum`` / ``.sum()``, as before.

Imported by the Numba backend when it builds code, never by ``import optlevel``.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils
from numba.core import types as nbtypes
from numba.extending import intrinsic, overload

from .guard import Replay
from .npcalls import call_loop, loop_symbols
from .shims import NUMPY_SUMS, SUM_METHODS
from .ufunc_loops import Loop, loop_of

__all__ = ["OPS", "CALLED_OPS", "CACHE_TAG", "reduce_loop"]

_CHARS = {"float64": "d", "float32": "f"}
_lock = threading.RLock()  # reentrant: an intrinsic is made of a checked loop
_checked: dict[str, Loop | None] = {}


def reduce_loop(char: str) -> Loop | None:
    """NumPy's ``add`` loop for ``char`` (``"d"``, ``"f"``), where calling it in reduce
    mode gives ``np.add.reduce``'s result bit for bit on every case tried; else None."""
    with _lock:
        if char not in _checked:
            loop = loop_of("add", char)
            _checked[char] = loop if loop is not None and _agrees(loop, char) else None
        return _checked[char]


def _agrees(loop: Loop, char: str) -> bool:
    """Call ``loop`` through ctypes as a reduction and compare with NumPy's."""
    ptr = ctypes.c_void_p
    fn = ctypes.CFUNCTYPE(None, ctypes.POINTER(ptr), ctypes.POINTER(ctypes.c_ssize_t),
                          ctypes.POINTER(ctypes.c_ssize_t), ptr)(loop.address)
    dtype = np.dtype(char)
    rng = np.random.default_rng(7)
    for n in (0, 1, 7, 8, 9, 16, 17, 100, 127, 128, 129, 255, 1000, 4097):
        base = rng.standard_normal(3 * n) * 10.0 ** rng.integers(-6, 6, 3 * n)
        for view in (base[:n].astype(dtype), base.astype(dtype)[::3],
                     base.astype(dtype)[::-3]):
            acc = np.zeros(1, dtype)
            args = (ptr * 3)(acc.ctypes.data, view.ctypes.data, acc.ctypes.data)
            dims = (ctypes.c_ssize_t * 1)(n)
            steps = (ctypes.c_ssize_t * 3)(0, view.strides[0], 0)
            fn(args, dims, steps, loop.data or None)
            if acc[0].tobytes() != np.add.reduce(view).tobytes():
                return False
    return True


# The loops' symbols are registered as this module is imported, before the Numba
# backend builds or loads any code (:mod:`.helpers` imports it first): code loaded from
# the disk cache in a new process is linked against them without being typed again
# (registered only while typing, such code called an unresolved address: a crash).
_SYMBOLS: dict[str, tuple[str, str]] = {}
for _char in "df":
    _loop = reduce_loop(_char)
    if _loop is not None:
        _SYMBOLS[_char] = loop_symbols(_loop, f"optlevel_npy_add_reduce_{_char}")
#: Part of the disk caches' keys: code that calls both loops, or code built where one
#: could not be trusted (its float sums replay), never loaded in place of the other.
CACHE_TAG = "sums" if len(_SYMBOLS) == 2 else "sums-replayed"


def _pairwise(char: str) -> Any:
    """An intrinsic: NumPy's reduce-mode ``add`` loop over a float array's elements, from
    0: a 1-D array in its own order (any stride), a contiguous one in memory order."""
    symbols = _SYMBOLS.get(char)
    if symbols is None:
        return None
    want = nbtypes.float64 if char == "d" else nbtypes.float32

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        arrty = sig.args[0]
        ary = context.make_array(arrty)(context, builder, args[0])
        byte_ptr = ir.IntType(8).as_pointer()
        intp = context.get_value_type(nbtypes.intp)
        n = ary.nitems
        data = builder.bitcast(ary.data, byte_ptr)
        itemsize = intp(context.get_abi_sizeof(context.get_data_type(arrty.dtype)))
        if arrty.ndim == 1:  # in the view's order, as NumPy reduces it (a negative
            stride = cgutils.unpack_tuple(builder, ary.strides, 1)[0]  # stride too)
        else:
            stride = itemsize  # contiguous (the op checked): the elements in memory order
        ftype = context.get_value_type(want)
        acc = cgutils.alloca_once_value(builder, ftype(0.0))
        argv = cgutils.alloca_once(builder, byte_ptr, size=3)
        for k, ptr in enumerate((acc, None, acc)):
            value = data if ptr is None else builder.bitcast(ptr, byte_ptr)
            builder.store(value, builder.gep(argv, [intp(k)]))
        steps = cgutils.alloca_once(builder, intp, size=3)
        for k, value in enumerate((intp(0), stride, intp(0))):
            builder.store(value, builder.gep(steps, [intp(k)]))
        length = cgutils.alloca_once_value(builder, n)
        call_loop(context, builder, symbols, argv, length, steps)
        return builder.load(acc)

    @intrinsic
    def pairwise(typingctx: Any, a: Any) -> Any:
        if isinstance(a, nbtypes.Array) and a.dtype == want:
            return want(a), codegen
        return None

    return pairwise


def _float_kind(a: Any) -> str:
    """``"d"`` or ``"f"`` for a float64 or float32 array; ''."""
    if isinstance(a, nbtypes.Array) and str(a.dtype) in _CHARS:
        return _CHARS[str(a.dtype)]
    return ""


def _replays(a: Any) -> Any:
    """NumPy's loop could not be trusted (a NumPy whose layout was not read here, or a
    check that failed): plain Python sums, never Numba's other order."""
    raise Replay


@numba.njit(nogil=True)
def _walkable(a: Any) -> bool:
    """Does NumPy's iterator hand ``a`` to its loop whole (1-D, or contiguous)?"""
    if a.ndim == 1:
        return a.size < 2 or a.strides[0] != 0
    return a.flags.c_contiguous or a.flags.f_contiguous


def _sum_impl(pairwise: Any) -> Any:
    def impl(a: Any) -> Any:
        if not _walkable(a):
            raise Replay
        r = pairwise(a)
        if r - r != 0:  # inf or nan: NumPy may warn ("overflow encountered in reduce")
            raise Replay
        return r
    return impl


def _mean_impl(pairwise: Any, single: bool) -> Any:
    ftype = np.float32 if single else np.float64  # NumPy: sum / count, in the sum's type

    def impl(a: Any) -> Any:
        if a.size == 0 or not _walkable(a):
            raise Replay  # NumPy warns "Mean of empty slice"
        r = pairwise(a) / ftype(a.size)
        if r - r != 0:
            raise Replay
        return r
    return impl


@numba.njit(nogil=True)
def _squares_walkable(a: Any) -> bool:
    """Can ``a``'s deviations be laid out as NumPy's ``arr - mean`` lays them out (a
    1-D array in its order, a C-contiguous one in memory order)?"""
    return a.ndim == 1 or a.flags.c_contiguous


def _var_impl(pairwise: Any, single: bool, root: bool) -> Any:
    """NumPy's ``_var``: the mean as NumPy's, then the pairwise sum of the squared
    deviations over the count (``std``: its square root), float32 staying float32."""
    ftype = np.float32 if single else np.float64

    def impl(a: Any) -> Any:
        n = a.size
        if n == 0 or not _squares_walkable(a):
            raise Replay  # NumPy warns ("Degrees of freedom <= 0")
        count = ftype(n)
        mean = pairwise(a) / count
        flat = a.ravel()
        squares = np.empty(n, ftype)
        for i in range(n):
            d = flat[i] - mean
            squares[i] = d * d
        r = pairwise(squares) / count
        if root:
            r = np.sqrt(r)
        if r - r != 0:
            raise Replay
        return r
    return impl


def _nan_impl(pairwise: Any, single: bool, mean: bool) -> Any:
    """NumPy's ``nansum``/``nanmean``: a copy with each nan made 0 (``_replace_nan``),
    its pairwise sum, for the mean over the count of the others (in float64, then the
    array's type: ``a.dtype.type(total / count)``)."""
    ftype = np.float32 if single else np.float64

    def impl(a: Any) -> Any:
        n = a.size
        if not _squares_walkable(a):
            raise Replay
        flat = a.ravel()
        zeroed = np.empty(n, ftype)
        count = 0
        for i in range(n):
            v = flat[i]
            if v != v:
                zeroed[i] = 0.0
            else:
                zeroed[i] = v
                count += 1
        r = pairwise(zeroed)
        if mean:
            if count == 0:
                raise Replay  # NumPy warns "Mean of empty slice"
            r = ftype(np.float64(r) / count)
        if r - r != 0:
            raise Replay
        return r
    return impl


_intrinsics: dict[str, Any] = {}


def _exact(a: Any, kind: str) -> Any:
    char = _float_kind(a)
    if not char:
        return None
    with _lock:
        if char not in _intrinsics:
            _intrinsics[char] = _pairwise(char)
    pairwise = _intrinsics[char]
    if pairwise is None:
        return _replays
    single = char == "f"
    if kind == "sum":
        return _sum_impl(pairwise)
    if kind == "mean":
        return _mean_impl(pairwise, single)
    if kind in ("nansum", "nanmean"):
        return _nan_impl(pairwise, single, kind == "nanmean")
    return _var_impl(pairwise, single, kind == "std")


def _numbas(kind: str, method: bool) -> Any:
    """Numba's own ``np.<kind>(a)`` / ``a.<kind>()``, for every other argument (its
    parameter annotated as the typing function's: Numba compares the two)."""
    if method:
        if kind == "sum":
            def msum(a: Any) -> Any:
                return a.sum()
            return msum
        if kind == "mean":
            def mmean(a: Any) -> Any:
                return a.mean()
            return mmean
        if kind == "var":
            def mvar(a: Any) -> Any:
                return a.var()
            return mvar

        def mstd(a: Any) -> Any:
            return a.std()
        return mstd
    function = getattr(np, kind)

    def call(a: Any) -> Any:
        return function(a)
    return call


def _stubs(inline: str) -> dict[str, Any]:
    """The ops, as functions Numba compiles (each overloaded; Python never calls them: a
    replay runs the user's own function)."""
    made: dict[str, Any] = {}
    for kind in NUMPY_SUMS:
        for method in (False, True) if kind in SUM_METHODS else (False,):
            def stub(a: Any) -> Any:
                raise NotImplementedError  # compiled only (its overload below)

            numbas = _numbas(kind, method)

            def typing(a: Any, kind: str = kind, numbas: Any = numbas) -> Any:
                return _exact(a, kind) or numbas

            overload(stub, inline=inline)(_one_parameter(typing))
            made[f"{'method' if method else 'np'}_{kind}"] = stub
    return made


def _one_parameter(typing: Any) -> Any:
    def typed(a: Any) -> Any:  # Numba matches the stub's parameters by name
        return typing(a)
    return typed


#: the rewrite's op name (``__ol_<name>``) → the function Numba compiles for it. Level
#: 2 inlines them, so the replays they hold show in its typed IR (:func:`.jit.may_replay`);
#: prange calls them (an inlined raise keeps Numba from running the loop in parallel,
#: and a replay there stops the loop's count, which reruns the call serially).
OPS = _stubs("always")
CALLED_OPS = _stubs("never")
