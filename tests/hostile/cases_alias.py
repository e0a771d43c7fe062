"""Arguments that share memory, read-only arguments, a returned argument."""

from __future__ import annotations

import numpy as np

from .cases_util import family, n_of


def double_into(dst, src):
    for i in range(dst.shape[0]):
        dst[i] = src[i] * 2
    return dst


def add_into(out, x, y):
    for i in range(out.shape[0]):
        out[i] = x[i] + y[i]


def copy_transposed(a, b):
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            a[i, j] = b[j, i]
    return a


def running_sum_into(out, x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
        out[i] = s
    return s


def scale_inplace(x, k):
    x *= k
    return x


def zero_fill(x):
    for i in range(x.shape[0]):
        x[i] = 0.0
    return x


def add_one_np(x):
    x += 1.0
    return x.sum()


def total(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def _pow2(size):
    return np.ones(n_of(size), dtype=np.int64)


def _shifted(size, lead):
    a = np.ones(n_of(size), dtype=np.int64) if size == "small" else np.arange(n_of(size)) % 5
    return (a[1:], a[:-1]) if lead else (a[:-1], a[1:])


def _ro(x):
    x.flags.writeable = False
    return x


def _ro_view(size):
    base = np.arange(float(n_of(size)))
    v = base[::1]
    v.flags.writeable = False
    return (v,)


CASES = [
    *family(double_into, "aliasing", {
        "forward": lambda s: _shifted(s, True),
        "backward": lambda s: _shifted(s, False),
        "same": lambda s: (lambda a: (a, a))(np.arange(n_of(s)) + 1),
        "separate": lambda s: (np.zeros(n_of(s), np.int64), np.arange(n_of(s))),
        "float_forward": lambda s: (lambda a: (a[1:], a[:-1]))(np.ones(n_of(s))),
        "strided": lambda s: (lambda a: (a[2::2], a[:-2:2]))(np.arange(2 * n_of(s)) % 3),
    }, sizes=("small", "large")),
    *family(add_into, "aliasing", {
        "out_is_x": lambda s: (lambda a: (a, a, np.ones(n_of(s))))(np.arange(n_of(s)) * 1.0),
        "out_shift_x": lambda s: (lambda a: (a[1:], a[:-1], np.ones(n_of(s) - 1)))(np.ones(n_of(s))),
        "all_same": lambda s: (lambda a: (a, a, a))(np.arange(1.0, n_of(s) + 1)),
        "separate": lambda s: (np.zeros(n_of(s)), np.arange(n_of(s)) * 1.0, np.ones(n_of(s))),
    }),
    *family(copy_transposed, "aliasing", {
        "a_and_aT": lambda s: (lambda a: (a, a.T))(np.arange(16.0).reshape(4, 4)),
        "a_and_copyT": lambda s: (lambda a: (a, a.copy().T))(np.arange(16.0).reshape(4, 4)),
        "a_and_a": lambda s: (lambda a: (a, a))(np.arange(9).reshape(3, 3)),
    }),
    *family(running_sum_into, "aliasing", {
        "out_is_x": lambda s: (lambda a: (a, a))(np.arange(1.0, n_of(s) + 1)),
        "out_shift_x": lambda s: (lambda a: (a[1:], a[:-1]))(np.ones(n_of(s))),
        "separate": lambda s: (np.zeros(n_of(s)), np.arange(1.0, n_of(s) + 1)),
    }),
    *family(scale_inplace, "aliasing", {
        "float": lambda s: (np.arange(5.0), 2.0),
        "int_by_float": lambda s: (np.arange(5), 2.5),
        "int": lambda s: (np.arange(5), 3),
    }),
    *family(zero_fill, "read-only", {
        "readonly": lambda s: (_ro(np.ones(n_of(s, 7, 100_000))),),
        "readonly_view": _ro_view,
        "writeable": lambda s: (np.ones(n_of(s, 7, 100_000)),),
        "readonly_empty": lambda s: (_ro(np.ones(0)),),
    }, sizes=("small", "large")),
    *family(add_one_np, "read-only", {
        "readonly": lambda s: (_ro(np.ones(n_of(s))),),
        "writeable": lambda s: (np.ones(n_of(s)),),
    }),
    *family(total, "read-only", {
        "readonly": lambda s: (_ro(np.arange(float(n_of(s)))),),
        "readonly_strided": lambda s: (_ro(np.arange(float(2 * n_of(s))))[::2],),
    }, reorder=True),
]
