"""One adapter per array library: what :mod:`.call` needs to run a function there.

- :class:`CupyLib`: CuPy on a CUDA device, with :class:`~.transfer.Engine`'s pinned,
  streamed transfers and ``cupy.fuse`` kernels; Torch CUDA tensors come in and go
  back out through DLPack, without a copy;
- :class:`TorchLib`: Torch tensors on ``"cuda"`` (or ``"cpu"``, which the tests use to
  run the namespace and conversion logic on a machine without a GPU);
- :class:`HostLib`: NumPy standing in for a device (copies in, copies out), so the
  tests exercise rebinding, fusion decisions, chunking and result conversion in CI.

Each is made once per process (:func:`get_lib`) and kept in a runtime cache;
making one imports its library. Which kind an array is comes from
:mod:`optlevel.arrays`; what to do with it (copy, fuse, share through DLPack) is
the adapters'. The first adapter made registers :func:`close_libs` to run at exit;
:func:`optlevel.core.runtime.reset` forgets the adapters (what they hold is
released when the last plan using one goes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ...arrays import ArgKind, kind_of
from ...core.runtime import RUNTIME
from .namespace import DeviceNamespace
from .transfer import Engine, is_host_array

__all__ = ["CupyLib", "TorchLib", "HostLib", "get_lib", "close_libs"]


def get_lib(name: str) -> Any:
    """The adapter called ``name`` (``"cupy"``, ``"torch"``, ``"torch-cpu"``,
    ``"numpy"``), made on first use."""
    found = _LIBS.get(name)
    if found is None:
        found = _LIBS.get_or_make(name, _MAKERS[name])
        # the adapters hold device memory, pinned buffers and copy threads: closed at
        # shutdown, and on reset before the cache forgets them
        RUNTIME.closer("gpu.libs", close_libs)
        RUNTIME.on_reset("gpu.libs", close_libs)
    return found


def close_libs(prefix: str = "") -> None:
    """Release what the adapters hold (threads, pinned memory, device pools)."""
    with _LIBS.lock:
        libs = [_LIBS.pop(name) for name, _ in _LIBS.items() if name.startswith(prefix)]
    for lib in libs:
        lib.close()


class HostLib:
    """NumPy as a pretend device: ``upload`` and ``download`` copy."""

    name = "numpy"
    kind: ArgKind | None = None  # no argument is on this "device": NumPy ones are host's
    foreign_kinds: tuple[ArgKind, ...] = ()
    oom_errors: tuple[type[BaseException], ...] = (MemoryError,)
    streams = True  # exercises the chunked path in tests

    def __init__(self) -> None:
        self._ns: dict[bool, DeviceNamespace] = {}

    def namespace(self, gpu_random: bool) -> DeviceNamespace:
        if gpu_random not in self._ns:
            self._ns[gpu_random] = DeviceNamespace("numpy", np, _scalar_table(np),
                                                   {"random": np.random}) if gpu_random \
                else DeviceNamespace("numpy", np, _scalar_table(np))
        return self._ns[gpu_random]

    def is_device(self, x: Any) -> bool:
        return is_host_array(x)

    @contextlib.contextmanager
    def running(self) -> Iterator[Any]:
        yield None

    def upload(self, host: np.ndarray, ctx: Any) -> Any:
        return np.array(host, copy=True)

    def download(self, dev: Any, ctx: Any, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            return np.array(dev, copy=True)
        out[...] = dev
        return out

    def scalar(self, dev: Any) -> Any:
        return dev[()]

    def fuse(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        return fn

    def fusion_kinds(self) -> tuple:
        """The values a fused kernel's operations see: arrays, then traced scalars."""
        return (np.ndarray,), ()

    def stream(self, kernel: Callable[..., Any], args: list[Any], shape: tuple[int, ...],
               elems_per_chunk: int, ctx: Any, fits: bool = True) -> np.ndarray:
        flats = [a.reshape(-1) if is_host_array(a) else a for a in args]
        size = int(np.prod(shape, dtype=np.int64))
        pieces = [kernel(*[f[i:i + elems_per_chunk] if is_host_array(f) else f
                           for f in flats]) for i in range(0, size, elems_per_chunk)]
        return np.concatenate(pieces).reshape(shape)

    def stream_rows(self, kernel: Callable[..., Any], args: list[Any], split: set[int],
                    n_rows: int, rows_per_chunk: int, ctx: Any, fits: bool = True) -> np.ndarray:
        pieces = [kernel(*[a[i:i + rows_per_chunk] if j in split else a
                           for j, a in enumerate(args)])
                  for i in range(0, n_rows, rows_per_chunk)]
        return np.concatenate(pieces)

    def import_foreign(self, x: Any) -> Any:
        raise TypeError(type(x).__name__)

    def export(self, dev: Any, kind: ArgKind | None) -> Any:
        return dev

    def free_bytes(self) -> int | None:
        return None

    def free_pools(self) -> None:
        return None

    def synchronize(self) -> None:
        return None

    def device_name(self) -> str:
        return "host (NumPy standing in for a device)"

    def close(self) -> None:
        return None


