"""Split proofs: what level 3 may cut along which axis, and why not where it may not.

A wrong proof is a wrong answer, so most of these are the refusals."""

import numpy as np
import pytest

import optlevel
from optlevel import optimize
from optlevel.analysis import analyze
from optlevel.bench import workloads as W

WEIGHTS = np.ones(3)
SCALE = 2.5


def process_images(images):
    mean = images.mean(axis=(1, 2), keepdims=True)
    std = images.std(axis=(1, 2), keepdims=True)
    z = (images - mean) / std
    return np.sin(z) * 0.5 + 0.5


def scaled_sum(x):
    return np.sum(np.sin(x) * SCALE)


def mixes(x, y):
    return x * y.sum()


def doubled_in_place(x):
    x *= 2
    return x


def row_means(x):
    return x.mean(axis=1) + x[:, 0]


def helper(v):
    return v


def branches(x):
    if x.ndim > 1:
        return x
    return x * 2


def split_of(func):
    return {p: s.axis for p, s in analyze(func).split.params.items()}


@pytest.mark.parametrize("func, expected, output", [
    (W.elementwise, {"x": 0}, "rows"),
    (process_images, {"images": 0}, "rows"),
    (scaled_sum, {"x": 0}, "sum"),
    (mixes, {"x": 0, "y": None}, "rows"),
    (doubled_in_place, {"x": 0}, "rows"),
    (row_means, {"x": 0}, "rows"),
    (W.rowwise_python_matmul, {"a": 0, "b": None}, "rows"),
    (W.threshold_activation, {"x": 0, "t": None, "scale": None}, "rows"),
])
def test_proved(func, expected, output):
    info = analyze(func).split
    assert info.ok and split_of(func) == expected and info.output == output, info.reason


def test_a_parameter_returned_in_place_keeps_its_identity():
    assert analyze(doubled_in_place).split.returns_param == "x"


def test_process_images_reason_and_explain_line():
    text = str(optlevel.explain(optimize(process_images), np.ones((2, 4, 4), np.float32)))
    assert "split: images axis 0 (row-wise NumPy" in text


@pytest.mark.parametrize("func, why", [
    (lambda x: x, "lambda"),
    (W.matmul, "matrix product"),
    (W.reduction, None),  # np.sum(x): a combinable sum, proved (checked below)
    (W.conditional_accumulate, "loop"),
    (W.small_loop, "range() does not run over the rows"),
    (W.normalize_loop, "other than at row"),
    (branches, "if statement"),
])
def test_not_proved_for_the_right_reason(func, why):
    info = analyze(func).split
    if why is None:
        assert info.ok and info.output == "sum"
        return
    assert not info.ok
    assert why in info.reason or why in analyze(func).source.reason


def test_unproved_shapes():
    cases = {
        "x - x.mean()": "over all axes",
        "x / x.shape[0]": "length of a split axis",
        "x[::-1]": "along axis 0",
        "np.cumsum(x, axis=1)": "passes split data",
        "x * WEIGHTS": "not a parameter or a number",
        "helper(x)": "passes split data",
        "x + np.arange(3)": "unknown shape",
        "x.max(axis=-1)": "not a constant",
        "x.mean(axis=1) + x": "different numbers of axes",
        "x.T": ".T",
    }
    for expr, why in cases.items():
        info = analyze(_exec_free(expr)).split
        assert not info.ok, expr
        assert why in info.reason, (expr, info.reason)


def _exec_free(expr):
    """A module-level-like function with source, built from an expression."""
    import linecache
    import types

    source = f"def f(x):\n    return {expr}\n"
    filename = f"<split-case {expr}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = {"np": np, "WEIGHTS": WEIGHTS, "helper": helper, "__name__": "split_cases"}
    exec(compile(source, filename, "exec"), ns)
    func = ns["f"]
    assert isinstance(func, types.FunctionType)
    return func


def independent(x, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * 2
    top = -np.inf
    for i in range(len(x)):
        top = max(top, x[i])
    prod = 1.0
    for i in range(len(x)):
        prod *= x[i]
    return top + prod


def carried(x):
    acc = 0.0
    out = np.empty_like(x)
    for i in range(len(x)):
        acc = acc + x[i]
        out[i] = acc
    return out


def shifted(x, out):
    for i in range(1, len(x)):
        out[i] = out[i - 1] + x[i]
    return out


def negative_start(x, out):
    for i in range(-1, len(x)):
        out[i] = x[i]
    return out


def early_exit(x, out):
    for i in range(len(x)):
        if x[i] < 0:
            break
        out[i] = x[i]
    return out


def reads_reduction(x, out):
    s = 0.0
    for i in range(len(x)):
        s += x[i]
        out[i] = s
    return out


def mixed_ops(x):
    s = 1.0
    for i in range(len(x)):
        s += x[i]
        s *= 2.0
    return s


def written_alias(x):
    y = x
    for i in range(len(x)):
        y[i] = 0.0
    return y


def test_independent_loops_and_their_reductions():
    loops = analyze(independent).split.loops
    assert [lp.line for lp in loops] == [independent.__code__.co_firstlineno + k
                                         for k in (1, 4, 7)]
    assert loops[0].writes == ("out",) and loops[0].written_params == ("out",)
    assert loops[1].reductions == (("top", "max"),)
    assert loops[2].reductions == (("prod", "*"),)
    assert analyze(W.conditional_accumulate).split.loops[0].reductions == (("s", "+"),)


@pytest.mark.parametrize("func, why", [
    (carried, "carries a value"),
    (shifted, "other than at [i, ...]"),
    (negative_start, "not known to be ≥ 0"),
    (early_exit, "break"),
    (reads_reduction, "carries a value"),
    (mixed_ops, "mixed operators"),
    (written_alias, "not a new array"),
    (W.small_loop, "carries a value"),
])
def test_loops_that_are_not_independent(func, why):
    info = analyze(func).split
    assert not info.loops
    assert any(why in r for r in info.loop_reasons), info.loop_reasons


def test_row_loop_refuses_the_index_as_a_value():
    def weighted(a):
        n = a.shape[0]
        out = np.zeros(n)
        for i in range(n):
            out[i] = a[i, 0] * i  # i counts from 0 in every piece: not row-independent
        return out

    info = analyze(weighted).split
    assert not info.ok and "other than as the row" in info.reason


def test_hints_are_checked():
    def f(x):
        return x

    with pytest.raises(optlevel.ConfigError, match="not a parameter"):
        optimize(f, level=3, split={"y": 0})(np.ones(4))
    with pytest.raises(optlevel.ConfigError, match="integer axis"):
        optimize(f, level=3, split={"x": "rows"})(np.ones(4))
    with pytest.raises(optlevel.ConfigError, match="dict of parameter name"):
        optimize(f, level=3, split=[0])(np.ones(4))


def draws(x):
    return x + np.random.random(x.shape)


def cumulative(x):
    return np.cumsum(x)


def test_refusals_carry_their_codes():
    x = np.ones(1000)
    row = optlevel.explain(optimize(draws, level=3), x).row("threads")
    assert row.code == "PL016" and "pieces would change its meaning" in row.reason
    row = optlevel.explain(optimize(cumulative, level=3), x).row("processes")
    assert row.code == "PL007" and "no split proof" in row.reason
