"""Unit tests of the analysis: FunctionFeatures from the AST, and argument signatures."""

import inspect
import sys

import numpy as np
import pytest

from optlevel import optimize
from optlevel.analysis import analyze, describe_args, signature_key


def line_of(func, text):
    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if text in line)


def all_loop_kinds(x, n):
    for _ in range(len(x)):
        pass
    for _ in range(x.shape[0]):
        pass
    for _ in x:
        pass
    while n > 0:
        n -= 1
    for _ in range(3):
        for _ in range(n):
            pass


def test_loop_kinds_lines_and_depth():
    loops = analyze(all_loop_kinds).loops
    found = [(lp.line, lp.kind, lp.depth, lp.hot) for lp in loops]
    assert found == [
        (line_of(all_loop_kinds, "range(len(x))"), "range_len", 1, True),
        (line_of(all_loop_kinds, "range(x.shape[0])"), "range_shape", 1, True),
        (line_of(all_loop_kinds, "for _ in x"), "array_iter", 1, True),
        (line_of(all_loop_kinds, "while n > 0"), "while", 1, True),
        (line_of(all_loop_kinds, "range(3)"), "range", 1, False),  # a short constant range
        (line_of(all_loop_kinds, "range(n)"), "range", 2, True),
    ]
    assert analyze(all_loop_kinds).hot_loops


def no_loops(x):
    return np.sin(x).sum()


def test_no_loops_is_not_hot():
    f = analyze(no_loops)
    assert f.loops == () and not f.hot_loops and f.max_loop_depth == 0


def numpy_calls(x):
    a = np.sin(x) + np.sqrt(x)
    b = np.sum(x) + x.mean()
    c = np.dot(x, x) + x @ x + np.linalg.norm(x)
    d = np.fft.fft(x)
    e = np.sort(x)
    f = np.zeros(3)
    return a, b, c, d, e, f, np.random.rand(3)


def test_numpy_call_classes():
    calls = analyze(numpy_calls).numpy_calls
    names = {cls: [f.detail or f.what for f in found] for cls, found in calls.items()}
    assert names == {
        "elementwise": ["numpy.sin", "numpy.sqrt"],
        "reduction": ["numpy.sum", ".mean()"],
        "blas": ["numpy.dot", "matmul", "numpy.linalg.norm"],
        "fft": ["numpy.fft.fft"],
        "sort": ["numpy.sort"],
        "creation": ["numpy.zeros"],
        "random": ["numpy.random.rand"],
    }
    [random] = analyze(numpy_calls).semantic_blockers
    assert random.line == line_of(numpy_calls, "np.random.rand")
    assert analyze(numpy_calls).uses_random


def blocked(x):
    with open("data.txt") as fh:
        fh.read()

    class Point:
        pass
    print(x)
    return f"{x}"


def test_numba_blockers_with_lines():
    found = {(b.what, b.line) for b in analyze(blocked).numba_blockers}
    assert ("with statement", line_of(blocked, "with open")) in found
    assert ("open()", line_of(blocked, "with open")) in found
    assert ("class definition", line_of(blocked, "class Point")) in found
    assert ("print()", line_of(blocked, "print(x)")) in found
    assert ("f-string", line_of(blocked, 'f"{x}"')) in found
    assert analyze(no_loops).numba_blockers == ()


def mutates(a, b, c, d, e, untouched):
    a[0] = 1
    b += 1
    np.add(c, 1, out=c)
    d.fill(0)
    e[1:, 0] = untouched[0]
    return untouched + 1


def test_mutated_parameters():
    assert analyze(mutates).mutated_params == {"a", "b", "c", "d", "e"}
    assert analyze(no_loops).mutated_params == frozenset()


def make_closure(scale):
    def scaled_total(x):
        t = 0.0
        for i in range(len(x)):
            t += x[i] * scale
        return t
    return scaled_total


def test_nested_functions_and_closures_get_source():
    inner = make_closure(3.0)
    f = analyze(inner)
    assert f.has_source and f.params == ("x",)
    assert [lp.kind for lp in f.loops] == ["range_len"]
    assert f.name == "make_closure.<locals>.scaled_total"


@pytest.mark.numba
def test_closure_runs_at_level_2():
    f = optimize(make_closure(3.0), level=2, strict=True)
    assert f(np.arange(4.0)) == 18.0
    assert f.stats().levels == {2: 1}


def test_no_source_never_raises():
    for func in (len, np.sin, lambda x: x, print):
        f = analyze(func)
        assert not f.has_source and f.source.reason
        assert f.loops == () and f.mutated_params == frozenset()


def gen(x):
    yield x


async def coro(x):
    return x


def test_generator_and_async_are_blockers():
    assert analyze(gen).is_generator
    assert [b.what for b in analyze(gen).numba_blockers] == ["generator function", "yield"]
    assert analyze(coro).is_async
    assert "async function" in [b.what for b in analyze(coro).numba_blockers]


def test_to_dict_is_plain_data():
    import json
    data = json.loads(json.dumps(analyze(all_loop_kinds).to_dict()))
    assert data["params"] == ["x", "n"] and data["hot_loops"] is True


