"""Level 4 sizes a call by the work it does (shapes through the AST), not its input.

No GPU needed: the shapes come from :func:`optlevel.analysis.shapes.propagate` and the
decisions from level 4's cost model on a synthetic machine profile with the H100
machine's measured orders of magnitude. Big arguments are broadcast views: nothing
of their size is allocated.
"""

from __future__ import annotations

import numpy as np
import pytest

from optlevel.analysis import analyze, describe_args
from optlevel.analysis.scope import Namespace
from optlevel.analysis.shapes import broadcast, propagate
from optlevel.contract import Pays
from optlevel.levels.gpu.checks import gpu_findings
from optlevel.levels.gpu.cost import call_work, predict, too_small_on_host

#: one H100 and 16 cores, as measured there (orders of magnitude)
H100 = {"h2d_pinned_gbps": 50.0, "d2h_pinned_gbps": 50.0, "h2d_pageable_gbps": 9.0,
        "memory_gbps": 2500.0, "launch_s": 6e-6, "matmul_flops": 50e12,
        "cpu_matmul_flops": 1.0e12, "cpu_matvec_gbps": 110.0, "cpu_copy_gbps": 10.0,
        "cpu_cheap_op_s_per_elem": 1.0e-9, "cpu_costly_op_s_per_elem": 8e-9}


def nbody(pos, mass):
    d = pos[None, :, :] - pos[:, None, :]
    r2 = (d ** 2).sum(axis=-1) + 1e-3
    inv = mass[None, :] / np.sqrt(r2) ** 3
    return (d * inv[:, :, None]).sum(axis=1)


