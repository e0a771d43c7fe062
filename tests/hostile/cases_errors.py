"""Errors raised inside loops: math errors, int() of NaN/inf, indices, raises midway."""

from __future__ import annotations

import math

import numpy as np

from .cases_util import family, n_of


def sqrt_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.sqrt(x[i])
    return s


def log_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.log(x[i])
    return s


def acos_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.acos(x[i])
    return s


def exp_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.exp(x[i])
    return s


def gamma_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.gamma(x[i])
    return s


def pow_sum(x, p):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.pow(x[i], p)
    return s


def floor_sum(x):
    s = 0
    for i in range(x.shape[0]):
        s += math.floor(x[i])
    return s


def int_sum(x):
    s = 0
    for i in range(x.shape[0]):
        s += int(x[i])
    return s


def to_int_into(out, x):
    for i in range(x.shape[0]):
        out[i] = int(x[i])
    return out


def histogram(x, lo, width, nbins):
    counts = np.zeros(nbins, dtype=np.int64)
    for i in range(x.shape[0]):
        k = int((x[i] - lo) / width)
        counts[k] += 1
    return counts


def sqrt_into(out, x):
    for i in range(x.shape[0]):
        out[i] = math.sqrt(x[i])


def raise_midway(out, x, limit):
    for i in range(x.shape[0]):
        if x[i] > limit:
            raise ValueError("too big")
        out[i] = x[i] * 2.0
    return out


def gather(x, idx):
    s = 0.0
    for i in range(idx.shape[0]):
        s += x[idx[i]]
    return s


def gather_into(out, x, idx):
    for i in range(idx.shape[0]):
        out[i] = x[idx[i]]


def next_diff(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i + 1] - x[i]
    return s


def last_item(x):
    return x[-1] + x[x.shape[0] - 1]


def at(x, k):
    s = 0.0
    for i in range(3):
        s += x[k]
    return s


def grid_at(a, i, j):
    t = 0.0
    for r in range(a.shape[0]):
        t += a[r, j] + a[i, r]
    return t


def assert_positive(x):
    s = 0.0
    for i in range(x.shape[0]):
        assert x[i] > 0, "not positive"
        s += x[i]
    return s


