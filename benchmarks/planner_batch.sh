#!/bin/bash
# Issue 13's figures on the GPU machine's 16 cores (device tool, carry ["_deps"]), after
# building the compiled call fast path in place. Run: bash benchmarks/planner_batch.sh [loops]
export PYTHONPATH=.:$PWD/_deps PYTHONUNBUFFERED=1
L=$OUT/planner_log.txt
(python3 setup.py build_ext --inplace -q 2>&1 | tail -3
 python3 -c "import optlevel._fastpath as f, platform; print('compiled fast path:', f.COMPILED, platform.python_version())"
 nproc; date -u) >> $L 2>&1
run() { local name=$1 limit=$2; shift 2
  OPTLEVEL_CACHE_DIR=/tmp/olc-$name timeout $limit "$@" > $OUT/planner_$name.txt 2>&1
  echo "$name rc=$? $(date -u +%T)" >> $L; }
run overhead 40 python3 benchmarks/overhead.py --repeat 7 --number 100000
run overhead_pure 40 env OPTLEVEL_PURE_PYTHON=1 python3 benchmarks/overhead.py --repeat 7 --number 100000
run small 60 python3 benchmarks/planner_figures.py small
run vector 60 python3 benchmarks/planner_figures.py vector --calls 20
run store 40 python3 benchmarks/planner_figures.py store
run busy 60 python3 benchmarks/planner_busy.py
if [ "$1" = loops ]; then run loops 120 python3 benchmarks/planner_figures.py loops; fi
grep -E "rc=|compiled" $L | tail -12
