"""Where a loop split's call goes, on the process pool with every piece in a worker
(more than 4 workers): when the caller finished submitting, when each piece started
and ended in its worker, when the results arrived (settled by the pool's reader
thread), the merge, and how long each worker waited between its pieces; ms from the
call's start, five calls after six untimed ones.

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


class _Stamping:
    """The pool, with each future stamped when it is settled (in the pool's reader
    thread); a callback added after the submissions would stamp the results that
    arrived meanwhile at the submissions' end."""

    def __init__(self, pool):
        self.pool = pool

    def submit(self, *args, **kwargs):
        future = self.pool.submit(*args, **kwargs)
        future.add_done_callback(lambda f: MARKS["arrived"].append(time.perf_counter()))
        return future


def _get(size):
    MARKS["arrived"] = []
    return _Stamping(_REAL_GET(size))


def _wait_all(futures):
    MARKS["submitted"] = time.perf_counter()
    results = _REAL_WAIT(futures)
    MARKS["gathered"] = time.perf_counter()
    MARKS["arrived"].sort()
    return results


def _idle(stamps):
    """Each worker's time between its pieces (ms): the median and the largest."""
    gaps = []
    for pieces in stamps.values():
        pieces = sorted(pieces)
        gaps.append(sum(b[0] - a[1] for a, b in zip(pieces, pieces[1:])) * 1e3)
    return statistics.median(gaps), max(gaps)


def _merge(self, env, results):
    MARKS["merge_in"] = time.perf_counter()
    folded = _REAL_MERGE(self, env, results)
    MARKS["merge_out"] = time.perf_counter()
    return folded


_REAL_WAIT, _REAL_MERGE = pools.wait_all, iterrun.LoopRunner.merge
_REAL_GET = pools.PROCESSES.get


def _clear() -> None:
    for path in glob.glob(timeline_piece.STAMPS.format(pid="*")):
        os.remove(path)


def main() -> None:
    warnings.simplefilter("ignore")
    iterrun.run_pool_piece = timeline_piece.stamped_piece
    iterrun.pools.wait_all = _wait_all
    pools.PROCESSES.get = _get
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
        stamps = [(*map(float, line.split()), path)
                  for path in glob.glob(timeline_piece.STAMPS.format(pid="*"))
                  for line in open(path)]
        for begin, end, m in calls:
            workers: dict = {}  # a worker's stamps file -> its pieces in this call
            for a, b, path in stamps:
                if begin <= a <= end:
                    workers.setdefault(path, []).append((a, b))
            mine = sorted(piece for pieces in workers.values() for piece in pieces)
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
                  f"{at(m['merge_in']):.1f}-{at(m['merge_out']):.1f}; a worker idle between "
                  "its pieces %.1f ms (median), %.1f (most)" % _idle(workers))
        _clear()


if __name__ == "__main__":
    main()
