"""NumPy's names on Torch: array-api-compat's ``torch`` namespace plus a thin table.

array-api-compat gives Torch the array API standard's functions with NumPy-like
signatures (``sum(x, axis=, keepdims=)``, ``std(x, correction=0)``, ``sort`` that
returns only the values, ``fft``, ``linalg``). The table below covers where NumPy and
the standard part ways, and why each entry is there:

- creation functions (``zeros``, ``ones``, ``empty``, ``full``, ``linspace``, ``eye``,
  ``identity``, ``asarray``/``array``, ``arange``) get the device of the call (the
  standard's default is the CPU) and NumPy's default float dtype, float64 (Torch's
  default is float32, which would silently halve the precision);
- NumPy names the standard spells otherwise: ``absolute``/``fabs`` → ``abs``,
  ``power`` → ``pow``, ``arcsin``… → ``asin``…, ``concatenate`` → ``concat``,
  ``amax``/``amin`` → ``max``/``min``, ``true_divide`` → ``divide``, ``mod`` →
  ``remainder`` (both Python's floor modulo), ``around``/``round`` (both round half
  to even), ``transpose`` → ``permute_dims``, ``copy`` → ``clone``;
- ``std``/``var`` take NumPy's ``ddof`` (as ``correction``), ``dot`` follows NumPy
  (a vector dot product for two vectors, else ``matmul``);
- ``random`` (only with ``gpu_random=True``): ``random``, ``rand``, ``uniform``,
  ``normal``, ``standard_normal``, ``randn`` in float64 on the device.

- ``cumsum``/``cumprod`` follow NumPy (no axis: over the flattened array), where
  Torch's require ``dim``.

Everything else resolves to array-api-compat, which also re-exports Torch's own
functions. Some of those share a NumPy name and mean something else; they are listed
in :data:`DIFFERS` and level 4 declines a function that calls one (each was compared
with NumPy on Torch 2.13).
"""

from __future__ import annotations

import types
from typing import Any

from .namespace import DeviceNamespace

__all__ = ["torch_namespace"]

_RENAMED = {"absolute": "abs", "fabs": "abs", "power": "pow", "arcsin": "asin",
            "arccos": "acos", "arctan": "atan", "arctan2": "atan2", "arcsinh": "asinh",
            "arccosh": "acosh", "arctanh": "atanh", "concatenate": "concat", "amax": "max",
            "amin": "min", "true_divide": "divide", "mod": "remainder", "around": "round"}
_FLOAT_CREATION = ("zeros", "ones", "empty", "linspace", "eye")
#: Torch functions under a NumPy name with another meaning: a different value, type or
#: argument order. A call to one would be a wrong answer or an error, never NumPy's.
DIFFERS = {
    "median": "an even count gives the lower middle value, not the mean of the two",
    "nanmedian": "an even count gives the lower middle value, not the mean of the two",
    "histogram": "counts come back as floats, and bins= means something else",
    "histogramdd": "counts come back as floats",
    "gradient": "returns a tuple even for one axis, and spacing= replaces varargs",
    "cov": "the second argument is the correction, not a second variable",
    "corrcoef": "takes one matrix; NumPy's second variable would be dropped",
    "split": "an integer is the size of each piece, where NumPy's is their count",
    "cross": "without dim= it crosses along the first axis of size 3, NumPy along the last",
    "put": "returns a new tensor, where NumPy's writes into its first argument",
    "select": "takes (dim, index), not NumPy's (condlist, choicelist)",
    "tril_indices": "the second argument is the column count, NumPy's is the offset k",
    "triu_indices": "the second argument is the column count, NumPy's is the offset k",
    "logspace": "defaults to float32 and needs the point count",
    "vdot": "takes only vectors, where NumPy's flattens",
    "tile": "takes a tuple of repeats only",
    "frombuffer": "reads a buffer into a CPU tensor",
    "load": "reads Torch's format", "save": "writes Torch's format",
}


