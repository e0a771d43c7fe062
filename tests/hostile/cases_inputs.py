"""Arguments that are not arrays, empty and one-element inputs, result types, float sums."""

from __future__ import annotations

import warnings

import numpy as np

from .cases_util import family, fixed, n_of


def loop_sum(xs):
    s = 0.0
    for v in xs:
        s += v
    return s


def index_sum(xs):
    s = 0
    for i in range(len(xs)):
        s += xs[i]
    return s


def dict_total(d):
    s = 0.0
    for k in d:
        s += d[k] * 2
    return s


def concat(parts):
    out = ""
    for s in parts:
        out += s
    return out


def count_char(text, ch):
    c = 0
    for i in range(len(text)):
        if text[i] == ch:
            c += 1
    return c


def squares(xs):
    out = []
    for v in xs:
        out.append(v * v)
    return out


def warn_negative(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] < 0:
            warnings.warn("negative value", UserWarning)
        s += x[i]
    return s


def arr_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def arr_sum_int(x):
    s = 0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def arr_max(x):
    m = x[0]
    for i in range(1, x.shape[0]):
        if x[i] > m:
            m = x[i]
    return m


def np_max(x):
    return np.max(x) + 0.0


def np_mean(x):
    return x.mean()


def elementwise(x):
    return np.sin(x) + np.cos(x) + np.sqrt(np.abs(x))


def scale_add(x, a):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = x[i] * a + 1
    return out


def rows_sum(a):
    out = np.zeros(a.shape[0])
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i] += a[i, j]
    return out


def count_pos(x):
    c = 0
    for i in range(x.shape[0]):
        if x[i] > 0:
            c += 1
    return c


def any_neg(x):
    for i in range(x.shape[0]):
        if x[i] < 0:
            return True
    return False


def first_item(x):
    return x[0]


def mixed_acc(x):
    s = 0
    for i in range(x.shape[0]):
        s += x[i] * 0.5
    return s


def py_float_acc(n):
    s = 0.0
    for i in range(n):
        s += i * 0.5
    return s


def dot_loop(x, y):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * y[i]
    return s


def f32_acc(x):
    s = np.float32(0)
    for i in range(x.shape[0]):
        s += x[i]
    return s


def alt_series(n):
    s = 0.0
    for k in range(n):
        s += (-1.0) ** k / (2 * k + 1)
    return 4 * s


def kahan(x):
    s = 0.0
    c = 0.0
    for i in range(x.shape[0]):
        y = x[i] - c
        t = s + y
        c = (t - s) - y
        s = t
    return s


def cond_acc(x, t):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > t:
            s += x[i] ** 2
        else:
            s -= x[i]
    return s


def _gen(n):
    return (float(i) for i in range(n))


def _cancel(size):
    return (np.tile([1e16, 1.0, -1e16, 1.0], 4 if size == "small" else 250_000),)