def _scalar_table(xp: Any) -> dict[str, Any]:
    """Where NumPy returns a Python scalar but a GPU library a 0-d array."""
    return {"allclose": lambda *a, **k: bool(xp.allclose(*a, **k)),
            "array_equal": lambda *a, **k: bool(xp.array_equal(*a, **k))}


class CupyLib:
    """CuPy on the current CUDA device."""

    name = "cupy"
    kind = ArgKind.CUPY
    foreign_kinds = (ArgKind.TORCH,)
    streams = True

    def __init__(self) -> None:
        import cupy

        self.cp = cupy
        self.engine = Engine(cupy)
        self.oom_errors = (cupy.cuda.memory.OutOfMemoryError,)
        self._ns: dict[bool, DeviceNamespace] = {}

    def namespace(self, gpu_random: bool) -> DeviceNamespace:
        cp = self.cp
        if gpu_random not in self._ns:
            subs = {"fft": DeviceNamespace("cupy", cp.fft, path="numpy.fft"),
                    "linalg": DeviceNamespace("cupy", cp.linalg, path="numpy.linalg"),
                    "random": DeviceNamespace("cupy", cp.random if gpu_random else object(),
                                              path="numpy.random")}
            self._ns[gpu_random] = DeviceNamespace("cupy", cp, _scalar_table(cp), subs)
        return self._ns[gpu_random]

    def is_device(self, x: Any) -> bool:
        return kind_of(type(x)) is ArgKind.CUPY

    @contextlib.contextmanager
    def running(self) -> Iterator[Any]:
        """The stream the call's kernels run on: the caller's current one."""
        yield self.cp.cuda.get_current_stream()

    def upload(self, host: np.ndarray, ctx: Any) -> Any:
        return self.engine.upload(host, ctx)

    def download(self, dev: Any, ctx: Any, out: np.ndarray | None = None) -> np.ndarray:
        return self.engine.download(dev, ctx, out)

    def scalar(self, dev: Any) -> Any:
        return dev.get()[()]

    def fuse(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        kernel_name = "".join(c if c.isalnum() else "_" for c in name) or "optlevel_fused"
        return self.cp.fuse(kernel_name=f"optlevel_{kernel_name}")(fn)

    def fusion_kinds(self) -> tuple:
        """What ``cupy.fuse`` traces a kernel with: its array and scalar variables
        (:class:`~.fusion.TypedOp` reads their dtypes and which scalars are weak)."""
        from cupy._core.fusion import _FusionVarArray, _FusionVarScalar

        return (self.cp.ndarray, _FusionVarArray), (_FusionVarScalar,)

    def stream(self, kernel: Callable[..., Any], args: list[Any], shape: tuple[int, ...],
               elems_per_chunk: int, ctx: Any, fits: bool = True) -> np.ndarray:
        return self.engine.stream(kernel, args, shape, elems_per_chunk, ctx, fits)

    def stream_rows(self, kernel: Callable[..., Any], args: list[Any], split: set[int],
                    n_rows: int, rows_per_chunk: int, ctx: Any, fits: bool = True) -> np.ndarray:
        # the arguments not split are on the device already: only host arrays stream
        return self.engine.stream_rows(kernel, args, n_rows, rows_per_chunk, ctx, fits)

    def import_foreign(self, x: Any) -> Any:
        return self.cp.from_dlpack(x)  # a Torch CUDA tensor, shared, not copied

    def export(self, dev: Any, kind: ArgKind | None) -> Any:
        if kind is ArgKind.TORCH and self.is_device(dev):
            import torch

            return torch.from_dlpack(dev)
        return dev

    def free_bytes(self) -> int | None:
        pool = self.cp.get_default_memory_pool()
        free, _total = self.cp.cuda.runtime.memGetInfo()
        free += pool.free_bytes()
        limit = pool.get_limit()
        if limit:
            free = min(free, limit - pool.used_bytes())
        return int(free)

    def free_pools(self) -> None:
        self.cp.get_default_memory_pool().free_all_blocks()
        self.cp.get_default_pinned_memory_pool().free_all_blocks()

    def synchronize(self) -> None:
        self.cp.cuda.get_current_stream().synchronize()

    def device_name(self) -> str:
        props = self.cp.cuda.runtime.getDeviceProperties(self.cp.cuda.Device().id)
        return props["name"].decode() if isinstance(props["name"], bytes) else props["name"]

    def close(self) -> None:
        self.engine.close()
        self.free_pools()

    # measurement helpers (probe.measure)
    def empty_like_host(self, host: np.ndarray) -> Any:
        return self.cp.empty(host.shape, host.dtype)

    def pinned_empty(self, n: int) -> np.ndarray:
        out = self.engine.results.empty((n,), np.dtype(np.float64))
        return out if out is not None else np.empty(n)

    def copy_in(self, dev: Any, host: np.ndarray) -> None:
        dev.set(host, stream=self.cp.cuda.get_current_stream())

    def copy_out(self, host: np.ndarray, dev: Any) -> None:
        dev.data.copy_to_host_async(host.ctypes.data, host.nbytes,
                                    self.cp.cuda.get_current_stream())

    def asarray(self, host: np.ndarray) -> Any:
        return self.cp.asarray(host)

    def tiny_op(self, x: Any) -> Any:
        return x + 1.0

    def device_copy(self, dev: Any) -> Any:
        return dev.copy()


class TorchLib:
    """Torch tensors on ``device``, through the NumPy-compatible namespace."""

    name = "torch"
    kind = ArgKind.TORCH
    foreign_kinds = (ArgKind.CUPY,)
    streams = False  # whole arrays; chunked streaming is CuPy's

    def __init__(self, device: str):
        import torch

        self.torch = torch
        self.device = device
        self.cuda = device.startswith("cuda")
        self.oom_errors = (torch.cuda.OutOfMemoryError,)
        self._ns: dict[bool, DeviceNamespace] = {}

    def namespace(self, gpu_random: bool) -> DeviceNamespace:
        from .torch_ns import torch_namespace

        if gpu_random not in self._ns:
            self._ns[gpu_random] = torch_namespace(self.device, gpu_random)
        return self._ns[gpu_random]

    def is_device(self, x: Any) -> bool:
        return kind_of(type(x)) is ArgKind.TORCH

    @contextlib.contextmanager
    def running(self) -> Iterator[Any]:
        yield None

    def upload(self, host: np.ndarray, ctx: Any) -> Any:
        t = self.torch.from_numpy(np.ascontiguousarray(host))
        if not self.cuda:
            return t.clone()
        staged = self.torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
        staged.copy_(t)
        return staged.to(self.device, non_blocking=True)

    def download(self, dev: Any, ctx: Any, out: np.ndarray | None = None) -> np.ndarray:
        dev = dev.detach()
        if not self.cuda:
            host = dev.clone().numpy()
        else:
            # the caching host allocator hands back pinned blocks: one DMA, no copy
            pinned = self.torch.empty(dev.shape, dtype=dev.dtype, pin_memory=True)
            pinned.copy_(dev, non_blocking=True)
            self.torch.cuda.current_stream().synchronize()
            host = pinned.numpy()
        if out is None:
            return host
        out[...] = host
        return out

    def scalar(self, dev: Any) -> Any:
        return dev.detach().cpu().numpy()[()]

    def fuse(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        # Measured on the H100: torch.compile took 15 s to build sin+cos+sqrt(abs) and
        # ran it in 0.121 ms (eager 0.417, cupy.fuse 0.084) with 84 us per call of
        # overhead: not worth it for a call-by-call library. Torch runs eagerly.
        return fn

    def stream(self, *args: Any) -> np.ndarray:
        raise NotImplementedError("chunked streaming runs on CuPy")

    def import_foreign(self, x: Any) -> Any:
        return self.torch.from_dlpack(x)  # a CuPy array, shared, not copied

    def export(self, dev: Any, kind: ArgKind | None) -> Any:
        if kind is ArgKind.CUPY and self.is_device(dev):
            import cupy

            return cupy.from_dlpack(dev)
        return dev

    def free_bytes(self) -> int | None:
        if not self.cuda:
            return None
        free, _total = self.torch.cuda.mem_get_info()
        reserved = self.torch.cuda.memory_reserved() - self.torch.cuda.memory_allocated()
        return int(free + reserved)

    def free_pools(self) -> None:
        if self.cuda:
            self.torch.cuda.empty_cache()

    def synchronize(self) -> None:
        if self.cuda:
            self.torch.cuda.current_stream().synchronize()

    def device_name(self) -> str:
        return self.torch.cuda.get_device_name() if self.cuda else "cpu (Torch)"

    def close(self) -> None:
        self.free_pools()

    # measurement helpers (probe.measure)
    def empty_like_host(self, host: np.ndarray) -> Any:
        return self.torch.empty(host.shape, dtype=self.torch.float64, device=self.device)

    def pinned_empty(self, n: int) -> Any:
        return self.torch.empty(n, dtype=self.torch.float64, pin_memory=self.cuda)

    def copy_in(self, dev: Any, host: Any) -> None:
        src = self.torch.from_numpy(host) if isinstance(host, np.ndarray) else host
        dev.copy_(src, non_blocking=True)

    def copy_out(self, host: Any, dev: Any) -> None:
        host.copy_(dev, non_blocking=True)

    def asarray(self, host: np.ndarray) -> Any:
        return self.torch.as_tensor(host, device=self.device)

    def tiny_op(self, x: Any) -> Any:
        return x + 1.0

    def device_copy(self, dev: Any) -> Any:
        return dev.clone()


#: how each adapter is made (making one imports its library)
_MAKERS: dict[str, Callable[[], Any]] = {
    "cupy": CupyLib, "torch": lambda: TorchLib("cuda"), "torch-cpu": lambda: TorchLib("cpu"),
    "numpy": HostLib}
#: the adapters made so far, one per name
_LIBS = RUNTIME.cache("gpu.libs", maxsize=len(_MAKERS))
