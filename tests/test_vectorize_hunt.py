"""Level 1 against the plain loop, to the bit, where the loop's terms are computed on
one NumPy scalar at a time and the rewrite computes them on whole arrays.

A reported case: ``s = 0j; s += abs(z[i])`` over complex64 ``z``. The accumulator
is complex64 (``0j`` is a weak Python scalar under NumPy 2) and the rewrite adds in
the loop's order, yet its sum was one ulp off: ``abs()`` of one complex64 scalar is
``hypot(re, im)``, correctly rounded, while ``np.abs`` of a complex array runs
NumPy's SIMD loop, which rounds a third of the elements differently. Complex
products are the same story: ``a * b`` of two complex scalars rounds each of
``ar*br - ai*bi`` and ``ar*bi + ai*br``; the array loop fuses them.

Every test runs the function through ``optimize(level=1)`` several times, checks
that the vectorized block (not its fallback loop) produced the value, and compares
value, type, ``repr`` and sign bits with the plain loop's.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

from optlevel import VectorizationAdvice, optimize
from optlevel.levels.vectorize import runtime

CALLS = 4
N = 20_000


# -- the loops ------------------------------------------------------------------------------

def cplx_acc(z):
    s = 0j
    for i in range(z.shape[0]):
        s += abs(z[i])
    return s


def modulus_total(z):
    s = 0.0
    for i in range(z.shape[0]):
        s += abs(z[i])
    return s


def cplx_dot(z, w):
    s = 0j
    for i in range(z.shape[0]):
        s += z[i] * w[i]
    return s


def cplx_scaled(z, c):
    s = 0j
    for i in range(z.shape[0]):
        s -= c * z[i]
    return s


def cplx_total(z):
    s = 0j
    for i in range(z.shape[0]):
        s += z[i]
    return s


def float_total(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def int_total(x):
    s = 0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def modulus_map(z, out):
    for i in range(z.shape[0]):
        out[i] = abs(z[i])
    return out


def product_map(z, w, out):
    for i in range(z.shape[0]):
        out[i] = z[i] * w[i]
    return out


def guarded_modulus(z, t):
    s = 0j
    for i in range(z.shape[0]):
        if abs(z[i]) > t:
            s += abs(z[i])
        else:
            s -= z[i] * z[i]
    return s


# -- helpers --------------------------------------------------------------------------------

@contextlib.contextmanager
def vectorized_runs():
    """Counts the vectorized blocks that finished (their reductions and writes ran):
    a block that falls back to the loop never reaches them."""
    seen: list[str] = []
    real_reduce, real_write = runtime.reduce, runtime.write

    def reduce(*args, **kwargs):
        out = real_reduce(*args, **kwargs)
        seen.append("reduce")
        return out

    def write(*args, **kwargs):
        real_write(*args, **kwargs)
        seen.append("write")

    runtime.reduce, runtime.write = reduce, write
    try:
        yield seen
    finally:
        runtime.reduce, runtime.write = real_reduce, real_write


def bits(value):
    """What must agree: the type, the repr, and every component's bytes (a long
    double's padding aside: its value) and sign."""
    arr = np.asarray(value)
    parts = [arr.real, arr.imag] if arr.dtype.kind == "c" else [arr]
    exact = tuple(p.astype(np.float64).tobytes() if p.dtype.itemsize > 8 else p.tobytes()
                  for p in parts)
    return (type(value), repr(value), arr.dtype, exact,
            tuple(np.signbit(p).tobytes() for p in parts))


def check(func, *args, vectorized=True):
    """``func`` at level 1, CALLS times, against the plain loop on copies: the same
    bits each time, and (unless told otherwise) the vectorized block ran."""
    def fresh():
        return [a.copy() if isinstance(a, np.ndarray) else a for a in args]

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", VectorizationAdvice)
        warnings.simplefilter("ignore", RuntimeWarning)  # scalar overflow warns per step
        plain = func(*fresh())
        fast = optimize(func, level=1)
        with vectorized_runs() as seen:
            results = [fast(*fresh()) for _ in range(CALLS)]
    for result in results:
        assert bits(result) == bits(plain), (repr(result), repr(plain))
    assert fast.stats().levels == {1: CALLS}
    if vectorized:
        assert seen, "the vectorized block never ran: the loop served every call"
    return plain


def complex_data(dtype, n=N, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dtype)


# -- the reported case and its siblings ---------------------------------------------------------

def test_reported_complex64_modulus_sum_from_0j():
    z = complex_data(np.complex64, 100_000)
    plain = check(cplx_acc, z)
    assert type(plain) is np.complex64
    assert repr(plain) == "np.complex64(125483.47+0j)"


