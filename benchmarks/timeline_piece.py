"""A loop-split piece that notes when it ran (``benchmarks/loop_split_timeline.py``):
importable by the pool's workers, which cannot import that script's ``__main__``."""

import os
import time

from optlevel.levels.parallel import iterworker

#: Where each worker appends "start end" (perf_counter: one clock for every process).
STAMPS = os.path.join(os.environ.get("TMPDIR", "/tmp"), "optlevel-stamps-{pid}.txt")


def stamped_piece(*args):
    begin = time.perf_counter()
    out = iterworker.run_pool_piece(*args)
    end = time.perf_counter()
    with open(STAMPS.format(pid=os.getpid()), "a") as fh:
        fh.write(f"{begin} {end}\n")
    return out
