"""What the CuPy and Torch backends share: applies, estimate and prepare.

Each backend module (:mod:`optlevel.levels.gpu.backend_cupy`,
:mod:`optlevel.levels.gpu.backend_torch`) names its library and calls these; the
library adapter comes from :func:`.libs.get_lib`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...analysis import ArgInfo, ArgSignature, FunctionFeatures
from ...analysis.scope import Finding
from ...arrays import ArgKind
from ...contract import YES, BackendBase, Code, Decline, Estimate, Prepared, Verdict, VerdictKind
from ...core.preconditions import function_preconditions
from ...core.registry import is_available
from .checks import gpu_findings
from .cost import call_work, too_small_on_host
from .risks import index_risk, int_power_risk

__all__ = ["applies", "estimate", "prepare", "calibrate", "GPU_OPTIONS", "GpuBackend"]

#: the ``@optimize`` keywords level 4 reads
GPU_OPTIONS = {"gpu_random": "let level 4 draw np.random numbers on the GPU: faster, but a "
                             "different random stream than NumPy's (default False)"}
#: the argument kinds level 4 takes as they are (NumPy arrays are checked one by one)
_TAKEN = frozenset({ArgKind.CUPY, ArgKind.TORCH, ArgKind.SCALAR, ArgKind.TUPLE,
                    ArgKind.LIST})


def applies(backend: Any, features: FunctionFeatures, signature: ArgSignature,
            settings: Any) -> Verdict:
    """Can ``backend`` run this call on its GPU at all (cheap checks first)?"""
    choice = settings.gpu_backend
    if choice != "auto" and choice != backend.name:
        return Verdict(False, f"OPTLEVEL_GPU_BACKEND={choice} picks the {choice} backend",
                       code=Code.CONFIGURED)
    for verdict in (_body(features), _args(backend, signature, features)):
        if not verdict:
            return verdict
    found = gpu_findings(features)
    verdict = _findings(backend, found)
    if not verdict:
        return verdict
    risk = int_power_risk(found, signature) or index_risk(found, signature)
    if risk is not None:
        return Verdict(False, f"{risk}; it runs on the CPU", code=Code.DECLINED)
    small = "" if _gpu_random(features) else \
        too_small_on_host(signature, call_work(features, signature))
    if small:  # decided before any device is probed (importing CuPy, a CUDA context)
        return Verdict(False, small, kind=VerdictKind.PAYS, code=Code.PAYS)
    if not is_available(backend, settings):
        return YES  # the planner reports which "no GPU" case this is
    return _ops(backend, features)


def _gpu_random(features: FunctionFeatures) -> bool:
    return bool(features.options.get("gpu_random"))


def _torch(backend: Any) -> bool:
    return backend.lib_name.startswith("torch")


def _body(features: FunctionFeatures) -> Verdict:
    """The shared preconditions, in level 4's words; ``gpu_random=True`` lets a
    function draw from np.random (on the device, another stream)."""
    gpu_random = _gpu_random(features)
    return function_preconditions(
        features, no_source="; level 4 reads the function's code to run it on the GPU",
        generator="a generator or async function", kept=_kept_on_cpu,
        allow=lambda finding: gpu_random and _draws_np_random(finding))


def _draws_np_random(finding: Finding) -> bool:
    return finding.what.startswith("random numbers: numpy.random")


def _kept_on_cpu(finding: Finding) -> str:
    if _draws_np_random(finding):
        return (f"{finding}: draws from np.random, whose stream the GPU would not "
                "reproduce, so it keeps NumPy's (decorate with gpu_random=True to draw on "
                "the GPU, changing the random numbers)")
    return f"{finding}: runs on the CPU to keep its meaning"


def _findings(backend: Any, findings: Any) -> Verdict:
    if findings.element_loops:
        first = findings.element_loops[0]
        return Verdict(False, f"{first}: one GPU launch per element would be far slower "
                              "than the CPU (level 2 compiles such loops)", code=Code.DECLINED)
    if findings.unstable_order:
        return Verdict(False, str(findings.unstable_order[0]), code=Code.DECLINED)
    for kept in (findings.floor_mod, findings.int_casts):
        if kept:
            return Verdict(False, f"{kept[0]}; it runs on the CPU", code=Code.DECLINED)
    if _torch(backend) and findings.methods:
        names = ", ".join(f".{m}()" for m in findings.methods[:4])
        return Verdict(False, f"calls array methods ({names}), which Torch tensors define "
                              "differently from NumPy (x.std() divides by n-1, x.max(axis) "
                              "returns a pair); the cupy backend runs them", code=Code.DECLINED)
    return YES


def _args(backend: Any, signature: ArgSignature, features: FunctionFeatures) -> Verdict:
    for arg in signature.args:
        verdict = _arg(backend, arg)
        if not verdict:
            return verdict
    if not signature.arrays and not (_gpu_random(features) and features.uses_random):
        return Verdict(False, "no array arguments: nothing to put on the GPU",
                       code=Code.DECLINED)
    return YES


def _arg(backend: Any, arg: ArgInfo) -> Verdict:
    if arg.kind is ArgKind.NUMPY:
        return _host_arg(backend, arg)
    if arg.kind is ArgKind.TORCH and not str(arg.device).startswith("cuda"):
        return Verdict(False, f"argument {arg.name!r} is a Torch tensor on {arg.device}; "
                              "level 4 takes NumPy arrays, CuPy arrays and CUDA tensors",
                       code=Code.DECLINED)
    if arg.kind in _TAKEN:
        return YES
    return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}; level 4 takes "
                          "arrays, scalars, tuples and lists", code=Code.DECLINED)


def _host_arg(backend: Any, arg: ArgInfo) -> Verdict:
    """A NumPy argument: a plain ndarray of a dtype the backend's library computes like
    NumPy."""
    if arg.type_name != "ndarray":
        return Verdict(False, f"argument {arg.name!r} is a {arg.type_name}, an ndarray "
                              "subclass whose behaviour the GPU library would drop",
                       code=Code.DECLINED)
    kind = arg.dtype_kind
    if kind not in "biufc":
        return Verdict(False, f"argument {arg.name!r} has dtype {arg.dtype}; GPUs take "
                              "bool, integer, float and complex arrays", code=Code.DECLINED)
    if _torch(backend) and kind not in "fc":
        return Verdict(False, f"argument {arg.name!r} is {arg.dtype}: Torch promotes "
                              "integers unlike NumPy (int / int and int + float give "
                              "float32), so integer arrays run on CuPy or the CPU",
                       code=Code.DECLINED)
    return YES


def _ops(backend: Any, features: FunctionFeatures) -> Verdict:
    """Every NumPy call has a version in the backend's library (imports it)."""
    try:
        _open(backend, features)
    except Decline as exc:
        return Verdict(False, exc.reason, code=exc.code)
    return YES


