#!/bin/bash
# After benchmarks/planner_batch.sh in the same call: issue 15's and 13's loop figures and
# issue 17's GPU figures on the GPU machine (device tool, carry ["_deps"]).
export PYTHONPATH=.:$PWD/_deps PYTHONUNBUFFERED=1
L=$OUT/logB.txt; date -u > $L
OPTLEVEL_CACHE_DIR=/tmp/c1 timeout 75 python3 benchmarks/loop_splits.py --only rowwise128,rowwise256,words --repeat 3 --out $OUT/loop_splits_16.json > $OUT/loop_splits.txt 2>&1; echo "splits rc=$? $(date -u +%T)" >> $L
OPTLEVEL_CACHE_DIR=/tmp/olcL timeout 100 python3 benchmarks/planner_figures.py loops > $OUT/planner_loops.txt 2>&1; echo "loops rc=$? $(date -u +%T)" >> $L
OPTLEVEL_CACHE_DIR=/tmp/olcF timeout 85 python3 benchmarks/gpu_figures.py --json $OUT/figures.json > $OUT/figures.txt 2>&1; echo "figures rc=$? $(date -u +%T)" >> $L
cat $L
