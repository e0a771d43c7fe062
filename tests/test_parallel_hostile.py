"""Level 3 against hostile calls: errors inside parallel code reach the user as
Python's exceptions, no crash, files and pools safe when threads race, workers
that see the caller's current globals and never re-run the user's script, types
and values as plain Python gives them, clusters that cannot be reached.

Every case is compared with the plain function: value, type, exception type,
argument contents. What can crash or hang runs in a subprocess with a timeout."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import optlevel
from optlevel import optimize

ROOT = Path(optlevel.__file__).resolve().parent.parent

N = 3000


def outcome(fn, *args):
    """(kind, value or exception type): what one call gives."""
    try:
        return "value", fn(*args)
    except Exception as exc:  # the comparison is the point: any exception type
        return "raise", type(exc)


def same_outcome(got, expected):
    assert got[0] == expected[0], (got, expected)
    if got[0] == "raise":
        assert got[1] is expected[1], (got, expected)
        return
    a, b = got[1], expected[1]
    assert type(a) is type(b), (type(a), type(b))
    np.testing.assert_array_equal(a, b)


# ---- errors inside prange loops (Numba loses them: numba#2811) -------------------------

def sqrt_sum(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.sqrt(x[i])
    return s


def gather_sum(x, idx):
    s = 0.0
    for i in range(idx.shape[0]):
        s += x[idx[i]]
    return s


def add_ints(x, out):
    for i in range(x.shape[0]):
        if x[i] > 5.0:
            continue
        out[i] += int(x[i])
    return out


def plus_k(x, k):
    s = 0
    for i in range(x.shape[0]):  # noqa: B007 - the loop's shape is what is tested
        s += k
    return s


def _midway(value, n=N, dtype=float):
    return np.r_[np.ones(n // 2, dtype), np.asarray([value], dtype), np.ones(n // 2, dtype)]


ERROR_CASES = [
    ("math.sqrt of a negative", sqrt_sum, (np.ones(N),), (_midway(-1.0),)),
    ("an index out of bounds midway", gather_sum,
     (np.ones(N), np.zeros(N, np.int64)),
     (np.ones(N), _midway(10 * N, dtype=np.int64))),
    ("int(nan), writing an argument", add_ints,
     (np.ones(N), np.zeros(N, np.int64)),
     (_midway(np.nan), np.arange(N + 1, dtype=np.int64))),
]


@pytest.mark.numba
@pytest.mark.parametrize("what, func, good, bad", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_inside_prange_are_pythons(what, func, good, bad):
    # sum_order="pairwise": the float sums may run in parallel (their order is not tested here)
    f = optimize(func, level=3, strict=True, sum_order="pairwise")
    same_outcome(outcome(f, *good), outcome(func, *good))
    plain_args = [np.copy(a) for a in bad]
    expected = outcome(func, *plain_args)
    assert expected[0] == "raise"
    for _ in range(2):  # and again, once the plan is settled
        args = [np.copy(a) for a in bad]
        same_outcome(outcome(f, *args), expected)
        for got, want in zip(args, plain_args):  # written as far as Python got, no further
            np.testing.assert_array_equal(got, want)
    # the plan stays prange; a call its serial rerun handed back to Python (level 2's
    # replay) is counted on a level-0 row of the same signature
    assert "prange" in {s.backend for s in f.stats().signatures}


def sqrt_into(x, out):
    for i in range(x.shape[0]):
        out[i] = math.sqrt(x[i])


@pytest.mark.numba
def test_a_loop_that_only_writes_raises_pythons_error_with_pythons_prefix_written():
    """Arrays a loop only writes are not copied before each call (that would cost as
    much as the loop): after the error, what Python wrote is there, and the elements
    past the failing one may hold the loop's values (docs/levels/parallel.md)."""
    f = optimize(sqrt_into, level=3, strict=True)
    x = _midway(-1.0)
    f(np.ones(N), np.zeros(N))
    plain_out, out = np.zeros(N + 1), np.zeros(N + 1)
    same_outcome(outcome(f, x, out), outcome(sqrt_into, x, plain_out))
    k = N // 2
    np.testing.assert_array_equal(out[:k], plain_out[:k])
    assert "prange" in {s.backend for s in f.stats().signatures}


