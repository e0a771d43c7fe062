"""Statistics: calls, time, realized level, compile time and fallbacks.

    PYTHONPATH=. python3 examples/stats_and_report.py

``f.stats()`` is one function's record, a row per argument signature (dtype,
number of dimensions, layout, size class). ``optlevel.stats()`` collects every
decorated function that has been called; ``optlevel.report()`` prints them all.
"""

import json

import numpy as np

import optlevel
from optlevel import optimize


@optimize
def clipped_sum(x, lo, hi):
    s = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        s += v
    return s


@optimize
def rms(x):
    return np.sqrt(np.mean(x * x))


def main():
    rng = np.random.default_rng(1)
    big = rng.standard_normal(200_000)
    small = rng.standard_normal(100)

    for _ in range(5):
        assert clipped_sum(big, -1.0, 1.0) == clipped_sum.py_func(big, -1.0, 1.0)
        assert rms(big) == rms.py_func(big)
    # Another size class is another signature: its own plan and row.
    assert clipped_sum(small, -1.0, 1.0) == clipped_sum.py_func(small, -1.0, 1.0)

    fs = clipped_sum.stats()  # FunctionStats; str(fs) is the table report() prints
    print(f"{fs.name}: {fs.calls} calls, realized levels {fs.levels}, "
          f"compiled in {fs.compile_time * 1e3:.1f} ms")
    for sig in fs.signatures:
        print(f"  ({sig.signature}): level {sig.level}, {sig.calls} calls, "
              f"mean {sig.mean * 1e6:.1f} µs")
    print()
    optlevel.report()  # every decorated function that has been called
    print("as JSON:", json.dumps(rms.stats().to_dict())[:120], "...")

    # two argument signatures (a trial's plans are rows of their own: one per backend)
    assert fs.calls == 6 and len({sig.signature for sig in fs.signatures}) == 2
    assert set(optlevel.stats()) >= {"__main__.clipped_sum", "__main__.rms"}
    assert rms.stats().levels == {0: 5}


if __name__ == "__main__":
    main()
