#!/bin/bash
# One batch on the GPU machine (device tool, carry ["_deps"] holding array_api_compat): the
# -m gpu suite and issue 17's figures, issue 15's 16-core figures. Run: bash benchmarks/gpu_batch.sh
export PYTHONPATH=.:$PWD/_deps OPTLEVEL_CACHE_DIR=/tmp/olc PYTHONUNBUFFERED=1
L=$OUT/log.txt
(nvidia-smi -L; nproc; python3 -c "import numpy,numba,cupy,torch;print(numpy.__version__,numba.__version__,cupy.__version__,torch.__version__)"; date -u) > $L 2>&1
timeout 270 python3 -m pytest -m gpu -q -p no:cacheprovider -rfEs --tb=short tests > $OUT/gpu_tests.txt 2>&1; echo "tests rc=$? $(date -u +%T)" >> $L
tail -3 $OUT/gpu_tests.txt
timeout 85 python3 benchmarks/gpu_figures.py --json $OUT/figures.json >> $L 2>&1; echo "figures rc=$? $(date -u +%T)" >> $L
timeout 75 python3 benchmarks/gpu_peers.py --json $OUT/peers.json >> $L 2>&1; echo "peers rc=$? $(date -u +%T)" >> $L
timeout 30 python3 benchmarks/gpu_trust.py --repeat 3 --json $OUT/trust.json >> $L 2>&1; echo "trust rc=$? $(date -u +%T)" >> $L
OPTLEVEL_CACHE_DIR=/tmp/c1 timeout 45 python3 benchmarks/loop_splits.py --only rowwise128,rowwise256,words,stencil,array_rows --repeat 3 --out $OUT/loop_splits_16.json >> $L 2>&1; echo "splits rc=$? $(date -u +%T)" >> $L
grep -E "rc=|passed|failed" $L | tail -12
