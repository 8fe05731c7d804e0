#!/bin/bash
# p1's device script (not run by p1, who had no device budget): `train.precision` on the GPU and the
# GPU memory estimate. Builds nothing; runs a carried, statically linked `xmoe` (gzipped).
#  1. the quickstart on cuda (train.precision auto = bf16) and on cpu (auto = fp32; 8 threads), and
#     on cpu with train.precision=bf16 (the CPU backend emulating the GPU's bf16 numerics), in
#     parallel; loss curves compared by compare-precision.py with its stated tolerances;
#  2. the end of the cuda run: the allocator's peak GPU memory next to the plan's estimate;
#  3. `xmoe plan` on X-MoE Small (configs/small-10b.yaml on one GPU: dp/ep 1, no dropout, dropless,
#     micro-batch 4, sequence 2048, as `xmoe-gpu-check --step-benchmark` trains it) at 4 and 28
#     layers, fp32 and bf16, printing the GPU estimate to set beside the step benchmark's measured peak
#     (`xmoe-gpu-check --step-benchmark --compute bf16 --layers 4`: "peak memory").
#   usage (from the checkout root on the device): bash Benchmarks/gpu/precision-run.sh [carry dir]
#   the carry dir (default .gpu-carry/p1) holds xmoe.gz; compare-precision.py is read from this folder.
set -u
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
export XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
HERE=${1:-.gpu-carry/p1}
SCRIPTS=$(dirname "$0")
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
gunzip -c "$HERE/xmoe.gz" > /tmp/xmoe && chmod +x /tmp/xmoe || { echo "no $HERE/xmoe.gz"; exit 1; }
T0=$(date +%s); t() { echo "[t+$(( $(date +%s) - T0 ))s] $*"; }
t "== machine"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc
C=output.cache_dir=/tmp/xmoe-cache
t "== plan of the quickstart on cuda (precision line, GPU estimate)"
timeout 30 /tmp/xmoe plan --brief configs/quickstart.yaml train.device=cuda output.dir=/tmp/g $C 2>&1 | tail -22 | tee "$OUT/plan-quickstart-cuda.log"
t "== prepare data once (shared cache)"
timeout 60 /tmp/xmoe run configs/quickstart.yaml output.dir=/tmp/p $C --step prepare-data > "$OUT/prepare.log" 2>&1; echo "exit: $?"
t "== in parallel: cpu fp32 (8 threads), cpu bf16-emulated (6 threads), cuda bf16"
( timeout 200 /tmp/xmoe run configs/quickstart.yaml train.device=cpu train.threads=8 output.dir=/tmp/c $C > "$OUT/run-cpu-fp32.log" 2>&1; echo "exit: $?" >> "$OUT/run-cpu-fp32.log" ) &
CPU=$!
( timeout 150 /tmp/xmoe run configs/quickstart.yaml train.device=cpu train.precision=bf16 train.threads=6 output.dir=/tmp/e $C > "$OUT/run-cpu-bf16.log" 2>&1; echo "exit: $?" >> "$OUT/run-cpu-bf16.log" ) &
EMU=$!
timeout 120 /tmp/xmoe run configs/quickstart.yaml train.device=cuda output.dir=/tmp/g $C > "$OUT/run-cuda.log" 2>&1; echo "cuda exit: $?"
grep -E "continues|precision|GPU memory|train:" "$OUT/run-cuda.log" | head -8; tail -3 "$OUT/run-cuda.log"
t "== a second cuda run (bits identical?)"
timeout 120 /tmp/xmoe run configs/quickstart.yaml train.device=cuda output.dir=/tmp/g2 $C > "$OUT/run-cuda2.log" 2>&1; echo "cuda2 exit: $?"
wait $CPU; t "cpu fp32 done"; tail -3 "$OUT/run-cpu-fp32.log"
wait $EMU; t "cpu bf16 done"; tail -3 "$OUT/run-cpu-bf16.log"
t "== compare"
timeout 30 python3 "$SCRIPTS/compare-precision.py" /tmp/g/quickstart /tmp/c/quickstart /tmp/e/quickstart /tmp/g2/quickstart 2>&1 | tee "$OUT/compare.txt"
t "== X-MoE Small on one GPU: plan estimates"
S="configs/small-10b.yaml train.device=cuda parallel.dp=1 parallel.ep=1 parallel.zero_stage=0 train.global_batch=4 model.dropout=0 model.attention_dropout=0 moe.drop_tokens=false output.dir=/tmp/s $C"
for layers in 4 28; do for precision in bf16 fp32; do
  echo "-- layers $layers, precision $precision"
  timeout 30 /tmp/xmoe plan --brief $S model.layers=$layers train.precision=$precision 2>&1 | sed -n '/^GPU memory/,$p' | tee -a "$OUT/plan-small.log"
done; done
t "done"
