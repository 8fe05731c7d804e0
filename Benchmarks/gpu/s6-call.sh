#!/bin/bash
# Session 6 device calls: checks, then the step benchmark with and without the sm_90a expert kernel.
#   usage: bash Benchmarks/gpu/s6-call.sh DIR_WITH_xmoe-gpu-check.gz [ceiling]
set -u
export NCCL_NVLS_ENABLE=0 XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
gunzip -c "$1/xmoe-gpu-check.gz" > /tmp/xg && chmod +x /tmp/xg
CEILING=${2:-724.6}
START=$(date +%s)
stage() { echo; echo "== $1 (t+$(($(date +%s) - START)) s)"; }
SHAPE="--layers 4 --micro-batch 4 --seq 2048"
stage "gpu-check"
timeout 100 /tmp/xg --seed 2026 > "$OUT/gpu-check.log" 2>&1; echo "exit $?"
grep -E '^FAIL|adamw|training|gpu-check:' "$OUT/gpu-check.log" | head -40
stage "step benchmark bf16 dropless, profiled"
timeout 90 /tmp/xg --step-benchmark $SHAPE --compute bf16 --profile --steps 6 --ceiling "$CEILING" > "$OUT/xmoe-dropless.log" 2>&1; echo "exit $?"
grep -vE '^CALL' "$OUT/xmoe-dropless.log"; grep -E '^CALL' "$OUT/xmoe-dropless.log" | head -8
stage "step benchmark bf16 capacity 1.25"
timeout 60 /tmp/xg --step-benchmark $SHAPE --compute bf16 --capacity 1.25 --steps 5 --ceiling "$CEILING" > "$OUT/xmoe-capacity.log" 2>&1; echo "exit $?"
grep -E '^step|RESULT' "$OUT/xmoe-capacity.log"
if [ "${NOKERNEL:-0}" = 1 ]; then
stage "dropless with the per-expert cuBLASLt data gradient (XMOE_EXPERT_GEMM_KERNEL=0)"
XMOE_EXPERT_GEMM_KERNEL=0 timeout 60 /tmp/xg --step-benchmark $SHAPE --compute bf16 --steps 5 --ceiling "$CEILING" > "$OUT/xmoe-dropless-nokernel.log" 2>&1; echo "exit $?"
grep -E '^step|RESULT' "$OUT/xmoe-dropless-nokernel.log"
fi
stage "done"
