#!/bin/bash
# c1's one device call: the reduction op checks of xmoe-gpu-check, then the quickstart trained as a
# new user would on cuda and on cpu (same spec otherwise; loss curves compared), and a run trained
# to step 100 on cuda that continues on cpu to 150. Builds nothing; runs the carried static binaries.
#   usage (from the checkout root on the device): bash .gpu-carry/c1/device-run.sh
set -u
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
export XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
HERE=.gpu-carry/c1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
for b in xmoe xmoe-gpu-check; do [ -f "$HERE/$b.gz" ] && gunzip -c "$HERE/$b.gz" > /tmp/$b && chmod +x /tmp/$b; done
T0=$(date +%s); t() { echo "[t+$(( $(date +%s) - T0 ))s] $*"; }
t "== machine"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc
t "== op checks: the new reductions"
if [ -x /tmp/xmoe-gpu-check ]; then
timeout 60 /tmp/xmoe-gpu-check --no-training --only sumOfSquares 2>&1 | tee "$OUT/reductions.log"; echo "exit: ${PIPESTATUS[0]}"
timeout 30 /tmp/xmoe-gpu-check --no-training --only allFinite 2>&1 | tee -a "$OUT/reductions.log"; echo "exit: ${PIPESTATUS[0]}"
else echo "xmoe-gpu-check not carried"; fi
C=output.cache_dir=/tmp/xmoe-cache
t "== plan with train.device=cuda"
timeout 30 /tmp/xmoe plan --brief configs/quickstart.yaml train.device=cuda output.dir=/tmp/g $C 2>&1 | tail -25 | tee "$OUT/plan-cuda.log"
t "== prepare data once (shared cache)"
timeout 60 /tmp/xmoe run configs/quickstart.yaml output.dir=/tmp/p $C --step prepare-data > "$OUT/prepare.log" 2>&1; echo "exit: $?"; tail -2 "$OUT/prepare.log"
t "== in parallel: cpu quickstart (8 threads), cuda quickstart, cuda to step 100 (decay fixed at 150 steps = 76800 tokens, as the plain runs)"
D="train.decay_tokens=76800 output.dir=/tmp/x $C"
( timeout 150 /tmp/xmoe run configs/quickstart.yaml train.device=cpu train.threads=8 output.dir=/tmp/c $C > "$OUT/run-cpu.log" 2>&1; echo "cpu exit: $?" >> "$OUT/run-cpu.log" ) &
CPU=$!
( timeout 90 /tmp/xmoe run configs/quickstart.yaml train.device=cuda train.iters=100 $D > "$OUT/run-x100-cuda.log" 2>&1; echo "exit: $?" >> "$OUT/run-x100-cuda.log" ) &
X=$!
timeout 90 /tmp/xmoe run configs/quickstart.yaml train.device=cuda output.dir=/tmp/g $C > "$OUT/run-cuda.log" 2>&1; echo "exit: $?"; tail -4 "$OUT/run-cuda.log"
wait $X; t "cuda to 100 done"; tail -2 "$OUT/run-x100-cuda.log"
wait $CPU; t "cpu run done"; tail -4 "$OUT/run-cpu.log"
t "== continue the cuda run on cpu to step 150"
timeout 60 /tmp/xmoe run configs/quickstart.yaml train.device=cpu train.threads=12 train.iters=150 $D > "$OUT/run-x150-cpu.log" 2>&1; echo "exit: $?"; grep -E "continues|resumed|train:" "$OUT/run-x150-cpu.log" | head -5
t "== compare"
timeout 30 python3 "$HERE/compare.py" /tmp/c/quickstart /tmp/g/quickstart /tmp/x/quickstart 2>&1 | tee "$OUT/compare.txt"
t "done"
