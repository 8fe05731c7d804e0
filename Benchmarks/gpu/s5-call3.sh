#!/bin/bash
# Session 5, call 3: flash on tensor cores merged, Lt layouts cached, float4 AdamW and convert.
set -u
export NCCL_NVLS_ENABLE=0 XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
HERE=$(cd "$(dirname "$0")" && pwd)
gunzip -c "$HERE/xmoe-gpu-check.gz" > /tmp/xg && chmod +x /tmp/xg
START=$(date +%s)
stage() { echo; echo "== $1 (t+$(($(date +%s) - START)) s)"; }
SHAPE="--layers 4 --micro-batch 4 --seq 2048"
stage "gpu-check"
timeout 90 /tmp/xg --seed 2026 > "$OUT/gpu-check.log" 2>&1; echo "exit $?"
grep -E '^FAIL|training|gpu-check:' "$OUT/gpu-check.log" | head -40
stage "step benchmark bf16 dropless, profiled, 6 steps"
timeout 90 /tmp/xg --step-benchmark $SHAPE --compute bf16 --profile --steps 8 --ceiling 678 > "$OUT/xmoe-dropless.log" 2>&1; echo "exit $?"
grep -vE '^CALL' "$OUT/xmoe-dropless.log"; grep -E '^CALL' "$OUT/xmoe-dropless.log" | head -6
stage "step benchmark bf16 capacity 1.25"
timeout 60 /tmp/xg --step-benchmark $SHAPE --compute bf16 --capacity 1.25 --steps 4 --ceiling 678 > "$OUT/xmoe-capacity.log" 2>&1; echo "exit $?"
grep -E '^step|RESULT' "$OUT/xmoe-capacity.log"
stage "done"
