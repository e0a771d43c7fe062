"""Property: for random shapes, dtypes and layouts, level 2 returns what level 0 returns."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import optlevel
from optlevel import optimize

pytestmark = pytest.mark.numba

# Whole numbers keep every sum exact in every dtype, so equality is exact too;
# NaN and inf have their own cases in test_equivalence.
DTYPES = st.sampled_from([np.int32, np.int64, np.float32, np.float64])


def signed_total(x):
    t = 0
    for i in range(x.shape[0]):
        if x[i] % 2 == 0:
            t += x[i]
        else:
            t -= x[i]
    return t


def column_weights(a):
    out = np.zeros(a.shape[1])
    for j in range(a.shape[1]):
        for i in range(a.shape[0]):
            out[j] += a[i, j] * (i + 1)
    return out


def clipped_copy(x, out):
    n = 0
    for i in range(x.shape[0]):
        if x[i] > 10:
            out[i] = 10
            n += 1
        else:
            out[i] = x[i]
    return n


JIT = {f: optimize(f, level=2, strict=True) for f in (signed_total, column_weights,
                                                       clipped_copy)}
# NumPy 2 keeps `0 + x[i]` of int32 elements in int32 (wrapping at 2**31) and a sum of
# float32 elements started from the Python int 0 in float32, where Numba computes in
# int64 and float64: level 2 declines those (catalogue SEM009) and the call runs the
# plain function. `x[i] * (i + 1)` (a range counter: a Python int on every call) compiles
# in int32 as NumPy 2 computes it, replaying where it wraps; of float32 elements NumPy 2
# rounds the product to float32 (0.1f * 3 is 0.30000001f, not Numba's float64 product),
# so level 2 declines that too.
NARROW = {signed_total: {np.int32, np.float32}, column_weights: {np.float32}}
FALLS_BACK = {f: optimize(f, level=2) for f in NARROW}


def same_as_plain(f, a):
    """``f``'s level-2 result for ``a`` and the plain one; narrow dtypes fall back."""
    if a.dtype.type not in NARROW[f]:
        return JIT[f](a), f(a)
    fast = FALLS_BACK[f]
    reason = optlevel.explain(fast, a).row("numba").reason
    assert "SEM009" in reason and a.dtype.name in reason
    with warnings.catch_warnings():
        # the decline warns at level=2; its reason is asserted above, through explain
        warnings.simplefilter("ignore", optlevel.FallbackWarning)
        return fast(a), f(a)


@st.composite
def arrays(draw, ndim):
    dtype = draw(DTYPES)
    shape = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=0, max_side=12))
    a = draw(hnp.arrays(dtype, shape, elements=st.integers(-50, 50)))
    if draw(st.booleans()):  # a non-contiguous view
        a = a[::2] if ndim == 1 else a.T
    return a


# level 1 advises on signed_total's loop; level 2 against level 0 is the subject here
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")
@settings(max_examples=25, deadline=None)
@given(x=arrays(1))
def test_signed_total(x):
    fast, plain = same_as_plain(signed_total, x)
    assert fast == plain


@settings(max_examples=25, deadline=None)
@given(a=arrays(2))
def test_column_weights(a):
    fast, plain = same_as_plain(column_weights, a)
    assert fast.dtype == plain.dtype
    np.testing.assert_array_equal(fast, plain)


@settings(max_examples=25, deadline=None)
@given(x=arrays(1))
def test_clipped_copy(x):
    fast_out, plain_out = np.full(x.shape, -1.0), np.full(x.shape, -1.0)
    assert JIT[clipped_copy](x, fast_out) == clipped_copy(x, plain_out)
    np.testing.assert_array_equal(fast_out, plain_out)