# --- argument signatures --------------------------------------------------------------

C = np.zeros((4, 6))


def key(*args):
    return signature_key(args)


@pytest.mark.parametrize("a, b", [
    pytest.param(C, C.astype(np.float32), id="dtype"),
    pytest.param(C, C.ravel(), id="ndim"),
    pytest.param(C, np.asfortranarray(C), id="C-vs-F"),
    pytest.param(C, C[:, ::2], id="C-vs-A"),
    pytest.param(np.asfortranarray(C), C[:, ::2], id="F-vs-A"),
    pytest.param(np.zeros(10), np.zeros(100), id="size-class"),
    pytest.param(np.zeros(10), np.zeros(0), id="empty"),
    pytest.param(1, 1.0, id="scalar-type"),
])
def test_signature_key_distinguishes(a, b):
    assert key(a) != key(b)


@pytest.mark.parametrize("a, b", [
    pytest.param(C, C.astype(np.float32), id="dtype"),
    pytest.param(C, C.ravel(), id="ndim"),
    pytest.param(C, np.asfortranarray(C), id="C-vs-F"),
    pytest.param(C, C[:, ::2], id="C-vs-A"),
    pytest.param(np.zeros(10), np.zeros(100), id="size-class"),
    pytest.param(np.zeros(10), np.zeros(0), id="empty"),
    pytest.param(1, 1.0, id="scalar-type"),
    pytest.param(np.float32(1), np.float64(1), id="numpy-scalar"),
    pytest.param((1, 2.0), (1.0, 2), id="tuple"),
    pytest.param([1] * 3, [1] * 300, id="list-size"),
    pytest.param(object(), "text", id="other"),
])
def test_the_fast_path_keys_calls_as_signature_key_does(a, b):
    # Optimized.__call__ builds positional keys inline: its plans must sit under
    # exactly the keys signature_key gives, so the two stay one definition.
    f = optimize(lambda x, y=None: x, level=0)
    for args in ((a,), (b,), (a,)):
        assert f(*args) is args[0]
    f(a, y=b)  # keyword calls take signature_key itself
    sigs = {k.sig for k in f._dispatcher.plans}
    assert sigs == {key(a), key(b), signature_key((a,), {"y": b})}


def test_signature_key_distinguishes_read_only():
    ro = C.copy()
    ro.flags.writeable = False
    assert key(C) != key(ro)
    assert describe_args((ro,), names=("x",)).args[0].readonly
    assert not describe_args((C,), names=("x",)).args[0].readonly


def test_signature_key_ignores_values_and_close_sizes():
    assert key(np.zeros(20)) == key(np.ones(30))
    assert key(C) == key(C[:, :].view())  # a view shares its base's plan
    assert key(np.zeros(3), 2.0) == key(np.ones(3), 5.0)
    assert key(np.zeros(3), 2.0) != key(2.0, np.zeros(3))


def test_describe_args_layouts():
    sig = describe_args((C, np.asfortranarray(C), C[:, ::2], 3.0), names=("a", "b", "c"))
    assert [a.layout for a in sig.args[:3]] == ["C", "F", "A"]
    assert [a.name for a in sig.args] == ["a", "b", "c", "arg3"]
    assert sig.args[3].kind == "scalar" and not sig.args[3].is_array
    assert str(sig.args[0]) == "a: numpy float64[4, 6] C-layout on cpu"
    assert sig.total_size == 24 + 24 + 12


def _fake_array_type(module, name, **methods):
    return type(name, (), {"__module__": module, **methods})


class _Flags:
    c_contiguous, f_contiguous = True, False


class _Device:
    id, type = 0, "cuda"

    def __str__(self):
        return "cuda:0"


def test_cupy_and_torch_recognised_by_module_name_without_importing(monkeypatch):
    for name in ("cupy", "torch"):  # an earlier test's GPU probe may have imported them
        monkeypatch.delitem(sys.modules, name, raising=False)
    cupy_type = _fake_array_type("cupy._core.core", "ndarray")
    arr = cupy_type()
    arr.dtype, arr.ndim, arr.shape, arr.size = np.dtype("float32"), 1, (8,), 8
    arr.flags, arr.device = _Flags(), _Device()

    torch_type = _fake_array_type("torch", "Tensor", dim=lambda self: 2,
                                  is_contiguous=lambda self: True,
                                  numel=lambda self: 6)
    tensor = torch_type()
    tensor.dtype, tensor.shape, tensor.device = "torch.float64", (2, 3), _Device()

    sig = describe_args((arr, tensor), names=("a", "t"))
    assert [(a.kind, a.device) for a in sig.args] == [("cupy", "cuda:0"), ("torch", "cuda:0")]
    assert sig.args[0].shape == (8,) and sig.args[1].dtype == "float64"
    assert sig.key[0][0] == "cupy" and sig.key[1][0] == "torch"
    assert key(arr) != key(np.zeros(8, np.float32))
    assert "cupy" not in sys.modules and "torch" not in sys.modules


def test_lookalike_from_another_module_is_not_an_array():
    other = _fake_array_type("mylib.arrays", "ndarray")()
    assert describe_args((other,)).args[0].kind == "other"