@pytest.mark.parametrize("dtype, seed", [(np.complex64, 4), (np.complex64, 8),
                                         (np.complex128, 5), (np.clongdouble, 1)])
def test_complex_modulus_sums_from_0j(dtype, seed):
    # complex128: 0j + np.float64(...) is a Python complex (np.float64 subclasses
    # float), so the loop keeps a Python complex, which the rewrite leaves to the loop
    check(cplx_acc, complex_data(dtype, seed=seed), vectorized=dtype is not np.complex128)


@pytest.mark.parametrize("dtype, seed", [(np.complex64, 13), (np.complex128, 5),
                                         (np.complex128, 7)])
def test_complex_modulus_sums_from_0_0(dtype, seed):
    plain = check(modulus_total, complex_data(dtype, seed=seed))
    assert type(plain) is np.dtype(dtype).type(0).real.dtype.type


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("seed", [4, 5])
def test_complex_products_summed_from_0j(dtype, seed):
    check(cplx_dot, complex_data(dtype, seed=seed), complex_data(dtype, seed=seed + 10))


@pytest.mark.parametrize("c", [np.complex64(0.3 - 1.7j), 0.3 - 1.7j, 2.5, np.float32(1.5)])
def test_complex_products_with_an_invariant_factor(c):
    check(cplx_scaled, complex_data(np.complex64, seed=6), c)


@pytest.mark.parametrize("dtype, seed", [(np.complex64, 2), (np.complex64, 6),
                                         (np.complex128, 2)])
def test_branches_with_moduli_and_products(dtype, seed):
    check(guarded_modulus, complex_data(dtype, seed=seed), 0.25)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_moduli_written_elementwise(dtype):
    z = complex_data(dtype, seed=8)
    check(modulus_map, z, np.empty(N, z.real.dtype))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_products_written_elementwise(dtype):
    z, w = complex_data(dtype, seed=9), complex_data(dtype, seed=19)
    check(product_map, z, w, np.empty(N, dtype))


def special_complex(dtype):
    """Every pair of awkward real and imaginary parts, then random ones."""
    parts = [0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 1e-40, 3e38, 1.0000001]
    values = [complex(r, i) for r in parts for i in parts]
    return np.concatenate([np.array(values, dtype=dtype), complex_data(dtype, 900, seed=11)])


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_special_values_moduli_and_products_elementwise(dtype):
    z = special_complex(dtype)
    w = np.ascontiguousarray(z[::-1])
    check(modulus_map, z, np.empty(z.size, z.real.dtype))
    out = check(product_map, z, w, np.empty(z.size, dtype))
    assert np.isnan(out).any() and np.isinf(out).any()


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_sums_of_finite_special_values(dtype):
    z = special_complex(dtype)
    z = z[np.isfinite(z)]
    check(cplx_acc, z, vectorized=dtype is not np.complex128)
    check(cplx_dot, z, np.ascontiguousarray(z[::-1]))


# -- accumulators started from Python constants over narrow dtypes (already exact) ---------------

@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_narrow_float_sum_from_0_0(dtype):
    x = (np.random.default_rng(12).standard_normal(N) * 100).astype(dtype)
    assert type(check(float_total, x)) is dtype


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_narrow_int_sum_from_0_wraps_like_the_loop(dtype):
    x = np.random.default_rng(13).integers(0, 100, N).astype(dtype)
    plain = check(int_total, x)
    assert type(plain) is dtype
    assert int(plain) != int(x.astype(np.int64).sum())  # it wrapped


def test_complex64_sum_from_0j():
    assert type(check(cplx_total, complex_data(np.complex64, seed=14))) is np.complex64


# -- the run-time probe ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, np.clongdouble])
def test_the_scalar_way_reproduces_numpy_scalars_here(dtype):
    assert runtime._probe("abs", np.dtype(dtype))
    assert runtime._probe("multiply", np.dtype(dtype))


def test_a_failed_probe_runs_the_loop(monkeypatch):
    z = complex_data(np.complex64, 5_000, seed=15)
    monkeypatch.setitem(runtime._exact, ("abs", np.dtype(np.complex64)), False)
    with pytest.raises(runtime.Unfit):
        runtime.element_abs(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VectorizationAdvice)
        fast = optimize(cplx_acc, level=1)
        with vectorized_runs() as seen:
            results = [fast(z) for _ in range(3)]
    assert not seen  # the loop served them
    assert all(bits(r) == bits(cplx_acc(z)) for r in results)


def test_non_complex_operands_are_left_to_numpy():
    x = np.arange(5, dtype=np.float32)
    assert runtime.multiply(x, 2).dtype == np.float32
    assert runtime.multiply(3, 4) == 12 and runtime.element_abs(-2.5) == 2.5
    assert runtime.element_abs(np.array([-1, 2], np.int8)).dtype == np.int8