@pytest.mark.numba
def test_a_python_int_beyond_64_bits_gives_plain_pythons_int():
    f = optimize(plus_k, level=3, strict=True)
    x = np.ones(N)
    assert f(x, 3) == plus_k(x, 3)
    got = f(x, 2 ** 70)
    assert type(got) is int and got == plus_k(x, 2 ** 70)


STRING_REDUCTIONS = """
import json, numpy as np, optlevel
from optlevel import optimize

def concat(x, s):
    out = ""
    for i in range(x.shape[0]):
        out += s
    return out

x = np.arange(3000.0)
strict = optimize(concat, level=3, strict=True)
try:
    strict(x, "ab")
    refused = ""
except optlevel.LevelUnavailable as exc:
    refused = str(exc)
print(json.dumps({"refused": refused}))
"""


@pytest.mark.numba
def test_a_string_reduction_never_crashes_the_process(tmp_path, cache_dir):
    """``out += s`` compiled as a prange reduction killed the process (SIGSEGV): every
    reduction whose type is not a number is refused before a parallel compile."""
    found = _run(STRING_REDUCTIONS, tmp_path, cache_dir, script=True)
    assert "the loop reduces out of type" in found["refused"]
    assert "safe only over numbers" in found["refused"]


# ---- float reductions keep the loop's order unless sum_order="pairwise" ----------------

