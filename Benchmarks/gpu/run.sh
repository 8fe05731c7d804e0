#!/bin/bash
# The GPU step benchmark in one device call (README.md here). Builds nothing: it runs a carried,
# statically linked xmoe-gpu-check (plain or gzipped) and the Python scripts beside this file.
#   usage: bash Benchmarks/gpu/run.sh [path/to/xmoe-gpu-check[.gz]] [seconds]
# Stages, each under `timeout` and all under one deadline (default 200 s from the start):
#   1. the bf16 GEMM ceiling (gemm_ceiling.py): MFU's denominator
#   2. xmoe-gpu-check: every op against the CPU backend, and the training check
#   3. the xmoe step benchmark, X-MoE Small, 4 layers, micro-batch 4, seq 2048: dropless with the
#      profile, then capacity 1.25
#   4. the PyTorch reference (torch_reference.py): eager and torch.compile, dropless and 1.25
#   5. a summary table of every RESULT line
# Logs go to $OUT (the device tool's output folder) or /tmp/out.
set -u
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
export XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$HERE/xmoe-gpu-check.gz}
BUDGET=${2:-200}
START=$(date +%s)
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
case "$BIN" in
    *.gz) gunzip -c "$BIN" > /tmp/xmoe-gpu-check && chmod +x /tmp/xmoe-gpu-check && BIN=/tmp/xmoe-gpu-check ;;
esac
SHAPE="--layers 4 --micro-batch 4 --seq 2048"

# Seconds left for a stage: at most $1, never past the deadline.
left() { local l=$((START + BUDGET - $(date +%s))); [ "$l" -lt "$1" ] && echo $((l > 1 ? l : 1)) || echo "$1"; }
stage() { echo; echo "== $1 (t+$(($(date +%s) - START)) s)"; }

stage "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__)' 2>&1 | tail -1

stage "bf16 GEMM ceiling"
timeout "$(left 40)" python3 "$HERE/gemm_ceiling.py" 2>&1 | tee "$OUT/ceiling.log"
CEILING=$(sed -n 's/^CEILING tflops=//p' "$OUT/ceiling.log")
CEILING=${CEILING:-792}
echo "ceiling used for MFU: $CEILING TFLOP/s"

stage "xmoe-gpu-check: ops and training"
timeout "$(left 60)" "$BIN" --seed 2026 > "$OUT/gpu-check.log" 2>&1; echo "exit: $?"
grep -E '^FAIL|training|gpu-check:|^device|^kernels' "$OUT/gpu-check.log"

stage "xmoe step benchmark: dropless, profiled"
timeout "$(left 70)" "$BIN" --step-benchmark $SHAPE --compute bf16 --profile --ceiling "$CEILING" 2>&1 | tee "$OUT/xmoe-dropless.log"

stage "xmoe step benchmark: capacity 1.25"
timeout "$(left 50)" "$BIN" --step-benchmark $SHAPE --compute bf16 --capacity 1.25 --ceiling "$CEILING" 2>&1 | tee "$OUT/xmoe-capacity.log"

stage "PyTorch reference: eager then torch.compile, dropless and capacity 1.25"
timeout "$(left 150)" python3 "$HERE/torch_reference.py" $SHAPE --ceiling "$CEILING" \
    --variants eager:dropless,eager:1.25,compile:dropless,compile:1.25 2>&1 | tee "$OUT/torch.log" | grep -vE 'Warning|warn\('

stage "summary (ms/step median of the timed steps; TFLOP/s by the X-MoE formula; MFU against $CEILING)"
{
    echo "| run | ms/step | tokens/s | TFLOP/s | MFU | peak GiB | reserved GiB |"
    echo "|---|---|---|---|---|---|---|"
    cat "$OUT"/xmoe-*.log "$OUT/torch.log" 2>/dev/null | sed -n 's/^RESULT //p' | while read -r line; do
        declare -A f=()
        for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
        echo "| ${f[name]} | ${f[ms_per_step]} | ${f[tokens_per_s]} | ${f[tflops]} | ${f[mfu]} | ${f[peak_gib]} | ${f[reserved_gib]} |"
    done
    echo
    echo "xmoe dropless step, every op synchronised, by category:"
    echo "| category | ms | share | calls |"
    echo "|---|---|---|---|"
    sed -n 's/^PROFILE //p' "$OUT/xmoe-dropless.log" | while read -r line; do
        declare -A f=()
        for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
        echo "| ${f[category]//_/ } | ${f[ms]} | ${f[share]} | ${f[calls]} |"
    done
} | tee "$OUT/summary.md"
echo "total: $(($(date +%s) - START)) s"
