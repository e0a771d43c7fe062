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

Everything else resolves to array-api-compat, or is missing (level 4 declines).
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
    return DeviceNamespace("torch", xp, table, subs)


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
