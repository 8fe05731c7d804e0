#!/bin/bash
# helper fa (session 6), call 1: tensor-core flash v3 (dk/dv: 8 warps × 16 keys, K/V in dynamic shared
# memory, ldmatrix fragments; fwd/dq: ldmatrix B fragments, masks only on diagonal tiles). Op checks +
# timings with the backward's breakdown, a sweep of tile/warp variants (cubins from NVRTC 12.9 here),
# racecheck/memcheck over ragged cases, then everything (--seed 2026).
# usage (checkout root on the device): bash .gpu-carry/fa/fa-device-run1.sh .gpu-carry/fa  (DIR holds
# the binary, fa-sweep.py and var1/: the cubins and their constants)
set -u
C=${1:-.gpu-carry/fa}
export NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1 XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
gunzip -c "$C/xmoe-gpu-check.gz" > /tmp/g && chmod +x /tmp/g
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
echo "== tensor-core flash op checks + flash benchmark"
timeout 90 /tmp/g --seed 2602 --no-training --only "tensor-core" --flash-benchmark 2>&1 | tee "$OUT/fa-run1-tc.log" | grep -E "FAIL|PASS|tensor cores|gpu-check"; echo "exit: ${PIPESTATUS[0]}"
echo "== variant sweep"
timeout 90 python3 "$C/fa-sweep.py" "$C/var1" 2>&1 | tee "$OUT/fa-run1-sweep.log"
echo "== racecheck (s37, s129) + memcheck (s129)"
timeout 60 compute-sanitizer --tool racecheck --print-limit 10 /tmp/g --no-training --seed 1 --only "tensor-core flash attention b2 s" > "$OUT/fa-run1-racecheck.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|gpu-check:|hazard' "$OUT/fa-run1-racecheck.log" | head -5
timeout 45 compute-sanitizer --tool memcheck --print-limit 10 /tmp/g --no-training --seed 1 --only "tensor-core flash attention b2 s129" > "$OUT/fa-run1-memcheck.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|gpu-check:' "$OUT/fa-run1-memcheck.log" | head -3
echo "== everything (xmoe-gpu-check --seed 2026)"
timeout 150 /tmp/g --seed 2026 > "$OUT/fa-run1-full.log" 2>&1; echo "exit: $?"
grep -E 'FAIL|training|gpu-check:' "$OUT/fa-run1-full.log" | head -20