def _open(backend: Any, features: FunctionFeatures) -> tuple[Any, Any]:
    """The backend's library adapter and its NumPy namespace for this function.

    Raises :class:`Decline` when the library cannot start (a device that went away
    after the probe) or a NumPy call of the function has no version there.
    """
    from .libs import get_lib
    from .namespace import missing_ops

    try:
        lib = get_lib(backend.lib_name)
    except Exception as exc:  # the probe passed; a start-up that fails is a decline
        raise Decline(f"{backend.name} could not start: {type(exc).__name__}: {exc}",
                      code=Code.UNAVAILABLE) from None
    xp = lib.namespace(_gpu_random(features))
    missing = missing_ops(features, xp)
    if missing:
        raise Decline(missing[0], code=Code.DECLINED)
    return lib, xp


def estimate(backend: Any, features: FunctionFeatures, signature: ArgSignature,
             settings: Any, profile: Any) -> Estimate:
    """The cost model of :mod:`.cost`, with this GPU's measured rates."""
    from .cost import predict
    from .libs import get_lib
    from .probe import measure

    findings = gpu_findings(features)
    rates = measure(get_lib(backend.lib_name), profile)
    fused = findings.elementwise and not _torch(backend)
    found = predict(features, findings, signature, rates, fused, _gpu_random(features))
    if found.cost is not None and _foreign(backend, signature):
        # the other library's arrays come in (and results go back) by DLPack: dearer
        # than natively, and the libraries' own measured rates must not decide it
        return Estimate(found.pays, found.reason, found.cost * 1.5 + 20e-6)
    if found.cost is not None and _torch(backend) and not _native(backend, signature):
        return Estimate(found.pays, found.reason + "; Torch runs unfused", found.cost * 1.2)
    return found


def _foreign(backend: Any, signature: ArgSignature) -> bool:
    other = ArgKind.TORCH if backend.name == "cupy" else ArgKind.CUPY
    return any(a.kind is other for a in signature.arrays)


def _native(backend: Any, signature: ArgSignature) -> bool:
    # by name: a backend standing in for one (the tests' "gpu-torch-cpu") has no arrays
    return any(a.kind == backend.name for a in signature.arrays)


def prepare(backend: Any, func: Callable[..., Any], features: FunctionFeatures) -> Prepared:
    """Rebind the function to the device namespace and fuse it when proven elementwise."""
    from .call import DeviceCall, GpuRunError, GpuUnfit, keeps_on_device
    from .fusion import faithful_kernel
    from .namespace import rebind

    start = time.perf_counter()
    lib, xp = _open(backend, features)
    findings = gpu_findings(features, func)
    rebound, codes = rebind(func, features, xp)
    fused = findings.elementwise and not features.has_varargs
    kernel = rebound
    if fused and not _torch(backend):  # Torch runs eagerly (TorchLib.fuse says why)
        kernel = faithful_kernel(lib, func, features, rebound) or rebound
        fused = kernel is not rebound
    note = "one fused kernel typed as NumPy types it" if fused and lib.name == "cupy" else ""
    call = DeviceCall(lib, func, kernel, fused, findings, features, codes)
    # Device random numbers draw another stream than NumPy's: never compared. Inside
    # optlevel.on_device() results stay on the device on purpose: the check compares
    # host copies of both sides.
    return Prepared(call, time.perf_counter() - start, (GpuRunError,), note,
                    unfit_errors=(GpuUnfit,), checkable=not _gpu_random(features),
                    compare_on_host=keeps_on_device)


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

    def check_option(self, name: str, value: Any) -> str | None:
        return "use True or False" if name == "gpu_random" and type(value) is not bool \
            else None

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
