"""Level 3 on plain Python: rows shared out to worker processes.

    PYTHONPATH=. python3 examples/parallel_python_rows.py

A pure-Python triple loop holds the GIL, so threads would take turns; level 3's
process pool runs row ranges of ``a`` in worker processes instead (the analysis
proves each row of the result depends only on the same row of ``a``). Arrays reach
the workers through shared memory, and no segment outlives the call.
``OPTLEVEL_EXECUTOR=processes`` is used here so the pool runs even where Numba
(level 2, or prange at level 3) would compile the loop and be faster still.

A ``split=`` hint declares what the analysis cannot prove: here, that columns are
independent.
"""

import time

import numpy as np

import optlevel
from optlevel import optimize
from optlevel.levels.parallel import shm


@optimize(level=3)
def rowwise_matmul(a, b):
    n, m = a.shape
    p = b.shape[1]
    c = np.zeros((n, p))
    for i in range(n):
        for j in range(p):
            s = 0.0
            for k in range(m):  # noqa: OL103 - the loop is what this example runs
                s += a[i, k] * b[k, j]  # noqa: OL202 - the layout is what this example shows
            c[i, j] = s
    return c


@optimize(level=3, split={"x": 1})
def column_scale(x):
    return x / np.abs(x).sum(axis=0)


def main():
    optlevel.configure(executor="processes")
    rng = np.random.default_rng(0)
    a, b = rng.random((160, 96)), rng.random((96, 64))

    print(optlevel.explain(rowwise_matmul, a, b))
    rowwise_matmul(a, b)  # starts the pool once
    start = time.perf_counter()
    c = rowwise_matmul(a, b)
    t_pool = time.perf_counter() - start
    start = time.perf_counter()
    plain = rowwise_matmul.py_func(a, b)
    t_plain = time.perf_counter() - start
    print(f"\nplain Python: {t_plain * 1e3:7.1f} ms   processes: {t_pool * 1e3:7.1f} ms")
    np.testing.assert_allclose(c, plain)
    assert shm.live_segments() == []
    assert rowwise_matmul.stats().levels == {3: 2}

    optlevel.configure(executor=None)
    x = rng.random((200, 20_000))  # 32 MB: worth the threads
    np.testing.assert_allclose(column_scale(x), column_scale.py_func(x))
    print(f"column_scale with split={{'x': 1}}: same result as plain NumPy "
          f"(ran at level {max(column_scale.stats().levels)})")


if __name__ == "__main__":
    main()
