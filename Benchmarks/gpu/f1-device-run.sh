#!/bin/bash
# helper f1, call 2: tensor-core flash attention v2 (bf16 repack once per call, cp.async double-
# buffered tiles). The tensor-core op checks and attention timings at X-MoE Small shape, memcheck and
# racecheck over ragged cases, the whole xmoe-gpu-check (every op, fp32/flash/bf16 training, the
# tensor-core flash training check), then the bf16 step benchmark with its profile (bf16 now takes
# the flash path).   usage (from the checkout root on the device): bash .gpu-carry/f1/device-run.sh
set -u
export NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1 XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
gunzip -c .gpu-carry/f1/xmoe-gpu-check.gz > /tmp/xmoe-gpu-check && chmod +x /tmp/xmoe-gpu-check
BIN=/tmp/xmoe-gpu-check
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
echo "== tensor-core flash op checks + flash benchmark"
timeout 90 "$BIN" --seed 2602 --no-training --only "tensor-core" --flash-benchmark 2>&1 | tee "$OUT/f1-tc-checks.log"; echo "exit: ${PIPESTATUS[0]}"
echo "== memcheck + racecheck, ragged cases"
timeout 60 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" --no-training --seed 1 --only "tensor-core flash attention b2 s129" > "$OUT/f1-memcheck.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|gpu-check:' "$OUT/f1-memcheck.log" | head -5
timeout 60 compute-sanitizer --tool racecheck --print-limit 10 "$BIN" --no-training --seed 1 --only "tensor-core flash attention b2 s" > "$OUT/f1-racecheck.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|gpu-check:|hazard' "$OUT/f1-racecheck.log" | head -5
echo "== everything (xmoe-gpu-check --seed 2026)"
timeout 170 "$BIN" --seed 2026 > "$OUT/f1-full.log" 2>&1; echo "exit: $?"
grep -E 'FAIL|training|gpu-check:' "$OUT/f1-full.log" | head -30
echo "== bf16 step benchmark, X-MoE Small 4 layers, micro-batch 4, seq 2048, dropless, profiled"
timeout 120 "$BIN" --step-benchmark --compute bf16 --steps 3 --profile --ceiling 678 2>&1 | tee "$OUT/f1-step.log" | tail -25
