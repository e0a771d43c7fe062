"""What the CuPy and Torch backends share: applies, estimate and prepare.

Each backend module (:mod:`optlevel.levels.gpu.backend_cupy`, ``gpu_torch``) names its
library and calls these; the library adapter comes from :func:`.libs.get_lib`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...analysis import ArgInfo, ArgSignature, FunctionFeatures
from ...contract import YES, BackendBase, Decline, Estimate, Prepared, Verdict
from ...core.registry import is_available
from .checks import gpu_findings
from .cost import too_small_on_host

__all__ = ["applies", "estimate", "prepare", "calibrate", "GPU_OPTIONS"]

#: the ``@optimize`` keywords level 4 reads
GPU_OPTIONS = {"gpu_random": "let level 4 draw np.random numbers on the GPU: faster, but a "
                             "different random stream than NumPy's (default False)"}


def applies(backend: Any, features: FunctionFeatures, signature: ArgSignature,
            settings: Any) -> Verdict:
    """Can ``backend`` run this call on its GPU at all (cheap checks first)?"""
    choice = settings.gpu_backend
    if choice != "auto" and choice != backend.name:
        return Verdict(False, f"OPTLEVEL_GPU_BACKEND={choice} picks the {choice} backend")
    for verdict in (_body(backend, features), _args(backend, signature, features)):
        if not verdict:
            return verdict
    verdict = _findings(backend, gpu_findings(features))
    if not verdict:
        return verdict
    small = "" if features.options.get("gpu_random") else too_small_on_host(signature)
    if small:  # decided before any device is probed (importing CuPy, a CUDA context)
        return Verdict(False, small, kind="pays")
    if not is_available(backend, settings):
        return YES  # the planner reports which "no GPU" case this is
    return _ops(backend, features)


def _body(backend: Any, features: FunctionFeatures) -> Verdict:
    if not features.has_source:
        return Verdict(False, f"{features.source.reason}; level 4 reads the function's "
                              "code to run it on the GPU")
    if features.is_generator or features.is_async:
        return Verdict(False, "a generator or async function")
    if features.global_writes:
        return Verdict(False, f"writes the global(s) {', '.join(sorted(features.global_writes))}")
    gpu_random = bool(features.options.get("gpu_random"))
    for finding in features.semantic_blockers:
        text = str(finding)
        if "random numbers: numpy.random" in text:
            if gpu_random:
                continue
            return Verdict(False, f"{text}: draws from np.random, whose stream the GPU "
                                  "would not reproduce, so it keeps NumPy's (decorate with "
                                  "gpu_random=True to draw on the GPU, changing the "
                                  "random numbers)")
        return Verdict(False, f"{text}: runs on the CPU to keep its meaning")
    return YES


def _findings(backend: Any, findings: Any) -> Verdict:
    if findings.element_loops:
        first = findings.element_loops[0]
        return Verdict(False, f"{first}: one GPU launch per element would be far slower "
                              "than the CPU (level 2 compiles such loops)")
    if findings.unstable_order:
        return Verdict(False, str(findings.unstable_order[0]))
    if backend.lib_name.startswith("torch") and findings.methods:
        names = ", ".join(f".{m}()" for m in findings.methods[:4])
        return Verdict(False, f"calls array methods ({names}), which Torch tensors define "
                              "differently from NumPy (x.std() divides by n-1, x.max(axis) "
                              "returns a pair); the cupy backend runs them")
    return YES


def _args(backend: Any, signature: ArgSignature, features: FunctionFeatures) -> Verdict:
    for arg in signature.args:
        verdict = _arg(backend, arg)
        if not verdict:
            return verdict
    if not signature.arrays and not (features.options.get("gpu_random")
                                     and features.uses_random):
        return Verdict(False, "no array arguments: nothing to put on the GPU")
    return YES


def _arg(backend: Any, arg: ArgInfo) -> Verdict:
    if arg.kind == "numpy":
        if arg.type_name != "ndarray":
            return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}, an ndarray "
                                  "subclass whose behaviour the GPU library would drop")
        kind = arg.dtype_kind
        if kind not in "biufc":
            return Verdict(False, f"argument {arg.name!r} has dtype {arg.dtype}; GPUs take "
                                  "bool, integer, float and complex arrays")
        if backend.lib_name.startswith("torch") and kind not in "fc":
            return Verdict(False, f"argument {arg.name!r} is {arg.dtype}: Torch promotes "
                                  "integers unlike NumPy (int / int and int + float give "
                                  "float32), so integer arrays run on CuPy or the CPU")
        return YES
    if arg.kind == "torch" and not str(arg.device).startswith("cuda"):
        return Verdict(False, f"argument {arg.name!r} is a Torch tensor on {arg.device}; "
                              "level 4 takes NumPy arrays, CuPy arrays and CUDA tensors")
    if arg.kind in ("cupy", "torch", "scalar", "tuple", "list"):
        return YES
    return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}; level 4 takes "
                          "arrays, scalars, tuples and lists")


def _ops(backend: Any, features: FunctionFeatures) -> Verdict:
    """Every NumPy call has a version in the backend's library (imports it)."""
    from .libs import get_lib
    from .namespace import missing_ops

    try:
        lib = get_lib(backend.lib_name)
    except Exception as exc:  # a device that went away after the probe
        return Verdict(False, f"{backend.name} could not start: {type(exc).__name__}: {exc}")
    missing = missing_ops(features, lib.namespace(bool(features.options.get("gpu_random"))))
    if missing:
        return Verdict(False, f"{missing[0]} has no {backend.name} version")
    return YES


