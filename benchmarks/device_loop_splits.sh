#!/bin/bash
# The loop splits' figures on the GPU machine (16 cores): this tree against an older
# one, alternating, then a timeline of each, then rowwise N=256 and the stencil here.
#   bash benchmarks/device_loop_splits.sh OLD_TREE    (e.g. a `git archive` of a commit)
# Writes under $OUT (the device tool's folder), or ./device_out.
old=${1:?"usage: $0 OLD_TREE"}
out=${OUT:-device_out}; mkdir -p "$out"
python3 setup.py build_ext --inplace -q >/dev/null 2>&1 || echo "build failed (this tree)"
(cd "$old" && python3 setup.py build_ext --inplace -q >/dev/null 2>&1) || echo "build failed ($old)"
nproc; lscpu | grep -iE "^model name"; date -u
export PYTHONPATH=.
here=$(pwd)
run() {  # label tree cases
  (cd "$2" && OPTLEVEL_CACHE_DIR=/tmp/olc-$1 timeout 100 python3 benchmarks/loop_splits.py \
     --only "$3" --repeat 5) > "$out/ls_$1.txt" 2>&1
  echo "== $1 ($2)"; grep -E "^(rowwise|words|stencil|ceiling)" "$out/ls_$1.txt"
}
run new1 . rowwise128,words
run old1 "$old" rowwise128,words
run new2 . rowwise128,words
run old2 "$old" rowwise128,words
date -u
timeline() {  # label tree: this tree's timeline script, that tree's optlevel
  (cd "$2" && OPTLEVEL_CACHE_DIR=/tmp/olc-tl$1 timeout 60 python3 \
     "$here/benchmarks/loop_split_timeline.py" rowwise128,words) > "$out/tl_$1.txt" 2>&1
  echo "== timeline $1"; cat "$out/tl_$1.txt"
}
timeline new .
timeline old "$old"
run new3 . rowwise256,stencil
date -u