def pairwise(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def outer_gauss(x, y):
    return np.exp(-np.outer(x, y) ** 2)


def tanh_mv(A, v):
    return np.tanh(A @ v)


def matmul(a, b):
    return a @ b


def blur(x):
    return x[1:-1, 1:-1] * 4 - x[:-2, 1:-1] - x[2:, 1:-1] - x[1:-1, :-2] - x[1:-1, 2:]


def softmax_rows(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def looping(x):
    for _ in range(3):
        x = x * 2
    return x


def big(*shape):
    return np.broadcast_to(np.float64(0.5), shape)


def work_of(func, **shapes):
    return propagate(analyze(func).source.tree, Namespace(func), shapes)


def decide(func, *args):
    features = analyze(func)
    findings = gpu_findings(features, func)
    signature = describe_args(args, names=features.params)
    fused = findings.elementwise
    return predict(features, findings, signature, H100, fused, False)


# --- shapes ---------------------------------------------------------------------------

def test_broadcasting_makes_the_outer_shape():
    assert broadcast((2048, 1, 3), (1, 2048, 3)) == (2048, 2048, 3)
    assert broadcast((5,), ()) == (5,)


def test_nbody_by_broadcasting_makes_millions_of_elements_from_thousands():
    w = work_of(nbody, pos=(2048, 3), mass=(2048,))
    assert w.known and w.largest == 2048 * 2048 * 3
    assert w.result == 2048 * 3 and w.reduced >= 2048 * 2048 * 3
    # d ** 2 over (n, n, 3), then sqrt and ** 3 over (n, n): powers count as costly
    assert w.costly == 2048 * 2048 * 3 + 2 * 2048 * 2048


def test_matrix_vector_product_counts_flops_and_the_matrix_read():
    w = work_of(tanh_mv, A=(8192, 8192), v=(8192,))
    assert w.known and w.matvec and w.flops == 2 * 8192 ** 2
    assert w.elements == w.costly == 8192  # tanh over one vector, not the matrix
    assert w.blas_bytes == (8192 ** 2 + 8192) * 8


def test_slices_reductions_keepdims_and_outer():
    assert work_of(blur, x=(100, 200)).result == 98 * 198
    assert work_of(softmax_rows, x=(300, 40)).result == 300 * 40
    assert work_of(outer_gauss, x=(1000,), y=(3000,)).largest == 3_000_000


def test_what_it_cannot_follow_is_unknown():
    assert not work_of(looping, x=(10,)).known
    assert not work_of(pairwise, a=(10, 3), b=None).known
    assert not work_of(pairwise, a=(10, 3), b=(10, 4)).known  # would not broadcast


# --- decisions on the synthetic profile ------------------------------------------------

@pytest.mark.parametrize("func,args", [
    (nbody, (big(2048, 3), big(2048))),
    (pairwise, (big(4000, 3), big(4000, 3))),
    (outer_gauss, (big(4000), big(4000))),
    (matmul, (big(4096, 4096), big(4096, 4096))),
])
def test_broadcast_heavy_and_flop_heavy_calls_go_to_the_gpu(func, args):
    features = analyze(func)
    signature = describe_args(args, names=features.params)
    assert too_small_on_host(signature, call_work(features, signature)) == ""
    estimate = decide(func, *args)
    assert estimate.pays is Pays.YES, estimate.reason


@pytest.mark.parametrize("func,args", [
    (tanh_mv, (big(8192, 8192), big(8192))),
    (tanh_mv, (big(2048, 2048), big(2048))),
])
def test_blas_bound_matrix_vector_calls_stay_on_the_cpu(func, args):
    estimate = decide(func, *args)
    assert estimate.pays is Pays.NO, estimate.reason
    cpu_ms = float(estimate.reason.rsplit("against ", 1)[1].split(" ms")[0])
    size = args[1].shape[0]
    assert cpu_ms < 3 * (size * size * 8 / 110e9) * 1e3 + 1  # BLAS's speed, not 1 op/elem


def test_small_work_stays_on_the_cpu_before_any_probe():
    features = analyze(nbody)
    signature = describe_args((big(64, 3), big(64)), names=features.params)
    why = too_small_on_host(signature, call_work(features, signature))
    assert "elements of work" in why
    assert decide(nbody, big(64, 3), big(64)).pays is Pays.NO


# --- on the GPU: where auto runs them ---------------------------------------------------

def _backends_under_auto(func, *args, calls=3):
    import optlevel
    from optlevel.levels.gpu.probe import cupy_status

    if not cupy_status():
        pytest.skip(f"no GPU usable through CuPy: {cupy_status().reason}")
    f = optlevel.optimize(func)
    for _ in range(calls):
        out = f(*args)
    want = func(*args)
    assert np.allclose(out, want, rtol=1e-9, atol=1e-9)
    return {s.backend for s in f.stats().signatures}


@pytest.mark.gpu
@pytest.mark.filterwarnings("ignore::optlevel.errors.VectorizationAdvice")
@pytest.mark.parametrize("func,shapes", [
    (nbody, [(2048, 3), (2048,)]), (pairwise, [(3000, 3), (3000, 3)]),
    (outer_gauss, [(4000,), (4000,)])])
def test_broadcast_heavy_functions_run_on_the_gpu_under_auto(func, shapes):
    rng = np.random.default_rng(1)
    args = [rng.uniform(0.1, 1.0, s) for s in shapes]
    assert "cupy" in _backends_under_auto(func, *args)


@pytest.mark.gpu
@pytest.mark.filterwarnings("ignore::optlevel.errors.VectorizationAdvice")
def test_blas_bound_calls_stay_on_the_cpu_under_auto():
    rng = np.random.default_rng(2)
    A, v = rng.standard_normal((8192, 8192)) / 90, rng.standard_normal(8192)
    assert "cupy" not in _backends_under_auto(tanh_mv, A, v)


# --- level 3 sizes a call by the same work ---------------------------------------------

class _Profile:
    """A machine profile whose measurements are fixed numbers (16 cores' orders)."""

    values = {"parallel.numpy_op_s": 1e-9, "threads.task_s": 2e-5}

    def measure(self, key, measure):
        return self.values.get(key, 12.0 if key.startswith("threads.speedup") else 1e-6)


def _threads(func, *args):
    from optlevel.config import settings
    from optlevel.levels.parallel.backend_threads import ThreadsBackend

    features = analyze(func)
    signature = describe_args(args, names=features.params)
    return ThreadsBackend().estimate(features, signature, settings(), _Profile())


def test_level_3_leaves_matrix_products_to_blas():
    estimate = _threads(tanh_mv, big(8192, 8192), big(8192))
    assert estimate.pays is Pays.NO and "BLAS" in estimate.reason, estimate.reason


def test_level_3_counts_the_work_the_body_makes_not_its_input():
    """softmax over 4000x1000 makes 12M elements and reduces 8M: 20 ms at 1 ns each,
    where its 4M input elements would say 4 ms per operation counted."""
    estimate = _threads(softmax_rows, big(4000, 1000))
    work = work_of(softmax_rows, x=(4000, 1000))
    assert (work.elements, work.reduced) == (12_000_000, 8_000_000)
    serial_ms = float(estimate.reason.split(" vs ")[1].split(" ms")[0])
    assert serial_ms == pytest.approx((work.elements + work.reduced) * 1e-9 * 1e3, rel=0.05)
