#!/bin/bash
# helper c2, second call: the register-blocked flash kernels (each K/V/Q/dO element read from shared
# memory once for all rows or keys of a warp): op checks, flash training, memcheck, timings.
set -u
export NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1 XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
gunzip -c .gpu-carry/c2/xmoe-gpu-check.gz > /tmp/xmoe-gpu-check && chmod +x /tmp/xmoe-gpu-check
BIN=/tmp/xmoe-gpu-check
echo "== flash op checks + flash benchmark"
timeout 100 "$BIN" --seed 2301 --only "flash attention" --flash-benchmark 2>&1 | tee "$OUT/c2-run2-gpu-check.log"; echo "exit: ${PIPESTATUS[0]}"
echo "== memcheck, ragged width-128 case"
timeout 60 compute-sanitizer --tool memcheck --print-limit 10 "$BIN" --no-training --seed 1 --only "flash attention fwd+bwd b2 s130" > "$OUT/c2-run2-memcheck.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|gpu-check:' "$OUT/c2-run2-memcheck.log" | head -5
echo "== training check incl. flash training"
timeout 90 "$BIN" --seed 2302 2>&1 | grep -E 'training|gpu-check:' | tee "$OUT/c2-run2-training.log"; echo "exit: ${PIPESTATUS[0]}"
