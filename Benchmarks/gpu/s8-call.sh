#!/bin/bash
# Session 8, one device call per change to the expert GEMMs: the kernel's checks against the CPU in
# every layout and its benchmark beside the per-expert cuBLASLt path, the step benchmark with the
# kernel and without it (XMOE_EXPERT_GEMM_KERNEL=0, the previous path, same binary, same call),
# capacity 1.25, then every op check and the training checks.
#   usage: bash Benchmarks/gpu/s8-call.sh CARRY_DIR [ceiling TFLOP/s]
set -u
CARRY=${1:?carry dir}
CEILING=${2:-709.7}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
gunzip -c "$CARRY/xmoe-gpu-check.gz" > /tmp/xmoe-gpu-check && chmod +x /tmp/xmoe-gpu-check
B=/tmp/xmoe-gpu-check
SHAPE="--layers 4 --micro-batch 4 --seq 2048 --compute bf16 --ceiling $CEILING"
T0=$(date +%s); t() { echo; echo "######## [t+$(( $(date +%s) - T0 ))s] $*"; }
t "expert GEMM checks and benchmark"
timeout 150 $B --expert-gemm > "$OUT/expert-gemm.log" 2>&1; echo "exit: $?"
grep -E "FAIL|expert-bench|gpu-check:" "$OUT/expert-gemm.log" | head -60
t "step benchmark: dropless, profiled (kernel for every expert GEMM)"
timeout 90 $B --step-benchmark $SHAPE --profile 2>&1 | tee "$OUT/xmoe-dropless.log" | grep -E "RESULT|^step|PROFILE|METHOD (grouped|zero|makeTensor|adamw)"
t "step benchmark: dropless, XMOE_EXPERT_GEMM_KERNEL=0 (per-expert cuBLASLt as before)"
XMOE_EXPERT_GEMM_KERNEL=0 timeout 60 $B --step-benchmark $SHAPE 2>&1 | tee "$OUT/xmoe-dropless-nokernel.log" | grep -E "RESULT|^step"
t "step benchmark: capacity 1.25"
timeout 60 $B --step-benchmark $SHAPE --capacity 1.25 2>&1 | tee "$OUT/xmoe-capacity.log" | grep -E "RESULT|^step"
t "gpu-check: every op and training"
timeout 120 $B --seed 2026 > "$OUT/gpu-check.log" 2>&1; echo "exit: $?"
grep -E '^FAIL|training|gpu-check:' "$OUT/gpu-check.log"
t "done"
