"""NumPy's own loops called from compiled code, one element at a time (SEM030).

``np.exp(x[i])`` in Python runs NumPy's float64 loop of ``exp`` on one element; raw
``numba.njit`` computes the C library's ``exp`` instead, and the two differ in the
last bit (958 of 20,000 here). The replacement this module builds for ``np.exp``
(and each ufunc of :data:`.shims.INEXACT_UFUNCS` that has a float64 loop,
:mod:`.ufunc_loops`) calls that very loop: the argument and the result live in two
stack slots, the loop gets their addresses, a length of 1 and steps of 8 bytes, so
the compiled value is NumPy's bit for bit. Each call costs about 20 ns (NumPy's
vectorized loop run on one element), against 3 ns for the C library's ``exp``
compiled in a loop and 150 ns for the plain call.

The loop is reached through a symbol registered with LLVM (``llvmlite.binding.
add_symbol``), never an address written into the code: Numba's disk cache keeps the
object code, and in a new process the symbol is registered again (this module is
imported before any such code is compiled or loaded) to that process's address.

What NumPy would warn about replays: a nan from arguments that are not nan
(``invalid value``) or an infinity from finite ones (``overflow``, ``divide by
zero``) raises :class:`~.guard.Replay`, and plain Python computes the call with its
warning. Arguments are accepted where NumPy picks the float64 loop itself: float64
values, and integers of 32 or 64 bits (NumPy casts them to float64 first; a bool or
a narrower integer would take a float16 or float32 loop, and does not type here, so
the catalogue's detector declines those calls first).

Imported by the Numba backend when it builds code, never by ``import optlevel``.
"""

from __future__ import annotations

import math
import threading
import types
from typing import Any

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils
from numba.core import types as nbtypes
from numba.extending import intrinsic, overload

from .guard import Replay
from .shims import EXACT_ON_INTS, INEXACT_UFUNCS
from .ufunc_loops import Loop, float64_loop

__all__ = ["numpy_module", "ufunc", "raises_in_python", "loop_symbols", "call_loop"]


def numpy_module() -> types.ModuleType:
    """``numpy`` with each inexact ufunc that has a float64 loop replaced by its
    compiled call (every other name is NumPy's own object, which Numba knows)."""
    module = types.ModuleType("numpy", "numpy, calling NumPy's own loops when compiled")
    module.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
    for name in sorted(INEXACT_UFUNCS):
        if float64_loop(name) is not None:
            setattr(module, name, ufunc(name))
    return module


# One replacement per name, for the life of the process: Numba keeps every overload
# it is given, so making one twice would only register a duplicate.
_lock = threading.RLock()
_made: dict[str, Any] = {}


def ufunc(name: str) -> Any:
    """The replacement of ``np.<name>``: NumPy's own ufunc where it has no float64
    loop (the detector declines those calls), else a function Numba compiles into a
    call of that loop."""
    with _lock:
        if name not in _made:
            _made[name] = _make(name)
        return _made[name]


def _make(name: str) -> Any:
    loop = float64_loop(name)
    original = getattr(np, name)
    if loop is None:
        return original
    call = _loop_call(loop)
    ints_as_numba = name in EXACT_ON_INTS
    stub = _forward(original, loop.nin)  # called from Python: NumPy itself
    stub.__name__ = stub.__qualname__ = f"numpy_{name}"

    def typed(args: tuple) -> Any:
        if ints_as_numba and all(isinstance(a, nbtypes.Integer) for a in args):
            return _forward(original, len(args))  # exact on integers: Numba's own
        if not all(_float64_loop_takes(a) for a in args):
            return None
        return _checked(call, len(args))

    def typed1(x: Any) -> Any:  # Numba matches the stub's parameters by name
        return typed((x,))

    def typed2(x: Any, y: Any) -> Any:
        return typed((x, y))

    overload(stub)(typed1 if loop.nin == 1 else typed2)
    return stub


def _float64_loop_takes(t: Any) -> bool:
    """Does NumPy pick its float64 loop for a scalar of Numba type ``t``?"""
    if isinstance(t, nbtypes.Float):
        return t.bitwidth == 64
    return isinstance(t, nbtypes.Integer) and t.bitwidth >= 32


