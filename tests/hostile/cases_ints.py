"""Python ints past 64 bits, narrow NumPy ints, division by zero (issue 14's cases)."""

from __future__ import annotations

import math

import numpy as np

from .cases_util import family, fixed


def cube_sum(n):
    s = 0
    for i in range(n):
        s += i ** 3
    return s


def count_from(start, n):
    c = start
    for i in range(n):
        c += 3
    return c


def poly_hash(x):
    h = 0
    for i in range(x.shape[0]):
        h = (h * 1000003 + x[i]) % (2 ** 61 - 1)
    return h


def poly_hash_py(n):
    h = 0
    for i in range(n):
        h = (h * 1000003 + i) % (2 ** 61 - 1)
    return h


def negate(n):
    r = 0
    for _ in range(2):
        r = -n
    return r


def absolute(n):
    r = 0
    for _ in range(2):
        r = abs(n)
    return r


def shift_left(n, k):
    r = 0
    for _ in range(1):
        r = n << k
    return r


def tuple_sum(t):
    s = 0
    for v in t:
        s += v
    return s


def factorial(n):
    p = 1
    for i in range(2, n + 1):
        p *= i
    return p


def collatz_max(n):
    best = 0
    for start in range(1, n):
        x = start
        while x != 1:
            x = x // 2 if x % 2 == 0 else 3 * x + 1
            if x > best:
                best = x
    return best


def doubling(n):
    p = 1
    while p < n:
        p *= 2
    return p


def floordiv_mod(a, b):
    q = 0
    r = 0
    for _ in range(1):
        q = a // b
        r = a % b
    return q, r


def mean_pair(a, b):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        out[i] = (a[i] + b[i]) // 2
    return out


def narrow_acc(a):
    s = a[0] * 0
    for i in range(a.shape[0]):
        s += a[i]
    return s


def narrow_mul(a, b):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        out[i] = a[i] * b[i]
    return out


def narrow_sub_py(a, k):
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        out[i] = a[i] - k
    return out


def narrow_scalar_loop(a):
    s = 0
    for i in range(a.shape[0]):
        s = s + a[i] * a[i]
    return s


def div_sum(x, d):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] / d
    return s


def py_div(a, d):
    s = 0.0
    for _ in range(2):
        s += a / d
    return s


def int_div_loop(n, d):
    s = 0
    for i in range(n):
        s += i // d
    return s


def mod_loop(n, d):
    s = 0
    for i in range(n):
        s += i % d
    return s


def pairwise_ratio(x, y):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i] / y[i]
    return out


def acc_then_div(x, d):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s / d


def complex_div(z, d):
    r = 0j
    for _ in range(1):
        r = z / d
    return r


def int_pow(b, e):
    r = 1
    for _ in range(1):
        r = b ** e
    return r


def isqrt_loop(n):
    s = 0
    for i in range(1, n):
        s += math.isqrt(i)
    return s