def _neg_at(size, pos, val=-1.0):
    x = np.arange(1.0, n_of(size) + 1.0)
    if pos is not None:
        x[{"start": 0, "mid": x.shape[0] // 2, "end": -1}[pos]] = val
    return (x,)


def _with(size, val, pos="mid"):
    return _neg_at(size, pos, val)


def _positions(val):
    return {p: (lambda s, p=p: _with(s, val, p)) for p in ("start", "mid", "end")}


CASES = [
    *family(sqrt_sum, "math-error", {**_positions(-1.0), "clean": lambda s: _with(s, 4.0),
                                      "nan": lambda s: _with(s, np.nan),
                                      "neg_zero": lambda s: _with(s, -0.0)},
            sizes=("small", "large"), reorder=True),
    *family(log_sum, "math-error", {"zero": lambda s: _with(s, 0.0), "neg": lambda s: _with(s, -2.0),
                                     "inf": lambda s: _with(s, np.inf), "clean": lambda s: _with(s, 3.0)}, reorder=True),
    *family(acos_sum, "math-error", {"two": lambda s: (np.array([0.5, 2.0, 0.1]),),
                                      "clean": lambda s: (np.array([0.5, 1.0, -1.0]),)}, reorder=True),
    *family(exp_sum, "math-error", {"overflow": lambda s: (np.array([1.0, 1000.0]),),
                                     "inf": lambda s: (np.array([1.0, np.inf]),),
                                     "clean": lambda s: (np.array([1.0, -1000.0]),)}, reorder=True),
    *family(gamma_sum, "math-error", {"overflow": lambda s: (np.array([3.0, 200.0]),),
                                       "pole": lambda s: (np.array([3.0, 0.0]),),
                                       "neg_int": lambda s: (np.array([-2.0]),),
                                       "clean": lambda s: (np.array([3.0, 4.5]),)}),
    *family(pow_sum, "math-error", {"neg_frac": lambda s: (np.array([-8.0, 2.0]), 1.0 / 3),
                                     "zero_neg": lambda s: (np.array([0.0, 2.0]), -1.0),
                                     "overflow": lambda s: (np.array([10.0]), 400.0),
                                     "clean": lambda s: (np.array([2.0, 3.0]), 2.0)}, reorder=True),
    *family(floor_sum, "nan-int", {"nan": lambda s: (np.array([1.5, np.nan]),),
                                    "inf": lambda s: (np.array([np.inf, 1.5]),),
                                    "clean": lambda s: (np.array([1.5, -2.5]),)}),
    *family(int_sum, "nan-int", {"nan": lambda s: _with(s, np.nan),
                                  "inf": lambda s: _with(s, np.inf),
                                  "neg_inf": lambda s: _with(s, -np.inf, "start"),
                                  "huge": lambda s: _with(s, 1e300, "end"),
                                  "past_2_63": lambda s: _with(s, 2.0 ** 63, "end"),
                                  "clean": lambda s: _with(s, 3.7)}, sizes=("small", "large")),
    *family(to_int_into, "nan-int", {"nan_mid": lambda s: (np.zeros(5, np.int64), np.array([1.0, 2.0, np.nan, 4.0, 5.0])),
                                      "inf_end": lambda s: (np.zeros(3, np.int64), np.array([1.0, 2.0, np.inf])),
                                      "clean": lambda s: (np.zeros(3, np.int64), np.array([1.9, -2.9, 3.0]))}),
    *family(histogram, "nan-int", {"ok": lambda s: (np.linspace(0, 0.99, n_of(s, 20, 100_000)), 0.0, 0.1, 10),
                                    "zero_width": lambda s: (np.linspace(0, 0.99, 20), 0.0, 0.0, 10),
                                    "zero_width_np": lambda s: (np.linspace(0, 0.99, 20), 0.0, np.float64(0.0), 10),
                                    "nan_value": lambda s: (np.array([0.1, np.nan, 0.3]), 0.0, 0.1, 10),
                                    "out_of_range": lambda s: (np.array([0.1, 1.5]), 0.0, 0.1, 10),
                                    "negative_bin": lambda s: (np.array([0.1, -0.35]), 0.0, 0.1, 10)},
            sizes=("small", "large")),
    *family(sqrt_into, "midway", {"neg_mid": lambda s: (np.zeros(5), np.array([1.0, 4.0, -1.0, 9.0, 16.0])),
                                   "clean": lambda s: (np.zeros(3), np.array([1.0, 4.0, 9.0]))}),
    *family(raise_midway, "midway", {"raises": lambda s: (np.zeros(n_of(s)), np.arange(float(n_of(s))), 3.0),
                                      "never": lambda s: (np.zeros(n_of(s)), np.arange(float(n_of(s))), 1e9),
                                      "first": lambda s: (np.zeros(4), np.arange(4.0), -1.0)},
            sizes=("small", "large")),
    *family(assert_positive, "midway", {"fails": lambda s: (np.array([1.0, -1.0]),),
                                         "passes": lambda s: (np.array([1.0, 2.0]),)}),
    *family(gather, "index", {"ok": lambda s: (np.arange(5.0), np.array([0, 4, 2])),
                               "too_big": lambda s: (np.arange(5.0), np.array([0, 5, 2])),
                               "negative": lambda s: (np.arange(5.0), np.array([-1, -5])),
                               "too_negative": lambda s: (np.arange(5.0), np.array([-6])),
                               "empty_idx": lambda s: (np.arange(5.0), np.array([], dtype=np.int64))}),
    *family(gather_into, "index", {"too_big_mid": lambda s: (np.zeros(3), np.arange(5.0), np.array([1, 9, 2])),
                                    "negative": lambda s: (np.zeros(2), np.arange(5.0), np.array([-1, -2])),
                                    "ok": lambda s: (np.zeros(2), np.arange(5.0), np.array([3, 1]))}),
    *family(next_diff, "index", {"small": lambda s: (np.arange(float(n_of(s))),),
                                  "one": lambda s: (np.ones(1),),
                                  "empty": lambda s: (np.ones(0),)}, sizes=("small", "large")),
    *family(last_item, "index", {"ok": lambda s: (np.arange(4.0),),
                                  "empty": lambda s: (np.ones(0),)}),
    *family(at, "index", {"neg": lambda s: (np.arange(5.0), -2), "past": lambda s: (np.arange(5.0), 5),
                           "ok": lambda s: (np.arange(5.0), 1), "int_big": lambda s: (np.arange(5.0), 2 ** 70)}),
    *family(grid_at, "index", {"ok": lambda s: (np.ones((3, 3)), 1, 2),
                                "neg": lambda s: (np.ones((3, 3)), -1, -3),
                                "past": lambda s: (np.ones((3, 3)), 0, 3)}),
]
