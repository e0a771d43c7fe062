"""Cases run as whole scripts in a subprocess: segfaults, hangs, worker processes.

Each case is a script that prints one line per call it makes. It runs twice: once
with ``OPTLEVEL_MAX_LEVEL=0`` (every call plain Python) and once as written; the
printed lines, and the exit status, must be the same. A death by signal is a
SEGFAULT, no answer within the time limit a HANG; the line that differs names the
mode.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from .harness import Finding

ROOT = Path(__file__).resolve().parents[2]

_PRELUDE = '''
import warnings, numpy as np, optlevel
warnings.simplefilter("ignore")
MODES = {"L1": dict(level=1), "L2": dict(level=2), "L3": dict(level=3), "L4": dict(level=4),
         "S1": dict(level=1, strict=True), "S2": dict(level=2, strict=True),
         "S3": dict(level=3, strict=True), "S4": dict(level=4, strict=True),
         "auto": dict(level="auto")}
def show(tag, fn, *args):
    try:
        r = fn(*args)
        out = f"{type(r).__name__} {r!r}"
    except optlevel.LevelUnavailable:
        out = "LevelUnavailable"
    except Exception as e:
        out = f"raised {type(e).__name__}: {e}"
    print(tag, out, flush=True)
def each_mode(func, *args, calls=2, modes=MODES):
    for m in modes:
        g = optlevel.optimize(**MODES[m])(func)
        for k in range(calls):
            show(f"{m} call {k + 1}:", g, *args)
'''


@dataclasses.dataclass(frozen=True)
class ScriptCase:
    name: str
    kind: str
    body: str
    timeout: float = 60.0
    env: tuple = ()

    def source(self) -> str:
        return _PRELUDE + textwrap.dedent(self.body)


def execute(case: ScriptCase, plain: bool) -> tuple[int | None, str, str]:
    """(exit status or None on timeout, stdout, stderr) of the script."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **dict(case.env))
    if plain:
        env["OPTLEVEL_MAX_LEVEL"] = "0"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"hostile_{case.name.replace(':', '_')}.py"
        path.write_text(case.source())
        try:
            p = subprocess.run([sys.executable, str(path)], cwd=d, env=env, text=True,
                               capture_output=True, timeout=case.timeout)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return None, out, ""
    return p.returncode, p.stdout, p.stderr


def _mode_of(line: str) -> str:
    return line.split(" ", 1)[0] if line else "?"


def run_case(case: ScriptCase) -> list[Finding]:
    rc0, want, err0 = execute(case, plain=True)
    if rc0 != 0:
        raise RuntimeError(f"{case.name}: the plain run failed ({rc0}): {err0[-500:]}")
    rc, got, err = execute(case, plain=False)
    want_l, got_l = want.splitlines(), got.splitlines()
    missing = want_l[len(got_l)] if len(got_l) < len(want_l) else ""
    if rc is None:
        return [Finding("HANG", case.name, _mode_of(missing), "script", 0,
                        f"no answer in {case.timeout:.0f} s at: {missing!r}")]
    if rc < 0:
        return [Finding("SEGFAULT", case.name, _mode_of(missing), "script", 0,
                        f"killed by signal {-rc} at: {missing!r}")]
    found = []
    for w, g in zip(want_l, got_l):
        if w != g and not (g.startswith("S") and g.endswith(": LevelUnavailable")):
            cat = "CRASH" if " raised " in g and (" raised " not in w or g.split(":")[1] != w.split(":")[1]) \
                else "WRONG"
            found.append(Finding(cat, case.name, _mode_of(g), "script", 0, f"{g!r} for {w!r}"))
    if len(got_l) != len(want_l) and not found:
        found.append(Finding("WRONG", case.name, "?", "script", 0,
                             f"{len(got_l)} lines printed for {len(want_l)}: {got_l[len(want_l):][:2]}"))
    if rc != 0 and not found:
        found.append(Finding("CRASH", case.name, "?", "script", 0, f"exit {rc}: {err[-200:]!r}"))
    return found


CASES = [
    ScriptCase("str_concat:modes", "segfault", '''
        def str_concat(s):
            out = ""
            for i in range(len(s)):
                out += s[i]
            return out
        each_mode(str_concat, "hostile" * 3)
        each_mode(str_concat, "x" * 50_000, calls=1, modes=["S3", "L3", "auto"])
    '''),
    ScriptCase("str_join_chars:modes", "segfault", '''
        def upper_count(s):
            n = 0
            t = ""
            for ch in s:
                if ch.isupper():
                    n += 1
                    t += ch
            return n, t
        each_mode(upper_count, "HeLLo WoRLD")
    '''),
    ScriptCase("doubling:int64_max", "hang", '''
        def doubling(n):
            p = 1
            while p < n:
                p *= 2
            return p
        each_mode(doubling, 1000, calls=1)
        each_mode(doubling, 2 ** 63 - 1, calls=1)
    ''', timeout=15),
    ScriptCase("count_up:wraps", "hang", '''
        def count_up(start):
            n = 0
            x = start
            while x > 0:
                x += 1
                n += 1
                if n > 10:
                    break
            return n, x
        each_mode(count_up, 2 ** 63 - 3, calls=1)
    ''', timeout=15),
    ScriptCase("workers:stale_global", "frozen", '''
        K = 2.0
        def scaled(x):
            s = 0.0
            for i in range(x.shape[0]):
                s += x[i] * K
            return s
        if __name__ == "__main__":
            x = np.arange(400_000.0)
            optlevel.configure(executor="processes")
            for m in ["L3", "S3"]:
                g = optlevel.optimize(**MODES[m])(scaled)
                K = 2.0
                show(f"{m} call 1:", g, x)
                K = 3.0
                show(f"{m} call 2:", g, x)
    ''', timeout=120),
    ScriptCase("workers:no_main_guard", "frozen", '''
        print("script body runs", flush=True)
        def pyloop(xs):
            out = []
            for v in xs:
                out.append(str(v) * 2)
            return out
        optlevel.configure(executor="processes")
        g = optlevel.optimize(level=3)(pyloop)
        r = g(list(range(300_000)))
        print("L3 call 1:", len(r), r[:2], flush=True)
    ''', timeout=120),
]