def torch_namespace(device: str, gpu_random: bool) -> DeviceNamespace:
    """NumPy's namespace on Torch tensors on ``device`` (``"cuda"``, or ``"cpu"`` in tests)."""
    import array_api_compat.torch as xp
    import torch

    table: dict[str, Any] = {new: getattr(xp, old) for new, old in _RENAMED.items()}
    for name in _FLOAT_CREATION:
        table[name] = _creation(getattr(xp, name), device, torch.float64)
    table["identity"] = lambda n, dtype=None: table["eye"](n, dtype=dtype)
    table["full"] = _full(xp, device, torch)
    table["arange"] = _on_device(xp.arange, device)
    table["asarray"] = table["array"] = _asarray(xp, device, torch)
    table["std"] = _with_ddof(xp.std)
    table["var"] = _with_ddof(xp.var)
    table["transpose"] = lambda x, axes=None: xp.permute_dims(
        x, tuple(axes) if axes is not None else tuple(range(x.ndim))[::-1])
    table["copy"] = lambda x: xp.asarray(x, copy=True)
    table["dot"] = lambda a, b: xp.vecdot(a, b) if a.ndim == b.ndim == 1 else xp.matmul(a, b)
    table["cumsum"] = _cumulative(torch.cumsum)
    table["cumprod"] = _cumulative(torch.cumprod)
    table["ndarray"] = torch.Tensor
    table["newaxis"] = None
    api: Any = xp  # the submodules exist at run time; the stubs do not list them
    subs = {"fft": DeviceNamespace("torch", api.fft, path="numpy.fft"),
            "linalg": DeviceNamespace("torch", api.linalg, path="numpy.linalg")}
    if gpu_random:
        subs["random"] = DeviceNamespace("torch", types.SimpleNamespace(),
                                         _random_table(torch, device), path="numpy.random")
    else:
        subs["random"] = DeviceNamespace("torch", types.SimpleNamespace(),
                                         path="numpy.random")
    return DeviceNamespace("torch", xp, table, subs, differs=DIFFERS)


def _cumulative(fn: Any) -> Any:
    """NumPy's ``cumsum``/``cumprod``: over the flattened array when no axis is given."""
    def scan(x: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        if out is not None:
            raise TypeError("out= is not supported on Torch")
        if axis is None:
            x, axis = x.reshape(-1), 0
        return fn(x, dim=axis, dtype=_dtype(dtype))
    return scan


def _creation(fn: Any, device: str, default: Any) -> Any:
    def create(*args: Any, dtype: Any = None, **kwargs: Any) -> Any:
        return fn(*args, dtype=_dtype(dtype) or default, device=device, **kwargs)
    return create


def _full(xp: Any, device: str, torch: Any) -> Any:
    def full(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
        if dtype is None and isinstance(fill_value, float):
            dtype = torch.float64
        return xp.full(shape, fill_value, dtype=_dtype(dtype), device=device)
    return full


def _on_device(fn: Any, device: str) -> Any:
    def create(*args: Any, dtype: Any = None, **kwargs: Any) -> Any:
        return fn(*args, dtype=_dtype(dtype), device=device, **kwargs)
    return create


def _asarray(xp: Any, device: str, torch: Any) -> Any:
    def asarray(obj: Any, dtype: Any = None, copy: Any = None) -> Any:
        if isinstance(obj, torch.Tensor):
            return xp.asarray(obj, dtype=_dtype(dtype), copy=copy)
        out = xp.asarray(obj, dtype=_dtype(dtype), device=device, copy=copy)
        if dtype is None and out.dtype == torch.float32:
            out = out.to(torch.float64)  # NumPy reads Python floats as float64
        return out
    return asarray


def _with_ddof(fn: Any) -> Any:
    def reduce(x: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
               keepdims: bool = False) -> Any:
        if dtype is not None or out is not None:
            raise TypeError("dtype= and out= are not supported on Torch")
        return fn(x, axis=axis, correction=ddof, keepdims=keepdims)
    return reduce


def _dtype(dtype: Any) -> Any:
    """A NumPy dtype (``np.float32``, ``"float64"``) as Torch's, or None."""
    if dtype is None:
        return None
    import numpy as np
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    return getattr(torch, np.dtype(dtype).name)


def _random_table(torch: Any, device: str) -> dict[str, Any]:
    f64 = torch.float64

    def shape(size: Any) -> tuple[int, ...]:
        if size is None:
            return ()
        return tuple(size) if isinstance(size, (tuple, list)) else (int(size),)

    def uniform(low: float = 0.0, high: float = 1.0, size: Any = None) -> Any:
        return torch.rand(shape(size), dtype=f64, device=device) * (high - low) + low

    def normal(loc: float = 0.0, scale: float = 1.0, size: Any = None) -> Any:
        return torch.randn(shape(size), dtype=f64, device=device) * scale + loc

    return {"random": lambda size=None: uniform(size=size),
            "random_sample": lambda size=None: uniform(size=size),
            "rand": lambda *dims: uniform(size=dims),
            "uniform": uniform, "normal": normal,
            "standard_normal": lambda size=None: normal(size=size),
            "randn": lambda *dims: normal(size=dims)}