def _forward(original: Any, nin: int) -> Any:
    """A function of ``nin`` named parameters that calls ``original`` with them (the
    parameters are annotated as the typing functions' are: Numba compares the two
    signatures, annotations included)."""
    if nin == 1:
        def one(x: Any) -> Any:
            return original(x)
        return one

    def two(x: Any, y: Any) -> Any:
        return original(x, y)
    return two


@numba.njit(nogil=True)
def raises_in_python(r: float, v: float) -> bool:
    """CPython's rule for a math function's result ``r`` from an argument ``v`` (and
    NumPy's for a warning): nan from a number, or an infinity from a finite one."""
    return (r != r and v == v) or ((r == math.inf or r == -math.inf) and v - v == 0)


def _checked(call: Any, nin: int) -> Any:
    if nin == 1:
        def one(x: Any) -> Any:
            v = float(x)
            r = call(v)
            if raises_in_python(r, v):
                raise Replay
            return r
        return one

    def two(x: Any, y: Any) -> Any:
        v = float(x)
        w = float(y)
        r = call(v, w)
        if raises_in_python(r, v) and raises_in_python(r, w):
            raise Replay
        return r
    return two


def loop_symbols(loop: Loop, symbol: str) -> tuple[str, str]:
    """Register ``loop``'s address (and its data argument's, if any) with LLVM under
    ``symbol``: the names compiled code calls it and passes its data by."""
    llvm.add_symbol(symbol, loop.address)
    data_symbol = ""
    if loop.data:
        data_symbol = symbol + "_data"
        llvm.add_symbol(data_symbol, loop.data)
    return symbol, data_symbol


def call_loop(context: Any, builder: Any, symbols: tuple[str, str], argv: Any,
              length: Any, steps: Any) -> None:
    """Emit a call of the loop registered as ``symbols`` (:func:`loop_symbols`) with
    NumPy's inner-loop arguments: ``argv`` (pointers), ``length``, ``steps``."""
    symbol, data_symbol = symbols
    byte_ptr = ir.IntType(8).as_pointer()
    intp = context.get_value_type(nbtypes.intp)
    fnty = ir.FunctionType(ir.VoidType(), [byte_ptr.as_pointer(), intp.as_pointer(),
                                           intp.as_pointer(), byte_ptr])
    fn = cgutils.get_or_insert_function(builder.module, fnty, symbol)
    data = byte_ptr(None)
    if data_symbol:
        extra = builder.module.globals.get(data_symbol)
        if extra is None:
            extra = ir.GlobalVariable(builder.module, ir.IntType(8), data_symbol)
            extra.linkage = "external"
        data = builder.bitcast(extra, byte_ptr)
    builder.call(fn, [argv, length, steps, data])


def _loop_call(loop: Loop) -> Any:
    """An intrinsic that runs ``loop`` on one float64 (or two) and returns its result."""
    symbols = loop_symbols(loop, f"optlevel_npy_{loop.name}_f8")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        byte_ptr = ir.IntType(8).as_pointer()
        intp = context.get_value_type(nbtypes.intp)
        n = len(args)
        argv = cgutils.alloca_once(builder, byte_ptr, size=n + 1)
        steps = cgutils.alloca_once(builder, intp, size=n + 1)
        out = cgutils.alloca_once(builder, ir.DoubleType())
        for k, value in enumerate(args):
            slot = cgutils.alloca_once_value(builder, value)
            builder.store(builder.bitcast(slot, byte_ptr), builder.gep(argv, [intp(k)]))
        builder.store(builder.bitcast(out, byte_ptr), builder.gep(argv, [intp(n)]))
        for k in range(n + 1):
            builder.store(intp(8), builder.gep(steps, [intp(k)]))
        length = cgutils.alloca_once_value(builder, intp(1))
        call_loop(context, builder, symbols, argv, length, steps)
        return builder.load(out)

    if loop.nin == 1:
        @intrinsic
        def call1(typingctx: Any, x: Any) -> Any:
            if isinstance(x, nbtypes.Float) and x.bitwidth == 64:
                return nbtypes.float64(x), codegen
            return None
        return call1

    @intrinsic
    def call2(typingctx: Any, x: Any, y: Any) -> Any:
        if all(isinstance(t, nbtypes.Float) and t.bitwidth == 64 for t in (x, y)):
            return nbtypes.float64(x, y), codegen
        return None
    return call2