def estimate(backend: Any, features: FunctionFeatures, signature: ArgSignature,
             settings: Any, profile: Any) -> Estimate:
    """The cost model of :mod:`.cost`, with this GPU's measured rates."""
    from .cost import predict
    from .libs import get_lib
    from .probe import measure

    findings = gpu_findings(features)
    rates = measure(get_lib(backend.lib_name), profile)
    fused = findings.elementwise and not backend.lib_name.startswith("torch")
    found = predict(features, findings, signature, rates, fused,
                    bool(features.options.get("gpu_random")))
    if found.cost is not None and _foreign(backend, signature):
        # the other library's arrays come in (and results go back) by DLPack: dearer
        # than natively, and the libraries' own measured rates must not decide it
        return Estimate(found.pays, found.reason, found.cost * 1.5 + 20e-6)
    torch = backend.lib_name.startswith("torch")
    if found.cost is not None and torch and not _native(backend, signature):
        return Estimate(found.pays, found.reason + "; Torch runs unfused", found.cost * 1.2)
    return found


def _foreign(backend: Any, signature: ArgSignature) -> bool:
    other = "torch" if backend.name == "cupy" else "cupy"
    return any(a.kind == other for a in signature.arrays)


def _native(backend: Any, signature: ArgSignature) -> bool:
    return any(a.kind == backend.name for a in signature.arrays)


def prepare(backend: Any, func: Callable[..., Any], features: FunctionFeatures) -> Prepared:
    """Rebind the function to the device namespace and fuse it when proven elementwise."""
    from .call import DeviceCall, GpuRunError, GpuUnfit
    from .libs import get_lib
    from .namespace import missing_ops, rebind

    start = time.perf_counter()
    try:
        lib = get_lib(backend.lib_name)
    except Exception as exc:  # the probe passed; a start-up that fails is a decline
        raise Decline(f"{backend.name} could not start: {type(exc).__name__}: {exc}") from None
    xp = lib.namespace(bool(features.options.get("gpu_random")))
    missing = missing_ops(features, xp)
    if missing:
        raise Decline(f"{missing[0]} has no {backend.name} version")
    findings = gpu_findings(features, func)
    rebound, codes = rebind(func, features, xp)
    fused = findings.elementwise and not features.has_varargs
    kernel = lib.fuse(rebound, features.name) if fused else rebound
    note = "one fused kernel" if fused and lib.name == "cupy" else ""
    call = DeviceCall(lib, func, kernel, fused, findings, features, codes)
    # Device random numbers draw another stream than NumPy's: never compared.
    return Prepared(call, time.perf_counter() - start, (GpuRunError,), note,
                    unfit_errors=(GpuUnfit,),
                    checkable=not features.options.get("gpu_random"))


def calibrate(backend: Any, profile: Any) -> None:
    """Measure this GPU's rates again (``optlevel calibrate`` asks only where the
    backend is available)."""
    from .libs import get_lib
    from .probe import measure

    measure(get_lib(backend.lib_name), profile, refresh=True)


class GpuBackend(BackendBase):
    """What the cupy and torch backends share; each names its library and its probe."""

    level = 4
    lib_name = ""
    uses_device = True
    holds_resources = True
    options = GPU_OPTIONS

    def applies(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                profile: Any) -> Verdict:
        return applies(self, features, signature, settings)

    def estimate(self, features: FunctionFeatures, signature: ArgSignature, settings: Any,
                 profile: Any) -> Estimate:
        return estimate(self, features, signature, settings, profile)

    def prepare(self, func: Callable[..., Any], features: FunctionFeatures,
                signature: ArgSignature, settings: Any, args: tuple = (),
                kwargs: dict | None = None) -> Prepared:
        return prepare(self, func, features)

    def calibrate(self, profile: Any, quick: bool = False) -> None:
        calibrate(self, profile)

    def close(self) -> None:
        from .libs import close_libs

        close_libs(self.lib_name)
