"""Level 2's checked ``+ - *`` on floats and complex numbers are Numba's own operators,
typed and lowered in the caller (no implementation compiled per op and type pair),
with Python's results, and integers still checked."""

from __future__ import annotations

import numpy as np
import pytest

from optlevel import optimize

numba = pytest.importorskip("numba")

pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")


def mixed(x, k):
    s = 0.0
    t = 0
    for i in range(x.shape[0]):
        s = s + x[i] * 2.5 - k  # float with float, then with an int
        s += 1  # in place, int literal
        t = t + k * i  # int with int: checked for 64 bits
    return s, t


def complex_sum(z, w):
    acc = 0j
    for i in range(z.shape[0]):
        acc = acc + z[i] * w - 1.5
    return acc


def float32_lane(x):
    s = np.float32(0)
    for i in range(x.shape[0]):
        s = s + x[i] * x[i]
    return s


def distances(x, z):
    best = 1e300
    total = 0.0
    m = 0
    for i in range(x.shape[0]):
        d = abs(x[i] - 0.5) + abs(z[i]) - (-x[i])  # float and complex abs, negation
        total = total + (-d)
        m = m + abs(i - 40) + (-i)  # ints: the checked ops
        if d < best:
            best = d
    return best, total, m


@pytest.mark.parametrize(("func", "args"), [
    (distances, (np.linspace(-1.0, 1.0, 30), np.arange(30) * (1 - 1j))),
    (mixed, (np.linspace(0.0, 3.0, 50), 3)),
    (complex_sum, (np.arange(20) * (1 + 2j), 0.5 - 1j)),
    (float32_lane, (np.linspace(0.0, 1.0, 40, dtype=np.float32),)),
])
def test_level2_float_ops_give_plain_pythons_values_and_types(func, args):
    f = optimize(func, level=2, strict=True)
    for _ in range(2):  # the checked first call, then the compiled code alone
        got, want = f(*args), func(*args)
        assert type(got) is type(want)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert f.stats().levels == {2: 2}


def test_an_int_past_64_bits_still_replays():
    f = optimize(mixed, level=2, strict=True, verify=False)
    x = np.ones(3)
    assert f(x, 2 ** 62) == mixed(x, 2 ** 62)  # k * i leaves 64 bits: plain Python's int


def test_float_and_complex_operands_compile_no_implementation_of_their_own():
    from numba.core.registry import cpu_target

    from optlevel.levels.numba.intops import OPS

    add, mul, absolute, neg = OPS["add"], OPS["mul"], OPS["abs"], OPS["neg"]

    @numba.njit
    def g(a, b):
        return neg(absolute(mul(add(a, b), b)))

    assert g(1.5, 2) == -abs((1.5 + 2) * 2)
    assert g(1 + 2j, 0.5) == -abs((1 + 2j + 0.5) * 0.5)
    assert g(3, -4) == -4  # ints: the checked overloads
    for stub in (add, mul, absolute, neg):
        overloads = [t for t in cpu_target.typing_context.resolve_value_type(stub).templates
                     if hasattr(t, "_impl_cache")]
        keys = [key[1] for t in overloads for key in t._impl_cache]
        assert keys and not [args for args in keys if _numbers_with_a_float(args)], keys


def _numbers_with_a_float(args):
    """Numbers only (no bool, no array), a float or complex among them: the operand
    types Numba's own operator serves."""
    t = numba.types
    return all(isinstance(a, (t.Integer, t.Float, t.Complex)) for a in args) and \
        any(isinstance(a, (t.Float, t.Complex)) for a in args)