CASES = [
    *family(cube_sum, "bigint", {"small": fixed(100), "wraps": fixed(100_000), "zero": fixed(0)}),
    *family(count_from, "bigint", {"near_max": fixed(2 ** 63 - 5, 3), "past": fixed(2 ** 64, 2),
                                   "neg_min": fixed(-2 ** 63, 1), "small": fixed(1, 4)}),
    *family(poly_hash, "bigint", {"arr": lambda s: (np.arange(50, dtype=np.int64),),
                                  "one": lambda s: (np.array([7], np.int64),)}),
    *family(poly_hash_py, "bigint", {"n50": fixed(50), "n3": fixed(3)}),
    *family(negate, "bigint", {"min": fixed(-2 ** 63), "np_min": fixed(np.int64(-2 ** 63)),
                               "small": fixed(5), "big": fixed(2 ** 80)}),
    *family(absolute, "bigint", {"min": fixed(-2 ** 63), "np_min": fixed(np.int64(-2 ** 63)),
                                 "small": fixed(-5)}),
    *family(shift_left, "bigint", {"top": fixed(2 ** 62, 2), "small": fixed(3, 4),
                                   "wide": fixed(1, 70), "negative_shift": fixed(1, -1)}),
    *family(tuple_sum, "bigint", {"big": fixed((2 ** 62,) * 4), "small": fixed((1, 2, 3)),
                                  "mixed": fixed((1, 2.5, 3)), "empty": fixed(())}),
    *family(factorial, "bigint", {"20": fixed(20), "25": fixed(25), "0": fixed(0)}),
    *family(collatz_max, "bigint", {"30": fixed(30)}),
    *family(floordiv_mod, "division", {"zero_int": fixed(7, 0), "zero_float": fixed(7.0, 0.0),
                                       "neg": fixed(-7, 2), "neg_float": fixed(-7.5, 2.0),
                                       "np_zero": fixed(np.int64(7), np.int64(0)),
                                       "np_float_zero": fixed(np.float64(7.0), np.float64(0.0)),
                                       "min_by_minus1": fixed(np.int64(-2 ** 63), np.int64(-1)),
                                       "py_min_by_minus1": fixed(-2 ** 63, -1),
                                       "mixed_zero": fixed(np.int64(3), 0)}),
    *family(mean_pair, "narrow", {
        "uint8": lambda s: (np.array([200, 10], np.uint8), np.array([100, 20], np.uint8)),
        "int8": lambda s: (np.array([100, -100], np.int8), np.array([100, -100], np.int8)),
        "int16": lambda s: (np.array([30000], np.int16), np.array([30000], np.int16)),
        "int32": lambda s: (np.array([2 ** 31 - 1], np.int32), np.array([1], np.int32))}),
    *family(narrow_acc, "narrow", {
        "uint8": lambda s: (np.array([200, 100, 50], np.uint8),),
        "int8": lambda s: (np.array([100, 100], np.int8),),
        "int16": lambda s: (np.array([30000, 30000], np.int16),),
        "uint16": lambda s: (np.array([60000, 10000], np.uint16),),
        "int32": lambda s: (np.full(3, 2 ** 30, np.int32),),
        "float32": lambda s: (np.array([1e8, 1.0, -1e8], np.float32),)}),
    *family(narrow_mul, "narrow", {
        "uint8": lambda s: (np.array([20, 3], np.uint8), np.array([20, 3], np.uint8)),
        "int8": lambda s: (np.array([-128, 2], np.int8), np.array([-1, 100], np.int8)),
        "int16": lambda s: (np.array([300], np.int16), np.array([300], np.int16))}),
    *family(narrow_sub_py, "narrow", {
        "uint8_below": lambda s: (np.array([1, 2], np.uint8), 5),
        "uint8_ok": lambda s: (np.array([10, 20], np.uint8), 5),
        "int8_big_py": lambda s: (np.array([1, 2], np.int8), 300),
        "uint32": lambda s: (np.array([0], np.uint32), 1)}),
    *family(narrow_scalar_loop, "narrow", {
        "uint8": lambda s: (np.array([200, 100], np.uint8),),
        "int16": lambda s: (np.array([300, 300], np.int16),),
        "int64": lambda s: (np.array([2 ** 32, 2 ** 31], np.int64),)}),
    *family(div_sum, "division", {
        "py_zero": lambda s: (np.ones(3), 0.0), "py_int_zero": lambda s: (np.ones(3), 0),
        "np_zero": lambda s: (np.ones(3), np.float64(0.0)), "np_int_zero": lambda s: (np.ones(3), np.int64(0)),
        "ok": lambda s: (np.ones(3), 4.0), "neg_zero": lambda s: (np.ones(3), -0.0),
        "zeros_over_zero": lambda s: (np.zeros(2), 0.0)}, reorder=True),
    *family(py_div, "division", {
        "float_zero": fixed(1.0, 0.0), "int_zero": fixed(1, 0), "np_num_py_zero": fixed(np.float64(1.0), 0.0),
        "py_num_np_zero": fixed(1.0, np.float64(0.0)), "ok": fixed(3, 2),
        "np_int_zero": fixed(np.int64(1), np.int64(0)), "int_big": fixed(2 ** 70, 3)}),
    *family(int_div_loop, "division", {"zero": fixed(3, 0), "ok": fixed(10, 3), "neg": fixed(10, -3),
                                       "np_zero": fixed(3, np.int64(0)), "empty_zero": fixed(0, 0)}),
    *family(mod_loop, "division", {"zero": fixed(3, 0), "neg": fixed(10, -3), "float": fixed(5, 1.5),
                                   "float_zero": fixed(3, 0.0)}),
    *family(pairwise_ratio, "division", {
        "zero_in_y": lambda s: (np.array([1.0, 2.0, 0.0]), np.array([1.0, 0.0, 0.0])),
        "int_zero": lambda s: (np.array([1, 2]), np.array([1, 0])),
        "ok": lambda s: (np.array([1.0, 2.0]), np.array([4.0, 8.0]))}),
    *family(acc_then_div, "division", {"py_zero": lambda s: (np.ones(3), 0.0),
                                       "py_int_zero": lambda s: (np.ones(3), 0),
                                       "empty_zero": lambda s: (np.ones(0), 0.0)}, reorder=True),
    *family(complex_div, "division", {"zero": fixed(1 + 2j, 0), "zero_c": fixed(1 + 2j, 0j),
                                      "np_zero": fixed(np.complex128(1 + 2j), 0.0), "ok": fixed(2j, 2)}),
    *family(int_pow, "bigint", {"big": fixed(3, 50), "neg_exp": fixed(2, -1), "zero_neg": fixed(0, -1),
                                "np_big": fixed(np.int64(3), np.int64(50)), "small": fixed(3, 4)}),
    *family(isqrt_loop, "bigint", {"20": fixed(20)}),
]
