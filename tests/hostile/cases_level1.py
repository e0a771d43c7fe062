"""Loops shaped the way level 1 rewrites them (element-wise writes, reductions, branches,
nests), given arrays that test its run-time checks: views, strides, dtypes, 0-d, NaN."""

from __future__ import annotations

import numpy as np

from .cases_util import family, n_of


def axpy_into(out, a, x, y):
    for i in range(x.shape[0]):
        out[i] = a * x[i] + y[i]


def inc_into(out, x):
    for i in range(x.shape[0]):
        out[i] += x[i]
    return out


def clip_into(out, x, lo, hi):
    for i in range(x.shape[0]):
        if x[i] < lo:
            out[i] = lo
        elif x[i] > hi:
            out[i] = hi
        else:
            out[i] = x[i]
    return out


def safe_log_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            s += np.log(x[i])
    return s


def max_loop(x):
    m = -np.inf
    for i in range(x.shape[0]):
        m = max(m, x[i])
    return m


def grid_scale(a, k):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] * k + i - j
    return out


def count_and_sum(x, t):
    n = 0
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > t:
            n += 1
            s += x[i]
    return n, s


def int_pow_loop(x):
    s = 0
    for i in range(x.shape[0]):
        s += x[i] ** 2
    return s


def mix_iter(x, it):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    for v in it:
        s += v
    return s


def _n(s):
    return n_of(s, 6, 100_000)


CASES = [
    *family(axpy_into, "level1", {
        "ok": lambda s: (np.zeros(_n(s)), 2.0, np.arange(float(_n(s))), np.ones(_n(s))),
        "int_out": lambda s: (np.zeros(_n(s), np.int64), 2.5, np.arange(float(_n(s))), np.ones(_n(s))),
        "out_is_y": lambda s: (lambda y: (y, 2.0, np.arange(float(_n(s))), y))(np.ones(_n(s))),
        "reversed_view": lambda s: (np.zeros(_n(s))[::-1], 2.0, np.arange(float(_n(s))), np.ones(_n(s))),
        "np_scalar_a": lambda s: (np.zeros(_n(s), np.float32), np.float64(1e300), np.ones(_n(s), np.float32), np.ones(_n(s), np.float32)),
        "short_y": lambda s: (np.zeros(_n(s)), 2.0, np.arange(float(_n(s))), np.ones(2)),
        "a_array": lambda s: (np.zeros(_n(s)), np.ones(1), np.arange(float(_n(s))), np.ones(_n(s))),
    }, sizes=("small", "large")),
    *family(inc_into, "level1", {
        "ok": lambda s: (np.ones(_n(s)), np.arange(float(_n(s)))),
        "same": lambda s: (lambda a: (a, a))(np.arange(float(_n(s)))),
        "uint8_wrap": lambda s: (np.full(_n(s), 250, np.uint8), np.full(_n(s), 10, np.uint8)),
        "int_plus_float": lambda s: (np.ones(_n(s), np.int64), np.full(_n(s), 0.5)),
    }, sizes=("small", "large")),
    *family(clip_into, "level1", {
        "ok": lambda s: (np.zeros(_n(s)), np.linspace(-2, 2, _n(s)), -1.0, 1.0),
        "nan": lambda s: (np.zeros(3), np.array([np.nan, 5.0, -5.0]), -1.0, 1.0),
        "int_bounds": lambda s: (np.zeros(_n(s), np.int64), np.arange(_n(s)) - 3, -1, 1),
        "lo_above_hi": lambda s: (np.zeros(_n(s)), np.linspace(-2, 2, _n(s)), 1.0, -1.0),
    }, sizes=("small", "large")),
    *family(safe_log_sum, "level1", {
        "mixed": lambda s: (np.linspace(-1, 1, _n(s)),),
        "zeros": lambda s: (np.zeros(_n(s)),),
        "nan": lambda s: (np.array([1.0, np.nan, 2.0]),),
    }, reorder=True, sizes=("small", "large")),
    *family(max_loop, "level1", {
        "ok": lambda s: (np.arange(float(_n(s))),),
        "nan_first": lambda s: (np.array([np.nan, 1.0, 2.0] * (_n(s) // 3)),),
        "nan_mid": lambda s: (np.array([1.0, np.nan, 2.0] * (_n(s) // 3)),),
        "empty": lambda s: (np.zeros(0),),
        "int": lambda s: (np.arange(_n(s)),),
    }, sizes=("small", "large")),
    *family(grid_scale, "level1", {
        "ok": lambda s: (np.ones((3, 4)), 2.0),
        "fortran": lambda s: (np.asfortranarray(np.arange(12.0).reshape(3, 4)), 2.0),
        "int": lambda s: (np.arange(12).reshape(3, 4), 2),
        "transposed": lambda s: (np.arange(12.0).reshape(4, 3).T, 0.5),
        "empty": lambda s: (np.ones((0, 4)), 2.0),
    }),
    *family(count_and_sum, "level1", {
        "ok": lambda s: (np.linspace(-1, 1, _n(s)), 0.0),
        "nan": lambda s: (np.array([np.nan, 1.0]), 0.0),
        "int": lambda s: (np.arange(_n(s)), 2),
    }, reorder=True, sizes=("small", "large")),
    *family(int_pow_loop, "level1", {
        "int": lambda s: (np.arange(_n(s)),),
        "big": lambda s: (np.full(_n(s), 3 * 10 ** 9),),
        "int8": lambda s: (np.full(_n(s), 100, np.int8),),
    }, sizes=("small", "large")),
    *family(mix_iter, "level1", {
        "gen": lambda s: (np.ones(_n(s)), (float(i) for i in range(3))),
        "list": lambda s: (np.ones(_n(s)), [1.0, 2.0]),
    }, reorder=True, sizes=("small", "large")),
]