def running_total(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def count_positive(x):
    n = 0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            n += 1
    return n


CANCELLING = np.tile([1e16, 1.0, -1e16, 1.0], 50_000)  # 1.0 in order; 2.0 on two threads


@pytest.mark.numba
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")  # level 1's advice: expected
def test_a_float_sum_keeps_the_loops_order_and_explain_says_why():
    expected = running_total(CANCELLING)
    assert expected == 1.0
    f = optimize(running_total, level=3)
    with pytest.warns(optlevel.FallbackWarning, match="another order than the loop's"):
        got = f(CANCELLING)
    assert got == expected and f.stats().signatures[-1].level == 2
    row = optlevel.explain(optimize(running_total, level=3), CANCELLING).row("prange")
    assert not row.tried and row.code == "PL007" and "np.tile([1e16, 1, -1e16, 1], n)" in row.reason
    assert "sum_order='pairwise'" in row.reason
    with pytest.raises(optlevel.ConfigError, match="sum_order='sideways' is not valid"):
        optimize(running_total, level=3, sum_order="sideways")(CANCELLING)


@pytest.mark.numba
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")  # level 1's advice: expected
def test_sum_order_pairwise_reorders_only_after_a_checked_first_call():
    f = optimize(running_total, level=3, strict=True, sum_order="pairwise")
    with pytest.warns(optlevel.ResultMismatchWarning):
        got = f(CANCELLING)  # the check catches the reordered sum (2.0)
    assert got == running_total(CANCELLING)
    assert type(got) is type(running_total(CANCELLING))
    g = optimize(count_positive, level=3, strict=True)  # integers: any order is exact
    assert g(CANCELLING) == count_positive(CANCELLING)
    assert g.stats().signatures[-1].backend == "prange"


# ---- result types as plain Python gives them, at every size ----------------------------

def int_total(x):
    s = 0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def largest(x):
    m = -np.inf
    for i in range(x.shape[0]):
        m = max(m, x[i])
    return m


@pytest.mark.numba
@pytest.mark.filterwarnings("ignore::optlevel.VectorizationAdvice")  # level 1's advice: expected
@pytest.mark.parametrize("func, dtype", [(int_total, np.int64), (largest, np.float64)])
def test_parallel_reductions_return_plain_pythons_type_at_every_size(func, dtype):
    """Numba returns Python int/float where the loop gives np.int64/np.float64: prange
    checks the first call of a signature whose scalar type is unproven, and keeps the
    repair it learns. The small calls stay at level 2 (prange does not pay there)."""
    import warnings

    f = optimize(func, level=3)
    for n in (100, 1_000_000, 1_000_001, 100):
        x = (np.arange(n) % 7 - 3).astype(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optlevel.FallbackWarning)  # small: expected
            got = f(x)
        expected = func(x)
        assert type(got) is type(expected) and got == expected, (n, type(got))
    assert "prange" in {s.backend for s in f.stats().signatures}


# ---- files written by the first calls of several threads --------------------------------

def test_prange_source_files_survive_eight_threads_writing_at_once(tmp_path):
    from optlevel.levels.parallel.prange import _source_file

    text = "x = 1\n" * 2000
    errors: list[BaseException] = []
    for trial in range(10):
        directory = tmp_path / str(trial)
        barrier = threading.Barrier(8)

        def write(barrier=barrier, directory=directory):
            barrier.wait()
            try:
                path = _source_file(directory, sqrt_sum, text)
                assert path.read_text(encoding="utf-8") == text
            except BaseException as exc:  # noqa: BLE001 - collected for the assert below
                errors.append(exc)

        threads = [threading.Thread(target=write) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [p.name for p in directory.iterdir() if p.suffix == ".tmp"] == []
    assert errors == []


@pytest.mark.numba
def test_eight_threads_make_the_first_prange_call_together(tmp_path):
    optlevel.configure(cache_dir=tmp_path)  # cold: the prange source file is written now
    f = optimize(int_total, level=3, strict=True, verify=False)
    x = np.arange(50_000)
    results, errors = [], []
    barrier = threading.Barrier(8)

    def call():
        barrier.wait()
        try:
            results.append(f(x))
        except BaseException as exc:  # noqa: BLE001 - collected for the assert below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [int_total(x)] * 8
    assert [type(r) for r in results] == [type(int_total(x))] * 8
    assert not list(tmp_path.rglob("*.tmp"))


# ---- helpers ---------------------------------------------------------------------------

def _run(code, tmp_path, cache_dir, *, script=False, timeout=120, env=None):
    """Run ``code`` in a fresh interpreter (as a script file when ``script``); the JSON
    on its last line. A crash or a hang fails the test, not the run."""
    import json

    full_env = {**os.environ, "OPTLEVEL_CACHE_DIR": str(cache_dir), **(env or {}),
                "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    if script:
        path = tmp_path / "user_script.py"
        path.write_text(textwrap.dedent(code), encoding="utf-8")
        argv = [sys.executable, str(path)]
    else:
        argv = [sys.executable, "-c", textwrap.dedent(code)]
    proc = subprocess.run(argv, env=full_env, capture_output=True, text=True,
                          timeout=timeout, cwd=tmp_path)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    lines = proc.stdout.strip().splitlines()
    return {**json.loads(lines[-1]), "_stdout": lines, "_stderr": proc.stderr}


# ---- clusters that cannot be reached (loopback only) -----------------------------------

UNREACHABLE = """
import json, os, socket, sys, time, warnings
import numpy as np

silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
silent.bind(("127.0.0.1", 0))
silent.listen(8)
free = socket.socket()  # bound, never listening: the port refuses
free.bind(("127.0.0.1", 0))
port = {"refused": free.getsockname()[1], "silent": silent.getsockname()[1]}[sys.argv[2]]
os.environ["OPTLEVEL_EXECUTOR"] = f"{sys.argv[1]}://127.0.0.1:{port}"

import optlevel
from optlevel import optimize

def wave(x):
    return np.sin(x) * 2.0 + np.cos(x)

f = optimize(wave, level=3, strict=True, verify=False)
x = np.random.default_rng(0).random(1 << 20)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    start = time.perf_counter()
    first = f(x)
    seconds = time.perf_counter() - start
    second = f(x)
print(json.dumps({
    "seconds": seconds,
    "same": bool(np.array_equal(first, wave(x)) and np.array_equal(second, wave(x))),
    "warnings": [str(w.message) for w in caught
                 if issubclass(w.category, optlevel.OptlevelWarning)],
    "backend": f.stats().signatures[-1].backend}))
silent.close()
free.close()
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind, port", [("dask", "refused"), ("dask", "silent"),
                                        ("ray", "refused")])
def test_an_unreachable_cluster_warns_once_falls_back_fast_and_exits_quietly(
        kind, port, tmp_path, cache_dir):
    pytest.importorskip("distributed" if kind == "dask" else "ray")
    found = _run(UNREACHABLE.replace("sys.argv[1]", repr(kind)).replace("sys.argv[2]",
                                                                        repr(port)),
                 tmp_path, cache_dir, script=True, timeout=60)
    assert found["same"]
    assert found["backend"] == "threads"  # the pieces ran on this machine
    assert len(found["warnings"]) == 1 and "cannot be reached" in found["warnings"][0]
    assert found["seconds"] < 4.0  # a connect timeout of about a second (was 5.8 s, or
    # forever for a port that accepts and never answers)
    noise = [line for line in found["_stderr"].splitlines() if line.strip()]
    assert noise == []  # nothing at exit: no TimeoutError, no traceback


# ---- worker processes: the caller's current globals, never the user's script ----------

NO_MAIN_GUARD = """
import json
import numpy as np
import optlevel
from optlevel import optimize

print("the script ran")  # once: worker processes never run the script again
SCALE = 2.0
WEIGHTS = np.arange(3.0)
BIG = np.ones(20000)  # large enough to travel through shared memory


def weighted(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        v = 0.0
        for k in range(3):
            v += x[i] * SCALE * WEIGHTS[k] + BIG[k]
        out[i] = v
    return out


def counts(x):
    BIG[:3] += x.sum()


class Odd(Exception):  # defined in the script, and pickle cannot call its __init__ again
    def __init__(self, row, why):
        super().__init__(f"row {row}: {why}")


def row_sums(a):
    out = np.empty(a.shape[0])
    for i in range(a.shape[0]):
        if a[i, 0] < 0:
            raise Odd(i, "negative")
        out[i] = a[i].sum()
    return out


optlevel.configure(executor="processes", workers=2)
f = optimize(weighted, level=3, strict=True, verify=False)
x = np.arange(20000, dtype=float)
found = {"first": bool(np.array_equal(f(x), weighted(x)))}
SCALE = 10.0  # rebound
found["rebound"] = bool(np.array_equal(f(x), weighted(x)))
WEIGHTS[:] = 1.0  # changed in place, small (pickled)
BIG[:] = 5.0  # changed in place, large (shared memory)
found["in_place"] = bool(np.array_equal(f(x), weighted(x)))
found["backend"] = f.stats().signatures[-1].backend
try:
    optimize(counts, level=3, strict=True, split={"x": 0})(x)
    found["refused"] = ""
except optlevel.LevelUnavailable as exc:
    found["refused"] = str(exc)
g = optimize(row_sums, level=3, strict=True, verify=False, split={"a": 0})
a = np.ones((400, 30))
a[300, 0] = -1.0
try:
    g(a)
except Odd as exc:  # the script's own class, not a pickling error
    found["raised"] = [type(exc) is Odd, str(exc), g.stats().signatures[-1].backend]
print(json.dumps(found))
"""


@pytest.mark.slow
def test_process_workers_see_current_globals_and_never_rerun_the_script(tmp_path, cache_dir):
    found = _run(NO_MAIN_GUARD, tmp_path, cache_dir, script=True, timeout=120)
    assert found["_stdout"].count("the script ran") == 1, found["_stdout"]
    assert found["backend"] == "processes"
    assert found["first"] and found["rebound"] and found["in_place"]
    assert "writes into the global 'BIG' in place" in found["refused"]
    assert found["raised"] == [True, "row 300: negative", "processes"]
