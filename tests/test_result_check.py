"""The first-call check never changes the answer: plain Python runs on the caller's
own arguments (aliasing, read-only flags and identity intact) and the plan on faithful
copies, and a difference is blamed on the plan only when the plan was wrong."""

import warnings

import numpy as np
import pytest

from optlevel import ResultMismatchWarning, optimize

pytestmark = pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice",
                                        "ignore::optlevel.FallbackWarning",
                                        # 2**n overflows float64 in the long runs
                                        "ignore:overflow encountered:RuntimeWarning")


def double_into(dst, src):
    for i in range(len(dst)):
        dst[i] = src[i] * 2


def zero(x):
    for i in range(len(x)):
        x[i] = 0.0
    return x


def start(n):
    a = np.zeros(n)
    a[0] = 1.0
    return a


@pytest.mark.parametrize("level", [1, 2, None])
@pytest.mark.parametrize("n", [8, 20_001])
def test_views_of_one_buffer_give_plain_pythons_answer(level, n):
    f = optimize(level=level, verify=True)(double_into)
    for _ in range(2):  # the checked first call, then the settled plan
        a, b = start(n), start(n)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            f(a[1:], a[:-1])
        with np.errstate(over="ignore"):
            double_into(b[1:], b[:-1])
        assert np.array_equal(a, b), a[:6]
        # the plan ran on copies that alias as the arguments do: it is not blamed
        assert not [w for w in seen if issubclass(w.category, ResultMismatchWarning)]


@pytest.mark.parametrize("level", [1, 2, None])
def test_a_read_only_argument_raises_as_in_python(level):
    f = optimize(level=level, verify=True)(zero)
    x = np.ones(1000)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        zero(x)
    with pytest.raises(ValueError, match="read-only"):
        f(x)
    assert (x == 1).all()


@pytest.mark.parametrize("level", [1, 2, None])
def test_the_checked_call_returns_the_callers_own_object(level):
    f = optimize(level=level, verify=True)(zero)
    x = np.ones(100)
    assert f(x) is x and (x == 0).all()
    y = np.ones(100)
    assert f(y) is y and (y == 0).all()


def test_an_argument_that_cannot_be_copied_runs_plain_and_is_retried():
    def first_sum(values, x):
        s = 0.0
        for v in values:
            s += v
        for i in range(len(x)):
            x[i] = s
        return s

    f = optimize(level=2, verify=True)(first_sum)
    x = np.zeros(3)
    assert f((v for v in range(4)), x) == 6.0 and (x == 6.0).all()


@pytest.mark.parametrize("level, strict", [(1, True), (2, True), (3, True), (None, False)])
def test_a_settled_plan_called_with_aliased_views_still_gives_pythons_answer(level, strict):
    """The plan was checked on arguments that share nothing; a later call passes views
    of one buffer: pieces run apart must not see a different order of writes."""
    f = optimize(level=level, strict=strict)(double_into)
    for _ in range(2):
        out, src = start(20_001), start(20_001)
        f(out[1:], src[:-1])
    a, b = start(20_001), start(20_001)
    f(a[1:], a[:-1])
    with np.errstate(over="ignore"):
        double_into(b[1:], b[:-1])
    assert np.array_equal(a, b), a[:6]
