"""Level 1's figures (issue 8): the rewrite against plain Python, in one run.

    python benchmarks/vectorize_figures.py [--repeat 7] [--with-numba]

Numba is blocked for this process (``sys.modules["numba"] = None``) unless
``--with-numba`` is given, which adds level 2 for comparison. Each row is the median
of ``--repeat`` timed calls after one untimed call (level 1's first call per
signature also runs the plain function on copies, to check its result); plain Python
and level 1 are timed in the same run, on the same inputs, so their ratio holds even
on a busy machine. Results are checked equal (value and type) before timing.

Rows:

- normalize_loop, 10K elements (x.mean()/x.std() in the loop), level 1;
- conditional_accumulate, 1M, level 1 and "auto" (which level auto picked);
- the map loop out[i] = a*x[i]**2 + b*x[i] + c, 1M, level 1;
- layout: a Python loop summing the columns of a 4000x4000 array, C vs F order;
- ``optlevel check`` over examples/ and tests/corpus/: findings, counted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if "--with-numba" not in sys.argv:
    sys.modules["numba"] = None  # type: ignore[assignment]  # as if not installed

import numpy as np  # noqa: E402

import optlevel  # noqa: E402
from optlevel.bench.workloads import conditional_accumulate, normalize_loop  # noqa: E402
from optlevel.cli.check import check_paths  # noqa: E402
from optlevel.core.verify import compare  # noqa: E402


def poly_map(x, a, b, c):
    out = np.empty_like(x)
    for i in range(x.shape[0]):  # noqa: OL101 - the loop is the workload measured
        out[i] = a * x[i] ** 2 + b * x[i] + c
    return out


def colsums(x):
    out = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        out[j] = x[:, j].sum()  # noqa: OL201 - the strided walk is the workload measured
    return out


def median_time(fn, args, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def realized(f):
    levels = f.stats().levels
    return max(levels, key=levels.get) if levels else None


def same(a, b):
    """Same type, dtype and shape; values equal within optlevel's tolerance (x[i] ** 2
    is libm's pow on a scalar and x * x on an array: they differ in the last bit of
    about one square in a thousand)."""
    return type(a) is type(b) and compare(a, b) is None


def row(name, func, args, repeat, plain_repeat, levels):
    plain = median_time(func, args, plain_repeat)
    print(f"{name}")
    print(f"  plain Python          {plain * 1e3:10.3f} ms")
    for label, level in levels:
        f = optlevel.optimize(func, level=level)
        first = f(*args)  # builds (and checks) the plan
        expected = func(*args)
        if level == 1:
            assert same(first, expected), (name, label)
        note = "" if same(first, expected) else (
            f"; differs from plain: {compare(first, expected) or 'type'}")
        t = median_time(f, args, repeat)
        print(f"  {label:<20}  {t * 1e3:10.3f} ms   {plain / t:8.1f}x   "
              f"(ran at level {realized(f)}{note})")


def layout_row(repeat):
    c = np.random.default_rng(0).random((4000, 4000))
    f = np.asfortranarray(c)
    t_c, t_f = median_time(colsums, (c,), repeat), median_time(colsums, (f,), repeat)
    print("layout: Python loop over the 4000 columns of a 4000x4000 float64 array")
    print(f"  C order (strided)     {t_c * 1e3:10.3f} ms")
    print(f"  Fortran order         {t_f * 1e3:10.3f} ms   {t_c / t_f:8.1f}x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optlevel.optimize(colsums, level=1)(c)
    found = [str(w.message).split(" the loop")[0] for w in caught
             if issubclass(w.category, optlevel.VectorizationAdvice)]
    print(f"  advice at run time    {found or 'none'}")


def check_row():
    for folder in ("examples", "tests/corpus"):
        findings, errors, count = check_paths([str(ROOT / folder)])
        rules: dict[str, int] = {}
        for _, d in findings:
            rules[d.rule] = rules.get(d.rule, 0) + 1
        print(f"optlevel check {folder}/: {len(findings)} finding(s) in {count} files "
              f"{rules or ''}{' errors: ' + str(errors) if errors else ''}")
        for file, d in findings:
            print(f"    {Path(file).relative_to(ROOT)}:{d.line}: {d.rule} "
                  f"{d.suggestion.splitlines()[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--plain-repeat", type=int, default=5)
    parser.add_argument("--with-numba", action="store_true",
                        help="do not block Numba; add level 2 rows")
    opts = parser.parse_args()
    warnings.simplefilter("ignore", optlevel.VectorizationAdvice)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores, "
          f"load average {load[0]:.2f}, numba {'allowed' if opts.with_numba else 'blocked'}")
    print(f"command: python {' '.join(sys.argv)}\n")
    rng = np.random.default_rng(0)
    extra = [("level 2", 2)] if opts.with_numba else []
    row("normalize_loop, 10K", normalize_loop, (rng.standard_normal(10_000),),
        opts.repeat, opts.plain_repeat, [("level 1", 1), ("auto", None)] + extra)
    x = rng.random(1_000_000)
    row("conditional_accumulate, 1M", conditional_accumulate, (x, 0.5), opts.repeat,
        opts.plain_repeat, [("level 1", 1), ("auto", None)] + extra)
    exact = optlevel.optimize(conditional_accumulate, level=1, sum_order="loop")
    exact(x, 0.5)
    t_exact = median_time(exact, (x, 0.5), opts.repeat)
    print(f"  level 1, loop order   {t_exact * 1e3:10.3f} ms   (sum_order='loop': the loop's "
          "result to the bit; the default adds float64 terms pairwise)")
    row("map loop out[i] = a*x[i]**2 + b*x[i] + c, 1M", poly_map, (x, 1.5, -2.0, 0.25),
        opts.repeat, opts.plain_repeat, [("level 1", 1)] + extra)
    layout_row(3)
    check_row()


if __name__ == "__main__":
    main()
