"""Where a loop split's call goes, on the process pool with every piece in a worker
(more than 4 workers): when the caller finished submitting, when each piece started
and ended in its worker, when the results arrived, the merge; ms from the call's
start, five calls after six untimed ones.

    PYTHONPATH=. python benchmarks/loop_split_timeline.py rowwise128,words

The cases are ``benchmarks/loop_splits.py``'s. Linux (``time.perf_counter`` is one
clock for every process there); run on a machine with more than 4 cores, or set
``OPTLEVEL_WORKERS``.
"""

import glob
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import loop_splits  # noqa: E402
import timeline_piece  # noqa: E402

from optlevel import optimize  # noqa: E402
from optlevel.levels.parallel import iterrun, pools  # noqa: E402

MARKS: dict = {}


def _wait_all(futures):
    MARKS["submitted"] = time.perf_counter()
    arrived = []
    for future in futures:
        future.add_done_callback(lambda f: arrived.append(time.perf_counter()))
    results = _REAL_WAIT(futures)
    MARKS["gathered"], MARKS["arrived"] = time.perf_counter(), sorted(arrived)
    return results


def _merge(self, env, results):
    MARKS["merge_in"] = time.perf_counter()
    folded = _REAL_MERGE(self, env, results)
    MARKS["merge_out"] = time.perf_counter()
    return folded


_REAL_WAIT, _REAL_MERGE = pools.wait_all, iterrun.LoopRunner.merge


def _clear() -> None:
    for path in glob.glob(timeline_piece.STAMPS.format(pid="*")):
        os.remove(path)


def main() -> None:
    warnings.simplefilter("ignore")
    iterrun.run_pool_piece = timeline_piece.stamped_piece
    iterrun.pools.wait_all = _wait_all
    iterrun.LoopRunner.merge = _merge
    for name in (sys.argv[1] if len(sys.argv) > 1 else "rowwise128,words").split(","):
        func, args = loop_splits._cases()[name]
        f = optimize(func, level=3)
        for _ in range(6):
            f(*args)
        begin = time.perf_counter()
        func(*args)
        print(f"== {name}: plain {(time.perf_counter() - begin) * 1e3:.1f} ms")
        _clear()
        calls = []
        for _ in range(5):
            begin = time.perf_counter()
            f(*args)
            calls.append((begin, time.perf_counter(), dict(MARKS)))
        stamps = [tuple(map(float, line.split()))
                  for path in glob.glob(timeline_piece.STAMPS.format(pid="*"))
                  for line in open(path)]
        for begin, end, m in calls:
            mine = sorted(s for s in stamps if begin <= s[0] <= end)
            if not mine or "submitted" not in m:
                print(f"call {(end - begin) * 1e3:.1f} ms: not split ({f.stats()})")
                continue
            at = lambda t, t0=begin: (t - t0) * 1e3  # noqa: E731
            runs = [(b - a) * 1e3 for a, b in mine]
            print(f"call {at(end):.1f} ms: submitted at {at(m['submitted']):.1f}; "
                  f"{len(mine)} pieces started {at(mine[0][0]):.1f}-{at(mine[-1][0]):.1f}, "
                  f"ran {min(runs):.1f}-{max(runs):.1f} (median {statistics.median(runs):.1f}), "
                  f"last ended {at(max(b for _, b in mine)):.1f}; results arrived "
                  f"{at(m['arrived'][0]):.1f}-{at(m['arrived'][-1]):.1f}; merged "
                  f"{at(m['merge_in']):.1f}-{at(m['merge_out']):.1f}")
        _clear()


if __name__ == "__main__":
    main()
