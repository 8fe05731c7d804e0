#!/bin/bash
# One device call for everything issue 11 shows (session 5's final call). Builds nothing: it runs a
# carried `xmoe-gpu-check.gz` and `xmoe.gz` (static, stripped) from the folder given.
#   usage: bash Benchmarks/gpu/final-run.sh CARRY_DIR [benchmark|rest|all]   (two calls fit the
#   device tool's 10-minute limit: "benchmark" is part 1, "rest" parts 2 and 3)
#  1. Benchmarks/gpu/run.sh: the bf16 GEMM ceiling, xmoe-gpu-check (ops, training), the xmoe step
#     benchmark (dropless profiled, capacity 1.25) and the PyTorch reference (eager, torch.compile)
#  2. Benchmarks/gpu/precision-run.sh: the quickstart as a new user runs it on cuda (bf16) against
#     the CPU (fp32), the plan's GPU estimates of X-MoE Small at 4 and 28 layers
#  3. X-MoE Small as far as it fits on one GPU: the step benchmark at the largest layer counts the
#     plan says fit (micro-batch 4 and 1), its measured peak beside the plan's estimate
set -u
CARRY=${1:?carry dir}
PART=${2:-all}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
T0=$(date +%s); t() { echo; echo "######## [t+$(( $(date +%s) - T0 ))s] $*"; }
if [ "$PART" != rest ]; then
t "1. benchmark"
OUT=$OUT bash "$HERE/run.sh" "$CARRY/xmoe-gpu-check.gz" 330
fi
[ "$PART" = benchmark ] && exit 0
gunzip -c "$CARRY/xmoe-gpu-check.gz" > /tmp/xmoe-gpu-check && chmod +x /tmp/xmoe-gpu-check
t "2. quickstart on cuda vs cpu, plan estimates"
OUT=$OUT bash "$HERE/precision-run.sh" "$CARRY"
t "3. X-MoE Small as far as it fits (plan estimate, then the step benchmark's measured peak)"
export XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
S="configs/small-10b.yaml train.device=cuda train.precision=bf16 parallel.dp=1 parallel.ep=1 parallel.zero_stage=0 model.dropout=0 model.attention_dropout=0 moe.drop_tokens=false output.dir=/tmp/s output.cache_dir=/tmp/xmoe-cache"
for point in "14 4" "13 4" "18 1" "17 1"; do
  set -- $point; L=$1; MB=$2
  echo "-- plan: layers $L, micro-batch $MB"
  timeout 30 /tmp/xmoe plan --brief $S model.layers=$L train.micro_batch=$MB train.global_batch=$MB 2>&1 | sed -n '/^GPU memory/,$p' | tee -a "$OUT/fit-plan.log"
done
for point in "14 4" "18 1"; do
  set -- $point; L=$1; MB=$2
  echo "-- step benchmark: layers $L, micro-batch $MB"
  timeout 100 /tmp/xmoe-gpu-check --step-benchmark --layers $L --micro-batch $MB --seq 2048 --compute bf16 --steps 1 2>&1 \
    | grep -vE '^(CALL|METHOD)' | tail -6 | tee -a "$OUT/fit-step.log"
done
t "done"