CASES = [
    *family(loop_sum, "containers", {
        "generator": lambda s: (_gen(n_of(s)),), "list": lambda s: ([1.0, 2.0, 3.5],),
        "list_int": lambda s: ([1, 2, 3],), "tuple": lambda s: ((1.0, 2.0),),
        "range": lambda s: (range(5),), "map": lambda s: (map(float, [1, 2]),),
        "iter": lambda s: (iter([1.0, 2.0, 3.0]),), "set": lambda s: ({1.0, 2.0},),
        "array": lambda s: (np.arange(float(n_of(s))),), "dict_keys": lambda s: ({1.0: "a", 2.0: "b"},),
        "empty_list": lambda s: ([],), "empty_gen": lambda s: (_gen(0),),
        "bools": lambda s: ([True, False, True],), "mixed_list": lambda s: ([1, 2.5, np.float64(3)],),
        "list_of_arrays": lambda s: ([np.ones(2), np.ones(2)],), "str": lambda s: ("abc",),
        "big_ints": lambda s: ([2 ** 70, 1],), "np_ints_list": lambda s: ([np.int64(2), np.int64(3)],)},
        sizes=("small", "large"), reorder=True),
    *family(index_sum, "containers", {"list": lambda s: ([1, 2, 3],), "tuple": lambda s: ((1.5, 2.5),),
                                      "str": lambda s: ("ab",), "array": lambda s: (np.arange(4),),
                                      "empty": lambda s: ([],), "bytes": lambda s: (b"ab",)}),
    *family(dict_total, "containers", {"dict": lambda s: ({"a": 1.0, "b": 2.0},), "empty": lambda s: ({},),
                                       "int_keys": lambda s: ({1: 2, 3: 4},)}),
    *family(concat, "containers", {"strs": lambda s: (["ab", "cd", "e"],), "gen": lambda s: ((c for c in "xyz"),),
                                   "str": lambda s: ("hello",), "empty": lambda s: ([],),
                                   "mixed": lambda s: (["a", 1],)}),
    *family(count_char, "containers", {"str": fixed("banana", "a"), "empty": fixed("", "a"),
                                       "list": fixed(["a", "b", "a"], "a")}),
    *family(squares, "containers", {"list": lambda s: ([1, 2, 3],), "array": lambda s: (np.arange(3.0),),
                                    "gen": lambda s: ((i for i in range(3)),)}),
    *family(warn_negative, "warnings", {"warns": lambda s: (np.array([1.0, -1.0, -2.0]),),
                                        "quiet": lambda s: (np.array([1.0, 2.0]),)}),
    *family(arr_sum, "empty", {"empty": lambda s: (np.zeros(0),), "one": lambda s: (np.ones(1),),
                               "zero_d": lambda s: (np.array(3.0),), "f32": lambda s: (np.ones(3, np.float32),),
                               "int": lambda s: (np.arange(4),), "bool": lambda s: (np.array([True, True]),),
                               "2d": lambda s: (np.ones((2, 3)),), "empty_2d": lambda s: (np.ones((0, 3)),),
                               "complex": lambda s: (np.array([1 + 1j, 2]),),
                               "fortran": lambda s: (np.asfortranarray(np.ones((3, 2)))[:, 0],),
                               "big": lambda s: (np.arange(float(n_of(s))),),
                               "nan": lambda s: (np.array([1.0, np.nan]),)}, reorder=True,
            sizes=("small", "large")),
    *family(arr_sum_int, "types", {"int": lambda s: (np.arange(n_of(s)),), "empty": lambda s: (np.zeros(0, np.int64),),
                                   "int32": lambda s: (np.arange(5, dtype=np.int32),),
                                   "uint64": lambda s: (np.array([2 ** 63, 2 ** 63], np.uint64),),
                                   "float": lambda s: (np.arange(3.0),), "bool": lambda s: (np.array([True, True]),)},
            sizes=("small", "large")),
    *family(arr_max, "empty", {"empty": lambda s: (np.zeros(0),), "one": lambda s: (np.ones(1),),
                               "nan": lambda s: (np.array([1.0, np.nan, 3.0]),), "int": lambda s: (np.array([3, 9, 2]),),
                               "zero_d": lambda s: (np.array(2.0),), "big": lambda s: (np.arange(float(n_of(s))),)},
            sizes=("small", "large")),
    *family(np_max, "empty", {"empty": lambda s: (np.zeros(0),), "one": lambda s: (np.ones(1),),
                              "nan": lambda s: (np.array([1.0, np.nan]),)}),
    *family(np_mean, "empty", {"empty": lambda s: (np.zeros(0),), "one": lambda s: (np.ones(1),),
                               "int": lambda s: (np.arange(4),)}),
    *family(elementwise, "empty", {"empty": lambda s: (np.zeros(0),), "one": lambda s: (np.ones(1),),
                                   "zero_d": lambda s: (np.array(0.5),), "f32": lambda s: (np.ones(3, np.float32),),
                                   "int": lambda s: (np.arange(3),), "big": lambda s: (np.linspace(-3, 3, n_of(s)),),
                                   "2d": lambda s: (np.ones((2, 2)),), "empty_2d": lambda s: (np.ones((3, 0)),)},
            reorder=True, sizes=("small", "large")),
    *family(scale_add, "empty", {"empty": lambda s: (np.zeros(0), 2.0), "one": lambda s: (np.ones(1), 2.0),
                                 "zero_d": lambda s: (np.array(1.0), 2.0), "int_by_float": lambda s: (np.arange(3), 0.5),
                                 "f32_by_py": lambda s: (np.ones(2, np.float32), 1e40),
                                 "empty_2d": lambda s: (np.zeros((0, 2)), 2.0)}),
    *family(rows_sum, "empty", {"empty_rows": lambda s: (np.ones((0, 3)),), "empty_cols": lambda s: (np.ones((3, 0)),),
                                "one": lambda s: (np.ones((1, 1)),), "one_d": lambda s: (np.ones(3),),
                                "ok": lambda s: (np.arange(6.0).reshape(2, 3),)}, reorder=True),
    *family(count_pos, "types", {"floats": lambda s: (np.array([1.0, -1.0, 2.0]),), "empty": lambda s: (np.zeros(0),),
                                 "big": lambda s: (np.linspace(-1, 1, n_of(s)),)}, sizes=("small", "large")),
    *family(any_neg, "types", {"yes": lambda s: (np.array([1.0, -1.0]),), "no": lambda s: (np.array([1.0]),),
                               "empty": lambda s: (np.zeros(0),)}),
    *family(first_item, "types", {"float": lambda s: (np.array([1.5]),), "int32": lambda s: (np.array([1], np.int32),),
                                  "list": lambda s: ([1.5],), "empty": lambda s: (np.zeros(0),),
                                  "2d": lambda s: (np.ones((2, 2)),)}),
    *family(mixed_acc, "types", {"int": lambda s: (np.arange(n_of(s)),), "empty": lambda s: (np.zeros(0, np.int64),),
                                 "float": lambda s: (np.arange(3.0),)}, sizes=("small", "large"), reorder=True),
    *family(py_float_acc, "types", {"small": fixed(7), "zero": fixed(0), "big": fixed(100_000)}, reorder=True),
    *family(dot_loop, "types", {"ok": lambda s: (np.arange(float(n_of(s))), np.ones(n_of(s))),
                                "mismatch": lambda s: (np.ones(3), np.ones(2)),
                                "int": lambda s: (np.arange(3), np.arange(3)),
                                "f32": lambda s: (np.ones(3, np.float32), np.ones(3, np.float32))},
            reorder=True, sizes=("small", "large")),
    *family(f32_acc, "float-sum", {"f32": lambda s: (np.full(n_of(s, 7, 100_000), 0.1, np.float32),),
                                   "f64": lambda s: (np.ones(3),)}, sizes=("small", "large")),
    *family(alt_series, "float-sum", {"100": fixed(100), "0": fixed(0)}, reorder=True),
    *family(kahan, "float-sum", {"cancel": _cancel, "tiny": lambda s: (np.array([1.0, 1e-16, 1e-16]),)},
            sizes=("small", "large")),
    *family(arr_sum, "float-sum", {"cancel": _cancel, "cancel_neg": lambda s: (-_cancel(s)[0],)},
            reorder=True, sizes=("small", "large")),
    *family(cond_acc, "float-sum", {"cancel": lambda s: (_cancel(s)[0], 0.0),
                                    "plain": lambda s: (np.linspace(-1, 1, n_of(s)), 0.0)},
            reorder=True, sizes=("small", "large")),
]
