#!/bin/bash
# One device call (see README.md here): what the machine has, xmoe-gpu-check (every op against the
# CPU backend, training), timings, compute-sanitizer over the op checks, and PyTorch's GEMM ceilings
# for scale. Builds nothing: it runs the carried, statically linked xmoe-gpu-check.
#   usage (from the checkout root on the device): bash .gpu-carry/device-run.sh
set -u
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
export XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
BIN=.gpu-carry/xmoe-gpu-check
# The binary travels gzipped (the carried tree is limited to 64 MiB).
if [ -f "$BIN.gz" ]; then gunzip -c "$BIN.gz" > /tmp/xmoe-gpu-check && chmod +x /tmp/xmoe-gpu-check && BIN=/tmp/xmoe-gpu-check; fi
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader
ldconfig -p | grep -E 'libcudart\.so|libcublas\.so|libcublasLt\.so|libnvrtc\.so|libcuda\.so' | awk '{print $1}' | sort -u | tr '\n' ' '; echo
echo "== xmoe-gpu-check (first start: NVRTC compiles)"
timeout 300 "$BIN" --benchmark 2>&1 | tee "$OUT/gpu-check.log"; echo "exit: ${PIPESTATUS[0]}"
echo "== second start (cubin from the disk cache), one op"
timeout 60 "$BIN" --no-training --only "gemm NN m1 " 2>&1 | head -3
echo "== compute-sanitizer memcheck over the op checks"
timeout 200 compute-sanitizer --tool memcheck --print-limit 20 "$BIN" --no-training --seed 1 > "$OUT/memcheck.log" 2>&1; echo "exit: $?"
grep -E 'ERROR SUMMARY|gpu-check:|Invalid' "$OUT/memcheck.log" | head -20
echo "== PyTorch GEMM ceilings (for scale)"
timeout 120 python3 - <<'PY' 2>&1 | tee "$OUT/torch.log"
import torch
torch.backends.cuda.matmul.allow_tf32 = False
def ms(f, n=20):
    f(); torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t = []
    for _ in range(5):
        s.record()
        for _ in range(n): f()
        e.record(); torch.cuda.synchronize(); t.append(s.elapsed_time(e) / n)
    return sorted(t)[2]
n = 8192
a, b = torch.randn(n, n, device="cuda"), torch.randn(n, n, device="cuda")
t = ms(lambda: a @ b, 5); print(f"torch fp32 matmul 8192^3 (no TF32): {t:.2f} ms, {2*n**3/t/1e9:.1f} TFLOP/s")
ab, bb = a.bfloat16(), b.bfloat16()
t = ms(lambda: ab @ bb); print(f"torch bf16 matmul 8192^3: {t:.2f} ms, {2*n**3/t/1e9:.1f} TFLOP/s")
x = torch.randn(8192 * 6, 2048, device="cuda").bfloat16(); w = torch.randn(64, 2048, 1408, device="cuda").bfloat16()
offs = torch.arange(1, 65, device="cuda", dtype=torch.int32) * 768
try:
    t = ms(lambda: torch._grouped_mm(x, w, offs=offs)); print(f"torch bf16 _grouped_mm 64 x 768 rows, 2048->1408: {t:.3f} ms, {2*8192*6*2048*1408/t/1e9:.1f} TFLOP/s")
    counts = [768 + (e * 37) % 257 - 128 for e in range(64)]; counts[-1] += 8192 * 6 - sum(counts)
    uneven = torch.tensor(counts, device="cuda", dtype=torch.int32).cumsum(0, dtype=torch.int32)
    t = ms(lambda: torch._grouped_mm(x, w, offs=uneven)); print(f"torch bf16 _grouped_mm 64 experts, uneven rows, 2048->1408: {t:.3f} ms, {2*8192*6*2048*1408/t/1e9:.1f} TFLOP/s")
except Exception as err:
    print("torch._grouped_mm:", err)
PY
