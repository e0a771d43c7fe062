"""NumPy facts the analyses share: one table per fact.

Each level reads these tables and adds, in its own module, only what is specific
to it (level 4's fused kernel takes ``where`` and leaves out the calls CuPy cannot
fuse); the differences are spelled out there, against these names.
"""

from __future__ import annotations

__all__ = ["ELEMENTWISE", "COSTLY_ELEMENTWISE", "REDUCTIONS", "NUMPY_CLASSES",
           "MUTATING_ARRAY_METHODS", "MUTATING_CONTAINER_METHODS", "MUTATING_NUMPY",
           "IO_BUILTINS", "IO_MODULES", "RANDOM_MODULES"]

#: NumPy functions whose output element i depends only on the inputs' element i
#: (after broadcasting): ufuncs, and ``clip``/``real``/``imag``/``angle`` that act alike.
ELEMENTWISE = frozenset(
    "sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh exp "
    "exp2 expm1 log log2 log10 log1p sqrt cbrt square abs absolute fabs sign add subtract "
    "multiply divide true_divide floor_divide power float_power mod fmod remainder maximum "
    "minimum fmax fmin clip floor ceil trunc rint isnan isinf isfinite hypot negative "
    "positive reciprocal logical_and logical_or logical_xor logical_not greater "
    "greater_equal less less_equal equal not_equal deg2rad rad2deg degrees radians "
    "conjugate conj real imag angle heaviside copysign signbit".split())

#: The elementwise functions that cost tens of cycles per element on a CPU (the GPU
#: cost model's weight).
COSTLY_ELEMENTWISE = frozenset(
    "sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh arctanh exp "
    "exp2 expm1 log log2 log10 log1p sqrt cbrt power hypot".split())

#: Reductions that take ``axis=`` (and ``keepdims=``); a full one (no axis) mixes rows.
REDUCTIONS = frozenset(
    "sum mean std var min max amin amax prod any all nansum nanmean nanstd nanvar nanmin "
    "nanmax ptp median nanmedian argmin argmax count_nonzero".split())

#: NumPy calls by the class of work they do (what the planner's cost models read).
NUMPY_CLASSES: dict[str, frozenset[str]] = {
    "elementwise": ELEMENTWISE | {"round", "around", "where"},
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

#: Array methods that write into the array they are called on.
MUTATING_ARRAY_METHODS = frozenset({"fill", "sort", "resize", "put", "itemset", "partition",
                                    "setfield", "setflags"})
#: List, dict and set methods that change the container they are called on.
MUTATING_CONTAINER_METHODS = frozenset({"append", "extend", "insert", "pop", "remove", "clear",
                                        "update", "add", "discard", "setdefault", "popitem"})
#: NumPy functions that write into their first argument.
MUTATING_NUMPY = frozenset({"copyto", "put", "place", "putmask", "fill_diagonal",
                            "put_along_axis"})

IO_BUILTINS = frozenset({"open", "input", "print", "breakpoint"})
IO_MODULES = frozenset({"os", "sys", "io", "time", "logging", "pathlib", "shutil",
                        "socket", "subprocess", "pickle", "json", "csv"})
RANDOM_MODULES = frozenset({"random", "secrets"})
