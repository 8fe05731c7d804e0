#!/bin/bash
# helper f1: tensor-core flash attention (bf16 mma). One call: the tensor-core op checks and the
# attention timings at X-MoE Small shape, memcheck and racecheck over ragged cases, then the whole
# xmoe-gpu-check (every op, fp32/flash/bf16 training, the tensor-core flash training check).
#   usage (from the checkout root on the device): bash .gpu-carry/f1/device-run.sh
set -u
export NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1 XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
gunzip -c .gpu-carry/f1/xmoe-gpu-check.gz > /tmp/xmoe-gpu-check && chmod +x /tmp/xmoe-gpu-check
BIN=/tmp/xmoe-gpu-check
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
echo "== tensor-core flash op checks + flash benchmark"
timeout 90 "$BIN" --seed 2601 --no-training --only "tensor-core" --flash-benchmark 2>&1 | tee "$OUT/f1-tc-checks.log"; echo "exit: ${PIPESTATUS[0]}"
echo "== memcheck + racecheck, ragged cases"
timeout 45 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" --no-training --seed 1 --only "tensor-core flash attention b2 s129" > "$OUT/f1-memcheck.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|gpu-check:' "$OUT/f1-memcheck.log" | head -5
timeout 45 compute-sanitizer --tool racecheck --print-limit 10 "$BIN" --no-training --seed 1 --only "tensor-core flash attention b2 s37" > "$OUT/f1-racecheck.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|gpu-check:|hazard' "$OUT/f1-racecheck.log" | head -5
echo "== everything (xmoe-gpu-check --seed 2026)"
timeout 170 "$BIN" --seed 2026 > "$OUT/f1-full.log" 2>&1; echo "exit: $?"
grep -E 'FAIL|training|gpu-check:' "$OUT/f1-full.log" | head -30
