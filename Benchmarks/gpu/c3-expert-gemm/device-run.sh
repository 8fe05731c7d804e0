#!/bin/bash
# c3 final call: xmoe-gpu-check --expert-gemm (per-expert cuBLAS path and the sm_90a kernel: checks
# against the CPU backend, then X-MoE Small timings), torch._grouped_mm on the same shapes and
# counts, and the standalone kernel harness with deferred stage release (XT_DEFER) for n176/n256.
set -u
export NCCL_NVLS_ENABLE=0 PYTHONUNBUFFERED=1 XMOE_NVRTC_CACHE=/tmp/xmoe-nvrtc
D=.gpu-carry/c3
gunzip -c $D/xmoe-gpu-check.gz > /tmp/xmoe-gpu-check && chmod +x /tmp/xmoe-gpu-check
for bn in 176 256; do
  (timeout 150 nvcc -O2 -std=c++17 -gencode arch=compute_90a,code=sm_90a -DXT_ONLY=$bn -DXT_DEFER=1 -o /tmp/xd$bn $D/harness2.cu -lcuda 2>&1 | head -5) &
done
echo "== xmoe-gpu-check --expert-gemm"
timeout 200 /tmp/xmoe-gpu-check --expert-gemm --seed 5 2>&1 | tee $OUT/expert.log; echo "exit: ${PIPESTATUS[0]}"
echo "== torch"
timeout 100 python3 - <<'PY'
import torch
E, T, H, F = 64, 8192*6, 2048, 1408
def ms(f, n=20):
    for _ in range(3): f()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t = []
    for _ in range(3):
        s.record()
        for _ in range(n): f()
        e.record(); torch.cuda.synchronize(); t.append(s.elapsed_time(e) / n)
    return sorted(t)[1]
flop = 2*T*H*F
equal = [T//E]*E
uneven = [T//E + (e*37) % 257 - 128 for e in range(E)]; uneven[-1] += T - sum(uneven)
x = torch.randn(T, H, device="cuda").bfloat16(); w = torch.randn(E, H, F, device="cuda").bfloat16()
dC = torch.randn(T, F, device="cuda").bfloat16()
for name, counts in [("equal", equal), ("uneven", uneven)]:
    offs = torch.tensor(counts, device="cuda", dtype=torch.int32).cumsum(0, dtype=torch.int32)
    for shape, f in [("fwd", lambda: torch._grouped_mm(x, w, offs=offs)), ("dgrad", lambda: torch._grouped_mm(dC, w.transpose(-2, -1), offs=offs)),
                     ("wgrad", lambda: torch._grouped_mm(x.t(), dC, offs=offs))]:
        t = ms(f); print(f"expert-bench: {shape} {name} torch._grouped_mm (bf16 out): {t:.3f} ms, {flop/t/1e9:.0f} TFLOP/s")
PY
wait
echo "== harness, deferred release"
for bn in 176 256; do timeout 60 /tmp/xd$bn 2>&1 | grep -E "FAIL|bench|harness"; done
