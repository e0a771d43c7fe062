"""Issue 13's figures for the planner: loop kernels' first ten calls against
``numba.njit`` (compile included, a fresh process and an empty cache each), the
steady state, the slowest warm-up call against plain, and a warm plan store.

    python benchmarks/planner_figures.py loops [--kernels a,b] [--calls 10]
    python benchmarks/planner_figures.py store
    python benchmarks/planner_figures.py vector --calls 20 [--sizes 20000,400000]
    python benchmarks/planner_figures.py small [--n 1000000]
    python benchmarks/planner_figures.py warmup [--calls 40]
    python benchmarks/planner_figures.py planning

Each (kernel, mode) runs in its own fresh interpreter with its own empty
``OPTLEVEL_CACHE_DIR`` / ``NUMBA_CACHE_DIR``; the modes are ``plain``, ``auto``
(``@optimize``) and ``njit`` (``numba.njit``, no cache). Printed: the first-N
total (import and decoration included: ``import numba`` for njit, ``import
optlevel`` and ``@optimize`` for auto), auto's total over njit's, the steady
state (median of the last 3 calls) and the slowest call before the first
compiled one, over plain's median (a trial's first call, which builds its
entrants, is such a call too).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

KERNELS = textwrap.dedent('''
    import numpy as np, math

    def stencil(a):
        n = a.shape[0]
        out = np.zeros_like(a)
        for i in range(1, n - 1):
            for j in range(1, n - 1):
                out[i, j] = 0.25 * (a[i-1, j] + a[i+1, j] + a[i, j-1] + a[i, j+1])
        return out

    def nbody(p):
        n = p.shape[0]
        acc = np.zeros_like(p)
        for i in range(n):
            for j in range(n):
                if i != j:
                    dx = p[j, 0] - p[i, 0]
                    dy = p[j, 1] - p[i, 1]
                    r = (dx * dx + dy * dy + 0.01) ** 1.5
                    acc[i, 0] += dx / r
                    acc[i, 1] += dy / r
        return acc

    def keyed_sum(keys, vals):
        out = np.zeros(64)
        for i in range(keys.shape[0]):
            out[keys[i] % 64] += vals[i]
        return out

    def prefix_sum(x):
        out = np.empty_like(x)
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i]
            out[i] = s
        return out

    def recurrence(x):
        y = np.empty_like(x)
        y[0] = x[0]
        for i in range(1, x.shape[0]):
            y[i] = 0.9 * y[i - 1] + 0.1 * x[i]
        return y

    def black_scholes(s, k):
        out = np.empty_like(s)
        for i in range(s.shape[0]):
            d1 = (math.log(s[i] / k[i]) + 0.5 * 0.04) / 0.2
            d2 = d1 - 0.2
            out[i] = s[i] * 0.5 * (1 + math.erf(d1 / 1.4142135623730951)) \\
                - k[i] * 0.5 * (1 + math.erf(d2 / 1.4142135623730951))
        return out

    def mandelbrot(w):
        out = np.zeros((w, w), dtype=np.int64)
        for i in range(w):
            for j in range(w):
                cr = -2.0 + 3.0 * j / w
                ci = -1.5 + 3.0 * i / w
                zr = 0.0
                zi = 0.0
                k = 0
                while k < 30 and zr * zr + zi * zi < 4.0:
                    zr, zi = zr * zr - zi * zi + cr, 2 * zr * zi + ci
                    k += 1
                out[i, j] = k
        return out

    def histogram(x):
        out = np.zeros(100, dtype=np.int64)
        for i in range(x.shape[0]):
            b = int(x[i] * 100)
            if 0 <= b < 100:
                out[b] += 1
        return out

    def cond_accumulate(x):
        t = 0.0
        for i in range(x.shape[0]):
            if x[i] > 0.5:
                t += x[i] ** 2
            else:
                t -= x[i]
        return t

    def pairwise_min(x):
        n = x.shape[0]
        best = 1e300
        for i in range(n):
            for j in range(i + 1, n):
                d = abs(x[i] - x[j])
                if d < best:
                    best = d
        return best

    rng = np.random.default_rng(0)
    ARGS = {
        "stencil": lambda: (rng.random((400, 400)),),
        "nbody": lambda: (rng.random((400, 2)),),
        "keyed_sum": lambda: (rng.integers(0, 1000, 1_000_000), rng.random(1_000_000)),
        "prefix_sum": lambda: (rng.random(1_200_000),),
        "recurrence": lambda: (rng.random(1_000_000),),
        "black_scholes": lambda: (rng.random(300_000) + 1, rng.random(300_000) + 1),
        "mandelbrot": lambda: (250,),
        "histogram": lambda: (rng.random(1_000_000),),
        "cond_accumulate": lambda: (rng.random(1_200_000),),
        "pairwise_min": lambda: (rng.random(1200),),
        # sizes where no compile pays back within ten calls: the key warms up in Python
        "stencil_100": lambda: (rng.random((100, 100)),),
        "nbody_60": lambda: (rng.random((60, 2)),),
        "prefix_sum_50k": lambda: (rng.random(50_000),),
    }
    stencil_100, nbody_60, prefix_sum_50k = stencil, nbody, prefix_sum
''')

RUN = textwrap.dedent('''
    import json, sys, time
    sys.path.insert(0, {kdir!r})
    import kernels
    name, mode, calls = {name!r}, {mode!r}, {calls}
    func = getattr(kernels, name)
    args = kernels.ARGS[name]()
    t0 = time.perf_counter()
    if mode == "auto":
        import optlevel
        f = optlevel.optimize(func)
    elif mode == "njit":
        import numba
        f = numba.njit(func)
    else:
        f = func
    times, levels = [], []
    seen = {{}}
    for _ in range(calls):
        s = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - s)
        if mode == "auto":  # the level this call ran at: the one whose count grew
            now = dict(f.stats().levels)
            levels.append(max(now, key=lambda lv: (now[lv] - seen.get(lv, 0), lv)))
            seen = now
    print(json.dumps({{"times": times, "setup": time.perf_counter() - t0 - sum(times),
                      "levels": levels}}))
''')


def compile_bytecode() -> None:
    """optlevel's bytecode, as an installed package has it: a checkout run under
    PYTHONDONTWRITEBYTECODE compiles every module changed since its .pyc in each fresh
    process (optlevel's modules took 96 ms to load that way, 54 ms compiled)."""
    compileall.compile_dir(str(ROOT / "optlevel"), quiet=1)


def _env(cache: str) -> dict[str, str]:
    """A fresh process's environment: this optlevel, an empty cache of its own."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "OPTLEVEL_CACHE_DIR": cache, "NUMBA_CACHE_DIR": cache,
            "PYTHONPATH": path}


def run_one(kdir: str, name: str, mode: str, calls: int) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = _env(cache)
        code = RUN.format(kdir=kdir, name=name, mode=mode, calls=calls)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=600)
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        return json.loads(out.stdout.strip().splitlines()[-1])


def loops(opts: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as kdir:
        Path(kdir, "kernels.py").write_text(KERNELS)
        names = opts.kernels.split(",") if opts.kernels else [
            "stencil", "nbody", "keyed_sum", "prefix_sum", "recurrence", "black_scholes",
            "mandelbrot", "histogram", "cond_accumulate", "pairwise_min"]
        print(f"{'kernel':16s} {'plain ms':>9s} {'auto 1st-N':>10s} {'njit 1st-N':>10s} "
              f"{'auto/njit':>9s} {'auto steady':>11s} {'njit steady':>11s} "
              f"{'max warm-up/plain':>17s}")
        ratios = []
        for name in names:
            plain = run_one(kdir, name, "plain", 3)
            p = sorted(plain["times"])[1]
            auto = run_one(kdir, name, "auto", opts.calls)
            njit = run_one(kdir, name, "njit", opts.calls)
            # the import and decoration count on both sides (numba's import happens
            # inside auto's first call, before njit's)
            a_tot = sum(auto["times"]) + auto["setup"]
            n_tot = sum(njit["times"]) + njit["setup"]
            a_st = sorted(auto["times"][-3:])[1]
            n_st = sorted(njit["times"][-3:])[1]
            first_compiled = next((i for i, lv in enumerate(auto["levels"]) if lv > 0),
                                  len(auto["levels"]))
            warm = max(auto["times"][:first_compiled], default=0.0) / p \
                if first_compiled else 0.0
            ratios.append(n_tot / a_tot)
            print(f"{name:16s} {p * 1e3:9.1f} {a_tot:10.3f} {n_tot:10.3f} "
                  f"{a_tot / n_tot:9.2f} {a_st * 1e3:9.2f}ms {n_st * 1e3:9.2f}ms "
                  f"{warm:17.2f}  levels {auto['levels']}")
        gm = 1.0
        for r in ratios:  # noqa: OL103 - a few ratios, not a hot loop
            gm *= r
        print(f"geometric mean njit/auto over the first {opts.calls} calls: "
              f"{gm ** (1 / len(ratios)):.2f}")


STORE = textwrap.dedent('''
    import json, sys, time
    sys.path.insert(0, {kdir!r})
    import kernels, optlevel
    f = optlevel.optimize(kernels.cond_accumulate)
    args = kernels.ARGS["cond_accumulate"]()
    s = time.perf_counter(); f(*args); first = time.perf_counter() - s
    for _ in range(6):
        f(*args)
    plan = next(iter(f._dispatcher.plans.values()))
    print(json.dumps({{"first": first, "origin": plan.origin, "level": plan.level}}))
''')


def store(opts: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as kdir, tempfile.TemporaryDirectory() as cache:
        Path(kdir, "kernels.py").write_text(KERNELS)
        env = _env(cache)
        for run in ("first process", "second process"):
            out = subprocess.run([sys.executable, "-c", STORE.format(kdir=kdir)], env=env,
                                 capture_output=True, text=True, timeout=600)
            data = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{run}: first call {data['first'] * 1e3:.1f} ms, plan level "
                  f"{data['level']} from {data['origin']}")


VECTOR = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import optlevel
    rng = np.random.default_rng(0)
    def k_elementwise(x): return np.sin(x) + np.cos(x) + np.sqrt(np.abs(x))
    def k_softmax(x):
        e = np.exp(x - x.max())
        return e / e.sum()
    def k_norm(x): return (x - x.mean()) / (x.std() + 1e-9)
    def k_poly(x): return ((3.0 * x + 2.0) * x - 1.0) * x + 0.5
    def k_clip(x): return np.clip(x, 0.2, 0.8) * 2.0
    def k_where(x): return np.where(x > 0.5, np.log1p(x), -x)
    def k_cumsum(x): return np.cumsum(x) / (np.arange(x.size) + 1)
    def k_diff(x): return np.abs(np.diff(x)).sum()
    def k_outer(x): return np.outer(x[:300], x[:300]).sum(axis=1)
    def k_sort(x): return np.sort(x)[::7]
    def k_hist(x): return np.histogram(x, bins=50)[0]
    def k_dist(x): return np.sqrt(((x[:, None] - x[None, :300]) ** 2)).min(axis=1) \\
        if x.size <= 3000 else np.abs(x - x.mean())
    def k_periodic(x):
        d = x - np.roll(x, 1)
        return d - np.round(d)
    def k_logsumexp(x):
        m = x.max()
        return m + np.log(np.exp(x - m).sum())
    def k_sigmoid(x): return 1.0 / (1.0 + np.exp(-x))
    def k_relu_mix(x): return np.maximum(x - 0.3, 0) * np.minimum(x, 0.9)
    def k_moving(x):
        c = np.cumsum(np.insert(x, 0, 0.0))
        return (c[16:] - c[:-16]) / 16
    def k_dot(x): return float(x @ x)
    def k_tanh(x): return np.tanh(x) * np.exp(-x * x)
    def k_reshape(x):
        n = (x.size // 100) * 100
        return x[:n].reshape(-1, 100).mean(axis=1)
    def k_argmax(x): return int(np.argmax(np.abs(np.fft.rfft(x[:4096]))))
    def k_complex(x): return np.abs(np.exp(1j * x)).sum()
    KS = [v for k, v in sorted(globals().items()) if k.startswith("k_")]
    def prime(x): return np.sin(x) * 2.0
    s = time.perf_counter()
    g, x = optlevel.optimize(prime), rng.random(400_000)
    for _ in range(20):  # the machine profile: once per machine (after the scout)
        g(x)
    print("first call of the first function (machine profile measured):",
          time.perf_counter() - s, file=sys.stderr)
    out = []
    for size in {sizes}:
        x = rng.random(size)
        for f in KS:
            g = optlevel.optimize(f)
            # interleaved: plain call, auto call, {calls} times
            tp, ta = [], []
            for _ in range({calls}):
                s = time.perf_counter(); f(x); tp.append(time.perf_counter() - s)
                s = time.perf_counter(); g(x); ta.append(time.perf_counter() - s)
            out.append({{"name": f.__name__, "size": size, "plain": tp, "auto": ta,
                        "levels": g.stats().levels}})
    print(json.dumps(out))
''')


def vector(opts: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = _env(cache)
        with tempfile.TemporaryDirectory() as kdir:
            path = Path(kdir, "vector_kernels.py")
            path.write_text(VECTOR.format(sizes=[int(v) for v in opts.sizes.split(",")],
                                          calls=opts.calls))
            out = subprocess.run([sys.executable, str(path)], env=env, capture_output=True,
                                 text=True, timeout=600)
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        rows = json.loads(out.stdout.strip().splitlines()[-1])
        print(out.stderr.strip().splitlines()[-1])
    print(f"{'kernel':14s} {'size':>8s} {'plain ms':>9s} {'first-N plain/auto':>18s} "
          f"{'steady plain/auto':>17s}  levels")
    firsts, steadies = [], []
    for r in rows:
        p_med = sorted(r["plain"])[len(r["plain"]) // 2]
        first = sum(r["plain"]) / sum(r["auto"])
        steady = sorted(r["plain"][-5:])[2] / sorted(r["auto"][-5:])[2]
        firsts.append(first)
        steadies.append(steady)
        print(f"{r['name']:14s} {r['size']:8d} {p_med * 1e3:9.3f} {first:18.2f} "
              f"{steady:17.2f}  {r['levels']}")

    def gm(v: list[float]) -> float:
        out = 1.0
        for x in v:  # noqa: OL103 - a few ratios, not a hot loop
            out *= x
        return out ** (1 / len(v))
    print(f"geometric means: first {opts.calls} calls plain/auto {gm(firsts):.3f} "
          f"(min {min(firsts):.2f}); steady {gm(steadies):.3f} (min {min(steadies):.2f})")


SMALL = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import optlevel
    def small_sum(x):  # level 2 pays (the loop compiles)
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i]
        return s
    def small_exact(x):  # no level pays back within 1M calls: njit runs it at 0.7 µs,
        # but its compile takes 1.2 s (and optlevel keeps loop-free NumPy plain)
        return np.where(x > 0.5, np.sqrt(x), np.minimum(x, 0.25)) * 2.0
    def small_numpy(x):  # no level pays alike: compiled code sums in another order
        return float(np.sum(x * x))
    cases = [(small_sum, np.arange(32.0)), (small_exact, np.linspace(0, 1, 16)),
             (small_numpy, np.arange(16.0))]
    out = {{}}
    block = {n} // 10
    for f, x in cases:
        # the n calls in ten blocks, plain and auto alternating, so that the machine's
        # drift over the run (and the order) weighs on both; auto's first block holds
        # its planning, its trial and its compile
        g = optlevel.optimize(f)
        plain = auto = 0.0
        for _ in range(10):
            s = time.perf_counter()
            for _ in range(block):
                f(x)
            plain += time.perf_counter() - s
            s = time.perf_counter()
            for _ in range(block):
                g(x)
            auto += time.perf_counter() - s
        out[f.__name__] = {{"plain": plain, "auto": auto, "levels": g.stats().levels}}
    print(json.dumps(out))
''')


def small(opts: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as kdir:
        env = _env(cache)
        path = Path(kdir, "small_calls.py")
        path.write_text(SMALL.format(n=opts.n))
        out = subprocess.run([sys.executable, str(path)], env=env, capture_output=True,
                             text=True, timeout=600)
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        data = json.loads(out.stdout.strip().splitlines()[-1])
    for name, d in data.items():
        print(f"{name:12s} {opts.n} calls: plain {d['plain']:.3f}s "
              f"({d['plain'] / opts.n * 1e6:.2f} µs/call), auto {d['auto']:.3f}s, "
              f"auto/plain {d['auto'] / d['plain']:.2f}; levels {d['levels']}")


def warmup(opts: argparse.Namespace) -> None:
    """Kernels at sizes where a compile cannot pay back within ten calls: each call of
    auto over plain's median, the first (which plans, in a fresh process) apart from
    the warm-up calls after it (plain Python, timed); beside them, the slowest of as
    many calls of the plain function in its own process (the machine's noise)."""
    with tempfile.TemporaryDirectory() as kdir:
        Path(kdir, "kernels.py").write_text(KERNELS)
        for name in ["stencil_100", "nbody_60", "prefix_sum_50k"]:
            own = sorted(run_one(kdir, name, "plain", opts.calls)["times"][1:])
            p = own[len(own) // 2]
            auto = run_one(kdir, name, "auto", opts.calls)
            plain_calls = [t for t, lv in zip(auto["times"], auto["levels"]) if lv == 0]
            later = sorted(plain_calls[1:])
            print(f"{name:16s} plain {p * 1e3:6.2f} ms; first call {auto['times'][0] / p:5.2f}x; "
                  f"warm-up calls 2-{len(plain_calls)}: median {later[len(later) // 2] / p:.2f}x, "
                  f"max {later[-1] / p:.2f}x (plain's own calls 2-{len(own) + 1}: max "
                  f"{own[-1] / p:.2f}x); levels {sorted(set(auto['levels']))}")


SCALED_SUM = textwrap.dedent('''
    def scaled_sum(x):
        s = 0.0
        for i in range(x.shape[0]):
            if x[i] > 0:
                s += x[i] * 2.0
            else:
                s -= x[i]
        return s
''')

PLANNING = textwrap.dedent('''
    import json, statistics, sys, time
    sys.path.insert(0, {kdir!r})
    import numpy as np, optlevel
    from optlevel.levels.numba import jit
    from scaled import scaled_sum

    compiling = [0.0]
    compile_ = jit._compile
    def timed(*a):
        s = time.perf_counter()
        try:
            return compile_(*a)
        finally:
            compiling[0] += time.perf_counter() - s
    jit._compile = timed
    x = np.random.default_rng(0).random(2000) - 0.3
    rows = []
    for _ in range(5):
        f = optlevel.optimize(scaled_sum, level=2, strict=True, verify=False)
        f(x)
        f(x)
        row = []
        for dt in (np.int64, np.int32, np.int16):
            y = (x * 100).astype(dt)
            compiling[0] = 0.0
            s = time.perf_counter(); f(y); first = time.perf_counter() - s
            s = time.perf_counter(); f(y); run = time.perf_counter() - s
            row.append(first - compiling[0] - run)
        rows.append(row)
    print(json.dumps([statistics.median(r[i] for r in rows) for i in range(3)]))
''')


def planning(opts: argparse.Namespace) -> None:
    """Planning a new signature of a function level 2 compiled already: the first call
    of each new argument type, less its compile and its run (medians of 5 rounds)."""
    with tempfile.TemporaryDirectory() as kdir:
        Path(kdir, "scaled.py").write_text(SCALED_SUM)  # a file: its source is read
        out = subprocess.run([sys.executable, "-c", PLANNING.format(kdir=kdir)],
                             env=_env(kdir), capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    found = json.loads(out.stdout.strip().splitlines()[-1])
    print("planning a new signature (int64, int32, int16 after float64), ms: " +
          ", ".join(f"{t * 1e3:.2f}" for t in found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figure",
                        choices=["loops", "store", "vector", "small", "warmup", "planning"])
    parser.add_argument("--kernels", default="")
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--sizes", default="20000,400000")
    parser.add_argument("--n", type=int, default=1_000_000)
    opts = parser.parse_args()
    compile_bytecode()
    {"loops": loops, "store": store, "vector": vector, "small": small,
     "warmup": warmup, "planning": planning}[opts.figure](opts)


if __name__ == "__main__":
    main()
