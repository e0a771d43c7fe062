"""Keeping data on the GPU across calls: ``to_device``, ``to_host``, ``on_device``.

Every host↔GPU copy is paid at PCIe speed, so a pipeline of decorated functions
should move its data once::

    x = optlevel.to_device(np_array)        # one copy in
    with optlevel.on_device():
        y = step1(x)                        # CuPy in → CuPy out, no copies
        z = step2(y)                        # NumPy inputs of level-4 calls stay on the GPU too
    result = optlevel.to_host(z)            # one copy out

Importing this module imports neither CuPy nor Torch; the functions import the
library they need when called.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .arrays import DEVICE_KINDS, kind_of, to_numpy
from .errors import OptlevelError

__all__ = ["to_device", "to_host", "on_device"]


def _library(settings: Any) -> str:
    """The GPU library ``to_device`` uses: OPTLEVEL_GPU_BACKEND, else the first usable."""
    from .core.registry import BACKENDS, is_available, requirement_missing

    choice = settings.gpu_backend
    names = [choice] if choice != "auto" else ["cupy", "torch"]
    reasons = []
    for name in names:
        backend = BACKENDS.get(name)
        if backend is None:
            continue
        missing = requirement_missing(backend)
        verdict = is_available(backend, settings) if not missing else None
        if verdict:
            return name
        why = verdict.reason if verdict is not None else f"{missing} is not installed"
        reasons.append(f"{name}: {why}")
    raise OptlevelError("optlevel.to_device: no GPU is usable here (" + "; ".join(reasons) + ")")


def to_device(x: Any, library: str | None = None) -> Any:
    """Copy a NumPy array (or a tuple, list or dict of them) to the GPU.

    Parameters
    ----------
    x : array or container of arrays
        NumPy arrays are copied (through pinned memory); GPU arrays are returned as
        they are; anything else (scalars) is left alone.
    library : {"cupy", "torch"}, optional
        Which array type to make; by default ``OPTLEVEL_GPU_BACKEND``, else CuPy when
        usable, else Torch.

    Returns
    -------
    The same structure with CuPy arrays (or Torch CUDA tensors) in place of NumPy's.

    Raises
    ------
    OptlevelError
        When no GPU is usable, with the reason for each library.
    """
    from .config import settings
    from .levels.gpu.libs import get_lib

    lib = get_lib(library or _library(settings()))
    with lib.running() as ctx:
        out = _map(x, lambda a: lib.upload(a, ctx) if type(a) is np.ndarray else a)
    lib.synchronize()
    return out


def to_host(x: Any) -> Any:
    """Copy CuPy arrays and Torch tensors (or containers of them) to NumPy arrays.

    NumPy arrays and scalars are returned as they are; a 0-d device array becomes a
    0-d NumPy array.
    """
    return _map(x, lambda a: to_numpy(a) if kind_of(type(a)) in DEVICE_KINDS else a)


def _map(x: Any, fn: Any) -> Any:
    if isinstance(x, tuple):
        items = [_map(v, fn) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else tuple(items)
    if isinstance(x, list):
        return [_map(v, fn) for v in x]
    if isinstance(x, dict):
        return {k: _map(v, fn) for k, v in x.items()}
    return fn(x)


@contextlib.contextmanager
def on_device() -> Iterator[None]:
    """Inside the block, results of calls that run at level 4 stay on the GPU (CuPy
    arrays, or Torch tensors for the torch backend) instead of coming back as NumPy.
    Calls that run at a CPU level return what they always do. In-place writes into
    NumPy arguments are still copied back."""
    from .levels.gpu.call import KEEP_ON_DEVICE

    token = KEEP_ON_DEVICE.set(True)
    try:
        yield
    finally:
        KEEP_ON_DEVICE.reset(token)
