#!/bin/bash
# helper fa (session 6), call 2: the binary with grids (b·N, tiles) (longest causal walks first over
# the whole grid), 4-warp blocks and tiles of 64 in every kernel, 32-bit index math in the bf16 pack.
# Op checks + timings with the backward's breakdown, a second variant sweep (cubins from NVRTC 12.9
# here; var1's A and J again with the old grid order), racecheck/memcheck, everything (--seed 2026),
# then Nsight Compute on one launch of each kernel at B4 S2048 N16 D128 (clocks left alone).
# usage (checkout root on the device): bash fa-device-run2.sh DIR   (DIR holds the binary, var1, var2)
set -u
C=${1:-.gpu-carry/fa}
export NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1 XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
gunzip -c "$C/xmoe-gpu-check.gz" > /tmp/g && chmod +x /tmp/g
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
echo "== tensor-core flash op checks + flash benchmark"
timeout 90 /tmp/g --seed 2602 --no-training --only "tensor-core" --flash-benchmark 2>&1 | tee "$OUT/fa-run2-tc.log" | grep -E "FAIL|tensor cores|gpu-check"; echo "exit: ${PIPESTATUS[0]}"
echo "== variant sweep"
mkdir -p /tmp/sw && cp "$C"/var1/A_base.* "$C"/var1/J_kv4w_q64.* "$C"/var2/* /tmp/sw/
timeout 90 python3 "$C/fa-sweep.py" /tmp/sw 2>&1 | tee "$OUT/fa-run2-sweep.log"
echo "== racecheck (s37, s129) + memcheck (s129)"
timeout 60 compute-sanitizer --tool racecheck --print-limit 10 /tmp/g --no-training --seed 1 --only "tensor-core flash attention b2 s" > "$OUT/fa-run2-sanitizer.log" 2>&1; echo "exit: $?"
timeout 45 compute-sanitizer --tool memcheck --print-limit 10 /tmp/g --no-training --seed 1 --only "tensor-core flash attention b2 s129" >> "$OUT/fa-run2-sanitizer.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|gpu-check:|hazard' "$OUT/fa-run2-sanitizer.log" | head -6
echo "== everything (xmoe-gpu-check --seed 2026)"
timeout 150 /tmp/g --seed 2026 > "$OUT/fa-run2-full.log" 2>&1; echo "exit: $?"
grep -E 'FAIL|tensor-core flash|gpu-check:' "$OUT/fa-run2-full.log" | head -20
echo "== ncu, one launch each"
for k in fwd dq dkdv; do
  timeout 60 ncu --clock-control none -k "regex:xmoe_fatc_${k}_d128" -c 1 --section SpeedOfLight --section Occupancy \
    --section WarpStateStats --section ComputeWorkloadAnalysis /tmp/g --no-training --only "no such op" --flash-benchmark \
    > "$OUT/fa-run2-ncu-$k.log" 2>&1; echo "ncu $k exit: $?"
  grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Achieved Occupancy|Theoretical Occupancy|Warp Cycles Per Issued|Issue Slots Busy|Registers Per|Executed Ipc A" "$OUT/fa-run2-ncu-$k.log" | head -12
done
