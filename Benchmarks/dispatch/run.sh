#!/usr/bin/env bash
# Bytes moved by the padded (DeepSpeed-MoE) and padding-free (pft) dispatchers on the quickstart
# model at ep 4: trains ITERS steps with each, dropless and dropping, under `mpirun -np 4`, then
# reads /comm/* from each run's metrics.h5. See README.md. Micro-batches of 8 per rank (the quickstart's
# own are 2) keep the figures measured there.
#   usage: Benchmarks/dispatch/run.sh [ITERS] [debug|release]
set -euo pipefail
iters=${1:-1}
config=${2:-release}
cd "$(dirname "$0")/../.."
swift build -c "$config" --product xmoe >/dev/null
xmoe=$(swift build -c "$config" --show-bin-path)/xmoe
work=${XMOE_BENCH_DIR:-$(mktemp -d)}
flags=(--oversubscribe --bind-to none --mca mpi_yield_when_idle 1 -x OPENBLAS_NUM_THREADS=1)
if [ "$(id -u)" = 0 ]; then flags+=(--allow-run-as-root); fi
for dispatcher in pft padded; do
  for mode in dropless dropping; do
    drop=false; [ "$mode" = dropping ] && drop=true
    echo "== $dispatcher, $mode"
    mpirun "${flags[@]}" -np 4 "$xmoe" run configs/quickstart.yaml \
      parallel.dp=4 parallel.ep=4 moe.dispatcher="$dispatcher" moe.drop_tokens="$drop" \
      train.micro_batch=8 train.global_batch=32 train.iters="$iters" train.warmup_iters=1 train.eval_interval=0 train.save_interval="$iters" train.threads=1 \
      output.dir="$work/runs" output.cache_dir="$work/cache" name="bench-$dispatcher-$mode" | tail -1
  done
done
hidden=$(grep -E '^\s+hidden:' configs/quickstart.yaml | head -1 | awk '{print $2}')
/usr/bin/python3 Benchmarks/dispatch/bytes.py "$work/runs" "$hidden" 4
