"""The callable a level-4 plan runs: arguments in, the function on the device, results out.

NumPy in → NumPy out (same dtype and shape; a 0-d result comes back as the NumPy
scalar NumPy's own functions return); CuPy in → CuPy out and Torch CUDA in → Torch
out, without copies (DLPack where the libraries differ); under
:func:`optlevel.on_device` results stay on the device. In-place writes into NumPy
arguments are copied back after the results are safely on the host, so a call that
fails part-way leaves the caller's arrays as they were.

Failures: an exception raised by the user's own code (its frame raised it) propagates
unchanged. An out-of-memory error frees the pools and runs this call on the CPU with
one :class:`~optlevel.FallbackWarning`. Any other failure inside the GPU library is
raised as :class:`GpuRunError`, which the dispatcher treats as a build failure: it
re-plans this signature below level 4 and runs the call there, so the user sees the
plain function's result or its own exception.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ...arrays import DEVICE_KINDS, ArgKind, array_kind, kind_of
from ...errors import FallbackWarning, first_line, warn_once
from .memory import HEADROOM, plan_memory
from .namespace import MissingOnDevice

__all__ = ["DeviceCall", "GpuRunError", "GpuUnfit", "KEEP_ON_DEVICE", "STREAM_MIN_BYTES",
           "keeps_on_device"]

#: set by ``optlevel.on_device()``: results of level-4 calls stay on the device
KEEP_ON_DEVICE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "optlevel_keep_on_device", default=False)
#: host inputs at least this big run chunk by chunk when the function is elementwise
STREAM_MIN_BYTES = 4 << 20
_CHUNK_BYTES = 16 << 20  # per array, per streamed chunk
_SCALARS = frozenset({int, float, complex, bool})


class GpuRunError(Exception):
    """Level 4 could not run this call (not the user's error): fall back."""


class GpuUnfit(Exception):
    """These arguments do not fit in the GPU's memory and cannot run in chunks: this
    call runs on the CPU, before anything was copied (the plan stays for others)."""


class DeviceCall:
    """Runs ``kernel`` (the function rebound to ``lib``'s namespace, fused or not)."""

    def __init__(self, lib: Any, func: Callable[..., Any], kernel: Callable[..., Any],
                 fused: bool, findings: Any, features: Any, codes: frozenset):
        self.lib = lib
        self.func = func
        self.kernel = kernel
        self.fused = fused
        self.findings = findings
        self.mutated = features.mutated_params
        self.qualname = features.name
        self.codes = codes
        self.signature = inspect.signature(func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        lib = self.lib
        kinds = [kind_of(type(a)) for a in args]
        if not kwargs and lib.kind in kinds and all(
                k is lib.kind or type(a) in _SCALARS for k, a in zip(kinds, args)):
            return self._guarded(args, kwargs, self._resident, args)
        bound = self.signature.bind(*args, **kwargs)  # a TypeError here is the caller's
        return self._guarded(args, kwargs, self._moved, bound)

    def _guarded(self, args: tuple, kwargs: dict, run: Callable[..., Any],
                 *run_args: Any) -> Any:
        """``run(*run_args)`` for the call ``(args, kwargs)``, its failures sorted: out of
        memory runs the call on the CPU, the user's own exceptions propagate, the
        library's become :class:`GpuRunError`."""
        try:
            return run(*run_args)
        except self.lib.oom_errors as exc:
            return self._out_of_memory(exc, args, kwargs)
        except (GpuRunError, GpuUnfit):
            raise
        except Exception as exc:
            if _raised_by_user(exc, self.codes | getattr(self.kernel, "codes", frozenset())):
                raise
            raise GpuRunError(f"{type(exc).__name__}: {first_line(exc)}") from exc

    def _resident(self, args: tuple) -> Any:
        """The fast path: every argument already on this device (or a scalar)."""
        result = self.kernel(*args)
        return self._result(result, True, self.lib.kind, {}, None)

    def _moved(self, bound: inspect.BoundArguments) -> Any:
        """Host arrays go in (whole or in chunks), results come out as their kind."""
        lib = self.lib
        values = bound.arguments
        hosts = {k: v for k, v in values.items() if type(v) is np.ndarray}
        out_kind = self._out_kind(values)
        keep = out_kind is not None or KEEP_ON_DEVICE.get()
        with lib.running() as ctx:
            result, uploaded = self._run(bound, hosts, ctx, keep)
            host_of = {id(uploaded[k]): hosts[k] for k in uploaded}
            result = self._result(result, keep, out_kind or lib.kind, host_of, ctx)
            for name in self.mutated & set(uploaded):
                lib.download(uploaded[name], ctx, out=hosts[name])
        return result

    def _out_kind(self, values: dict[str, Any]) -> ArgKind | None:
        """The array kind results come back as: None for the host (NumPy)."""
        for v in values.values():
            kind = kind_of(type(v))
            if kind in DEVICE_KINDS:
                return kind
        return None

    def _run(self, bound: inspect.BoundArguments, hosts: dict[str, np.ndarray],
             ctx: Any, keep: bool) -> tuple[Any, dict[str, Any]]:
        lib = self.lib
        arrays = [v for v in bound.arguments.values() if array_kind(v) is not None]
        largest = max(arrays, key=_nbytes, default=None)
        streamable = not keep and self._streamable(bound, hosts)
        memory = plan_memory(lib, sum(h.nbytes for h in hosts.values()),
                             _nbytes(largest) if largest is not None else 0,
                             _itemsize(largest), self.fused, self.findings.ops, streamable,
                             max(1, _CHUNK_BYTES // max(1, _itemsize(largest))))
        rows = self._row_streamable(bound, hosts, keep, memory.mode)
        if rows:
            return self._stream_rows(bound, hosts, rows, ctx, memory), {}
        if memory.mode == "refuse":
            raise GpuUnfit(memory.reason)
        if streamable and (memory.mode == "chunks" or
                           sum(h.nbytes for h in hosts.values()) >= STREAM_MIN_BYTES):
            shape = next(iter(hosts.values())).shape
            ordered = [bound.arguments[p] for p in self.signature.parameters]
            return lib.stream(self.kernel, ordered, shape, memory.elems_per_chunk, ctx,
                              memory.mode != "chunks"), {}
        uploaded = {k: lib.upload(v, ctx) for k, v in hosts.items()}
        for k, v in bound.arguments.items():
            if kind_of(type(v)) in lib.foreign_kinds:
                bound.arguments[k] = lib.import_foreign(v)
        bound.arguments.update(uploaded)
        return self.kernel(*bound.args, **bound.kwargs), uploaded

    def _row_streamable(self, bound: inspect.BoundArguments, hosts: dict[str, np.ndarray],
                        keep: bool, mode: str) -> tuple[str, ...]:
        """The split parameters, when this call can stream along their rows."""
        split = self.findings.row_split
        if keep or not split or bound.kwargs or not self.lib.streams:
            return ()
        # a @ b streams by rows of a whenever it is big: one kernel a chunk, and copies
        # overlap it. Other row-wise functions launch several kernels a chunk, which
        # costs more than the overlap gains: they stream only when they do not fit.
        if mode != ("whole" if self.findings.row_split_ndim == 2 else "refuse"):
            return ()
        if any(p not in hosts for p in split):
            return ()
        arrays = [hosts[p] for p in split]
        least = self.findings.row_split_ndim
        if any(a.ndim < least or not a.flags.c_contiguous for a in arrays):
            return ()
        if len({a.shape[0] for a in arrays}) != 1 or arrays[0].shape[0] < 2:
            return ()
        if mode == "whole" and sum(a.nbytes for a in arrays) < STREAM_MIN_BYTES:
            return ()
        return split

    def _stream_rows(self, bound: inspect.BoundArguments, hosts: dict[str, np.ndarray],
                     split: tuple[str, ...], ctx: Any, memory: Any) -> Any:
        lib = self.lib
        names = list(self.signature.parameters)
        ordered = []
        for name in names:
            value = bound.arguments.get(name)
            if name in hosts and name not in split:
                value = lib.upload(value, ctx)
            elif name not in hosts and kind_of(type(value)) in lib.foreign_kinds:
                value = lib.import_foreign(value)
            ordered.append(value)
        first = hosts[split[0]]
        row_bytes = max(hosts[p].nbytes // first.shape[0] for p in split)
        fits = memory.mode == "whole"
        budget = _CHUNK_BYTES if fits else \
            int(HEADROOM * (memory.free or 0)) // (3 * (2 + min(self.findings.ops, 4)))
        per_chunk = max(1, budget // max(1, row_bytes))
        positions = {names.index(p) for p in split}
        return lib.stream_rows(self.kernel, ordered, positions, first.shape[0], per_chunk,
                               ctx, fits)

    def _streamable(self, bound: inspect.BoundArguments, hosts: dict[str, np.ndarray]) -> bool:
        """Elementwise, only NumPy arrays of one shape (C order) and scalars."""
        if not (self.fused and self.lib.streams and hosts) or bound.kwargs:
            return False
        shapes = {h.shape for h in hosts.values()}
        if len(shapes) != 1 or not all(h.flags.c_contiguous for h in hosts.values()):
            return False
        others = [v for k, v in bound.arguments.items() if k not in hosts]
        return all(kind_of(type(v)) is ArgKind.SCALAR for v in others)

    def _result(self, value: Any, keep: bool, kind: ArgKind | None,
                host_of: dict[int, np.ndarray], ctx: Any, top: bool = True,
                position: int | None = None) -> Any:
        lib = self.lib
        if isinstance(value, (tuple, list, dict)):
            def one(v: Any, i: int | None) -> Any:
                return self._result(v, keep, kind, host_of, ctx, False,
                                    i if top else -1)
            if isinstance(value, tuple):
                items = [one(v, i) for i, v in enumerate(value)]
                return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
            if isinstance(value, list):
                return [one(v, -1) for v in value]
            return {k: one(v, -1) for k, v in value.items()}
        if not lib.is_device(value):
            return value
        if id(value) in host_of:  # it returned an argument (maybe written in place)
            return host_of[id(value)]
        if keep:
            return lib.export(value, kind)
        if value.ndim == 0:
            if position in self.findings.zero_d_arrays:
                raise GpuRunError("a 0-d result whose NumPy type (a scalar, or a 0-d array "
                                  "made by np.array/asarray/where/...) cannot be told "
                                  "without running NumPy")
            return lib.scalar(value)
        return lib.download(value, ctx)

    def _out_of_memory(self, exc: BaseException, args: tuple, kwargs: dict) -> Any:
        self.lib.free_pools()
        warn_once((self.qualname, "gpu-out-of-memory"),
                  f"{self.qualname}: level 4 ({self.lib.name}) ran out of GPU memory "
                  f"({first_line(exc)}); the GPU memory pool was freed and this call ran "
                  "on the CPU (level 0) instead. Free device memory (or call "
                  "optlevel.to_host on arrays you keep on the GPU), or decorate with "
                  "level=3 to stay on the CPU.", FallbackWarning)
        # An unfit call: the dispatcher runs it plain, counts it at level 0, keeps the plan.
        raise GpuUnfit(f"out of GPU memory: {first_line(exc)}") from exc


def keeps_on_device() -> bool:
    """Whether results stay on the device here (inside ``optlevel.on_device()``): the
    first-call check then compares host copies (:attr:`Prepared.compare_on_host`)."""
    return KEEP_ON_DEVICE.get()


def _nbytes(a: Any) -> int:
    if a is None:
        return 0
    n = getattr(a, "nbytes", None)
    return int(n) if n is not None else int(a.numel() * a.element_size())


def _itemsize(a: Any) -> int:
    if a is None:
        return 8
    size = getattr(a, "itemsize", None)
    return int(size) if isinstance(size, int) else int(a.element_size())


def _raised_by_user(exc: BaseException, codes: frozenset) -> bool:
    """Did the function's own code (or a helper's) raise ``exc`` itself?"""
    if isinstance(exc, MissingOnDevice):
        return False
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    return last is not None and last.tb_frame.f_code in codes
